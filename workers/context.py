"""How a job reaches the database, Redis and Africa's Talking: the worker's app, or handles built here.

Jobs run inside `flask worker`'s app context; anything else that runs a job (RQ's own CLI, a script)
gets its handles built from the environment, as the app factory would, without importing it.
"""

from __future__ import annotations

from flask import current_app, has_app_context

from hotline.africastalking.gateway import SmsGateway
from hotline.core.config import INSTANCE_PATH, from_env
from hotline.core.extensions import Extensions

_built: Extensions | None = None
_gateways: dict[int, SmsGateway] = {}


def extensions() -> Extensions:
    """This process's connections (RQ forks a work horse per job; engines are reset after fork)."""
    global _built
    if has_app_context():
        return current_app.extensions["hotline"]
    if _built is None:
        _built = Extensions.build(from_env(INSTANCE_PATH))
    return _built


def gateway(ext: Extensions) -> SmsGateway:
    """The Africa's Talking SMS gateway for `ext`'s configuration, built once per process."""
    key = id(ext)
    if key not in _gateways:
        _gateways[key] = SmsGateway(ext.config)
    return _gateways[key]
