"""The sweeper: catches whatever a lost job or a Redis outage left behind.

- tips whose routing job never reached Redis (or that Redis lost);
- tips past their escalation deadline whose scheduled escalation job was lost;
- SMS still pending whose send job is gone;
- sending campaigns that nobody is working (their slice was lost with a worker or with Redis);
- delivery reports waiting in the buffer with no applying job (it was not queued, or its worker died);
- USSD states kept in the database during a Redis outage, once past the resume window.

It runs when a worker starts and then every minute, scheduling itself by RQ's scheduler.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from rq.job import Job
from sqlalchemy import select

from hotline import delivery_reports, outbound, routing, tips, ussd_sessions
from hotline.models import Campaign, OutboundSms, Tip, utcnow
from workers import campaigns as campaign_jobs
from workers.context import extensions
from workers.delivery import STALE_AFTER
from workers.routing import escalate_tip

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


def sweep_escalations(now=None) -> int:
    """Escalate every tip past its deadline; returns how many moved on."""
    now = now or utcnow()
    ext = extensions()
    with ext.session_scope() as session:
        due = [
            (tip_id, session.get(Tip, tip_id).escalation_level)
            for tip_id in routing.due_for_escalation(session, now)
        ]
    return sum(escalate_tip(tip_id, level, now=now).startswith("level") for tip_id, level in due)


def sweep_pending_sms(older_than_seconds: int = 60) -> int:
    """Queue again every pending SMS whose send job is gone; returns how many."""
    ext = extensions()
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    with ext.session_scope() as session:
        ids = list(
            session.scalars(
                select(OutboundSms.id)
                .where(OutboundSms.state == "pending", OutboundSms.created_at <= cutoff)
                .limit(5000)
            )
        )
    missing = [i for i in ids if not Job.exists(outbound.send_job_id(i), connection=ext.redis)]
    return outbound.queue_send(ext.queues, missing)


def sweep_campaigns(now=None) -> int:
    """Queue a slice for every sending campaign that is due and that no slice holds or waits for."""
    ext = extensions()
    now = now or utcnow()
    with ext.session_scope() as session:
        due = session.scalars(
            select(Campaign.id).where(
                Campaign.state == "sending",
                (Campaign.next_send_at.is_(None)) | (Campaign.next_send_at <= now),
            )
        ).all()
    idle = [
        campaign_id
        for campaign_id in due
        if not ext.redis.exists(campaign_jobs.lock_key(campaign_id), campaign_jobs.queued_key(campaign_id))
    ]
    return sum(campaign_jobs.queue_dispatch(ext, campaign_id) for campaign_id in idle)


def sweep_delivery_reports() -> bool:
    """Queue the applying job when reports wait in the buffer or a dead worker left some half-applied."""
    ext = extensions()
    if delivery_reports.pending(ext.redis) or delivery_reports.stale(ext.redis, STALE_AFTER):
        return delivery_reports.queue_apply(ext.queues)
    return False


def sweep_all(now=None) -> dict:
    """Every sweep, with what each did."""
    return {
        "tips": sweep_unqueued_tips(),
        "escalations": sweep_escalations(now),
        "sms": sweep_pending_sms(),
        "campaigns": sweep_campaigns(now),
        "delivery_reports": sweep_delivery_reports(),
        "ussd_state_backups": sweep_ussd_state_backups(),
    }


def sweep_ussd_state_backups() -> int:
    """Delete USSD states kept in the database past the resume window (they hold report drafts)."""
    ext = extensions()
    ttl = max(ext.config.resume_ttl, ext.config.ussd_session_ttl)
    with ext.engine.begin() as connection:
        return ussd_sessions.purge_backups(connection, timedelta(seconds=ttl))


def sweep_and_reschedule() -> dict:
    """The periodic job: sweep, then run again after SWEEP_EVERY."""
    try:
        return sweep_all()
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
