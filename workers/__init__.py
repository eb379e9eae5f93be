"""The RQ side: job entry points (each a thin call into a feature's service), the sweeps that requeue
what a lost job left behind, the scheduler, and the `flask worker` command."""


def init_app(app) -> None:
    """`flask worker`."""
    from workers.cli import worker_command

    app.cli.add_command(worker_command)
