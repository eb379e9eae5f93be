"""Engagement days: the Africa/Nairobi calendar day, whatever the machine's local time zone."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest

from hotline.engagement import day_of, day_start


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
