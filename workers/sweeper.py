"""The sweeper: queues tips whose routing job never reached Redis, then schedules itself again."""

from __future__ import annotations

import logging
from datetime import timedelta

from hotline import tips
from workers.context import extensions

log = logging.getLogger(__name__)

SWEEP_EVERY = timedelta(seconds=60)
SWEEP_JOB_ID = "sweep-unqueued-tips"


def sweep_unqueued_tips(older_than_seconds: int = 30) -> int:
    """Queue routing for every tip saved while Redis was down; returns how many were queued."""
    ext = extensions()
    with ext.session_scope() as session:
        ids = tips.unqueued_tip_ids(session, timedelta(seconds=older_than_seconds))
    queued = sum(tips.queue_routing(ext.session_scope, ext.queues, tip_id) for tip_id in ids)
    if ids:
        log.info("sweeper queued %s of %s unqueued tips", queued, len(ids))
    return queued


def sweep_and_reschedule() -> int:
    """The periodic job: sweep, then run again after SWEEP_EVERY."""
    try:
        return sweep_unqueued_tips()
    finally:
        schedule_sweep()


def schedule_sweep() -> None:
    """Make sure the next sweep is scheduled (one job id, so workers never pile up copies)."""
    queue = extensions().queues["default"]
    queue.enqueue_in(SWEEP_EVERY, "workers.sweeper.sweep_and_reschedule", job_id=SWEEP_JOB_ID)
