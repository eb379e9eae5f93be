"""The simulator's configuration, read once from a dict or the environment into one object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_HOTLINE_URL = "http://127.0.0.1:5000"
DEFAULT_SERVICE_CODE = "*384*1234#"
# AT gives the service 10 s to answer a USSD screen before it ends the session (FACTS.md).
DEFAULT_USSD_TIMEOUT = 10.0


@dataclass(frozen=True)
class SimulatorConfig:
    """Where the hotline is and which secrets the simulator shares with it."""

    hotline_url: str = DEFAULT_HOTLINE_URL
    webhook_token: str | None = None
    at_api_key: str | None = None
    ussd_service_code: str = DEFAULT_SERVICE_CODE
    ussd_timeout: float = DEFAULT_USSD_TIMEOUT


def from_mapping(config: Mapping | None = None, environ: Mapping | None = None) -> SimulatorConfig:
    """The configuration: each key from `config` when it is there, else from the environment."""
    config = config or {}
    environ = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        value = config[name] if name in config else environ.get(name)
        # An empty variable means unset, as in the hotline: `AT_API_KEY=` must not demand an empty key.
        value = str(value).strip() if value is not None else ""
        return value or None

    return SimulatorConfig(
        hotline_url=(get("HOTLINE_URL") or DEFAULT_HOTLINE_URL).rstrip("/"),
        webhook_token=get("WEBHOOK_TOKEN"),
        at_api_key=get("AT_API_KEY"),
        ussd_service_code=get("USSD_SERVICE_CODE") or DEFAULT_SERVICE_CODE,
        ussd_timeout=float(get("USSD_TIMEOUT") or DEFAULT_USSD_TIMEOUT),
    )
