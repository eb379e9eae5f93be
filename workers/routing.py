"""Routing of tips to the National Referral Mechanism.

`route_tip` is enqueued for every committed tip (by the webhook, or by the sweeper when Redis
was down). Notifying the county's focal points is the routing issue's work; until it lands the
job only confirms the tip is there and ready, so the queue and the sweeper can be shown to work.
"""

from __future__ import annotations

import logging

from hotline.models import Tip
from workers.context import extensions

log = logging.getLogger(__name__)


def route_tip(tip_id: int) -> str:
    """Route tip `tip_id` to its county's focal points (safe to run twice)."""
    with extensions().session_scope() as session:
        tip = session.get(Tip, tip_id)
        if tip is None:
            log.warning("tip %s no longer exists; nothing to route", tip_id)
            return "missing"
        log.info("tip %s (%s, county %s) is ready for routing", tip.id, tip.kind, tip.county_code)
        return tip.status
