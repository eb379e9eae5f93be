"""Allowed sending hours, in Kenya's time (Africa/Nairobi, EAT, UTC+3 all year).

Promotional SMS may go out 08:00-18:00 EAT (Safaricom's rule for promotional SMS). A campaign keeps its
window as minutes after local midnight, `from <= t < until`; a window that wraps midnight
(22:00-06:00) is allowed too, and 00:00-24:00 means any time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from campaigns.errors import CampaignError
from hotline.core.time import NAIROBI

DEFAULT_HOURS = (8 * 60, 18 * 60)
DAY = 24 * 60
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$", re.ASCII)


def parse_hours(text: str) -> tuple[int, int]:
    """`08:00-18:00` as (480, 1080); CampaignError for anything else."""
    match = _HOURS.match(text or "")
    if not match:
        raise CampaignError(f"hours must look like 08:00-18:00, not {text!r}")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if start_m > 59 or end_m > 59 or start >= DAY or end > DAY or start == end:
        raise CampaignError(f"{text!r} is not a window of the day (00:00 to 24:00, start before end)")
    return start, end


def show(start: int, end: int) -> str:
    """(480, 1080) as `08:00-18:00`."""
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


def _minute_of_day(moment: datetime) -> int:
    local = moment.astimezone(NAIROBI)
    return local.hour * 60 + local.minute


def within(moment: datetime, start: int, end: int) -> bool:
    """True when `moment` (aware) falls inside the window."""
    minute = _minute_of_day(moment)
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end  # the window wraps midnight


def next_opening(moment: datetime, start: int, end: int) -> datetime:
    """`moment` itself when inside the window, else when the window next opens (aware, in UTC).

    UTC because SQLite keeps no offset: a Nairobi wall time stored there would read back 3 h off.
    """
    if within(moment, start, end):
        return moment
    local = moment.astimezone(NAIROBI)
    opening = local.replace(hour=start // 60, minute=start % 60, second=0, microsecond=0)
    if opening <= local:
        opening += timedelta(days=1)
    return opening.astimezone(UTC)


def local_time(moment: datetime) -> str:
    """A moment as Nairobi wall time, for people: `2026-11-23 08:00 EAT`."""
    return moment.astimezone(NAIROBI).strftime("%Y-%m-%d %H:%M EAT")


def finish(moment: datetime, start: int, end: int, seconds: float) -> datetime:
    """When `seconds` of sending that may start at `moment` ends, sending only inside the window (UTC).

    A campaign's sending pauses when the window closes and goes on when it opens again, so a long
    campaign spans days: the seconds are laid into the window's open stretches one after another.
    """
    left = timedelta(seconds=max(0.0, seconds))
    at = next_opening(moment.astimezone(UTC), start, end)
    while True:
        closing = _closing(at, start, end)
        if at + left <= closing:
            return at + left
        left -= closing - at
        at = next_opening(closing, start, end)


def _closing(moment: datetime, start: int, end: int) -> datetime:
    """When the window that `moment` is inside next closes (a day later for 00:00-24:00)."""
    local = moment.astimezone(NAIROBI)
    if (start, end) == (0, DAY):
        return (local + timedelta(days=1)).astimezone(UTC)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    closing = midnight + timedelta(minutes=end)
    if closing <= local:
        closing += timedelta(days=1)
    return closing.astimezone(UTC)
