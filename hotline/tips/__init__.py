"""Tips from submission to closure: saving a tip, reference codes, routing to the county's focal points,
escalation, follow-up by the reporter, the focal-point directory, and `flask tips`."""


def init_app(app) -> None:
    """`flask tips` and `flask focal-points`."""
    from hotline.tips import cli, focal_points

    app.cli.add_command(cli.tips_group)
    app.cli.add_command(focal_points.focal_points_group)
