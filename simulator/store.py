"""The SMS that simulated phones received, kept in memory (the simulator is one process).

Messages are keyed by AT's `messageId` because that is what a delivery report carries: each report
posted (or tried) replaces one message's delivery fields under the lock, nothing else moves.

A campaign sends a million of them, so one API call's messages are added at once (`add_sent`):
their ids are a per-store random prefix and a counter (unique, AT-shaped `ATXid_` and 32 hex digits,
far cheaper than a uuid4 each), and with `keep` (SIM_KEEP_MESSAGES) only the most recent `keep`
messages are kept, older ones forgotten, while `stats` counts every one: API calls by HTTP status,
messages accepted, recipients by AT's status code, unique numbers (one int each: about 60 MB for a
million numbers; everything else is bounded by `keep`).
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SmsMessage:
    """One SMS as AT accepted it for one recipient, and what its delivery reports said."""

    id: str  # AT's messageId, ATXid_…
    to: str
    sender: str | None  # the `from` field; AT uses its default sender ID when absent
    message: str
    received_at: datetime
    status: str  # AT's per-recipient status in the send's answer: Success or Queued
    status_code: int
    cost: str
    parts: int
    delivery_status: str | None = None  # the latest report's status (a final one wins): Success, Failed…
    failure_reason: str | None = None
    delivery_reports: tuple[dict, ...] = ()  # one entry per attempt to post a report to the hotline
    link_id: str | None = None  # the `linkId` a premium reply passed back

    def to_json(self) -> dict:
        """The message as `/api/messages` shows it."""
        return {
            "id": self.id,
            "to": self.to,
            "from": self.sender,
            "message": self.message,
            "received_at": iso(self.received_at),
            "status": self.status,
            "status_code": self.status_code,
            "cost": self.cost,
            "parts": self.parts,
            "delivery_status": self.delivery_status,
            "failure_reason": self.failure_reason,
            "delivery_reports": list(self.delivery_reports),
            "linkId": self.link_id,
        }


@dataclass(frozen=True)
class Send:
    """What the messages one API call accepted share: everything but the id and the number."""

    sender: str | None
    message: str
    received_at: datetime
    status: str
    status_code: int
    cost: str
    parts: int
    link_id: str | None = None


def iso(moment: datetime) -> str:
    """A UTC time as ISO 8601 with a Z."""
    return moment.isoformat().replace("+00:00", "Z")


def _number_key(number: str) -> int | str:
    # An int costs half a string in the set of unique numbers; AT's numbers are `+` and digits.
    try:
        return int(number[1:]) if number.startswith("+") else number
    except ValueError:
        return number


@dataclass
class _Counts:
    requests: dict[int, int] = field(default_factory=dict)  # SMS API calls by HTTP status
    accepted: int = 0
    by_status_code: dict[int, int] = field(default_factory=dict)  # recipients, accepted or refused
    numbers: set = field(default_factory=set)
    forgotten: int = 0  # accepted, then dropped to stay within `keep`


class MessageStore:
    """The SMS received since start or the last clear, oldest first; safe across threads.

    `keep`: how many of the most recent messages to keep (None: every one).
    """

    def __init__(self, keep: int | None = None) -> None:
        self.keep = keep
        self._lock = threading.Lock()
        self._messages: dict[str, SmsMessage] = {}  # insertion order is arrival order
        self._order: deque[str] = deque()  # the kept ids, oldest first, when `keep` is set
        # A fresh prefix per store: a restarted simulator never hands out an id the hotline has seen.
        self._prefix = "ATXid_" + secrets.token_hex(10)
        self._next = 0
        self._counts = _Counts()

    def add(self, message: SmsMessage) -> None:
        """Keep one received message (and count it as accepted)."""
        with self._lock:
            self._keep([message])
            self._counts.accepted += 1
            self._count({message.status_code: 1}, [message.to])

    def add_sent(self, send: Send, numbers: list[str], refused: Mapping[int, int] | None = None) -> list[str]:
        """Keep the messages one API call accepted for `numbers`, count them and its `refused`
        recipients (status code → count); the new messages' ids, in the order of `numbers`."""
        with self._lock:
            first, self._next = self._next, self._next + len(numbers)
            ids = [f"{self._prefix}{n:012x}" for n in range(first, self._next)]
            # Only the messages that will stay are built: a campaign's batch mostly would not.
            start = 0 if self.keep is None else max(len(numbers) - self.keep, 0)
            self._keep([SmsMessage(ids[i], numbers[i], send.sender, send.message, send.received_at,
                                   send.status, send.status_code, send.cost, send.parts,
                                   link_id=send.link_id)
                        for i in range(start, len(numbers))])
            self._counts.forgotten += start
            self._counts.accepted += len(numbers)
            codes = dict(refused or {})
            if numbers:
                codes[send.status_code] = codes.get(send.status_code, 0) + len(numbers)
            self._count(codes, numbers)
        return ids

    def count_request(self, http_status: int) -> None:
        """Count one call of the SMS API by the HTTP status it was answered with."""
        with self._lock:
            requests = self._counts.requests
            requests[http_status] = requests.get(http_status, 0) + 1

    def stats(self) -> dict:
        """Counts since start or the last clear: API calls, messages, recipients, unique numbers."""
        with self._lock:
            counts = self._counts
            return {
                "requests": sum(counts.requests.values()),
                "requests_by_http_status": {str(k): v for k, v in sorted(counts.requests.items())},
                "accepted": counts.accepted,
                "recipients": sum(counts.by_status_code.values()),
                "recipients_by_status_code": {str(k): v for k, v in sorted(counts.by_status_code.items())},
                "unique_numbers": len(counts.numbers),
                "kept": len(self._messages),
                "keep": self.keep,
                "forgotten": counts.forgotten,
            }

    def _keep(self, messages: list[SmsMessage]) -> None:
        """Keep `messages`, forgetting the oldest beyond `keep`; under the lock."""
        kept = self._messages
        for message in messages:
            kept[message.id] = message
        if self.keep is None:
            return
        self._order.extend(message.id for message in messages)
        while len(self._order) > self.keep:
            if kept.pop(self._order.popleft(), None) is not None:
                self._counts.forgotten += 1

    def _count(self, codes: Mapping[int, int], numbers: list[str]) -> None:
        by_code = self._counts.by_status_code
        for code, count in codes.items():
            by_code[code] = by_code.get(code, 0) + count
        self._counts.numbers.update(map(_number_key, numbers))

    def get(self, message_id: str) -> SmsMessage | None:
        """The message with AT's `messageId`, if any."""
        with self._lock:
            return self._messages.get(message_id)

    def update(self, message_id: str, change: Callable[[SmsMessage], SmsMessage]) -> bool:
        """Replace a message by `change(message)` under the lock; False when it is gone (cleared)."""
        with self._lock:
            message = self._messages.get(message_id)
            if message is None:
                return False
            self._messages[message_id] = change(message)
            return True

    def messages(self, phone: str | None = None, after_id: str | None = None,
                 since: datetime | None = None) -> list[SmsMessage]:
        """All messages oldest first, or those to `phone`, after the message `after_id`, after `since`."""
        with self._lock:
            found = list(self._messages.values())
            if after_id is not None:
                ids = list(self._messages)
                found = found[ids.index(after_id) + 1:] if after_id in self._messages else []
        return [m for m in found
                if (phone is None or m.to == phone) and (since is None or m.received_at > since)]

    def has(self, message_id: str) -> bool:
        """True when a message with AT's `messageId` is kept."""
        with self._lock:
            return message_id in self._messages

    def by_phone(self) -> dict[str, list[SmsMessage]]:
        """Messages grouped by the phone that received them, phones in number order."""
        grouped: dict[str, list[SmsMessage]] = {}
        for message in self.messages():
            grouped.setdefault(message.to, []).append(message)
        return dict(sorted(grouped.items()))

    def clear(self) -> int:
        """Forget every message and reset the counts; returns how many messages were kept."""
        with self._lock:
            count = len(self._messages)
            self._messages.clear()
            self._order.clear()
            self._counts = _Counts()
        return count
