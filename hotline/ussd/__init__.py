"""The USSD hotline: the `/ussd` webhooks, the menu engine's glue, session state in Redis with its
database backup, and `flask ussd`."""


def init_app(app) -> None:
    """The `/ussd` webhooks and `flask ussd`."""
    from hotline.ussd import cli, views

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.ussd_group)
