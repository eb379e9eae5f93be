"""The circuit breaker on the USSD path's Redis: one short timeout per breaker period, then no calls."""

from __future__ import annotations

import logging
import os
import signal
from datetime import UTC, datetime

import pytest
import redis
import time_machine
from rq import Queue
from sqlalchemy import select

from hotline.core.breaker import BreakerOpen, CircuitBreaker
from hotline.core.config import Config, from_env
from hotline.core.models import Tip
from tests.conftest import Phone, RedisServer
from workers.sweeper import sweep_unqueued_tips

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

SHORT = 0.05  # production's USSD Redis timeout (the suite's default is generous)


def test_the_breaker_opens_on_a_failure_and_lets_one_trial_through_after_the_cooldown():
    breaker = CircuitBreaker(cooldown=5)
    with time_machine.travel(START, tick=False) as clock:
        assert breaker.allow()
        breaker.failed()
        assert breaker.is_open and not breaker.allow()
        clock.shift(4.9)
        assert not breaker.allow()
        clock.shift(0.2)
        assert breaker.allow()  # half-open: this caller tries Redis
        assert not breaker.allow()  # ...and nobody else meanwhile
        breaker.failed()
        assert not breaker.allow()
        clock.shift(5.1)
        assert breaker.allow()
        breaker.succeeded()
        assert breaker.allow() and breaker.allow()
        breaker.failed()
        clock.shift(-60)  # the wall clock stepped back: do not stay open for a minute
        assert breaker.allow()


def test_a_call_through_the_breaker_counts_only_unreachable_redis_as_a_failure():
    breaker = CircuitBreaker(cooldown=5)

    def raising(exc):
        raise exc

    with pytest.raises(redis.ResponseError):
        breaker.call(raising, redis.ResponseError("WRONGTYPE"))
    assert not breaker.is_open
    assert breaker.call(lambda: "answered") == "answered"
    with pytest.raises(redis.TimeoutError):
        breaker.call(raising, redis.TimeoutError())
    assert breaker.is_open
    with pytest.raises(BreakerOpen):
        breaker.call(pytest.fail, "the call must not run while the breaker is open")


@pytest.fixture
def stalled_redis(tmp_path):
    """A private redis-server (not the session's) that a test may SIGSTOP; always resumed after."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


def redis_failures(caplog) -> list[str]:
    """The exception names of the USSD path's logged Redis failures, in order."""
    return [
        r.getMessage().rsplit(": ", 1)[-1]
        for r in caplog.records
        if r.name == "hotline.ussd.sessions" and r.levelno == logging.WARNING
    ]


def test_a_stalled_redis_costs_one_short_timeout_per_breaker_period_and_the_tip_is_saved(
    make_app, stalled_redis, caplog
):
    app = make_app(redis_url=stalled_redis.url, ussd_redis_timeout=SHORT, redis_breaker_seconds=5)
    ext = app.extensions["hotline"]
    phone = Phone(app.test_client())
    caplog.set_level(logging.WARNING, logger="hotline.ussd.sessions")
    with time_machine.travel(START, tick=False) as clock:
        phone.dial()
        phone.send("1", "1")
        os.kill(stalled_redis.process.pid, signal.SIGSTOP)
        try:
            assert "Where exactly?" in phone.send("kak")
            end = phone.send("Lurambi market", "99", "2", "2", "2", "1")
            # Seven screens, each loading and saving state (and the tip queued): one timeout in all.
            assert redis_failures(caplog).count("TimeoutError") == 1
            assert set(redis_failures(caplog)[1:]) == {"BreakerOpen"}
            clock.shift(5.1)  # half-open: one trial, which times out, and the breaker opens again
            phone.dial()
            phone.send("3")
            assert redis_failures(caplog).count("TimeoutError") == 2
            assert redis_failures(caplog)[-1] == "BreakerOpen"
        finally:
            os.kill(stalled_redis.process.pid, signal.SIGCONT)
        assert end.startswith("END Report sent. Reference: ")
        with ext.session_scope() as session:
            [tip] = session.scalars(select(Tip)).all()
        assert (tip.place, tip.county_code, tip.routing_started_at) == ("Lurambi market", 37, None)
        clock.shift(5.1)
        caplog.clear()
        # The trial succeeds: Redis is used again, and its copy from before the stall (a draft of
        # the report sent since) loses to the newer one kept in the database.
        assert phone.dial().startswith("CON 1. Report")
        assert redis_failures(caplog) == []
        assert ext.ussd_redis.get(f"ussd:reporter:{tip.reporter_key}") is not None
        with app.app_context():
            assert sweep_unqueued_tips(older_than_seconds=0) == 1
    assert Queue("tips", connection=ext.redis).job_ids == [f"route-tip-{tip.id}"]


