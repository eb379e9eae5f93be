"""Sending a campaign in batches of up to 1,000 recipients per AT request, safe against a dying worker.

One batch goes through three transactions:
1. `claim`: the next recipients of one (variant, language) by id, after the group's cursor, make a
   new batch (`claimed`) that records their id range; anyone who opted out or became unreachable
   meanwhile is marked `suppressed` instead (recipients tried before are marked `sending`), and anyone
   who reported since the draw is left out without a trace, held-out neighbours alike (`_safety_check`);
2. the AT request, outside any transaction;
3. `record`: AT's answer per recipient (message id, status code, cost), the batch `sent`.
A worker that dies between 1 and 3 leaves a `claimed` batch whose request may or may not have reached
AT. The next dispatcher marks it `uncertain` and `reconcile` settles it from delivery reports: AT
reports every message it took, and a report for an id we never recorded is kept, with the number's
reporter key, in `unmatched_delivery_report`. Recipients found there were sent (and get the message id).
Those with no report after the reconcile window are not sent again blindly (AT may have taken them
and lost only its reports): they become `uncertain` and their batch `held` until the campaign manager
resends or skips them (`campaigns.uncertain`). So nobody gets the same campaign twice unless the
manager decides so, and nobody is skipped silently. A read timeout is handled the same way; an answer
of 5xx, 401, or no connection at all means AT took nothing, and the batch's recipients simply go back
to the queue. Lost answers are reconciled for paused and cancelled campaigns too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from campaigns import safety
from hotline.africastalking.gateway import RecipientResult
from hotline.contacts import service as contacts
from hotline.core import bulk
from hotline.core.engagement import seal_key
from hotline.core.models import (
    Campaign,
    CampaignBatch,
    CampaignMessage,
    CampaignRecipient,
    Contact,
    UnmatchedDeliveryReport,
)
from hotline.core.numbers import bounded_decimal
from hotline.core.time import as_utc
from hotline.messaging import delivery_reports

BATCH_LIMIT = 1000  # recipients per AT request
MAX_ATTEMPTS = 5  # per recipient, for AT's passing per-recipient failures
BLACKLISTED_CODE = 406
UNREACHABLE_CODES = {403, 404}
UNFINISHED = ("queued", "retry", "sending")
UNCERTAIN = "uncertain"  # a lost answer and no delivery report: held for the campaign manager

_recipients = CampaignRecipient.__table__


@dataclass
class Claim:
    """A claimed batch: the message and who it goes to."""

    batch_id: int
    message: str
    numbers: dict[str, int]  # E.164 -> recipient id
    contact_of: dict[int, int]  # recipient id -> contact id
    attempts: dict[int, int]  # recipient id -> attempts before this one


@dataclass
class Recorded:
    """What AT said about a batch."""

    accepted: int = 0
    failed: int = 0
    retry: int = 0
    message_ids: list[str] = field(default_factory=list)

    @property
    def nothing_taken(self) -> bool:
        """AT took no one and some may be tried again: back off before the next batch."""
        return self.accepted == 0 and self.retry > 0


def groups(campaign: Campaign) -> list[CampaignMessage]:
    """The campaign's (variant, language) messages, in a stable order."""
    return sorted(campaign.messages, key=lambda m: (m.variant, m.language))


def claim(
    session: Session,
    campaign: Campaign,
    size: int,
    turn: int,
    now: datetime,
    phone_hash_key: str | None = None,
) -> Claim | None:
    """Claim the next batch, taking the groups in turn so variants go out side by side; None when done.

    `phone_hash_key` (the database's own when None) finds who reported since the draw (`_safety_check`).
    """
    key = phone_hash_key or seal_key(session)
    messages = groups(campaign)
    for step in range(len(messages)):
        found = _claim_group(session, campaign, messages[(turn + step) % len(messages)], size, now, key)
        if found is not None:
            return found
    return None


