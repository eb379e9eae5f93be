"""The sweeper: queues routing for tips whose job never reached Redis (or that Redis lost).

It runs when a worker starts and then every minute, scheduling itself by RQ's scheduler.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from rq.job import Job

from hotline import tips
from hotline.models import utcnow
from workers.context import extensions

log = logging.getLogger(__name__)

SWEEP_EVERY = timedelta(seconds=60)


def sweep_unqueued_tips(older_than_seconds: int = 30) -> int:
    """Queue routing for every unrouted tip that has no routing job in Redis; returns how many."""
    ext = extensions()
    with ext.session_scope() as session:
        ids = tips.unrouted_tip_ids(session, timedelta(seconds=older_than_seconds))
    missing = [tip_id for tip_id in ids if not Job.exists(tips.routing_job_id(tip_id), connection=ext.redis)]
    queued = sum(tips.queue_routing(ext.queues, tip_id) for tip_id in missing)
    if missing:
        log.info("sweeper queued %s of %s tips that had no routing job", queued, len(missing))
    return queued


def sweep_and_reschedule() -> int:
    """The periodic job: sweep, then run again after SWEEP_EVERY."""
    try:
        return sweep_unqueued_tips()
    finally:
        schedule_sweep()


def schedule_sweep() -> str:
    """Make sure the next sweep is scheduled; returns its job id.

    The id names the minute it runs in, so several workers scheduling at once make one job, and
    the running sweep never reuses its own id (RQ would then mark the next one finished).
    """
    ext = extensions()
    slot = (utcnow() + SWEEP_EVERY).replace(second=0, microsecond=0)
    job_id = f"sweep-unqueued-tips-{slot:%Y%m%d%H%M}"
    if not Job.exists(job_id, connection=ext.redis):
        ext.queues["default"].enqueue_at(slot, "workers.sweeper.sweep_and_reschedule", job_id=job_id)
    return job_id
