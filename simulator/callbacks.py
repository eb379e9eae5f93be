"""AT's callbacks to the hotline: `{HOTLINE_URL}{path}`, `?token=` when WEBHOOK_TOKEN is set, forms.

Every callback the simulator makes (USSD screens, delivery reports, incoming SMS) is a form-encoded
POST there, with the network code of the one network the simulated phones are on.
"""

from __future__ import annotations

import requests

from simulator.config import SimulatorConfig

NETWORK_CODE = "63902"  # Safaricom


def post(config: SimulatorConfig, path: str, form: dict[str, str], timeout: float,
         session: requests.Session | None = None) -> requests.Response:
    """POST `form` to the hotline's `path` as AT does; lets `requests` errors through."""
    params = {"token": config.webhook_token} if config.webhook_token else None
    return (session or requests).post(url(config, path), data=form, params=params, timeout=timeout)


def url(config: SimulatorConfig, path: str) -> str:
    """The hotline's URL for `path`, without the token (safe to show)."""
    return config.hotline_url + path
