"""`GET /healthz`: is the database reachable, is Redis, how deep are the queues, is any SMS stuck.

A dependency down answers 503 (take this web process out of rotation). Service SMS still unsent after
SMS_ALARM_SECONDS (AT down or refusing for that long) answer 200 with status `alarm` and their count in
`sms_overdue`: the web process itself is fine, but someone must look.
"""

from __future__ import annotations

from datetime import timedelta

import redis
from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from hotline.core.extensions import current
from hotline.core.models import utcnow
from hotline.messaging import delivery_reports, outbound
from hotline.tips import followup

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """JSON with database, redis and queue depths; 503 when a dependency is down."""
    ext = current()
    report: dict = {"database": "ok", "redis": "ok", "queues": {}, "sms_overdue": None}
    try:
        with ext.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        with ext.session_scope() as session:
            age = timedelta(seconds=ext.config.sms_alarm_seconds)
            report["sms_overdue"] = outbound.overdue(session, utcnow(), age)
    except SQLAlchemyError as exc:
        report["database"] = f"error: {type(exc).__name__}"
    try:
        ext.redis.ping()
        report["queues"] = {name: queue.count for name, queue in ext.queues.items()}
        report["delivery_reports_buffered"] = delivery_reports.pending(ext.redis)
        # Failed follow-up lookups against the service-wide budget; `alarm` once it was spent.
        report["followup_lookups"] = followup.budget_report(ext.redis, ext.config)
    except redis.RedisError as exc:
        report["redis"] = f"error: {type(exc).__name__}"
    healthy = report["database"] == "ok" and report["redis"] == "ok"
    report["status"] = ("alarm" if report["sms_overdue"] else "ok") if healthy else "degraded"
    return jsonify(report), 200 if healthy else 503
