"""What every feature stands on: configuration, the database and its models, Redis and the queues,
time, counties, privacy keys, the engagement ledger, CSV import and small parsing helpers."""


def init_app(app) -> None:
    """`flask db`, one database session per request, removed when the request ends, and what the
    county map macro (templates/console/map.html) draws from."""
    from hotline.core import maps
    from hotline.core.db import db_group

    app.cli.add_command(db_group)
    app.jinja_env.globals.update(
        county_outline=maps.outline, county_shading=maps.shading, map_attribution=maps.ATTRIBUTION
    )

    @app.teardown_appcontext
    def _remove_session(_exc):
        app.extensions["hotline"].sessions.remove()
