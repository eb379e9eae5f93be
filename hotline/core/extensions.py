"""The service's connections: database, Redis and the RQ queues, bound by the app factory.

Nothing here connects at import time. `Extensions` is built once per process from a
`Config`; web requests use `db_session()` (one session per request, removed at teardown),
jobs use `session_scope()` (one transaction per unit of work).

The USSD path has its own Redis client (`ussd_redis`, and `ussd_queues` on it): AT gives up on a
screen after 10 s, so that client waits tens of milliseconds, never retries, and goes through a
circuit breaker that stops calling Redis for a few seconds after it timed out or refused. Workers
and the other webhooks keep the ordinary client, with its normal timeouts.
"""

from __future__ import annotations

import os
import weakref
from contextlib import contextmanager
from dataclasses import dataclass

import redis
from flask import current_app
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from hotline.core import engagement
from hotline.core.breaker import CircuitBreaker, GuardedRedis
from hotline.core.config import Config

# Queue names, most urgent first: a worker listens on all of them in this order.
QUEUE_NAMES = ("tips", "default", "campaigns")

_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def _dispose_after_fork() -> None:
    # RQ forks a work horse per job: a forked child must not reuse its parent's connections.
    for engine in list(_engines):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_dispose_after_fork)


def make_engine(url: str, connect_timeout: int = 5) -> Engine:
    """An engine for `url`; SQLite gets WAL and a busy timeout so web and worker can share it.

    `hide_parameters` keeps tip contents out of error messages, and so out of the logs. A PostgreSQL
    server that takes the connection but never answers fails after `connect_timeout` seconds (libpq
    would wait for ever), so `/healthz` says the database is down instead of hanging.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    else:
        engine = create_engine(
            url,
            connect_args={"connect_timeout": connect_timeout},
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            hide_parameters=True,
        )
    _engines.add(engine)
    return engine


@dataclass
class Extensions:
    """One process's handles on the database, Redis and the queues."""

    config: Config
    engine: Engine
    sessions: scoped_session[Session]
    redis: redis.Redis
    queues: dict[str, Queue]
    ussd_redis: GuardedRedis
    ussd_queues: dict[str, Queue]

    @classmethod
    def build(cls, config: Config) -> Extensions:
        """Create the engine, session factory, Redis client and queues (no I/O yet)."""
        engine = make_engine(config.database_url, config.database_connect_timeout)
        engagement.seal_with(engine, config.phone_hash_key)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        client = redis.Redis.from_url(
            config.redis_url,
            socket_timeout=config.redis_timeout,
            socket_connect_timeout=config.redis_timeout,
            health_check_interval=30,
        )
        queues = {name: Queue(name, connection=client) for name in QUEUE_NAMES}
        ussd_client = GuardedRedis.from_url(
            config.redis_url,
            breaker=CircuitBreaker(config.redis_breaker_seconds),
            socket_timeout=config.ussd_redis_timeout,
            socket_connect_timeout=config.ussd_redis_timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=30,
        )
        ussd_queues = {name: Queue(name, connection=ussd_client) for name in QUEUE_NAMES}
        return cls(config, engine, scoped_session(factory), client, queues, ussd_client, ussd_queues)

    @contextmanager
    def session_scope(self):
        """One transaction: commit on success, roll back on error, always close."""
        session = self.sessions.session_factory()
        try:
            with session.begin():
                yield session
        finally:
            session.close()


def current() -> Extensions:
    """The running app's connections (inside a request or a `flask` command)."""
    return current_app.extensions["hotline"]
