"""Engagement for campaign effect: who dialled, reported, checked an agency or texted us, by day.

A campaign report compares how many treated and held-out contacts engaged in its attribution
window. Recording it on the tip, dial, check and SMS rows themselves (as a pseudonym of the number)
would let anyone who reads the database join a contact's number to their tips. So engagement is
recorded apart, in `engagement`, under the contact-side pseudonym `privacy.engagement_key` and
with only the Africa/Nairobi day: no time, id, session, tip or reference that joins it to the
tip-side rows. What a reader can still learn is that a contact did something on a day, which on a
day with few tips narrows who reported; the day is the price of measuring effect at all.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from hotline.models import Engagement, utcnow

NAIROBI = timezone(timedelta(hours=3), "EAT")  # Kenya: UTC+3 all year, no daylight saving
SIGNALS = ("dialled", "tip", "agency_check", "sms")
_INSERT = {
    "postgresql": postgresql.insert(Engagement.__table__).on_conflict_do_nothing(),
    "sqlite": sqlite.insert(Engagement.__table__).on_conflict_do_nothing(),
}


def day_of(moment: datetime) -> date:
    """The Africa/Nairobi calendar day of `moment` (naive values are UTC, as SQLite returns them)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return moment.astimezone(NAIROBI).date()


def day_start(day: date) -> datetime:
    """Midnight in Nairobi at the start of `day`, as an aware UTC datetime."""
    return datetime(day.year, day.month, day.day, tzinfo=NAIROBI).astimezone(UTC)


def record(connection: Connection | Session, key: str, signal: str, at: datetime | None = None) -> None:
    """Note that the person with engagement key `key` did `signal` on the day of `at` (idempotent)."""
    if signal not in SIGNALS:
        raise ValueError(f"unknown engagement signal {signal!r}")
    bind = connection if isinstance(connection, Connection) else connection.get_bind()
    values = {"engagement_key": key, "day": day_of(at or utcnow()), "signal": signal}
    connection.execute(_INSERT[bind.dialect.name], values)
