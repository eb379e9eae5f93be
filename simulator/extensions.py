"""The simulator's state, one object per app: configuration, received SMS, failures, faults, reports."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from simulator.config import SimulatorConfig
from simulator.delivery import DeliveryReporter
from simulator.failures import FailureTable
from simulator.faults import FaultQueue
from simulator.store import MessageStore


@dataclass
class Simulator:
    """What every route needs; kept in `app.extensions["simulator"]`."""

    config: SimulatorConfig
    messages: MessageStore = field(init=False)
    failures: FailureTable = field(init=False)
    faults: FaultQueue = field(default_factory=FaultQueue)
    delivery: DeliveryReporter = field(init=False)

    def __post_init__(self) -> None:
        self.messages = MessageStore(keep=self.config.keep_messages)
        self.failures = FailureTable(self.config.failures)
        self.delivery = DeliveryReporter(self.config, self.messages)


def current() -> Simulator:
    """The simulator of the app handling this request."""
    return current_app.extensions["simulator"]
