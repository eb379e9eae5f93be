"""The NEA register of recruitment agencies: import, lookup by name or number, verdicts in words,
and `flask agencies`."""


def init_app(app) -> None:
    """`flask agencies`."""
    from hotline.agencies import register

    app.cli.add_command(register.agencies_group)