def _safety_check(session: Session, campaign: Campaign, rows: list, held_out: list, key: str, now: datetime):
    """Leave out, without a trace, the recipients of a batch who reported since the draw.

    The draw left out everyone at risk then (`campaigns.safety`); someone may have reported since. An
    awareness SMS must not reach their phone now, so their recipient row is deleted (no row says
    "left out for safety") and only `campaign.safety_suppressed` counts them.

    The effect estimate pays for this, and safety wins. The people removed are treated contacts whose
    outcome, a tip, has already happened after randomisation: dropping them from the treated arm
    alone would lower its tip rate and understate the campaign's effect (or invent a harmful one),
    since held-out contacts who reported in the same days would still count. So the rule is applied
    to both arms alike: each held-out row whose place in the send order this batch reaches (the
    group's language, ids up to the batch's last) is checked at the same moment as its treated
    neighbours and removed the same way. What is left is close to symmetric: a treated recipient
    retried later is checked again at that later time, and held-out rows after the last treated one
    are never reached (a small asymmetry, the retries are few). The estimand becomes the effect
    among those not at risk when their message went out.

    `rows` are (recipient id, contact id, phone, blocked, attempts) of the batch; `held_out` are
    (recipient id, phone) of the held-out rows it reaches. Returns `rows` without those removed.
    """
    phones = {row[2] for row in rows if not row[3]} | {phone for _rid, phone in held_out}
    at_risk = safety.reported(session, phones, key, now) if phones else set()
    if not at_risk:
        return rows
    gone_treated = [row[0] for row in rows if not row[3] and row[2] in at_risk]
    gone_held = [rid for rid, phone in held_out if phone in at_risk]
    gone = gone_treated + gone_held
    session.execute(delete(_recipients).where(bulk.one_of(session, _recipients.c.id, gone)))
    campaign.safety_suppressed = (campaign.safety_suppressed or 0) + len(gone)
    campaign.audience_size = (campaign.audience_size or 0) - len(gone)
    campaign.held_out = (campaign.held_out or 0) - len(gone_held)
    removed = set(gone_treated)
    return [row for row in rows if row[0] not in removed]


def _held_out_reached(session: Session, campaign: Campaign, message: CampaignMessage, after: int, last: int):
    """(recipient id, phone) of the held-out rows of `message`'s language with ids in (after, last]."""
    return session.execute(
        select(_recipients.c.id, Contact.phone)
        .join(Contact, Contact.id == _recipients.c.contact_id)
        .where(
            _recipients.c.campaign_id == campaign.id,
            # A held-out row's variant is null and its state `held_out`: the claim index's own range.
            _recipients.c.variant.is_(None),
            _recipients.c.language == message.language,
            _recipients.c.state == "held_out",
            Contact.phone.is_not(None),  # erased (hotline.contacts.erasure): no number to check
            _recipients.c.id > after,
            _recipients.c.id <= last,
        )
    ).all()


