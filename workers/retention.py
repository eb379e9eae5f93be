"""The daily purge (hotline.retention): the periodic sweep schedules it for 03:00 in Nairobi.

Every worker sweeps every minute, so each sweep makes sure the next run is scheduled in RQ: the first
sweep to set a Redis key naming the run's day (SET NX, expiring after PURGE_MARK_TTL) schedules the
job, whose id names the day too, so several workers make one job a day. The job runs at its time by
RQ's scheduler (or as soon as a worker is back, if none ran then). A day whose job failed is retried
by RQ; a purge that runs twice removes nothing the second time.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from hotline.core.queues import DEFAULT_RETRY
from hotline.core.time import NAIROBI, utcnow
from hotline.retention.purge import purge
from workers.context import extensions

log = logging.getLogger(__name__)

PURGE_AT_HOUR = 3  # Nairobi time: a quiet hour, long after the day's campaign window (08:00-18:00)
PURGE_MARK_TTL = timedelta(hours=36)  # past the run's time, so no sweep schedules that day twice
PURGE_TIMEOUT = 3600  # seconds: a first run over years of data takes minutes; RQ's default is 180


def mark_key(day: str) -> str:
    """The Redis key that says the purge of `day` (YYYY-MM-DD, Nairobi) is scheduled."""
    return f"retention:purge-queued:{day}"


def next_run(now: datetime) -> datetime:
    """The next 03:00 in Nairobi after `now` (an aware datetime)."""
    local = now.astimezone(NAIROBI)
    run = local.replace(hour=PURGE_AT_HOUR, minute=0, second=0, microsecond=0)
    return run if run > local else run + timedelta(days=1)


def queue_daily_purge(now: datetime | None = None) -> str | None:
    """Schedule the next daily purge unless a sweep did; returns its job id when this call did."""
    run = next_run(now or utcnow())
    day = run.date().isoformat()
    ext = extensions()
    if not ext.redis.set(mark_key(day), run.isoformat(), nx=True, ex=PURGE_MARK_TTL):
        return None
    job_id = f"retention-purge-{day}"
    ext.queues["default"].enqueue_at(
        run,
        "workers.retention.purge_daily",
        day,
        job_id=job_id,
        job_timeout=PURGE_TIMEOUT,
        retry=DEFAULT_RETRY,
        failure_ttl=7 * 24 * 3600,
    )
    return job_id


def purge_daily(day: str | None = None) -> dict:
    """The job: purge what is past retention now; returns the report's counts per kind. `day` only
    names the run (its job id); retention is always measured from the moment it runs."""
    ext = extensions()
    with ext.session_scope() as session:
        report = purge(session, ext.config, utcnow())
    log.info(
        "retention purge %s: %s rows (%s)",
        day or "by hand",
        report.total,
        ", ".join(f"{kind.name} {kind.count}" for kind in report.kinds if kind.count),
    )
    return report.detail()
