"""A circuit breaker for Redis on the USSD path: a hung Redis costs one short timeout, not every screen.

After a call times out or cannot connect, the breaker opens: for `cooldown` seconds no call is
attempted and `BreakerOpen` (a `redis.ConnectionError`, so every existing `except RedisError`
treats it as "Redis down") is raised at once. Then it half-opens: one caller tries Redis while the
others still get `BreakerOpen`; success closes it, failure opens it again.

The state is per process (each gunicorn worker learns on its own, at the cost of one timeout)
and guarded by a lock, so threaded workers share it safely. The clock is `time.time`, which
tests can move with time_machine; a clock that jumps backwards ends the open period early.
"""

from __future__ import annotations

import threading
import time

import redis
from redis.client import Pipeline

# What says Redis is unreachable or hung; any other error means it answered.
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError)


class BreakerOpen(redis.ConnectionError):
    """Redis was not called: it failed moments ago and the breaker is open."""


class CircuitBreaker:
    """Closed, open for `cooldown` seconds after a failure, then half-open for one trial call."""

    def __init__(self, cooldown: float):
        self.cooldown = cooldown
        self._lock = threading.Lock()
        self._opened_at: float | None = None  # None: closed
        self._trial = False  # a half-open trial call is in flight

    @property
    def is_open(self) -> bool:
        """True while calls are refused without trying (the cooldown has not passed)."""
        with self._lock:
            return self._opened_at is not None and self._cooling(time.time())

    def allow(self) -> bool:
        """May a call go to Redis now? In the half-open state only the first asker may."""
        if self._opened_at is None:  # closed, the usual case: no lock (a call racing an opening
            return True  # was on its way to Redis anyway)
        with self._lock:
            if self._opened_at is None:
                return True
            if self._trial or self._cooling(time.time()):
                return False
            self._trial = True
            return True

    def succeeded(self) -> None:
        """Redis answered: close."""
        if self._opened_at is None and not self._trial:  # closed already: no lock
            return
        with self._lock:
            self._opened_at, self._trial = None, False

    def failed(self) -> None:
        """Redis timed out or refused: open (again) from now."""
        with self._lock:
            self._opened_at, self._trial = time.time(), False

    def call(self, function, *args, **kwargs):
        """`function(*args, **kwargs)` through the breaker: refused while open, its outcome recorded."""
        if not self.allow():
            raise BreakerOpen("Redis failed moments ago; not calling it")
        try:
            result = function(*args, **kwargs)
        except UNREACHABLE:
            self.failed()
            raise
        except BaseException:
            self.succeeded()  # Redis answered (with an error) or was never asked
            raise
        self.succeeded()
        return result

    def _cooling(self, now: float) -> bool:
        return 0 <= now - self._opened_at < self.cooldown


class GuardedRedis(redis.Redis):
    """A Redis client whose every command and pipeline goes through one circuit breaker."""

    def __init__(self, *args, breaker: CircuitBreaker, **kwargs):
        super().__init__(*args, **kwargs)
        self.breaker = breaker

    @classmethod
    def from_url(cls, url: str, *, breaker: CircuitBreaker, **kwargs) -> GuardedRedis:
        """A client for `url`, like `redis.Redis.from_url` (keyword arguments go to the pool)."""
        client = cls(connection_pool=redis.ConnectionPool.from_url(url, **kwargs), breaker=breaker)
        client.auto_close_connection_pool = True
        return client

    def execute_command(self, *args, **options):
        """One command, unless the breaker is open."""
        return self.breaker.call(self._send, *args, **options)

    def _send(self, *args, **options):
        # Straight to a pooled connection. redis-py's own path wraps every command in a retry
        # loop and metrics hooks; this client never retries (`Retry(NoBackoff(), 0)`: a hung Redis
        # must cost one short timeout) and records no metrics. On a timeout or a broken
        # connection, the connection is dropped, as redis-py does before it would retry.
        pool = self.connection_pool
        connection = pool.get_connection()
        try:
            connection.send_command(*args, **options)
            return self.parse_response(connection, args[0], **options)
        except UNREACHABLE:
            connection.disconnect()
            raise
        finally:
            pool.release(connection)

    def pipeline(self, transaction=True, shard_hint=None) -> GuardedPipeline:
        """A pipeline whose execution goes through the same breaker."""
        return GuardedPipeline(
            self.breaker, self.connection_pool, self.response_callbacks, transaction, shard_hint
        )


class GuardedPipeline(Pipeline):
    """A pipeline (as RQ uses to enqueue) executed through a circuit breaker."""

    def __init__(self, breaker: CircuitBreaker, *args):
        super().__init__(*args)
        self.breaker = breaker

    def execute(self, raise_on_error: bool = True):
        """Send the queued commands, unless the breaker is open."""
        return self.breaker.call(super().execute, raise_on_error)
