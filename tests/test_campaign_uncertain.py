"""Uncertain recipients (a lost answer, no delivery report): settled by late reports, else resent or
skipped by the campaign manager. Called directly on campaigns built row by row (the CLI and the
simulator run in tests/test_campaigns.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from campaigns import uncertain
from campaigns.errors import CampaignError
from hotline.core.models import CampaignRecipient
from hotline.core.time import as_utc
from tests.test_campaign_dispatch import (
    NOW,
    add_recipients,
    batch_of,
    keep_report,
    new_batch,
    new_campaign,
    recipient_rows,
    states,
)

LATER = NOW + timedelta(hours=1)


@pytest.fixture
def db(ext):
    """One transaction for the whole test (committed at its end)."""
    with ext.session_scope() as session:
        yield session


@pytest.fixture
def key(ext):
    return ext.config.phone_hash_key


def held(session, campaign, numbers, start=0):
    """A held batch whose recipients (numbers) are uncertain, plus one sent recipient before them."""
    [sent] = add_recipients(session, campaign, [start + 100], state="sent")
    ids = add_recipients(session, campaign, numbers, state="uncertain")
    batch_id = new_batch(session, campaign, ids, state="held")
    session.execute(update(CampaignRecipient).where(CampaignRecipient.id.in_(ids)).values(batch_id=batch_id))
    return sent, ids, batch_id


def test_skip_marks_the_uncertain_skipped_their_batch_skipped_and_a_campaign_left_with_nobody_done(db, key):
    campaign = new_campaign(db)
    sent, ids, batch_id = held(db, campaign, [1, 2])
    assert uncertain.skip(db, campaign, LATER, key) == 2
    assert states(db, [sent, *ids]) == ["sent", "skipped", "skipped"]
    batch = batch_of(db, batch_id)
    assert (batch.state, as_utc(batch.finished_at), batch.error) == (
        "skipped",
        LATER,
        "2 uncertain skipped by the campaign manager",
    )
    assert (campaign.state, as_utc(campaign.finished_at), campaign.next_send_at) == ("done", LATER, None)


def test_skip_in_a_paused_campaign_leaves_it_paused(db, key):
    campaign = new_campaign(db, state="paused")
    held(db, campaign, [1])
    assert uncertain.skip(db, campaign, LATER, key) == 1
    assert (campaign.state, campaign.finished_at) == ("paused", None)


def test_resend_queues_the_uncertain_again_marks_their_batch_resent_and_makes_the_campaign_due(db, key):
    campaign = new_campaign(db)
    campaign.next_send_at = NOW + timedelta(days=1)
    sent, ids, batch_id = held(db, campaign, [1, 2, 3])
    assert uncertain.resend(db, campaign, LATER, key) == 3
    assert states(db, [sent, *ids]) == ["sent", "retry", "retry", "retry"]
    batch = batch_of(db, batch_id)
    assert (batch.state, as_utc(batch.finished_at), batch.error) == (
        "resent",
        LATER,
        "3 uncertain queued again by the campaign manager",
    )
    assert (campaign.state, as_utc(campaign.next_send_at)) == ("sending", LATER)


def test_resend_in_a_paused_campaign_queues_them_but_leaves_its_next_send_time(db, key):
    campaign = new_campaign(db, state="paused")
    campaign.next_send_at = NOW
    _, ids, _ = held(db, campaign, [1])
    assert uncertain.resend(db, campaign, LATER, key) == 1
    assert states(db, ids) == ["retry"]
    assert (campaign.state, as_utc(campaign.next_send_at)) == ("paused", NOW)


def test_resend_in_a_cancelled_campaign_is_refused_and_changes_nothing(db, key):
    campaign = new_campaign(db, state="cancelled")
    _, ids, batch_id = held(db, campaign, [1])
    with pytest.raises(CampaignError) as refused:
        uncertain.resend(db, campaign, LATER, key)
    assert str(refused.value) == (
        "campaign 'c' is cancelled: nobody more will be sent it "
        "(mark its uncertain recipients with `flask campaigns skip-uncertain c`)"
    )
    assert states(db, ids) == ["uncertain"] and batch_of(db, batch_id).state == "held"


def test_a_decision_with_nobody_uncertain_is_refused_with_where_to_look(db, key):
    campaign = new_campaign(db)
    add_recipients(db, campaign, [1], state="sent")
    for decide in (uncertain.resend, uncertain.skip):
        with pytest.raises(CampaignError) as refused:
            decide(db, campaign, LATER, key)
        assert str(refused.value) == (
            "campaign 'c' has no uncertain recipients (see `flask campaigns status c`)"
        )
    assert uncertain.count(db, campaign.id) == 0


def test_require_counts_only_the_campaigns_own_uncertain_recipients(db):
    campaign, other = new_campaign(db), new_campaign(db, name="other")
    add_recipients(db, campaign, [1, 2], state="uncertain")
    add_recipients(db, campaign, [3], state="retry")
    add_recipients(db, other, [1], state="uncertain")
    assert uncertain.require(db, campaign) == 2
    assert uncertain.count(db, other.id) == 1


def test_a_late_report_settles_its_recipient_as_sent_and_the_batch_stays_held_for_the_rest(db, key):
    campaign = new_campaign(db)
    _, ids, batch_id = held(db, campaign, [1, 2])
    keep_report(db, 2, "ATXid_late", key, received_at=NOW + timedelta(minutes=1))
    assert uncertain.settle(db, LATER, key) == 1
    assert recipient_rows(db, ids, "state", "at_message_id", "delivery_status") == [
        ("uncertain", None, None),
        ("sent", "ATXid_late", "Success"),
    ]
    batch = batch_of(db, batch_id)
    assert (batch.state, batch.finished_at, batch.error) == ("held", None, None)
    assert uncertain.count(db, campaign.id) == 1


def test_late_reports_for_every_uncertain_recipient_mark_their_batch_sent(db, key):
    campaign = new_campaign(db)
    _, ids, batch_id = held(db, campaign, [1, 2])
    keep_report(db, 1, "ATXid_1", key)
    keep_report(db, 2, "ATXid_2", key)
    assert uncertain.settle(db, LATER, key) == 2
    assert states(db, ids) == ["sent", "sent"]
    batch = batch_of(db, batch_id)
    assert (batch.state, as_utc(batch.finished_at), batch.error) == (
        "sent",
        LATER,
        "late delivery reports settled the last 2 uncertain recipients",
    )


def test_settle_for_one_campaign_leaves_the_others_held_batches_alone(db, key):
    campaign, other = new_campaign(db), new_campaign(db, name="other")
    _, ids, _ = held(db, campaign, [1])
    _, other_ids, _ = held(db, other, [2], start=10)
    keep_report(db, 1, "ATXid_1", key)
    keep_report(db, 2, "ATXid_2", key)
    assert uncertain.settle(db, LATER, key, other.id) == 1
    assert states(db, ids + other_ids) == ["uncertain", "sent"]
    assert uncertain.settle(db, LATER, key) == 1  # every campaign's
    assert states(db, ids) == ["sent"]


def test_a_decision_first_settles_those_a_late_report_accounts_for(db, key):
    campaign = new_campaign(db)
    _, ids, batch_id = held(db, campaign, [1, 2])
    keep_report(db, 1, "ATXid_1", key)
    assert uncertain.skip(db, campaign, LATER, key) == 1
    assert states(db, ids) == ["sent", "skipped"]
    assert batch_of(db, batch_id).error == "1 uncertain skipped by the campaign manager"


def test_a_decision_marks_sent_when_a_batch_that_late_reports_settled_entirely(db, key):
    campaign = new_campaign(db)
    _, settled_ids, settled_batch = held(db, campaign, [1])
    _, ids, batch_id = held(db, campaign, [2], start=10)
    keep_report(db, 1, "ATXid_1", key)
    assert uncertain.resend(db, campaign, LATER, key) == 1
    assert states(db, settled_ids + ids) == ["sent", "retry"]
    settled = batch_of(db, settled_batch)
    assert (settled.state, as_utc(settled.finished_at)) == ("sent", LATER)
    assert batch_of(db, batch_id).state == "resent"


def test_a_decision_on_one_campaign_leaves_another_campaigns_uncertain_recipients_alone(db, key):
    campaign, other = new_campaign(db), new_campaign(db, name="other")
    held(db, campaign, [1])
    _, other_ids, other_batch = held(db, other, [2], start=10)
    keep_report(db, 2, "ATXid_2", key)  # would settle the other campaign's recipient
    assert uncertain.skip(db, campaign, LATER, key) == 1
    assert states(db, other_ids) == ["uncertain"]
    assert batch_of(db, other_batch).state == "held"


def test_a_decision_covers_every_held_batch_of_the_campaign(db, key):
    campaign = new_campaign(db)
    _, first, first_batch = held(db, campaign, [1, 2])
    _, second, second_batch = held(db, campaign, [3], start=10)
    assert uncertain.skip(db, campaign, LATER, key) == 3
    assert states(db, first + second) == ["skipped"] * 3
    assert [batch_of(db, b).error for b in (first_batch, second_batch)] == [
        "2 uncertain skipped by the campaign manager",
        "1 uncertain skipped by the campaign manager",
    ]


def test_settle_counts_the_recipients_settled_in_every_held_batch(db, key):
    campaign, other = new_campaign(db), new_campaign(db, name="other")
    held(db, campaign, [1, 2])
    held(db, other, [3], start=10)
    for n in (1, 2, 3):
        keep_report(db, n, f"ATXid_{n}", key)
    assert uncertain.settle(db, LATER, key) == 3
