"""The simulator's configuration, read once from a dict or the environment into one object.

Besides where the hotline is, it holds how the simulated network behaves: configured failures
(`SIM_FAILURES`, see `simulator.failures`) and how delivery reports come back (`SIM_DELIVERY_*`,
`SIM_DUPLICATE_RATE`, `SIM_REORDER_RATE`, `SIM_INTERMEDIATE_RATE`, `SIM_SEED`; see
`simulator.delivery`), how long the SMS API takes to answer (`SIM_SEND_LATENCY`, seconds: AT's
network round trip and processing, which a local simulator otherwise lacks), and how many messages
it keeps in memory (`SIM_KEEP_MESSAGES`, see `simulator.store`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from simulator.errors import ConfigError
from simulator.failures import Failure, parse_table

DEFAULT_HOTLINE_URL = "http://127.0.0.1:5000"
DEFAULT_SERVICE_CODE = "*384*1234#"
DEFAULT_SHORT_CODE = "21606"
# AT gives the service 10 s to answer a USSD screen before it ends the session.
DEFAULT_USSD_TIMEOUT = 10.0
DEFAULT_DELIVERY_DELAY = 1.0
DEFAULT_DUPLICATE_RATE = 0.1
DEFAULT_REORDER_RATE = 0.1
DEFAULT_INTERMEDIATE_RATE = 0.2
DEFAULT_DELIVERY_RETRIES = 3
DEFAULT_RETRY_BACKOFF = 0.5
DEFAULT_CALLBACK_TIMEOUT = 10.0
DEFAULT_DELIVERY_WORKERS = 4
# Seconds every SMS API call waits before it is handled; none by default, so tests run at full speed
# (bench/campaign sets 0.15 s, about what a call to AT takes from Nairobi).
DEFAULT_SEND_LATENCY = 0.0
MAX_SEND_LATENCY = 60.0
FALSE_WORDS = ("0", "false", "no", "off")


@dataclass(frozen=True)
class SimulatorConfig:
    """Where the hotline is, which secrets the simulator shares with it, and how the network behaves."""

    hotline_url: str = DEFAULT_HOTLINE_URL
    webhook_token: str | None = None
    at_api_key: str | None = None
    ussd_service_code: str = DEFAULT_SERVICE_CODE
    ussd_timeout: float = DEFAULT_USSD_TIMEOUT
    short_code: str = DEFAULT_SHORT_CODE  # where phones send SMS to
    failures: Mapping[str, Failure] = field(default_factory=dict)  # the table at start
    delivery_reports: bool = True
    delivery_delay: float = DEFAULT_DELIVERY_DELAY
    duplicate_rate: float = DEFAULT_DUPLICATE_RATE
    reorder_rate: float = DEFAULT_REORDER_RATE
    intermediate_rate: float = DEFAULT_INTERMEDIATE_RATE
    seed: int | None = None  # None: a different run every start
    delivery_retries: int = DEFAULT_DELIVERY_RETRIES
    retry_backoff: float = DEFAULT_RETRY_BACKOFF
    callback_timeout: float = DEFAULT_CALLBACK_TIMEOUT
    delivery_workers: int = DEFAULT_DELIVERY_WORKERS
    keep_messages: int | None = None  # the most recent N messages keep their bodies; None: every one
    send_latency: float = DEFAULT_SEND_LATENCY


def _number(name: str, text: str | None, default, kind=float, low=0.0, high=None):
    if text is None:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(f"{name} must be a {kind.__name__}, not {text!r}") from None
    if value < low or (high is not None and value > high):
        raise ConfigError(f"{name} must be between {low} and {high if high is not None else 'any'}")
    return value


def from_mapping(config: Mapping | None = None, environ: Mapping | None = None) -> SimulatorConfig:
    """The configuration: each key from `config` when it is there, else from the environment."""
    config = config or {}
    environ = os.environ if environ is None else environ

    def raw(name: str):
        return config[name] if name in config else environ.get(name)

    def get(name: str) -> str | None:
        value = raw(name)
        # An empty variable means unset, as in the hotline: `AT_API_KEY=` must not demand an empty key.
        value = str(value).strip() if value is not None else ""
        return value or None

    # A test may hand the failure table over as a dict; the environment gives `number=value,…`.
    failures = raw("SIM_FAILURES")
    failures = failures if isinstance(failures, Mapping) else get("SIM_FAILURES")
    return SimulatorConfig(
        hotline_url=(get("HOTLINE_URL") or DEFAULT_HOTLINE_URL).rstrip("/"),
        webhook_token=get("WEBHOOK_TOKEN"),
        at_api_key=get("AT_API_KEY"),
        ussd_service_code=get("USSD_SERVICE_CODE") or DEFAULT_SERVICE_CODE,
        ussd_timeout=_number("USSD_TIMEOUT", get("USSD_TIMEOUT"), DEFAULT_USSD_TIMEOUT),
        short_code=get("SIM_SHORT_CODE") or DEFAULT_SHORT_CODE,
        failures=parse_table(failures or {}, error=ConfigError),
        delivery_reports=(get("SIM_DELIVERY_REPORTS") or "1").lower() not in FALSE_WORDS,
        delivery_delay=_number("SIM_DELIVERY_DELAY", get("SIM_DELIVERY_DELAY"), DEFAULT_DELIVERY_DELAY),
        duplicate_rate=_number("SIM_DUPLICATE_RATE", get("SIM_DUPLICATE_RATE"), DEFAULT_DUPLICATE_RATE,
                               high=1.0),
        reorder_rate=_number("SIM_REORDER_RATE", get("SIM_REORDER_RATE"), DEFAULT_REORDER_RATE, high=1.0),
        intermediate_rate=_number("SIM_INTERMEDIATE_RATE", get("SIM_INTERMEDIATE_RATE"),
                                  DEFAULT_INTERMEDIATE_RATE, high=1.0),
        seed=_number("SIM_SEED", get("SIM_SEED"), None, kind=int, low=-(2**63)),
        delivery_retries=_number("SIM_DELIVERY_RETRIES", get("SIM_DELIVERY_RETRIES"),
                                 DEFAULT_DELIVERY_RETRIES, kind=int, low=0, high=20),
        retry_backoff=_number("SIM_RETRY_BACKOFF", get("SIM_RETRY_BACKOFF"), DEFAULT_RETRY_BACKOFF),
        callback_timeout=_number("SIM_CALLBACK_TIMEOUT", get("SIM_CALLBACK_TIMEOUT"),
                                 DEFAULT_CALLBACK_TIMEOUT, low=0.01),
        delivery_workers=_number("SIM_DELIVERY_WORKERS", get("SIM_DELIVERY_WORKERS"),
                                 DEFAULT_DELIVERY_WORKERS, kind=int, low=1, high=64),
        keep_messages=_number("SIM_KEEP_MESSAGES", get("SIM_KEEP_MESSAGES"), None, kind=int, low=0),
        send_latency=_number("SIM_SEND_LATENCY", get("SIM_SEND_LATENCY"), DEFAULT_SEND_LATENCY,
                             high=MAX_SEND_LATENCY),
    )
