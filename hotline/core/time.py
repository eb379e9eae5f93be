"""Time in one place: now in UTC, naive database values read as UTC, and Kenya's clock."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta, timezone

# Kenya keeps East Africa Time, UTC+3, all year (no daylight saving): a fixed offset needs no tz data.
NAIROBI = timezone(timedelta(hours=3), "EAT")


def utcnow() -> datetime:
    """Now, in UTC, timezone-aware."""
    return datetime.now(UTC)


def as_utc(moment: datetime | None) -> datetime | None:
    """A stored time as an aware datetime: naive ones (SQLite gives them back so) are UTC; aware ones and
    None are returned as they are."""
    if moment is None or moment.tzinfo:
        return moment
    return moment.replace(tzinfo=UTC)


def kenya_today() -> date:
    """Today's date in Kenya (the server's own clock may keep another time zone)."""
    return utcnow().astimezone(NAIROBI).date()


def kenya_midnight(day: date) -> datetime:
    """The start of `day` in Kenya, in UTC (21:00 UTC the day before): the bound of a Kenyan day in a
    query (SQLite keeps times as UTC text, so the bound must be UTC too)."""
    return datetime.combine(day, time(), NAIROBI).astimezone(UTC)


def kenya_time(moment: datetime | None, seconds: bool = False, missing: str = "-") -> str:
    """A stored time as Kenya reads it (EAT): `2026-11-28 13:05`, with `:07` when `seconds`; `missing`
    for None."""
    if moment is None:
        return missing
    return as_utc(moment).astimezone(NAIROBI).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def duration(seconds: float, round_up: bool = False, days_after_hours: int = 48) -> str:
    """`45 s`, `12 min`, `3 h 20 min`, `4 d 2 h`: short, for a phone's width. Rounded down (an
    age, a time left) or, with `round_up`, up (how long something will take); whole days from
    `days_after_hours` hours on."""
    seconds = math.ceil(abs(seconds)) if round_up else int(abs(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = math.ceil(seconds / 60) if round_up else seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < days_after_hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
