"""Whole-request faults for tests: the next SMS API calls fail or stall, as AT's API sometimes does.

`POST /api/faults` queues one fault, JSON `{"status": 500, "count": 2}` (the next two calls of
`/version1/messaging` answer HTTP 500 text/plain), `{"delay": 12}` (the next call waits 12 s before
it is handled: the SDK's read timeout is 9.05 s) or both. `status` 401 answers AT's
"The supplied authentication is invalid". A delayed call without a status is then handled as usual,
because AT may well take a send whose answer the client never saw. Faults apply in the order queued;
`GET` lists those left, `DELETE` drops them and lets go of calls still waiting.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http import HTTPStatus

from simulator.errors import BadRequest

MAX_DELAY = 120.0
MAX_COUNT = 1_000_000
# AT answers these in text/plain; other statuses get the HTTP reason phrase.
BODIES = {401: "The supplied authentication is invalid"}


@dataclass
class Fault:
    """What the next `count` SMS API calls suffer: an HTTP error status, a delay, or both."""

    status: int | None = None
    delay: float = 0.0
    count: int = 1

    @property
    def body(self) -> str:
        """The text/plain body answered with `status`."""
        if self.status in BODIES:
            return BODIES[self.status]
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Error"

    def to_json(self) -> dict:
        """The fault as `POST /api/faults` takes it."""
        return {"status": self.status, "delay": self.delay, "count": self.count}


def _number(payload: dict, name: str, kind, low, high, default):
    value = payload.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and value != int(value)):
        raise BadRequest(f"{name} must be a number")
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return kind(value)


def parse_fault(payload) -> Fault:
    """A Fault from `{"status"?, "delay"?, "count"?}`, or BadRequest naming what is wrong."""
    if not isinstance(payload, dict):
        raise BadRequest('expected a JSON object {"status": 500, "delay": 12, "count": 1}')
    unknown = set(payload) - {"status", "delay", "count"}
    if unknown:
        raise BadRequest(f"unknown fields {sorted(unknown)}")
    fault = Fault(
        status=_number(payload, "status", int, 400, 599, None),
        delay=_number(payload, "delay", float, 0, MAX_DELAY, 0.0),
        count=_number(payload, "count", int, 1, MAX_COUNT, 1),
    )
    if fault.status is None and not fault.delay:
        raise BadRequest("a fault needs a status, a delay or both")
    return fault


class FaultQueue:
    """The faults still to apply, oldest first; safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._released = threading.Event()

    def add(self, fault: Fault) -> None:
        """Queue `fault` behind the others."""
        with self._lock:
            self._faults.append(fault)

    def take(self) -> Fault | None:
        """The fault for this call (one use of the oldest), or None when there is none."""
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.count -= 1
            if fault.count <= 0:
                self._faults.pop(0)
            return Fault(status=fault.status, delay=fault.delay, count=1)

    def stall(self, fault: Fault) -> None:
        """Wait out the fault's delay, unless the queue is cleared meanwhile."""
        with self._lock:
            released = self._released
        if fault.delay:
            released.wait(fault.delay)

    def clear(self) -> int:
        """Drop every fault and release stalled calls; returns how many uses were left."""
        with self._lock:
            left = sum(fault.count for fault in self._faults)
            self._faults = []
            self._released.set()
            self._released = threading.Event()
        return left

    def to_json(self) -> list[dict]:
        """The faults left, oldest first."""
        with self._lock:
            return [fault.to_json() for fault in self._faults]
