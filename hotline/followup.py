"""Following a report up by its reference: rate-limited per reporter key, answered in neutral words."""

from __future__ import annotations

import logging
import time

import redis
from sqlalchemy import select

from hotline import reference
from hotline.models import Tip

log = logging.getLogger(__name__)

STATUS = {
    "en": {
        "received": "received",
        "routed": "with the county team",
        "acknowledged": "acknowledged by the county team",
        "closed": "closed",
    },
    "sw": {
        "received": "imepokelewa",
        "routed": "iko na timu ya kaunti",
        "acknowledged": "imeshughulikiwa na timu ya kaunti",
        "closed": "imefungwa",
    },
}


class TooManyLookups(Exception):
    """This reporter looked up too many references this hour."""


def allow_lookup(client: redis.Redis, reporter_key: str, per_hour: int) -> None:
    """Count one lookup; TooManyLookups past the hourly limit (codes must not be guessable)."""
    key = f"followup:{reporter_key}:{int(time.time() // 3600)}"
    try:
        pipe = client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, 3600)
        count, _ = pipe.execute()
    except redis.RedisError as exc:
        # Redis down: answer rather than lock reporters out; 10^8 codes keep guessing hopeless.
        log.warning("follow-up rate limit unavailable: %s", type(exc).__name__)
        return
    if count > per_hour:
        raise TooManyLookups


def find(session, typed: str) -> Tip | None:
    """The tip with this reference (typed with or without dashes), or None."""
    code = reference.normalise(typed)
    return session.scalar(select(Tip).where(Tip.reference == code)) if code else None


def status_words(tip: Tip, language: str) -> str:
    """The tip's status as a reporter may read it."""
    table = STATUS.get(language, STATUS["en"])
    return table.get(tip.status, table["received"])
