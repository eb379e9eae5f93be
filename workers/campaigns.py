"""The campaign dispatcher: one job works a campaign for a few seconds, then queues itself again.

No job per message: a slice claims, sends and records batches of up to 1,000 recipients (see
`campaigns.dispatch`) until its time is used, so tip jobs, on a queue the worker serves first, never
wait long behind a national campaign. Batches leave at the campaign's rate; when AT takes longer to
answer than that pace allows, up to CAMPAIGN_CONCURRENCY requests are out at once (threads that only
wait for AT; claims and records stay in the slice's own thread, one transaction at a time). One
Redis lock per campaign keeps two slices from working the same campaign. Outside the allowed hours,
before the start time, and after a failed request, the slice schedules the next one with RQ's
scheduler; the sweeper queues a slice for any sending campaign nobody is working (the worker died,
Redis lost the job).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from typing import NamedTuple

from redis.exceptions import LockError

from campaigns import dispatch, uncertain
from campaigns.hours import next_opening
from campaigns.queueing import lock_key, queue_dispatch, queued_key
from hotline.africastalking.gateway import GatewayError
from hotline.core.models import Campaign, utcnow
from hotline.core.time import as_utc
from workers.context import extensions, gateway

log = logging.getLogger(__name__)

RECONCILE_POLL = timedelta(seconds=5)


def dispatch_campaign(campaign_id: int) -> str:
    """Work the campaign for one slice; returns what it left the campaign doing."""
    ext = extensions()
    lock = ext.redis.lock(lock_key(campaign_id), timeout=ext.config.campaign_lock_seconds)
    if not lock.acquire(blocking=False):
        return "busy"  # another slice is on it
    try:
        ext.redis.delete(queued_key(campaign_id))
        return _work(ext, campaign_id, lock)
    finally:
        try:
            lock.release()
        except LockError:
            pass  # it expired: nothing to release


class Step(NamedTuple):
    """What one transaction of a slice decided: a batch to send, or why not and when to come back."""

    claim: dispatch.Claim | None = None
    rate: int = 0
    outcome: str = ""
    come_back: datetime | None = None


def _work(ext, campaign_id: int, lock) -> str:
    deadline = time.monotonic() + ext.config.campaign_slice_seconds
    with ext.session_scope() as session:
        dispatch.mark_stale(session, campaign_id)
    width = ext.config.campaign_concurrency
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix=f"campaign-{campaign_id}") as pool:
        return _pump(ext, campaign_id, lock, pool, width, deadline)


def _pump(ext, campaign_id: int, lock, pool: ThreadPoolExecutor, width: int, deadline: float) -> str:
    """Claim batches at the campaign's rate, up to `width` AT requests out at once; record each answer.

    Claims and records run here, one transaction at a time; only the requests run in the pool. Once
    the slice ends (its time used, a failed request, the lock lost) nothing more is claimed, and
    every request still out is waited for and recorded: no batch is left `claimed` by a live slice.
    """
    out: dict[Future, dispatch.Claim] = {}
    turn, next_start, ending, settle_first = 0, time.monotonic(), "", False
    while True:
        now = time.monotonic()
        if not ending and not settle_first and len(out) < width and now >= next_start:
            if turn and now > deadline:  # every slice claims at least one batch
                ending = "continuing"
                continue
            step = _next_batch(ext, campaign_id, turn)
            if step.claim is None:
                if out:  # the batches still out may finish the campaign: decide once they are recorded
                    settle_first = True
                    continue
                if step.come_back:  # committed first, so the next slice reads what this one decided
                    queue_dispatch(ext, campaign_id, at=step.come_back)
                return step.outcome
            turn += 1
            if step.claim.numbers:
                next_start = now + len(step.claim.numbers) / step.rate
                claim = step.claim
                out[pool.submit(gateway(ext).send, claim.message, list(claim.numbers), enqueue=True)] = claim
            continue
        if not out:
            if ending:
                if ending == "continuing":
                    queue_dispatch(ext, campaign_id)
                return ending
            settle_first = False
            time.sleep(max(0.0, next_start - time.monotonic()))
            continue
        room = not ending and not settle_first and len(out) < width
        done, _ = wait(out, timeout=max(0.0, next_start - now) if room else None, return_when=FIRST_COMPLETED)
        for request in done:
            outcome = _record(ext, campaign_id, out.pop(request), request)
            if outcome != "sent":
                ending = outcome  # backing off: no next slice now, whatever else was decided
                continue
            try:
                lock.reacquire()  # a fresh TTL for the next batch
            except LockError:
                if ending != "backing off":
                    ending = "lost its lock"  # it expired during a very slow batch: another slice may go on


def _next_batch(ext, campaign_id: int, turn: int) -> Step:
    """In one transaction: settle lost answers, then claim the next batch if the campaign may send."""
    now = utcnow()
    with ext.session_scope() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            return Step(outcome="missing")
        window = timedelta(seconds=ext.config.campaign_reconcile_seconds)
        if campaign.state != "sending":
            # A batch whose answer was lost before a pause or cancel is still settled: AT may have taken it.
            waiting = (
                dispatch.reconcile(session, campaign, now, window, ext.config.phone_hash_key)
                if campaign.state != "draft"
                else 0
            )
            return Step(outcome=campaign.state, come_back=now + RECONCILE_POLL if waiting else None)
        due = _due(campaign, now)
        if due > now:
            campaign.next_send_at = due
            return Step(outcome="waiting", come_back=due)
        waiting = dispatch.reconcile(session, campaign, now, window, ext.config.phone_hash_key)
        # late reports kept while the webhook had no Redis
        uncertain.settle(session, now, ext.config.phone_hash_key, campaign_id)
        if campaign.started_at is None:
            campaign.started_at = now
        size = min(dispatch.BATCH_LIMIT, campaign.rate)
        claim = dispatch.claim(session, campaign, size, turn, now, ext.config.phone_hash_key)
        if claim is not None:
            return Step(claim=claim, rate=campaign.rate)
        if waiting:
            campaign.next_send_at = now + RECONCILE_POLL
            return Step(outcome="reconciling", come_back=now + RECONCILE_POLL)
        if dispatch.finish_if_done(session, campaign, now):
            return Step(outcome="done")
        # Nobody left to send but uncertain recipients: they wait for `resend-uncertain` or `skip-uncertain`.
        return Step(outcome="held" if uncertain.count(session, campaign_id) else "idle")


def _due(campaign: Campaign, now: datetime) -> datetime:
    """When the campaign may send next: its start or backoff time, moved into the allowed hours."""
    due = max(as_utc(campaign.next_send_at) if campaign.next_send_at else now, now)
    return next_opening(due, campaign.hours_from, campaign.hours_until)


def _record(ext, campaign_id: int, claim: dispatch.Claim, request: Future) -> str:
    """The outcome of one batch's AT request, recorded: "sent" or "backing off"."""
    try:
        results = request.result()
    except GatewayError as exc:
        log.warning("campaign %s batch %s: %s", campaign_id, claim.batch_id, exc)
        return _back_off(ext, campaign_id, claim, str(exc), exc.maybe_sent)
    with ext.session_scope() as session:
        outcome = dispatch.record(session, claim, results, utcnow())
    if outcome.nothing_taken:
        return _back_off(ext, campaign_id, None, f"AT took none of batch {claim.batch_id}", False)
    return "sent"


def _back_off(ext, campaign_id: int, claim: dispatch.Claim | None, error: str, maybe_sent: bool) -> str:
    now = utcnow()
    with ext.session_scope() as session:
        if claim is not None:
            dispatch.fail(session, claim, error, maybe_sent, now)
        campaign = session.get(Campaign, campaign_id)
        delay = dispatch.backoff(session, campaign_id) if claim is not None else timedelta(seconds=30)
        campaign.next_send_at, campaign.last_error = now + delay, error[:200]
    queue_dispatch(ext, campaign_id, at=now + delay)
    return "backing off"
