"""Configured failures: numbers AT refuses when the SMS is sent, or fails to deliver to later.

A failure is given per number, in `SIM_FAILURES` (`+254700000406=406,+254700000410=Failed:UserInBlackList`)
or as JSON through `PUT /api/failures` (`{"+254700000406": 406, "+254700000410": "AbsentSubscriber"}`,
which replaces the table; `GET` shows it in the same shape, `DELETE` clears it). A value is either

- one of AT's per-recipient failure codes: the send's answer carries that `statusCode` and
  status name for the number, with cost "0" and messageId "None", and nothing is delivered; or
- a delivery report status, `Failed`, `Rejected`, `AbsentSubscriber` or `Expired`, with
  `:failureReason` for Failed and Rejected (default DeliveryFailure): the send is accepted (101) and
  the final delivery report says so.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from simulator.errors import BadRequest

RECIPIENT_STATUSES = {
    401: "RiskHold",
    402: "InvalidSenderId",
    403: "InvalidPhoneNumber",
    404: "UnsupportedNumberType",
    405: "InsufficientBalance",
    406: "UserInBlacklist",
    407: "CouldNotRoute",
    409: "DoNotDisturbRejection",
    500: "InternalServerError",
    501: "GatewayError",
    502: "RejectedByGateway",
}
DELIVERY_STATUSES = ("Failed", "Rejected", "AbsentSubscriber", "Expired")
REASONED_STATUSES = ("Failed", "Rejected")  # AT sends failureReason only with these
FAILURE_REASONS = (
    "InsufficientCredit", "InvalidLinkId", "UserIsInactive", "UserInBlackList", "UserAccountSuspended",
    "NotNetworkSubcriber", "UserNotSubscribedToProduct", "UserDoesNotExist", "DeliveryFailure",
    "DoNotDisturbRejection",
)
DEFAULT_REASON = "DeliveryFailure"


@dataclass(frozen=True)
class Failure:
    """What goes wrong for one number: refused in the send's answer, or failed in its delivery report."""

    status: str  # the per-recipient status name, or the final delivery report's status
    status_code: int | None = None  # set when AT refuses the recipient at send time
    reason: str | None = None  # the delivery report's failureReason

    @property
    def at_send(self) -> bool:
        """True when the send's answer refuses the number; False when only the delivery fails."""
        return self.status_code is not None

    def to_json(self) -> int | str:
        """The value as `PUT /api/failures` takes it."""
        if self.status_code is not None:
            return self.status_code
        return f"{self.status}:{self.reason}" if self.reason else self.status


def parse_failure(value, error: type[Exception] = BadRequest) -> Failure:
    """A Failure from a code (406, "406") or a delivery status ("Failed:UserInBlackList"), or `error`."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool):
        if value not in RECIPIENT_STATUSES:
            codes = sorted(RECIPIENT_STATUSES)
            raise error(f"{value} is not one of AT's per-recipient failure codes {codes}")
        return Failure(status=RECIPIENT_STATUSES[value], status_code=value)
    if not isinstance(value, str):
        raise error(f"a failure is a status code or a delivery status, not {value!r}")
    status, _, reason = (part.strip() for part in value.partition(":"))
    if status not in DELIVERY_STATUSES:
        raise error(f"{status!r} is not a delivery failure status {list(DELIVERY_STATUSES)}")
    if status not in REASONED_STATUSES:
        if reason:
            raise error(f"AT gives a failureReason only with {' or '.join(REASONED_STATUSES)}")
        return Failure(status=status)
    reason = reason or DEFAULT_REASON
    if reason not in FAILURE_REASONS:
        raise error(f"{reason!r} is not one of AT's failure reasons {list(FAILURE_REASONS)}")
    return Failure(status=status, reason=reason)


def parse_table(table: Mapping | str, error: type[Exception] = BadRequest) -> dict[str, Failure]:
    """Number → Failure from a mapping or from `number=value,number=value` text."""
    if isinstance(table, str):
        pairs = [item.partition("=") for item in table.split(",") if item.strip()]
        if any(not sep for _, sep, _ in pairs):
            raise error("failures are written number=value, separated by commas")
        table = {number: value for number, _, value in pairs}
    if not isinstance(table, Mapping):
        raise error('expected a JSON object {"+2547…": 406, …}')
    parsed = {}
    for number, value in table.items():
        if not isinstance(number, str) or not number.strip():
            raise error("each failure needs a phone number")
        parsed[number.strip()] = parse_failure(value, error)
    return parsed


class FailureTable:
    """The numbers that fail and how, replaceable while the simulator runs; safe across threads."""

    def __init__(self, table: Mapping[str, Failure] | None = None) -> None:
        self._lock = threading.Lock()
        self._table = dict(table or {})

    def get(self, number: str) -> Failure | None:
        """The failure configured for `number`, if any."""
        with self._lock:
            return self._table.get(number)

    def snapshot(self) -> Mapping[str, Failure]:
        """The table as it is now, for many lookups without the lock (`replace` swaps, never edits)."""
        with self._lock:
            return self._table

    def replace(self, table: Mapping[str, Failure]) -> None:
        """Use `table` from now on."""
        with self._lock:
            self._table = dict(table)

    def clear(self) -> int:
        """Let every number succeed again; returns how many failures there were."""
        with self._lock:
            count = len(self._table)
            self._table = {}
        return count

    def to_json(self) -> dict[str, int | str]:
        """The table as `PUT /api/failures` takes it."""
        with self._lock:
            return {number: failure.to_json() for number, failure in sorted(self._table.items())}

