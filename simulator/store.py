"""The SMS that simulated phones received, kept in memory (the simulator is one process).

Messages are keyed by AT's `messageId` because that is what a delivery report carries: a later
report or a configured failure replaces one message's status under the lock, nothing else moves.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SmsMessage:
    """One SMS as AT accepted it for one recipient."""

    id: str  # AT's messageId, ATXid_…
    to: str
    sender: str | None  # the `from` field; AT uses its default sender ID when absent
    message: str
    received_at: datetime
    status: str  # AT's per-recipient status: Success or Queued; delivery reports will move it on
    status_code: int
    cost: str
    parts: int

    def to_json(self) -> dict:
        """The message as `/api/messages` shows it."""
        return {
            "id": self.id,
            "to": self.to,
            "from": self.sender,
            "message": self.message,
            "received_at": self.received_at.isoformat().replace("+00:00", "Z"),
            "status": self.status,
            "status_code": self.status_code,
            "cost": self.cost,
            "parts": self.parts,
        }


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

    def messages(self, phone: str | None = None) -> list[SmsMessage]:
        """All messages, or those sent to `phone`, oldest first."""
        with self._lock:
            found = list(self._messages.values())
        return [m for m in found if phone is None or m.to == phone]

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
