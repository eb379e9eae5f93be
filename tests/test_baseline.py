"""The baseline rate of any engagement over the last 90 days, counted by hand, per attribution
window, assumed when there is no data, and kept in Redis for an hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from campaigns import baseline
from hotline.core import engagement
from hotline.core.models import Contact
from tests.conftest import free_port

NOW = datetime(2026, 6, 20, tzinfo=UTC)  # 03:00 in Nairobi on 20 June: 22 March to 19 June measured


def noon(day: str) -> datetime:
    """Noon in Nairobi on `day` (09:00 UTC)."""
    return datetime.fromisoformat(f"{day}T09:00:00+00:00")


def contact(session, n: int, **extra) -> Contact:
    row = Contact(
        phone=f"+2547100000{n:02d}",
        engagement_key=f"key-{n}",
        language="en",
        consent_source="test",
        consented_at=NOW - timedelta(days=200),
        salt=n,
        **extra,
    )
    session.add(row)
    return row


@pytest.fixture
def contacts(ext):
    """Ten contacts, eight subscribed; two of those engaged in the 90 days, whatever else happened."""
    with ext.session_scope() as session:
        for n in range(1, 11):
            extra = {}
            if n == 5:
                extra = {"opted_out_at": noon("2026-06-02"), "opt_out_source": "sms"}
            if n == 6:
                extra = {"unreachable_reason": "InvalidPhoneNumber"}
            contact(session, n, **extra)
        session.flush()
        for key, day, signal in [
            ("key-1", "2026-06-19", "dialled"),  # yesterday: counts
            ("key-1", "2026-06-18", "tip"),  # the same person again: still one
            ("key-2", "2026-03-22", "sms"),  # the first of the 90 days: counts
            ("key-3", "2026-03-21", "dialled"),  # the day before: does not
            ("key-4", "2026-06-20", "agency_check"),  # today, not over: does not
            ("key-5", "2026-06-01", "dialled"),  # opted out since: not subscribed
            ("key-6", "2026-06-01", "dialled"),  # unreachable: not in any audience
            ("stranger", "2026-06-01", "dialled"),  # not a contact
        ]:
            engagement.record(session, key, signal, noon(day))


def measure(ext, window_days=14, now=NOW, cache=None) -> baseline.Baseline:
    with ext.session_scope() as session:
        return baseline.rate(session, window_days, now, cache=cache)


def test_hand_counted_rate_per_window(ext, contacts):
    b = measure(ext, 14)
    assert (b.engaged, b.contacts, b.assumed) == (2, 8, False)
    # 2 of 8 in 90 days; at a constant hazard, 14 days: 1 - 0.75^(14/90)
    assert b.rate == pytest.approx(1 - 0.75 ** (14 / 90)) == pytest.approx(0.043764, abs=1e-6)
    assert measure(ext, 90).rate == pytest.approx(0.25)
    assert measure(ext, 1).rate < b.rate < measure(ext, 30).rate


def test_the_90_days_slide_with_today(ext, contacts):
    b = measure(ext, 90, now=NOW + timedelta(days=1))  # 23 March to 20 June: key-2 out, key-4 in
    assert (b.engaged, b.contacts) == (2, 8)
    b = measure(ext, 90, now=NOW - timedelta(days=1))  # 21 March to 18 June: key-1 (tip), key-2, key-3
    assert b.engaged == 3


def test_no_data_assumes_two_percent(ext):
    assert measure(ext) == baseline.Baseline(0.02, 0, 0, assumed=True)
    with ext.session_scope() as session:
        contact(session, 1)
    assert measure(ext) == baseline.Baseline(baseline.ASSUMED_RATE, 0, 1, assumed=True)


def test_kept_in_redis_for_an_hour_per_days_measured(ext, contacts):
    first = measure(ext, 14, cache=ext.redis)
    with ext.session_scope() as session:
        engagement.record(session, "key-7", "dialled", noon("2026-06-19"))
    assert measure(ext, 14, cache=ext.redis) == first  # kept: no new measure
    assert measure(ext, 90, cache=ext.redis).rate == pytest.approx(0.25)  # same counts, any window
    assert measure(ext, 14).engaged == 3  # without a cache: measured afresh
    key = "campaigns:baseline:2026-03-22:2026-06-19"
    assert 3500 < ext.redis.ttl(key) <= baseline.CACHE_SECONDS
    assert measure(ext, 14, now=NOW + timedelta(days=1), cache=ext.redis).engaged == 3  # a new day: new key


def test_a_cache_that_fails_only_costs_time(ext, contacts):
    down = redis.Redis(port=free_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    assert measure(ext, 14, cache=down) == measure(ext, 14)
    down.close()


def test_window_must_be_a_day_or_more(ext):
    with pytest.raises(ValueError):
        measure(ext, 0)


def test_the_sweep_measures_again_before_the_kept_counts_expire(ext, contacts):
    key = "campaigns:baseline:2026-03-22:2026-06-19"
    with ext.session_scope() as session:
        assert baseline.refresh(session, NOW, ext.redis)  # nothing kept: measured
        assert not baseline.refresh(session, NOW, ext.redis)  # an hour to live: left alone
        engagement.record(session, "key-7", "dialled", noon("2026-06-19"))
        ext.redis.expire(key, baseline.REFRESH_AHEAD - 1)  # about to expire: measured again
        assert baseline.refresh(session, NOW, ext.redis)
    assert measure(ext, 14, cache=ext.redis).engaged == 3
    assert ext.redis.ttl(key) > baseline.REFRESH_AHEAD


def test_the_workers_sweep_keeps_the_baseline_ready(app, ext, contacts):
    from workers.sweeper import sweep_campaign_baseline

    with app.app_context():
        assert sweep_campaign_baseline() is True
        assert sweep_campaign_baseline() is False
