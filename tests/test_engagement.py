"""Engagement: one sealed row per event, on its Africa/Nairobi day, whatever the machine's local time zone."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, select

from hotline.core.engagement import NAIROBI, day_of, day_start, record, seal_key
from hotline.core.models import Engagement
from hotline.core.privacy import open_engagement


@pytest.fixture(params=["UTC0", "EAT-3", "PST8"])
def local_zone(request, monkeypatch):
    """The process's local time zone (POSIX TZ): a server's UTC, a laptop in Kenya, one far west."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def test_a_day_starts_at_midnight_in_nairobi_as_a_utc_time_whatever_the_local_zone(local_zone):
    start = day_start(date(2026, 3, 1))
    assert start == datetime(2026, 2, 28, 21, 0, tzinfo=UTC)
    assert start.utcoffset() == timedelta(0)  # stored and compared as UTC (SQLite drops the offset)
    assert (day_of(start), day_of(start - timedelta(microseconds=1))) == (date(2026, 3, 1), date(2026, 2, 28))


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        (datetime(2026, 2, 28, 21, 0), date(2026, 3, 1)),  # naive: UTC, as SQLite gives it back
        (datetime(2026, 2, 28, 20, 59), date(2026, 2, 28)),
        (datetime(2026, 2, 28, 23, 0, tzinfo=NAIROBI), date(2026, 2, 28)),  # aware: its own offset
        (datetime(2026, 2, 28, 16, 0, tzinfo=timezone(timedelta(hours=-8))), date(2026, 3, 1)),
    ],
)
def test_the_day_of_a_moment_is_its_nairobi_date_whatever_the_local_zone(local_zone, moment, day):
    assert day_of(moment) == day


def test_an_event_is_recorded_on_the_nairobi_day_it_happened_with_the_key_sealed(ext):
    with ext.session_scope() as session:
        record(session, "k" * 64, "tip", at=datetime(2026, 2, 28, 21, 30, tzinfo=UTC))
    with ext.session_scope() as session:
        [(day, signal, sealed)] = session.execute(
            select(Engagement.day, Engagement.signal, Engagement.sealed_key)
        ).all()
    assert (day, signal) == (date(2026, 3, 1), "tip")
    assert open_engagement(sealed, ext.config.phone_hash_key) == "k" * 64


def test_an_unknown_signal_is_refused_and_nothing_is_recorded(ext):
    with ext.session_scope() as session, pytest.raises(ValueError) as refused:
        record(session, "k" * 64, "visited")
    assert str(refused.value) == "unknown engagement signal 'visited'"
    with ext.session_scope() as session:
        assert session.scalars(select(Engagement.id)).all() == []


def test_a_database_opened_without_a_phone_hash_key_refuses_to_seal_and_says_why():
    engine = create_engine("sqlite://")
    with engine.connect() as connection, pytest.raises(RuntimeError) as refused:
        seal_key(connection)
    assert str(refused.value) == "engagement: no PHONE_HASH_KEY for this database (see Extensions.build)"
    engine.dispose()


def test_the_seal_key_is_found_from_a_connection_or_a_session(ext):
    with ext.session_scope() as session:
        assert seal_key(session) == seal_key(session.connection()) == ext.config.phone_hash_key
