"""A licence verdict in words a job seeker reads on one screen or in one SMS, in both languages."""

from __future__ import annotations

from datetime import date

from flows.gsm import to_gsm7
from flows.texts import text

STALE_AFTER_DAYS = 30


def verdict_text(
    language: str, name: str | None, kind: str, abroad: bool, when: date | None, name_limit: int = 18
) -> str:
    """`Demo Ltd: licensed to 2027-01-31, also jobs abroad.` and the like (18 fits a USSD screen)."""
    key = "agency.v.licensed_abroad" if kind == "licensed" and abroad else f"agency.v.{kind}"
    shown = to_gsm7(name or "")[:name_limit].rstrip()
    return text(language, key).format(name=shown, date=when.isoformat() if when else "")


def register_text(language: str, snapshot: date | None, today: date) -> str:
    """Which register the verdict comes from, flagged when it is more than 30 days old."""
    if snapshot is None:
        return ""
    old = (today - snapshot).days > STALE_AFTER_DAYS
    return text(language, "agency.register_old" if old else "agency.register").format(
        date=snapshot.isoformat()
    )
