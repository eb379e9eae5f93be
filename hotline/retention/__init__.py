"""Retention: data kept only as long as it should be. `flask purge [--dry-run]`, and the worker's
daily run, remove what each kind of data's retention period says is too old, never anything open,
report it per kind and write that to the audit log."""


def init_app(app) -> None:
    """The `flask purge` command."""
    from hotline.retention import cli

    app.cli.add_command(cli.purge_command)
