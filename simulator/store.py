"""The SMS that simulated phones received, kept in memory (the simulator is one process).

Messages are keyed by AT's `messageId` because that is what a delivery report carries: each report
posted (or tried) replaces one message's delivery fields under the lock, nothing else moves.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
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
        }


def iso(moment: datetime) -> str:
    """A UTC time as ISO 8601 with a Z."""
    return moment.isoformat().replace("+00:00", "Z")


class MessageStore:
    """Every SMS received since start or the last clear, oldest first; safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: dict[str, SmsMessage] = {}  # insertion order is arrival order

    def add(self, message: SmsMessage) -> None:
        """Keep one received message."""
        with self._lock:
            self._messages[message.id] = message

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
        """Forget every message; returns how many there were."""
        with self._lock:
            count = len(self._messages)
            self._messages.clear()
        return count
