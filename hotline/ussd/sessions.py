"""USSD session state in Redis (one GET and one SET per screen), with the database as a backup.

`ussd:reporter:<reporter key>` holds the reporter's latest session: its id, when it was saved and
its state. The state carries the draft of an unfinished report (where they were, what they had
typed), so a new session within 15 minutes offers to resume it. A phone has one USSD session at a
time, so one key per reporter is enough; it expires `resume_ttl` seconds after the last screen.

Redis being down must not stop the hotline, nor lose a draft. When Redis cannot take a state
(down, hung, or its circuit breaker open) the same record goes to the `ussd_state_backup` table;
when Redis cannot give one, it comes from there. While Redis works the database is not written,
and it is read only where a newer copy may be there: at the start of a session (a report dropped
during an outage) and when the newest input holds a `*` (the Redis copy may predate an outage).
The newer of the two copies wins (the backup on a tie: it is only written after a Redis save
failed). With neither, the caller rebuilds the state by replaying AT's `text`. Nothing here
raises on a Redis or database failure.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import redis
from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from flows.engine import State
from hotline.core.models import Reporter, UssdStateBackup, utcnow

log = logging.getLogger(__name__)

DRAFT_FIELDS = ("screen", "page", "filter", "answers", "stack", "lang")

_backup = UssdStateBackup.__table__
_reporter = Reporter.__table__
# The backup and the reporter's remembered language in one round trip (a session's first screen
# needs both when Redis has no state of this session); one row, NULLs for what is not there.
_BY_KEY = bindparam("key")
_LOAD_BACKUP = select(
    select(_backup.c.record).where(_backup.c.reporter_key == _BY_KEY).scalar_subquery().label("record"),
    select(_backup.c.saved_at).where(_backup.c.reporter_key == _BY_KEY).scalar_subquery().label("saved_at"),
    select(_reporter.c.language).where(_reporter.c.reporter_key == _BY_KEY).scalar_subquery()
    .label("language"),
)


@dataclass(frozen=True)
class Stored:
    """What is kept for a reporter: the id of their latest session, when it was saved, its state."""

    session_id: str
    state: State
    saved_at: float = 0.0


def snapshot(state: State) -> dict:
    """The part of a state that resuming needs."""
    return {name: getattr(state, name) for name in DRAFT_FIELDS}


class SessionStore:
    """Loads and saves USSD state in Redis, falling back to the database (`backup`, if given)."""

    def __init__(self, client: redis.Redis, ttl: int, backup: Engine | None = None):
        self.client = client
        self.ttl = ttl
        self.backup = backup
        # Read with the backup (by `load`, when it read the database): the language the reporter
        # chose in an earlier session (None: none), so a new session needs no second query.
        self.language_read = False
        self.language: str | None = None

    @staticmethod
    def key(reporter_key: str) -> str:
        """The Redis key of a reporter's session."""
        return f"ussd:reporter:{reporter_key}"

    def load(self, reporter_key: str, session_id: str = "", text: str = "") -> Stored | None:
        """The reporter's latest session, or None (none, expired, unreadable, or nowhere to read it).

        `session_id` and `text` are the request's: they say whether the database may hold a newer copy.
        """
        try:
            raw = self.client.get(self.key(reporter_key))
        except redis.RedisError as exc:
            log.warning("ussd state unavailable, replaying: %s", type(exc).__name__)
            return self._load_backup(reporter_key)
        stored = _parse(raw)
        if _may_be_newer_elsewhere(stored, session_id, text):
            backup = self._load_backup(reporter_key)
            if backup is not None and (stored is None or backup.saved_at >= stored.saved_at):
                return backup
        return stored

    def save(self, reporter_key: str, session_id: str, state: State) -> None:
        """Store the session's state (with its draft): in Redis, else in the database."""
        saved_at = time.time()
        # orjson: a tenth of the json module's time, paid on every screen.
        record = orjson.dumps({"session": session_id, "at": saved_at, "state": state.to_dict()})
        try:
            self.client.set(self.key(reporter_key), record, ex=self.ttl)
        except redis.RedisError as exc:
            log.warning("ussd state not saved: %s", type(exc).__name__)
            self._save_backup(reporter_key, record.decode(), saved_at)

    def _load_backup(self, reporter_key: str) -> Stored | None:
        if self.backup is None:
            return None
        try:
            with self.backup.connect() as connection:
                row = connection.execute(_LOAD_BACKUP, {"key": reporter_key}).one()
        except SQLAlchemyError as exc:
            log.warning("ussd state backup unavailable: %s", type(exc).__name__)
            return None
        self.language_read, self.language = True, row.language
        if row.record is None or _aware(row.saved_at) < utcnow() - timedelta(seconds=self.ttl):
            return None
        return _parse(row.record)

    def _save_backup(self, reporter_key: str, record: str, saved_at: float) -> None:
        if self.backup is None:
            return
        moment = datetime.fromtimestamp(saved_at, UTC)
        values = {"reporter_key": reporter_key, "record": record, "saved_at": moment}
        try:
            with self.backup.begin() as connection:
                dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
                upsert = dialect.insert(_backup).values(**values)
                connection.execute(
                    upsert.on_conflict_do_update(
                        index_elements=[_backup.c.reporter_key],
                        set_={"record": upsert.excluded.record, "saved_at": upsert.excluded.saved_at},
                    )
                )
        except SQLAlchemyError as exc:
            log.warning("ussd state not saved anywhere: %s", type(exc).__name__)


def purge_backups(connection, older_than: timedelta) -> int:
    """Delete the backed-up states older than the resume window; returns how many."""
    result = connection.execute(delete(_backup).where(_backup.c.saved_at < utcnow() - older_than))
    return result.rowcount or 0


def _may_be_newer_elsewhere(stored: Stored | None, session_id: str, text: str) -> bool:
    """Could the database hold a newer state than Redis gave? Only if a save missed Redis since:
    a new session (a report dropped during an outage), or several inputs since the stored state
    (its text plus one input would have no `*`, unless typed inside free text)."""
    if stored is None or stored.session_id != session_id:
        return True
    previous = stored.state.text
    return text.startswith(previous) and "*" in text[len(previous) + 1 :]


def _parse(raw) -> Stored | None:
    if not raw:
        return None
    try:
        data = orjson.loads(raw)
        return Stored(data["session"], State.from_dict(data["state"]), float(data.get("at", 0)))
    except (ValueError, KeyError, TypeError):
        return None


def _aware(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes (stored as UTC).
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
