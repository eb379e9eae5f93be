"""The simulator's state, one object per app: its configuration and the SMS the phones received."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from simulator.config import SimulatorConfig
from simulator.store import MessageStore


@dataclass
class Simulator:
    """What every route needs; kept in `app.extensions["simulator"]`."""

    config: SimulatorConfig
    messages: MessageStore = field(default_factory=MessageStore)


def current() -> Simulator:
    """The simulator of the app handling this request."""
    return current_app.extensions["simulator"]
