"""Recipients whose batch's answer was lost and whom no delivery report settled: the manager decides.

After the reconcile window `dispatch.reconcile` marks them `uncertain` and their batch `held`: AT may
have taken the batch and lost only its reports, so sending again blindly would give most of them the
campaign twice. The dispatcher never sends an uncertain recipient; it goes on with everyone else, and
the campaign stays `sending` until the campaign manager decides:

- `resend` queues them again (`retry`): the dispatcher sends them within the allowed hours and rate;
- `skip` marks them `skipped`: they are never sent it.

A delivery report that arrives later for an uncertain recipient (kept as unmatched, found by the
number's delivery key) settles it as sent, whichever comes first: `settle` runs when delivery reports
are applied and before each decision.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from campaigns import dispatch
from campaigns.errors import CampaignError
from hotline.core.models import Campaign, CampaignBatch, CampaignRecipient

_recipients = CampaignRecipient.__table__


def count(session: Session, campaign_id: int) -> int:
    """How many of the campaign's recipients wait for the manager's decision."""
    return session.scalar(
        select(func.count()).where(
            CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.state == dispatch.UNCERTAIN
        )
    )


def require(session: Session, campaign: Campaign) -> int:
    """How many uncertain recipients the campaign has; CampaignError when it has none."""
    found = count(session, campaign.id)
    if not found:
        raise CampaignError(
            f"campaign {campaign.name!r} has no uncertain recipients "
            f"(see `flask campaigns status {campaign.name}`)"
        )
    return found


def _held(session: Session, campaign_id: int | None = None) -> list[CampaignBatch]:
    query = select(CampaignBatch).where(CampaignBatch.state == "held").order_by(CampaignBatch.id)
    if campaign_id is not None:
        query = query.where(CampaignBatch.campaign_id == campaign_id)
    return list(session.scalars(query))


def _waiting(batch: CampaignBatch):
    return (_recipients.c.batch_id == batch.id) & (_recipients.c.state == dispatch.UNCERTAIN)


def settle(session: Session, now: datetime, phone_hash_key: str, campaign_id: int | None = None) -> int:
    """Mark sent the uncertain recipients a kept delivery report now accounts for; returns how many."""
    settled = 0
    for batch in _held(session, campaign_id):
        rows = dispatch.keyed(session, _waiting(batch), phone_hash_key)
        found = dispatch.settle_from_reports(session, batch, rows, (dispatch.UNCERTAIN,))
        settled += found
        if found and found == len(rows):
            batch.state, batch.finished_at = "sent", now
            batch.error = f"late delivery reports settled the last {found} uncertain recipients"
    return settled


def resend(session: Session, campaign: Campaign, now: datetime, phone_hash_key: str) -> int:
    """Queue the campaign's uncertain recipients again; returns how many (CampaignError when none)."""
    if campaign.state == "cancelled":
        raise CampaignError(
            f"campaign {campaign.name!r} is cancelled: nobody more will be sent it "
            f"(mark its uncertain recipients with `flask campaigns skip-uncertain {campaign.name}`)"
        )
    queued = _decide(
        session, campaign, now, phone_hash_key, "retry", "resent", "queued again by the campaign manager"
    )
    if campaign.state == "sending":
        campaign.next_send_at = now  # the dispatcher takes them at its next batch
    return queued


def skip(session: Session, campaign: Campaign, now: datetime, phone_hash_key: str) -> int:
    """Mark the campaign's uncertain recipients skipped (never sent it); returns how many."""
    skipped = _decide(
        session, campaign, now, phone_hash_key, "skipped", "skipped", "skipped by the campaign manager"
    )
    if campaign.state == "sending":
        dispatch.finish_if_done(session, campaign, now)
    return skipped


def _decide(
    session: Session, campaign: Campaign, now: datetime, phone_hash_key: str, state: str, batch_state: str,
    why: str,
):
    # Anyone a late report accounts for was sent: not theirs to decide.
    settle(session, now, phone_hash_key, campaign.id)
    decided = 0
    for batch in _held(session, campaign.id):
        changed = session.execute(update(_recipients).where(_waiting(batch)).values(state=state)).rowcount
        batch.state, batch.finished_at = batch_state, now
        batch.error = f"{changed} uncertain {why}"
        decided += changed
    if not decided:
        require(session, campaign)  # none left: say so
    return decided
