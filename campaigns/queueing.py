"""How a campaign slice is queued: the job's name, the per-campaign lock and "queued" marks in Redis.

The job itself runs in `workers.campaigns`; the CLI, the sweeper and the job queue it by name, so the
campaign feature never imports the workers.
"""

from __future__ import annotations

import logging
from datetime import datetime

import redis

from hotline.core.time import utcnow

log = logging.getLogger(__name__)

JOB = "workers.campaigns.dispatch_campaign"


def lock_key(campaign_id: int) -> str:
    """The Redis lock a slice holds while it works a campaign."""
    return f"campaign:{campaign_id}:dispatch"


def queued_key(campaign_id: int) -> str:
    """Set while a slice is queued or scheduled, so the sweeper does not queue another."""
    return f"campaign:{campaign_id}:queued"


def queue_dispatch(ext, campaign_id: int, at: datetime | None = None) -> bool:
    """Queue (or schedule at `at`) a campaign slice; False when Redis refused (the sweeper retries)."""
    try:
        wait = max(0.0, (at - utcnow()).total_seconds()) if at else 0.0
        ext.redis.set(queued_key(campaign_id), "1", ex=int(wait) + 300)
        if wait > 0:
            ext.queues["campaigns"].enqueue_at(at, JOB, campaign_id, failure_ttl=7 * 24 * 3600)
        else:
            ext.queues["campaigns"].enqueue(JOB, campaign_id, failure_ttl=7 * 24 * 3600)
        return True
    except redis.RedisError as exc:
        log.warning("campaign %s: slice not queued (%s); the sweeper will", campaign_id, type(exc).__name__)
        return False
