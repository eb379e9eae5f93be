"""USSD session state in Redis: one key per reporter, one GET and one SET per screen.

`ussd:reporter:<reporter key>` holds the reporter's latest session: its id and its state. The
state carries the draft of an unfinished report (where they were, what they had typed), so a
new session within 15 minutes offers to resume it. A phone has one USSD session at a time, so
one key per reporter is enough; it expires `resume_ttl` seconds after the last screen.

Redis being down must not stop the hotline: every call here logs the failure and carries on
(loading returns nothing, so the caller rebuilds the state by replaying AT's `text`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import redis

from flows.engine import State

log = logging.getLogger(__name__)

DRAFT_FIELDS = ("screen", "page", "filter", "answers", "stack", "lang")


@dataclass(frozen=True)
class Stored:
    """What Redis holds for a reporter: the id of their latest session and its state."""

    session_id: str
    state: State


def snapshot(state: State) -> dict:
    """The part of a state that resuming needs."""
    return {name: getattr(state, name) for name in DRAFT_FIELDS}


class SessionStore:
    """Loads and saves USSD state; never raises on a Redis failure."""

    def __init__(self, client: redis.Redis, ttl: int):
        self.client = client
        self.ttl = ttl

    @staticmethod
    def key(reporter_key: str) -> str:
        """The Redis key of a reporter's session."""
        return f"ussd:reporter:{reporter_key}"

    def load(self, reporter_key: str) -> Stored | None:
        """The reporter's latest session, or None (none, expired, unreadable, or Redis down)."""
        try:
            raw = self.client.get(self.key(reporter_key))
        except redis.RedisError as exc:
            log.warning("ussd state unavailable, replaying: %s", type(exc).__name__)
            return None
        if not raw:
            return None
        try:
            data = json.loads(raw)
            return Stored(data["session"], State.from_dict(data["state"]))
        except (ValueError, KeyError, TypeError):
            return None

    def save(self, reporter_key: str, session_id: str, state: State) -> None:
        """Store the session's state (with its draft)."""
        record = json.dumps({"session": session_id, "state": state.to_dict()}, separators=(",", ":"))
        try:
            self.client.set(self.key(reporter_key), record, ex=self.ttl)
        except redis.RedisError as exc:
            log.warning("ussd state not saved: %s", type(exc).__name__)
