"""Following a report up by its reference, so that nobody can find a tip by guessing.

Three limits stand between a guesser and a tip (the README shows the arithmetic):
- the code space: new references have 11 random digits (`hotline.reference`), and a code failing
  its check digit is answered "not found" without a lookup and costs nothing;
- per number: `followup_lookups_per_hour` lookups an hour per reporter key;
- service-wide: a budget of failed lookups per window (an hour for current codes, a day for the
  denser old ones). Once it is spent, an alarm is logged at ERROR (once per window, and shown by
  `/healthz`) and until the window ends only a caller's own tips are answered; everyone else gets
  a neutral "try again later", whether or not the code exists. When Redis cannot count, the
  budget counts as spent: refusing is safe, answering without a count is not.
Information added from a number other than the one that reported the tip is held for the case
team (`flask tips accept-update`), since whoever holds a reference is not necessarily the reporter.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.core.config import Config
from hotline.core.models import Tip, TipUpdate
from hotline.tips import reference, routing

log = logging.getLogger(__name__)

# The tip's status as its reporter reads it: neutral words, since a phone may be read by the person
# reported (a closed case is "closed", never "referred to the police"). At most 33 characters: the
# follow-up screens show them whole.
STATUS = {
    "en": {
        "received": "received",
        "routed": "with the county team",
        "acknowledged": "taken up by the county team",
        "followup": "followed up by the county team",
        "closed": "closed",
    },
    "sw": {
        "received": "imepokelewa",
        "routed": "iko na timu ya kaunti",
        "acknowledged": "inashughulikiwa na timu ya kaunti",
        "followup": "inafuatiliwa na timu ya kaunti",
        "closed": "imefungwa",
    },
}

# Seconds of the service-wide budget's window, by reference format.
BUDGET_WINDOW = {"current": 3600, "old": 24 * 3600}


@dataclass(frozen=True)
class Lookup:
    """What a follow-up lookup gives the caller: the tip, or None; `refused` says why none was looked up.

    `refused` is `too_many` (this number's hourly limit) or `busy` (the service-wide budget is spent,
    or cannot be counted).
    """

    tip: Tip | None = None
    refused: str | None = None


def look_up(session: Session, client: redis.Redis, config: Config, reporter_key: str, typed: str) -> Lookup:
    """Find the tip a caller typed the reference of, within the per-number and service-wide limits."""
    try:
        counted = _count(client, f"followup:{reporter_key}:{_window(3600)}", 3600)
    except redis.RedisError as exc:
        log.warning("follow-up limits unavailable (%s): only own reports answered", type(exc).__name__)
        counted = None
    if counted is not None and counted > config.followup_lookups_per_hour:
        return Lookup(refused="too_many")
    code = reference.normalise(typed)
    if code is None:
        return Lookup()  # a typo the check digit caught: no lookup, no information, no budget spent
    tip = session.scalar(select(Tip).where(Tip.reference == code))
    if tip is not None and tip.reporter_key == reporter_key:
        return Lookup(tip)  # one's own report is answered whatever the budget
    if counted is None:
        return Lookup(refused="busy")
    fmt = reference.format_of(code)
    try:
        if not _spend(client, config, fmt):
            return Lookup(refused="busy")
    except redis.RedisError as exc:
        log.warning("follow-up budget unavailable (%s): lookup refused", type(exc).__name__)
        return Lookup(refused="busy")
    if tip is not None:
        _refund(client, fmt)  # only failed lookups spend the budget
    return Lookup(tip)


def budget(config: Config, fmt: str) -> int:
    """How many failed lookups of codes of this format the whole service allows per window."""
    if fmt == "current":
        return config.followup_failed_lookups_per_hour
    return config.followup_old_failed_lookups_per_day


def budget_report(client: redis.Redis, config: Config) -> dict:
    """Failed lookups in the current window, the budget and whether its alarm is raised (for /healthz)."""
    report = {}
    for fmt, seconds in BUDGET_WINDOW.items():
        window = _window(seconds)
        failed = int(client.get(_budget_key(fmt, window)) or 0)
        report[fmt] = {
            "failed": min(failed, budget(config, fmt)),
            "budget": budget(config, fmt),
            "window_seconds": seconds,
            "alarm": bool(client.exists(_alarm_key(fmt, window))),
        }
    return report


def _window(seconds: int) -> int:
    return int(time.time() // seconds)


def _count(client: redis.Redis, key: str, seconds: int) -> int:
    pipe = client.pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, seconds)
    count, _ = pipe.execute()
    return count


def _budget_key(fmt: str, window: int) -> str:
    return f"followup:failed:{fmt}:{window}"


def _alarm_key(fmt: str, window: int) -> str:
    return f"followup:alarm:{fmt}:{window}"


def _spend(client: redis.Redis, config: Config, fmt: str) -> bool:
    """Take one failed lookup from the budget before looking (atomic across processes); False when spent."""
    seconds = BUDGET_WINDOW[fmt]
    window = _window(seconds)
    key = _budget_key(fmt, window)
    if _count(client, key, seconds) <= budget(config, fmt):
        return True
    client.decr(key)  # refused: nothing was looked up
    if client.set(_alarm_key(fmt, window), 1, nx=True, ex=seconds):
        log.error(
            "follow-up: %d failed lookups of %s references in %d s, the service-wide budget: someone may "
            "be guessing references; until the window ends only callers' own reports are answered",
            budget(config, fmt),
            fmt,
            seconds,
        )
    return False


def _refund(client: redis.Redis, fmt: str) -> None:
    try:
        client.decr(_budget_key(fmt, _window(BUDGET_WINDOW[fmt])))
    except redis.RedisError as exc:
        log.warning("follow-up budget not refunded (%s)", type(exc).__name__)


def find(session: Session, typed: str) -> Tip | None:
    """The tip with this reference (typed with or without dashes), or None. No limits: focal points only."""
    code = reference.normalise(typed)
    return session.scalar(select(Tip).where(Tip.reference == code)) if code else None


def status_words(tip: Tip, language: str) -> str:
    """The tip's status as a reporter may read it: the case's status (console) over the routing stage."""
    table = STATUS.get(language, STATUS["en"])
    if tip.case_status in ("Closed", "ClosedReferred") or tip.status == "closed":
        return table["closed"]
    if tip.case_status == "FollowUp":
        return table["followup"]
    return table.get(tip.status, table["received"])


# -- information added to a tip ------------------------------------------------------------


class UnknownUpdate(Exception):
    """No held update has this id."""


def add_information(
    session: Session, tip: Tip, words: str, reporter_key: str, source_id: str, now: datetime
) -> tuple[TipUpdate, list[int]]:
    """Keep information added to a tip: forwarded at once from the reporting number, else held.

    Returns the update and the ids of the SMS to send. Adding from the same source (a USSD session)
    again finds the first update.
    """
    update = session.scalar(select(TipUpdate).where(TipUpdate.source_id == source_id))
    if update is not None:
        return update, []
    own = tip.reporter_key == reporter_key
    update = TipUpdate(
        tip_id=tip.id,
        author="reporter" if own else "caller",
        text=words,
        state="forwarded" if own else "held",
        source_id=source_id,
        created_at=now,
    )
    session.add(update)
    session.flush()
    if not own:
        log.info("update %s on tip %s came from another number: held for the case team", update.id, tip.id)
        return update, []
    return update, routing.forward_update(session, tip, update)


def held_updates(session: Session) -> list[TipUpdate]:
    """Updates from other numbers waiting for the case team, oldest first."""
    return list(session.scalars(select(TipUpdate).where(TipUpdate.state == "held").order_by(TipUpdate.id)))


def accept_update(session: Session, update_id: int, now: datetime) -> list[int]:
    """The case team accepts a held update: it is forwarded to whoever holds the tip (SMS ids to send)."""
    update = session.get(TipUpdate, update_id)
    if update is None or update.state not in ("held", "accepted"):
        raise UnknownUpdate(update_id)
    if update.state == "held":
        update.state, update.reviewed_at = "accepted", now
    return routing.forward_update(session, session.get(Tip, update.tip_id), update)


def reject_update(session: Session, update_id: int, now: datetime) -> None:
    """The case team rejects a held update: it stays on record and is never forwarded."""
    update = session.get(TipUpdate, update_id)
    if update is None or update.state not in ("held", "rejected"):
        raise UnknownUpdate(update_id)
    update.state, update.reviewed_at = "rejected", update.reviewed_at or now