def _claim_group(
    session, campaign, message: CampaignMessage, size: int, now: datetime, key: str
) -> Claim | None:
    recipient = CampaignRecipient
    blocked = or_(Contact.opted_out_at.is_not(None), Contact.unreachable_reason.is_not(None))
    base = (
        select(recipient.id, recipient.contact_id, Contact.phone, blocked, recipient.attempts)
        .join(Contact, Contact.id == recipient.contact_id)
        .where(
            recipient.campaign_id == campaign.id,
            recipient.variant == message.variant,
            recipient.language == message.language,
        )
        .order_by(recipient.id)
        .limit(size)
    )
    kind, cursor = "retry", None
    rows = session.execute(base.where(recipient.state == "retry")).all()
    if not rows:
        # The forward cursor keeps every claim off the rows already sent (no dead index entries scanned).
        kind = "forward"
        cursor = session.scalar(
            select(func.max(CampaignBatch.last_recipient_id)).where(
                CampaignBatch.campaign_id == campaign.id,
                CampaignBatch.variant == message.variant,
                CampaignBatch.language == message.language,
            )
        )
        rows = session.execute(base.where(recipient.state == "queued", recipient.id > (cursor or 0))).all()
    if not rows:
        return None
    first, last = min(row[0] for row in rows), max(row[0] for row in rows)
    held_out = _held_out_reached(session, campaign, message, cursor or 0, last) if kind == "forward" else []
    rows = _safety_check(session, campaign, rows, held_out, key, now)
    batch = CampaignBatch(
        campaign_id=campaign.id,
        variant=message.variant,
        language=message.language,
        kind=kind,
        first_recipient_id=first,
        last_recipient_id=last,
        size=0,
        state="claimed",
        claimed_at=now,
    )
    session.add(batch)
    session.flush()
    suppressed = [row[0] for row in rows if row[3]]
    if suppressed:
        session.execute(
            update(_recipients)
            .where(
                bulk.one_of(session, _recipients.c.id, suppressed), _recipients.c.state == kind_state(kind)
            )
            .values(state="suppressed")
        )
    wanted = {row[0]: row for row in rows if not row[3]}
    if kind == "retry" and wanted:
        # Retry rows are marked, so the next retry claim cannot take them while this request is out.
        # Forward rows are not: the cursor already keeps them from being claimed twice, and one write
        # per recipient (the answer) instead of two is what lets a million go out in minutes.
        taken = session.scalars(
            update(_recipients)
            .where(bulk.one_of(session, _recipients.c.id, list(wanted)), _recipients.c.state == "retry")
            .values(state="sending", batch_id=batch.id)
            .returning(_recipients.c.id)
        ).all()
    else:
        taken = list(wanted)
    batch.size = len(taken)
    if not taken:
        batch.state, batch.finished_at = "sent", now
    return Claim(
        batch_id=batch.id,
        message=message.text,
        numbers={wanted[rid][2]: rid for rid in taken},
        contact_of={rid: wanted[rid][1] for rid in taken},
        attempts={rid: wanted[rid][4] for rid in taken},
    )


def kind_state(kind: str) -> str:
    """The state a batch's recipients wait in: `queued` (forward) or `retry`."""
    return "queued" if kind == "forward" else "retry"


def members(batch: CampaignBatch):
    """WHERE clause of the batch's recipients still waiting for its outcome.

    A forward batch's rows are those of its id range still `queued`, or `cancelled` when the campaign
    was cancelled while the request was out (every such row in the range was claimed by this batch:
    the others were suppressed), so a lost answer is reconciled for a cancelled campaign too.
    """
    if batch.kind == "retry":
        return and_(_recipients.c.batch_id == batch.id, _recipients.c.state == "sending")
    return and_(
        _recipients.c.campaign_id == batch.campaign_id,
        _recipients.c.variant == batch.variant,
        _recipients.c.language == batch.language,
        _recipients.c.id.between(batch.first_recipient_id, batch.last_recipient_id),
        _recipients.c.state.in_(("queued", "cancelled")),
    )


# AT's answer is recorded on rows still waiting for it. An accepted message is recorded even on a row
# cancelled meanwhile (it was sent); a refusal leaves a cancelled row cancelled.
_WAITING = "campaign_recipient.state IN ('queued', 'sending', 'cancelled')"
_NOT_CANCELLED = "campaign_recipient.state IN ('queued', 'sending')"


def parse_cost(text: str | None) -> Decimal | None:
    """AT's "KES 0.8000" (or "0") as a number."""
    parts = (text or "").split()
    # Bounded by the column (NUMERIC(10, 4)); "KES inf" or "KES 1e400" is no cost.
    return bounded_decimal(parts[-1], Decimal(0), Decimal("999999.9999")) if parts else None


