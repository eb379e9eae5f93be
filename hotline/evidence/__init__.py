"""The standardised, de-identified dataset: case-level rows named after IOM's Human Trafficking Case
Data Standard (HTCDS), and aggregate tables with small-cell suppression, as CSV and JSON, from
`flask tips export` and the console (secretariat only); every export is written to the audit log.
(`flask tips list` and `show` live with the tips, in `hotline/tips/cli.py`.)"""

DATASET_ROLES = ("secretariat",)


def init_app(app) -> None:
    """The dataset's console page, its place in the bar, and `flask tips export`."""
    from hotline.accounts.navigation import add_section
    from hotline.evidence import cli, views
    from hotline.tips.cli import tips_group

    app.register_blueprint(views.bp)
    add_section(app, "evidence.dataset", "Dataset", DATASET_ROLES)
    tips_group.add_command(cli.export_command)
