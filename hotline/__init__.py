"""The Kenya counter-trafficking hotline: the app factory, `create_app`, which binds the database, Redis and
the queues and lets each feature package register its webhooks and commands."""

from __future__ import annotations

import logging
from pathlib import Path

import click
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from hotline.core.config import Config, from_env
from hotline.core.errors import ConfigError
from hotline.core.extensions import Extensions

COOKIELESS_BLUEPRINTS = ("webhooks", "sms", "health", "home")


class NoSessionForWebhooks(SecureCookieSessionInterface):
    """AT's callbacks carry no cookies: don't build a signed session on the USSD hot path.

    Flask opens the session before it matches the URL (`request.blueprint` is still None then),
    so the webhooks are known by their paths, taken from the URL map once the blueprints are
    registered.
    """

    def __init__(self, paths: frozenset[str]):
        self.paths = paths

    def open_session(self, app, request):
        """No session for webhooks; the usual signed cookie for anything else."""
        if request.path in self.paths:
            return None  # Flask then uses a null session and saves nothing
        return super().open_session(app, request)


def create_app(config: Config | None = None) -> Flask:
    """Build the Flask app: bind the database, Redis and queues, register blueprints and CLI."""
    app = Flask(__name__, instance_relative_config=True)
    if config is None:
        try:
            config = from_env(Path(app.instance_path))
        except ConfigError as exc:
            if click.get_current_context(silent=True) is None:
                raise  # gunicorn: its log shows why the worker did not boot
            raise click.ClickException(str(exc)) from None  # `flask …`: the reason, not a traceback
    if config.database_url.startswith("sqlite"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    # No route answers OPTIONS by itself: AT only POSTs and no browser calls across origins, so
    # OPTIONS is a 405 with `Allow` like any method a route does not serve.
    app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        PROVIDE_AUTOMATIC_OPTIONS=False,
    )
    ext = Extensions.build(config)
    app.extensions["hotline"] = ext

    # The features, each wiring its own blueprint and CLI group. Imported here, not at module level:
    # importing any part of `hotline` must not load every feature, campaigns and the workers.
    import campaigns
    import workers
    from hotline import (
        accounts,
        africastalking,
        agencies,
        audit,
        contacts,
        core,
        desk,
        directory,
        evidence,
        health,
        home,
        oversight,
        retention,
        seed,
        sms,
        studio,
        tips,
        ussd,
    )

    features = (core, africastalking, ussd, sms, tips, agencies, contacts, campaigns, retention, workers)
    for feature in (*features, accounts, desk, directory, audit, studio, oversight, evidence):
        feature.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(home.bp)
    app.cli.add_command(seed.seed_command)
    accounts.exempt_from_csrf(app, COOKIELESS_BLUEPRINTS)  # AT posts without cookie or CSRF token
    app.session_interface = NoSessionForWebhooks(frozenset(
        rule.rule for rule in app.url_map.iter_rules() if rule.endpoint.split(".")[0] in COOKIELESS_BLUEPRINTS
    ))
    if not app.debug:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return app
