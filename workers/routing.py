"""Routing jobs: send a new tip to its county's focal points, and escalate it when nobody answers.

`route_tip` is enqueued for every committed tip (by the webhook, or by the sweeper when Redis
was down or lost the job). It stamps `routing_started_at`, which tells the sweeper the tip needs
no further routing job. Both jobs are safe to run twice: the SMS rows have dedupe keys.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import redis

from hotline.core.models import Tip, utcnow
from hotline.tips import routing
from workers.context import extensions
from workers.sms import send_now

log = logging.getLogger(__name__)


def route_tip(tip_id: int) -> str:
    """Notify the first stage of tip `tip_id` (safe to run twice)."""
    ext = extensions()
    now = utcnow()
    with ext.session_scope() as session:
        tip = session.get(Tip, tip_id)
        if tip is None:
            log.warning("tip %s no longer exists; nothing to route", tip_id)
            return "missing"
        if tip.routing_started_at is None:
            tip.routing_started_at = now
        ids = routing.notify_stage(session, ext.config, tip, 0, now) if tip.status == "received" else []
        status, escalate_at, level = tip.status, tip.escalate_at, tip.escalation_level
    send_now(ids)
    schedule_escalation(tip_id, level, escalate_at)
    if escalate_at is not None and level == 0:
        schedule_unreached_check(tip_id, now + timedelta(seconds=ext.config.unsent_escalation_seconds))
    log.info("tip %s routed: %s SMS", tip_id, len(ids))
    return status


def escalate_tip(tip_id: int, level: int, now=None) -> str:
    """Move tip `tip_id` past escalation level `level` unless it was acknowledged meanwhile."""
    ext = extensions()
    now = now or utcnow()
    with ext.session_scope() as session:
        tip = session.get(Tip, tip_id)
        if tip is None or tip.acknowledged_at or tip.escalate_at is None or tip.escalation_level != level:
            return "nothing to do"
        ids = routing.notify_stage(session, ext.config, tip, level + 1, now)
        escalate_at, new_level = tip.escalate_at, tip.escalation_level
    send_now(ids)
    schedule_escalation(tip_id, new_level, escalate_at)
    log.info("tip %s escalated to level %s: %s SMS", tip_id, new_level, len(ids))
    return f"level {new_level}"


def escalate_unreached(tip_id: int, now=None) -> str:
    """Escalate tip `tip_id` to the next stage and the secretariat if AT has accepted its first
    notification for none of its focal points within UNSENT_ESCALATION_SECONDS (once per tip)."""
    ext = extensions()
    now = now or utcnow()
    after = ext.config.unsent_escalation_seconds
    with ext.session_scope() as session:
        if not routing.unreached_tips(session, now - timedelta(seconds=after), tip_id):
            return "nothing to do"
        tip = session.get(Tip, tip_id, with_for_update=True)
        if tip.escalation_level != 0:
            return "nothing to do"  # escalated meanwhile
        ids = routing.notify_stage(session, ext.config, tip, 1, now, unreached=max(1, after // 60))
        escalate_at, new_level = tip.escalate_at, tip.escalation_level
    send_now(ids)
    schedule_escalation(tip_id, new_level, escalate_at)
    log.warning("tip %s: first notification not accepted by AT; escalated to level %s", tip_id, new_level)
    return f"level {new_level}"


def schedule_unreached_check(tip_id: int, at) -> None:
    """Check at `at` that AT accepted the tip's first notification (the sweeper also does)."""
    try:
        extensions().queues["tips"].enqueue_at(
            at, "workers.routing.escalate_unreached", tip_id, job_id=f"unreached-{tip_id}"
        )
    except redis.RedisError as exc:
        log.warning("unreached check of tip %s not scheduled (%s); the sweeper will do it", tip_id, exc)


def schedule_escalation(tip_id: int, level: int, at) -> None:
    """Ask RQ's scheduler to escalate at the deadline (the sweeper catches it if this is lost)."""
    if at is None:
        return
    try:
        queue = extensions().queues["tips"]
        queue.enqueue_at(
            at, "workers.routing.escalate_tip", tip_id, level, job_id=f"escalate-{tip_id}-{level}"
        )
    except redis.RedisError as exc:
        log.warning("escalation of tip %s not scheduled (%s); the sweeper will catch it", tip_id, exc)
