"""The USSD flow engine, pure: screens as validated data (`model`), the engine that walks them and
paginates to 160 GSM-7 characters (`engine`), the hotline's own screens (`menu`, which receives the
counties as data), both languages' texts (`texts`), GSM-7 helpers (`gsm`) and the validator (`validate`).
It imports nothing of the project and no web, database or queue library."""
