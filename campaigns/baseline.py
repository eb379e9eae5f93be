"""The baseline rate of the main outcome, for the builder's minimum detectable effect.

The main outcome is the report's "any" engagement: a contact dialled the hotline, reported a tip,
checked an agency or sent an SMS (`campaigns.report.ANY`). The baseline is measured over the last
`DAYS` whole Africa/Nairobi days before today (today is not over): of the contacts subscribed now
(not opted out, reachable: the base of every audience), the share with at least one such signal in
those days, matched through their engagement key as the report matches them (the sealed rows opened
here, `report.signal_masks`).

A 90-day share p90 becomes a rate per attribution window of w days by assuming a constant hazard
(the chance to engage is the same every day, and days are independent):

    rate = 1 - (1 - p90) ^ (w / 90)

With nobody subscribed, or nobody who engaged in those days (a new service, a new contact list),
there is no data to plan with: the rate is `ASSUMED_RATE` per window (2%, the figure the issue's
example uses), and `assumed` says so.

The builder asks for it on every keystroke, for audiences of a million contacts: pass a Redis
client as `cache` and the two counts (engaged, contacts) are kept for `CACHE_SECONDS` under a key of
the days measured, so a new day measures afresh. Without `cache` every call measures: deterministic,
as tests want. A cache that fails (Redis down) is only a slower answer, never an error. The
worker's sweep (`refresh`) measures again before the kept counts expire.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import redis
from sqlalchemy import and_, func, select

from campaigns.report import ANY, CHUNK, contact_filter, signal_masks
from hotline.core.engagement import day_of
from hotline.core.models import Contact

log = logging.getLogger(__name__)

DAYS = 90  # the baseline's whole Nairobi days, up to yesterday
ASSUMED_RATE = 0.02  # per attribution window, when there is no data to measure
CACHE_SECONDS = 3600
REFRESH_AHEAD = 300  # the worker measures again when the kept counts have less than this to live
CACHE_KEY = "campaigns:baseline:{first}:{last}"


@dataclass(frozen=True)
class Baseline:
    """The main outcome's rate per attribution window, from `engaged` of `contacts` over `DAYS` days,
    or `ASSUMED_RATE` when `assumed`."""

    rate: float
    engaged: int
    contacts: int
    assumed: bool


def per_window(share: float, window_days: int, days: int = DAYS) -> float:
    """A share over `days` days as a rate per `window_days` days, at a constant hazard."""
    return 1 - (1 - share) ** (window_days / days)


def _subscribed():
    return and_(Contact.opted_out_at.is_(None), Contact.unreachable_reason.is_(None))


def _measure(session, first, after) -> tuple[int, int]:
    """(engaged, contacts): subscribed contacts with any engagement from `first` to `after`, and all."""
    contacts = session.scalar(select(func.count()).select_from(Contact).where(_subscribed()))
    if not contacts:
        return 0, 0
    masks, _ = signal_masks(session, first, after)
    keys = [key for key, mask in masks.items() if mask & ANY]
    engaged = 0
    for start in range(0, len(keys), CHUNK):
        wanted = contact_filter(session, keys[start : start + CHUNK])
        engaged += session.scalar(select(func.count()).select_from(Contact).where(wanted, _subscribed()))
    return engaged, contacts


def _cached(cache, key: str):
    try:
        raw = cache.get(key)
    except redis.RedisError as exc:
        log.warning("baseline: cache unavailable (%s), measuring", exc)
        return None
    return tuple(json.loads(raw)) if raw else None


def _keep(cache, key: str, counts: tuple[int, int]) -> None:
    try:
        cache.set(key, json.dumps(counts), ex=CACHE_SECONDS)
    except redis.RedisError as exc:
        log.warning("baseline: cache unavailable (%s), not kept", exc)


def _key(now: datetime) -> tuple[date, date, str]:
    after = day_of(now)  # today is not over: the days measured end yesterday
    first = after - timedelta(days=DAYS)
    last = after - timedelta(days=1)
    return first, after, CACHE_KEY.format(first=first.isoformat(), last=last.isoformat())


def refresh(session, now: datetime, cache: redis.Redis, ahead_seconds: int = REFRESH_AHEAD) -> bool:
    """Measure and keep the counts when the kept ones are missing or expire within `ahead_seconds`,
    so that no manager's keystroke pays for the measure (the worker's sweep calls this every
    minute); True when it measured."""
    first, after, key = _key(now)
    try:
        left = cache.ttl(key)
    except redis.RedisError as exc:
        log.warning("baseline: cache unavailable (%s), not refreshed", exc)
        return False
    if left > ahead_seconds:
        return False
    _keep(cache, key, _measure(session, first, after))
    return True


def rate(session, window_days: int, now: datetime, cache: redis.Redis | None = None) -> Baseline:
    """The baseline rate of any engagement per attribution window of `window_days` days (see the
    module), measured over the last `DAYS` days, or kept in `cache` for an hour."""
    if window_days < 1:
        raise ValueError(f"window_days must be at least 1, got {window_days}")
    first, after, key = _key(now)
    counts = _cached(cache, key) if cache is not None else None
    if counts is None:
        counts = _measure(session, first, after)
        if cache is not None:
            _keep(cache, key, counts)
    engaged, contacts = counts
    if not engaged:
        return Baseline(ASSUMED_RATE, engaged, contacts, assumed=True)
    return Baseline(per_window(engaged / contacts, window_days), engaged, contacts, assumed=False)
