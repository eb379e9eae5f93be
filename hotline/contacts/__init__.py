"""The awareness-SMS contact list: consent, opt-outs and suppression, and `flask contacts`."""


def init_app(app) -> None:
    """`flask contacts`."""
    from hotline.contacts import cli

    app.cli.add_command(cli.contacts_group)
