"""Time in one place: now in UTC, naive database values read as UTC, and Kenya's clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

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


def kenya_time(moment: datetime | None, seconds: bool = False, missing: str = "-") -> str:
    """A stored time as Kenya reads it (EAT): `2026-11-28 13:05`, with `:07` when `seconds`; `missing`
    for None."""
    if moment is None:
        return missing
    return as_utc(moment).astimezone(NAIROBI).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
