"""The sweeper: catches whatever a lost job or a Redis outage left behind.

- tips whose routing job never reached Redis (or that Redis lost);
- tips past their escalation deadline whose scheduled escalation job was lost;
- service SMS due for another attempt (or a check of an uncertain one) with no job waiting, and
  those a dead worker left `sending`; tips whose first notification AT has not accepted in time;
  an alarm (ERROR, once each) for service SMS still unsent after SMS_ALARM_SECONDS;
- sending campaigns that nobody is working (their slice was lost with a worker or with Redis);
- delivery reports waiting in the buffer with no applying job (it was not queued, or its worker died);
- USSD states kept in the database during a Redis outage, once past the resume window;
- the dashboard's national figures over 30, 90 and 365 days, computed again before they are a minute
  old, so that no secretariat or auditor viewer waits for them (hotline/oversight/cache.py);
- the campaign builder's 90-day baseline, measured again before its kept counts expire, so that no
  manager's keystroke pays for the measure;
- the daily retention purge, queued once a day after 03:00 in Nairobi (workers/retention.py).

It runs when a worker starts and then every minute, scheduling itself by RQ's scheduler. Each run
leaves a marker that expires after a few minutes; a worker that finds it gone (Redis restarted empty
and took the schedule with it) sweeps at once and schedules the next run (workers/scheduler.py).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from rq.job import Job
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from campaigns import baseline
from campaigns import queueing as campaign_jobs
from hotline.core.models import Campaign, CampaignBatch, Tip, utcnow
from hotline.core.queues import job_status
from hotline.core.time import as_utc
from hotline.messaging import delivery_reports, outbound
from hotline.oversight import cache as dashboard_cache
from hotline.tips import routing
from hotline.tips import submission as tips
from hotline.ussd import sessions as ussd_sessions
from workers.context import extensions
from workers.delivery import STALE_AFTER
from workers.retention import queue_daily_purge
from workers.routing import escalate_tip, escalate_unreached

log = logging.getLogger(__name__)

SWEEP_EVERY = timedelta(seconds=60)
# Set by every sweep, gone when no sweep ran for three periods (or Redis lost its data).
SWEPT_KEY = "sweep:recent"
SWEPT_TTL = 3 * SWEEP_EVERY


def sweep_unqueued_tips(older_than_seconds: int = 30) -> int:
    """Queue routing for every unrouted tip whose routing job will not run; returns how many."""
    ext = extensions()
    with ext.session_scope() as session:
        ids = tips.unrouted_tip_ids(session, timedelta(seconds=older_than_seconds))
    missing = [tip_id for tip_id in ids if not job_status(ext.queues["tips"], tips.routing_job_id(tip_id))]
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


def sweep_service_sms(now=None) -> int:
    """Queue a job for every due pending or uncertain SMS that has none waiting; returns how many.

    SMS left `sending` by a dead worker become uncertain first. A failed old job does not count:
    the next step gets a job of its own.
    """
    ext = extensions()
    now = now or utcnow()
    with ext.session_scope() as session:
        stale = outbound.mark_stale(session, now)
        due = outbound.due(session, now)
    if stale:
        log.warning("sweeper: %s SMS were left sending by a worker that stopped; settling them", stale)
    queued = 0
    for outbound_id, attempts, at in due:
        if outbound.has_live_job(ext.queues["tips"], outbound_id, attempts, at, now):
            continue
        if not outbound.queue_attempt(ext.queues, outbound_id, attempts, at):
            break
        queued += 1
    return queued


def sweep_unreached_tips(now=None) -> int:
    """Escalate every tip whose first notification AT has not accepted in time; returns how many."""
    ext = extensions()
    now = now or utcnow()
    since = now - timedelta(seconds=ext.config.unsent_escalation_seconds)
    with ext.session_scope() as session:
        ids = routing.unreached_tips(session, since)
    return sum(escalate_unreached(tip_id, now=now).startswith("level") for tip_id in ids)


def sweep_sms_alarms(now=None) -> int:
    """Log at ERROR, once each, the service SMS still unsent after SMS_ALARM_SECONDS; returns how many."""
    ext = extensions()
    now = now or utcnow()
    age = timedelta(seconds=ext.config.sms_alarm_seconds)
    with ext.session_scope() as session:
        rows = outbound.raise_alarms(session, now, age)
        for row in rows:
            log.error(
                "ALARM: service SMS %s (%s, tip %s) still %s after %d min: %s attempts, last error: %s",
                row.id,
                row.purpose,
                row.tip_id or "-",
                row.state,
                (now - as_utc(row.created_at)).total_seconds() // 60,
                row.attempts,
                row.last_error or "-",
            )
    return len(rows)


def sweep_campaigns(now=None) -> int:
    """Queue a slice for every sending campaign that is due and that no slice holds or waits for.

    A paused or cancelled campaign gets one too while a batch's answer is unsettled (its worker died):
    the slice reconciles the batch from delivery reports.
    """
    ext = extensions()
    now = now or utcnow()
    unsettled = select(CampaignBatch.id).where(
        CampaignBatch.campaign_id == Campaign.id, CampaignBatch.state.in_(("claimed", "uncertain"))
    )
    sending = (Campaign.state == "sending") & (
        Campaign.next_send_at.is_(None) | (Campaign.next_send_at <= now)
    )
    stopped = Campaign.state.in_(("paused", "cancelled")) & unsettled.exists()
    with ext.session_scope() as session:
        due = session.scalars(select(Campaign.id).where(sending | stopped)).all()
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
    done = {
        "tips": sweep_unqueued_tips(),
        "escalations": sweep_escalations(now),
        "unreached": sweep_unreached_tips(now),
        "sms": sweep_service_sms(now),
        "sms_alarms": sweep_sms_alarms(now),
        "campaigns": sweep_campaigns(now),
        "delivery_reports": sweep_delivery_reports(),
        "ussd_state_backups": sweep_ussd_state_backups(),
        "campaign_baseline": sweep_campaign_baseline(now),
        "retention": queue_daily_purge(now),
        "dashboard": sweep_dashboard(now),  # last: only saves viewers a wait
    }
    extensions().redis.set(SWEPT_KEY, utcnow().isoformat(), ex=SWEPT_TTL)
    return done


def sweep_dashboard(now=None) -> list[int]:
    """Compute and keep the dashboard's national figures that are missing or getting old; their days.
    A failure is logged and the sweep goes on: without kept figures the first viewer computes them."""
    ext = extensions()
    try:
        with ext.session_scope() as session:
            return dashboard_cache.warm(session, ext.redis, ext.config, now or utcnow())
    except SQLAlchemyError:
        log.exception("the dashboard's figures could not be computed; viewers will compute them")
        return []


def sweep_campaign_baseline(now=None) -> bool:
    """Measure the builder's baseline again when its kept counts are about to expire."""
    ext = extensions()
    with ext.session_scope() as session:
        return baseline.refresh(session, now or utcnow(), ext.redis)


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


def swept_recently() -> bool:
    """Whether a sweep ran within the last few periods (False after Redis restarted empty)."""
    return bool(extensions().redis.exists(SWEPT_KEY))


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
