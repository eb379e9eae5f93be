"""How a job reaches the database and Redis: the worker's app, or one built from the environment."""

from __future__ import annotations

from flask import current_app, has_app_context

from hotline.core.extensions import Extensions

_app = None


def extensions() -> Extensions:
    """This process's connections (RQ forks a work horse per job; engines are reset after fork)."""
    global _app
    if has_app_context():
        return current_app.extensions["hotline"]
    if _app is None:
        from hotline import create_app

        _app = create_app()
    return _app.extensions["hotline"]
