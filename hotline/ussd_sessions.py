"""USSD session state and report drafts in Redis, with TTLs.

A session's state lives under `ussd:session:<sessionId>` for `ussd_session_ttl` seconds (AT
drops a session after 180 s). While someone is in the middle of a report, a copy of where they
are is kept under `ussd:draft:<reporter key>` for 15 minutes, so dialling again offers to resume.

Redis being down must not stop the hotline: every call here logs the failure and carries on
(loading returns None, so the caller rebuilds the state by replaying AT's `text`).
"""

from __future__ import annotations

import json
import logging

import redis

from flows.engine import State

log = logging.getLogger(__name__)

DRAFT_FIELDS = ("screen", "page", "filter", "answers", "stack", "lang")


class SessionStore:
    """Loads and saves USSD state; never raises on a Redis failure."""

    def __init__(self, client: redis.Redis, session_ttl: int, draft_ttl: int):
        self.client = client
        self.session_ttl = session_ttl
        self.draft_ttl = draft_ttl

    @staticmethod
    def _session_key(session_id: str) -> str:
        return f"ussd:session:{session_id}"

    @staticmethod
    def _draft_key(reporter_key: str) -> str:
        return f"ussd:draft:{reporter_key}"

    def load(self, session_id: str, reporter_key: str) -> tuple[State | None, dict | None]:
        """The session's state and the reporter's draft (either None when absent or unreadable)."""
        try:
            raw_state, raw_draft = self.client.mget(
                [self._session_key(session_id), self._draft_key(reporter_key)]
            )
        except redis.RedisError as exc:
            log.warning("ussd state unavailable, replaying: %s", type(exc).__name__)
            return None, None
        return _decode_state(raw_state), _decode(raw_draft)

    def save(
        self, session_id: str, state: State, reporter_key: str, *, draft: bool, drop_draft: bool
    ) -> None:
        """Store the state, and keep the draft in step with it (saved, dropped, or left alone)."""
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.set(self._session_key(session_id), json.dumps(state.to_dict()), ex=self.session_ttl)
            if draft:
                snapshot = {name: getattr(state, name) for name in DRAFT_FIELDS}
                pipe.set(self._draft_key(reporter_key), json.dumps(snapshot), ex=self.draft_ttl)
            elif drop_draft:
                pipe.delete(self._draft_key(reporter_key))
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("ussd state not saved: %s", type(exc).__name__)

    def last_screen(self, session_id: str) -> tuple[str | None, str | None]:
        """The screen and language a session was on, for the drop-off funnel."""
        try:
            state = _decode_state(self.client.get(self._session_key(session_id)))
        except redis.RedisError:
            return None, None
        return (state.screen, state.lang) if state else (None, None)


def _decode(raw: bytes | None) -> dict | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _decode_state(raw: bytes | None) -> State | None:
    data = _decode(raw)
    if data is None:
        return None
    try:
        return State.from_dict(data)
    except TypeError:
        return None