def record(session: Session, claim: Claim, results: list[RecipientResult], now: datetime) -> Recorded:
    """Record AT's answer for every recipient of the batch, and act on refusals."""
    by_number = {result.number: result for result in results}
    outcome = Recorded()
    changes, blacklisted, unreachable = [], [], {}
    # Accepted rows differ only by message id within a (code, cost, attempts) group: one array each.
    accepted: dict[tuple, list[dict]] = {}
    for number, rid in claim.numbers.items():
        result = by_number.get(number)
        change = {
            "id": rid,
            "state": "retry",
            "attempts": claim.attempts[rid] + 1,
            "at_message_id": None,
            "at_status_code": None,
            "cost": None,
            "sent_at": None,
            "failure_reason": None,
        }
        if result is None:
            change.update(failure_reason="NoAnswer")
            outcome.retry += 1
        elif result.accepted:
            group = (result.status_code, parse_cost(result.cost), change["attempts"])
            accepted.setdefault(group, []).append({"id": rid, "at_message_id": result.message_id})
            outcome.accepted += 1
            if result.message_id:
                outcome.message_ids.append(result.message_id)
            continue
        elif result.undeliverable:
            change.update(
                state="failed", at_status_code=result.status_code, failure_reason=result.status or "Refused"
            )
            outcome.failed += 1
            if result.status_code == BLACKLISTED_CODE:
                blacklisted.append(claim.contact_of[rid])
            elif result.status_code in UNREACHABLE_CODES:
                unreachable.setdefault(result.status or str(result.status_code), []).append(
                    claim.contact_of[rid]
                )
        else:
            change.update(at_status_code=result.status_code, failure_reason=result.status)
            outcome.retry += 1
        if change["state"] == "retry" and change["attempts"] >= MAX_ATTEMPTS:
            change["state"] = "failed"
        changes.append(change)
    for (code, cost, attempts), rows in accepted.items():
        same = {
            "state": "sent",
            "at_status_code": code,
            "cost": cost,
            "sent_at": now,
            "attempts": attempts,
            "batch_id": claim.batch_id,
        }
        bulk.update_rows(session, _recipients, rows, guard=_WAITING, same=same)
    bulk.update_rows(session, _recipients, changes, guard=_NOT_CANCELLED, same={"batch_id": claim.batch_id})
    batch = session.get(CampaignBatch, claim.batch_id)
    batch.state, batch.finished_at = "sent", now
    if blacklisted:
        contacts.opt_out_ids(session, blacklisted, source="blacklist", at=now)
    for reason, contact_ids in unreachable.items():
        contacts.mark_unreachable(session, contact_ids, reason)
    # Reports that beat this answer to the database were kept as unmatched: apply them now.
    delivery_reports.claim_unmatched(session, outcome.message_ids)
    return outcome


def fail(session: Session, claim: Claim, error: str, maybe_sent: bool, now: datetime) -> None:
    """AT gave no answer: the batch is uncertain (reconcile it) or certainly not sent (queue it again)."""
    batch = session.get(CampaignBatch, claim.batch_id)
    batch.error = error[:200]
    if maybe_sent:
        batch.state = "uncertain"
        return
    batch.state, batch.finished_at = "failed", now
    # Back to the queue; in a campaign cancelled meanwhile, nobody more will be sent it.
    cancelled = session.get(Campaign, batch.campaign_id).state == "cancelled"
    again = "cancelled" if cancelled else "retry"
    session.execute(update(_recipients).where(members(batch)).values(state=again))