def test_the_ussd_client_waits_tens_of_milliseconds_and_never_retries(make_app):
    assert Config.ussd_redis_timeout == SHORT  # the default outside the test suite
    ext = make_app(ussd_redis_timeout=SHORT).extensions["hotline"]
    kwargs = ext.ussd_redis.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == kwargs["socket_connect_timeout"] == 0.05
    assert kwargs["retry"].get_retries() == 0
    assert ext.redis.connection_pool.connection_kwargs["socket_timeout"] == 1.0  # workers keep theirs


def test_a_report_dropped_during_a_stall_resumes_where_it_stopped_once_redis_is_back(
    make_app, stalled_redis
):
    app = make_app(redis_url=stalled_redis.url, ussd_redis_timeout=SHORT)
    phone = Phone(app.test_client())
    with time_machine.travel(START, tick=False) as clock:
        phone.dial()
        phone.send("1", "2")  # Redis holds a draft stopped at the county
        os.kill(stalled_redis.process.pid, signal.SIGSTOP)
        try:
            phone.send("mom", "Bamburi road")
            assert "What happened?" in phone.last  # the network drops the session here
        finally:
            os.kill(stalled_redis.process.pid, signal.SIGCONT)
        clock.shift(6)
        assert phone.dial().startswith("CON You did not finish last time.")
        assert "What happened?" in phone.send("1")
        phone.send("Girls kept in a house", "3", "3", "2", "1")
    with app.extensions["hotline"].session_scope() as session:
        [tip] = session.scalars(select(Tip)).all()
    assert (tip.county_code, tip.place, tip.description) == (1, "Bamburi road", "Girls kept in a house")


def test_the_ussd_redis_timeout_and_breaker_period_come_from_the_environment(tmp_path):
    config = from_env(
        tmp_path, {"HOTLINE_ENV": "development", "USSD_REDIS_TIMEOUT_MS": "20", "REDIS_BREAKER_SECONDS": "3"}
    )
    assert (config.ussd_redis_timeout, config.redis_breaker_seconds) == (0.02, 3)
    assert from_env(tmp_path, {"HOTLINE_ENV": "development"}).ussd_redis_timeout == 0.05


def test_inputs_lost_by_both_stores_are_replayed_from_the_older_state_once_redis_is_back(
    make_app, stalled_redis, tmp_path
):
    healthy = make_app(redis_url=stalled_redis.url)  # used only while Redis runs: the suite's timeout
    broken_db = make_app(
        redis_url=stalled_redis.url, ussd_redis_timeout=SHORT, database_url=f"sqlite:///{tmp_path}/missing/dir/x.db"
    )
    phone = Phone(healthy.test_client())
    phone.dial()
    phone.send("1", "1")  # Redis holds the state at the county question
    os.kill(stalled_redis.process.pid, signal.SIGSTOP)
    try:
        phone.client = broken_db.test_client()  # neither Redis nor the database takes these two
        phone.send("kak", "Lurambi")
    finally:
        os.kill(stalled_redis.process.pid, signal.SIGCONT)
    phone.client = healthy.test_client()
    assert "Is someone in danger" in phone.send("Men took their IDs")
    phone.send("2", "2", "2", "1")
    with healthy.extensions["hotline"].session_scope() as session:
        [tip] = session.scalars(select(Tip)).all()
    assert (tip.county_code, tip.place, tip.description) == (37, "Lurambi", "Men took their IDs")


def test_a_command_that_timed_out_leaves_no_late_reply_for_the_next_command(make_app, stalled_redis):
    # GuardedRedis sends commands on a pooled connection itself: after a timeout the connection
    # must be dropped, or the next command would read the stalled command's late reply.
    app = make_app(redis_url=stalled_redis.url, ussd_redis_timeout=SHORT, redis_breaker_seconds=5)
    client = app.extensions["hotline"].ussd_redis
    client.set("first", "1")
    client.set("second", "2")
    with time_machine.travel(START, tick=False) as clock:
        os.kill(stalled_redis.process.pid, signal.SIGSTOP)
        try:
            with pytest.raises(redis.TimeoutError):
                client.get("first")
        finally:
            os.kill(stalled_redis.process.pid, signal.SIGCONT)
        clock.shift(5.1)  # past the breaker's cooldown
        assert client.get("second") == b"2"
        assert client.get("first") == b"1"
