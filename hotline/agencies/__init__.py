"""The NEA register of recruitment agencies: import, lookup by name or number, verdicts in words,
and `flask agencies`."""


def init_app(app) -> None:
    """`flask agencies`."""
    from hotline.agencies import cli

    app.cli.add_command(cli.agencies_group)
