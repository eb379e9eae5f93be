"""Applying buffered delivery reports to the database, thousands per transaction."""

from __future__ import annotations

import logging
import time

from campaigns import uncertain
from hotline.core.models import utcnow
from hotline.messaging import delivery_reports
from workers.context import extensions

log = logging.getLogger(__name__)

BATCH = 5000
SLICE_SECONDS = 2.0  # then the job queues itself again, so tip jobs never wait behind it
STALE_AFTER = 60.0  # an applying list this old belongs to a worker that died


def apply_delivery_reports(batch: int = BATCH, max_seconds: float = SLICE_SECONDS) -> int:
    """Apply buffered reports until the buffer is empty or the slice is used; returns how many."""
    ext = extensions()
    delivery_reports.applying_started(ext.redis)
    applied = 0
    for key, reports in delivery_reports.stale(ext.redis, STALE_AFTER):
        applied += _apply(ext, key, reports)
    deadline = time.monotonic() + max_seconds
    while True:
        key, reports = delivery_reports.take(ext.redis, batch)
        if not reports:
            return applied
        applied += _apply(ext, key, reports)
        if time.monotonic() > deadline:
            delivery_reports.queue_apply(ext.queues)
            return applied


def _apply(ext, key: str, reports) -> int:
    with ext.session_scope() as session:
        result = delivery_reports.apply(session, reports)
        if result.unmatched:  # perhaps late reports of campaign recipients held as uncertain
            uncertain.settle(session, utcnow(), ext.config.phone_hash_key)
    delivery_reports.done(ext.redis, key)
    log.info(
        "delivery reports: %d campaign, %d service, %d unmatched, %d ignored",
        result.campaign,
        result.service,
        result.unmatched,
        result.ignored,
    )
    return len(reports)
