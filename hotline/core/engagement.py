"""Engagement for campaign effect: who dialled, reported, checked an agency or texted us, by day.

A campaign report compares how many treated and held-out contacts engaged in its attribution
window. Recording it on the tip, dial, check and SMS rows themselves (as a pseudonym of the number)
would let anyone who reads the database join a contact's number to their tips. So engagement is
recorded apart, in `engagement`, one row per event: the Africa/Nairobi day, the signal, and the
contact-side pseudonym `privacy.engagement_key` sealed (`privacy.seal_engagement`: AES-GCM under a
key derived from PHONE_HASH_KEY, a random nonce each time).

Why sealed, not the pseudonym itself: an engagement row is written in the same transaction as the
tip, dial, check or SMS it counts, so a reader of the database can tie the two (on PostgreSQL they
share `xmin`, and sit side by side on disk). Had the row carried the contact's engagement key, that
tie would run on to the contact and its number; and "contact K reported on day D" beside "one tip
in K's county on day D" would name the reporter. A sealed key equals nothing on a contact and no
other engagement row (the same person's events look unrelated), so a reader without the keys learns
only how many of each signal happened on each day, and nothing per person. The campaign report,
which has the key, opens the window's rows and ORs each person's signals.
"""

from __future__ import annotations

import weakref
from datetime import UTC, date, datetime

from sqlalchemy import insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from hotline.core.models import Engagement, utcnow
from hotline.core.privacy import seal_engagement
from hotline.core.time import NAIROBI, kenya_midnight

SIGNALS = ("dialled", "tip", "agency_check", "sms")
_INSERT = insert(Engagement)
# The PHONE_HASH_KEY of each database the process opened (`seal_with`): engagement is recorded
# inside other units of work (a tip's transaction, a webhook's session) that carry only a connection.
_seal_keys: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def seal_with(engine: Engine, phone_hash_key: str) -> None:
    """Engagement written and read through `engine` is sealed under `phone_hash_key` (Extensions.build)."""
    _seal_keys[engine] = phone_hash_key


def seal_key(connection: Connection | Session) -> str:
    """The key engagement on `connection`'s database is sealed under (see `seal_with`)."""
    bind = connection if isinstance(connection, Connection) else connection.get_bind()
    try:
        return _seal_keys[bind.engine]
    except KeyError:
        raise RuntimeError("engagement: no PHONE_HASH_KEY for this database (see Extensions.build)") from None


def day_of(moment: datetime) -> date:
    """The Africa/Nairobi calendar day of `moment` (naive values are UTC, as SQLite returns them)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return moment.astimezone(NAIROBI).date()


day_start = kenya_midnight  # midnight in Nairobi at the start of a day, in UTC


def seal(connection: Connection | Session, key: str) -> str:
    """`key` sealed under the database's key: a fresh value each time, equal to nothing stored."""
    return seal_engagement(key, seal_key(connection))


def record(connection: Connection | Session, key: str, signal: str, at: datetime | None = None) -> None:
    """Note that the person with engagement key `key` did `signal` on the day of `at` (sealed; a
    repeat adds a row the report ORs away)."""
    if signal not in SIGNALS:
        raise ValueError(f"unknown engagement signal {signal!r}")
    sealed = seal(connection, key)
    connection.execute(_INSERT, {"day": day_of(at or utcnow()), "signal": signal, "sealed_key": sealed})
