"""Awareness SMS campaigns measured against a random holdout: audience and holdout, dispatch in
batches through Africa's Talking, reconciliation of lost answers, the effect report, `flask campaigns`."""


def init_app(app) -> None:
    """`flask campaigns`."""
    from campaigns.cli import campaigns_group

    app.cli.add_command(campaigns_group)
