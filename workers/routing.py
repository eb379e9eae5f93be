"""Routing of tips to the National Referral Mechanism.

`route_tip` is enqueued for every committed tip (by the webhook, or by the sweeper when Redis
was down or lost the job). It stamps `routing_started_at`, which tells the sweeper the tip needs
no further job. Notifying the county's focal points is the routing issue's work, still to come.
"""

from __future__ import annotations

import logging

from hotline.models import Tip, utcnow
from workers.context import extensions

log = logging.getLogger(__name__)


def route_tip(tip_id: int) -> str:
    """Route tip `tip_id` to its county's focal points (safe to run twice)."""
    with extensions().session_scope() as session:
        tip = session.get(Tip, tip_id)
        if tip is None:
            log.warning("tip %s no longer exists; nothing to route", tip_id)
            return "missing"
        if tip.routing_started_at is None:
            tip.routing_started_at = utcnow()
        log.info("tip %s (%s, county %s) taken for routing", tip.id, tip.kind, tip.county_code)
        return tip.status
