"""Signals about agencies for NEA: the agencies the case desk flagged on reports about them."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from hotline.core.models import Agency, Tip
from hotline.core.time import NAIROBI, as_utc, kenya_midnight


def flagged(session, days: int, today: date) -> list[tuple]:
    """Agencies flagged on reports in the last `days` days: name, registration, reports, last flagged."""
    since = kenya_midnight(today - timedelta(days=days - 1))
    reports = func.count(Tip.id)
    query = (
        select(Agency.name, Agency.registration_number, reports, func.max(Tip.agency_flagged_at))
        .join(Tip, Tip.agency_id == Agency.id)
        .where(Tip.agency_flagged_at >= since)
        .group_by(Agency.id, Agency.name, Agency.registration_number)
        .order_by(reports.desc(), Agency.name)
    )
    return [
        (name, registration, count, as_utc(last).astimezone(NAIROBI).date())
        for name, registration, count, last in session.execute(query)
    ]
