"""The standardised, de-identified dataset: case-level rows named after IOM's Human Trafficking Case
Data Standard (HTCDS), and aggregate tables with small-cell suppression, as CSV and JSON, from
`flask tips export` and the console (secretariat only); every export is written to the audit log.
Also `flask tips list` and `flask tips show` for a secretariat working from a terminal."""


def init_app(app) -> None:
    """The dataset's console page and the export commands."""