def mark_stale(session: Session, campaign_id: int) -> int:
    """Batches left `claimed` by a dispatcher that died: their requests may have reached AT."""
    result = session.execute(
        update(CampaignBatch)
        .where(CampaignBatch.campaign_id == campaign_id, CampaignBatch.state == "claimed")
        .values(state="uncertain", error="the worker stopped during this batch")
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def reconcile(
    session: Session, campaign: Campaign, now: datetime, window: timedelta, phone_hash_key: str
) -> int:
    """Settle uncertain batches from delivery reports; returns how many still wait for reports.

    After the window, recipients with no report are held as `uncertain` (their batch `held`) for the
    campaign manager to resend or skip: AT may have taken them and lost only its reports.
    """
    waiting = 0
    batches = session.scalars(
        select(CampaignBatch).where(
            CampaignBatch.campaign_id == campaign.id, CampaignBatch.state == "uncertain"
        )
    ).all()
    for batch in batches:
        rows = keyed(session, members(batch), phone_hash_key)
        matched = settle_from_reports(session, batch, rows, ("queued", "sending", "cancelled"))
        if matched == len(rows):
            batch.state, batch.finished_at = "sent", now
            batch.error = f"reconciled from delivery reports: {matched} sent"
        elif now - as_utc(batch.claimed_at) >= window:
            session.execute(
                update(_recipients).where(members(batch)).values(state=UNCERTAIN, batch_id=batch.id)
            )
            batch.state = "held"
            batch.error = (
                f"{matched} sent by delivery reports, {len(rows) - matched} uncertain: resend or skip"
            )
        else:
            waiting += 1
    return waiting


def keyed(session: Session, where, phone_hash_key: str) -> list[tuple[int, str]]:
    """(recipient id, the number's delivery key) of the recipients `where` selects: delivery reports
    kept for unknown message ids carry that key. Computed here from the number: no contact row holds it."""
    rows = session.execute(
        select(_recipients.c.id, Contact.phone)
        .join(Contact, Contact.id == _recipients.c.contact_id)
        .where(where, Contact.phone.is_not(None))  # an erased number has no reports to match
    ).all()
    return [(rid, delivery_reports.phone_key(phone, phone_hash_key)) for rid, phone in rows]


def settle_from_reports(session: Session, batch: CampaignBatch, rows, states: tuple[str, ...]) -> int:
    """Mark sent the batch's recipients (id, delivery key) with a kept delivery report; returns how many.

    Only rows still in one of `states` change; their kept reports are then applied to them.
    """
    found = _reports_by_key(session, [key for _, key in rows], batch.claimed_at)
    matched = [{"rid": rid, "message_id": found[key]} for rid, key in rows if key in found]
    if not matched:
        return 0
    session.execute(
        update(_recipients)
        # OR of equalities: an IN list cannot be used with executemany.
        .where(_recipients.c.id == bindparam("rid"), or_(*(_recipients.c.state == state for state in states)))
        .values(
            batch_id=batch.id,
            state="sent",
            at_message_id=bindparam("message_id"),
            sent_at=batch.claimed_at,
            attempts=_recipients.c.attempts + 1,
        ),
        matched,
    )
    delivery_reports.claim_unmatched(session, [m["message_id"] for m in matched])
    return len(matched)


def _reports_by_key(session, keys: list[str], since: datetime) -> dict[str, str]:
    """The message id of a kept report per delivery key, for reports received after `since`."""
    found: dict[str, str] = {}
    kept = UnmatchedDeliveryReport
    for start in range(0, len(keys), 500):
        rows = session.execute(
            select(kept.phone_key, kept.message_id)
            .where(kept.phone_key.in_(keys[start : start + 500]), kept.received_at >= since)
            .order_by(kept.id)
        ).all()
        used = set(found.values())
        for key, message_id in rows:
            if key not in found and message_id not in used:
                found[key] = message_id
                used.add(message_id)
    return found


def backoff(session: Session, campaign_id: int) -> timedelta:
    """How long to wait after failed batches: 5 s, doubling per failure in a row, at most 5 minutes."""
    states = session.scalars(
        select(CampaignBatch.state)
        .where(CampaignBatch.campaign_id == campaign_id)
        .order_by(CampaignBatch.id.desc())
        .limit(8)
    ).all()
    failures = next((n for n, state in enumerate(states) if state != "failed"), len(states))
    return timedelta(seconds=min(300, 5 * 2 ** max(0, failures - 1)))


def finish_if_done(session: Session, campaign: Campaign, now: datetime) -> bool:
    """Mark the campaign done when nobody is left to send or to decide on; True when it is."""
    left = session.scalar(
        select(CampaignRecipient.id)
        .where(
            CampaignRecipient.campaign_id == campaign.id,
            CampaignRecipient.state.in_((*UNFINISHED, UNCERTAIN)),
        )
        .limit(1)
    )
    if left is not None:
        return False
    campaign.state, campaign.finished_at, campaign.next_send_at = "done", now, None
    return True
