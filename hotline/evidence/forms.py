"""The dataset page's form: which table, which format, a year or dates, free text."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from hotline.evidence.formats import FORMATS

TABLE_LABELS = {
    "cases": "Cases: one de-identified row per tip (HTCDS field names)",
    "county-month": "Tips by county, month and kind (small cells suppressed)",
    "annual": "The Advisory Committee's annual figures (small cells suppressed)",
}


class ExportForm(FlaskForm):
    """One export; the dates and year are checked by `exports.Request.checked`, as the command's."""

    table = SelectField("Table", choices=[SelectChoice(*p) for p in TABLE_LABELS.items()], default="cases")
    fmt = SelectField("Format", choices=[SelectChoice(fmt, fmt.upper()) for fmt in FORMATS], default="csv")
    year = IntegerField("Year", validators=[Optional()])
    since = DateField("Received from", validators=[Optional()])
    until = DateField("Received until", validators=[Optional()])
    free_text = BooleanField("Add place and description (cases; phone numbers and e-mails redacted)")
