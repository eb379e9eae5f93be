"""The append-only audit log: every sign-in, failed sign-in, reveal, status change, assignment,
export and user change is one `AuditEvent`, written here and nowhere else.

The database refuses UPDATE and DELETE on the table (triggers made by migration 0011). `lifted`
drops them for one transaction and puts them back: only retention (rows older than the audit
log's retention) and the test suite's emptying of tables use it.
"""

from __future__ import annotations

import getpass
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from hotline.core.models import AuditEvent, User
from hotline.core.time import utcnow

SQLITE_TRIGGERS = {
    "audit_event_no_update": "BEFORE UPDATE",
    "audit_event_no_delete": "BEFORE DELETE",
}


def record(
    session: Session,
    user: User | None,
    action: str,
    *,
    tip_id: int | None = None,
    target: str | None = None,
    detail: dict | None = None,
    ip: str | None = None,
    actor: str | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add one entry to the audit log (committed with the caller's unit of work)."""
    event = AuditEvent(
        at=at or utcnow(),
        user_id=user.id if user is not None else None,
        actor=actor or (user.email if user is not None else "system"),
        action=action,
        tip_id=tip_id,
        target=target,
        detail=detail,
        ip=ip,
    )
    session.add(event)
    return event


def cli_actor() -> str:
    """Who ran a `flask …` command, for the audit log: `cli:<login name>`."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        return "cli:unknown"


@contextmanager
def lifted(connection: Connection):
    """Within the caller's transaction on `connection`: the audit log's triggers are dropped, then
    made again however the block ends (PostgreSQL and SQLite both roll DDL back with the rest)."""
    postgresql = connection.dialect.name == "postgresql"
    if postgresql:
        connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
    else:
        for name in SQLITE_TRIGGERS:
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
    try:
        yield connection
    finally:
        if postgresql:
            connection.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))
        else:
            for name, when in SQLITE_TRIGGERS.items():
                connection.execute(text(
                    f"CREATE TRIGGER {name} {when} ON audit_event "
                    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
                ))
