"""The campaign dispatcher: its steps called on the real database, then its edges end to end.

The steps (claim, record, fail, reconcile, backoff, finish) are called directly on campaigns built
row by row, so every outcome they decide is asserted exactly and fast. The edges (a recipient AT never
takes, the per-campaign lock busy or lost) go through an HTTP server bound by the test
(tests/test_sms_gateway.py), so each request is counted; the batches go through the official SDK.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import func, select, update

from campaigns import dispatch
from campaigns.queueing import lock_key, queued_key
from hotline.africastalking.gateway import RecipientResult
from hotline.core.models import (
    Campaign,
    CampaignBatch,
    CampaignMessage,
    CampaignRecipient,
    Contact,
    UnmatchedDeliveryReport,
)
from hotline.core.time import as_utc
from hotline.messaging import delivery_reports
from tests.test_campaigns import CampaignStack, phone
from tests.test_sms_gateway import FakeAt, accepted, recipients
from workers.sweeper import sweep_campaigns

NEVER_ROUTED = phone(1)


def at_answer(form):
    """AT takes every number except NEVER_ROUTED, which it cannot route (407, a passing failure)."""
    entries = recipients(form)
    for entry in entries:
        if entry["number"] == NEVER_ROUTED:
            entry.update(statusCode=407, status="CouldNotRoute", cost="0", messageId="None")
    return 201, "application/json", json.dumps({"SMSMessageData": {"Message": "Sent", "Recipients": entries}})


@pytest.fixture
def fake_at():
    server = FakeAt()
    server.answer_with(at_answer)
    yield server
    server.close()


def campaign_of(make_app, fake_at, contacts: int, rate: int = 1000, **config) -> CampaignStack:
    app = make_app(at_api_url=fake_at.url, at_timeout=(1, 3), **config)
    stack = CampaignStack(app, fake_at.url)
    stack.add_contacts(contacts, language=lambda n: "en")
    stack.safety_tips("c", rate=rate)
    stack.flask("campaigns", "send", "c", "--yes", "--no-wait")
    return stack


def recipients_by_phone(stack) -> dict[str, CampaignRecipient]:
    with stack.ext.session_scope() as session:
        phones = dict(session.execute(select(Contact.id, Contact.phone)).all())
    return {phones[r.contact_id]: r for r in stack.recipients("c")}


def sent_to(fake_at) -> list[str]:
    """Every number of every request AT received, in order."""
    return [number for form in fake_at.forms for number in form["to"].split(",")]


def test_a_recipient_refused_at_its_last_attempt_is_failed_with_its_reason_never_retried_and_campaign_done(
    make_app, fake_at
):
    stack = campaign_of(make_app, fake_at, 3)
    outcomes = [stack.dispatch("c")]
    for _ in range(dispatch.MAX_ATTEMPTS + 2):
        with time_machine.travel(as_utc(stack.campaign("c").next_send_at) + timedelta(seconds=1), tick=True):
            outcomes.append(stack.dispatch("c"))
        if outcomes[-1] == "done":
            break
    # The first batch sends the others; each retry of the refused one alone backs off, the fifth fails it.
    assert outcomes == ["backing off"] * 4 + ["done"]
    assert sent_to(fake_at).count(NEVER_ROUTED) == dispatch.MAX_ATTEMPTS
    by_phone = recipients_by_phone(stack)
    refused = by_phone[NEVER_ROUTED]
    assert (refused.state, refused.attempts, refused.at_status_code, refused.failure_reason) == (
        "failed",
        dispatch.MAX_ATTEMPTS,
        407,
        "CouldNotRoute",
    )
    assert [(by_phone[phone(n)].state, by_phone[phone(n)].attempts) for n in (0, 2)] == [("sent", 1)] * 2
    campaign = stack.campaign("c")
    assert campaign.state == "done" and campaign.finished_at is not None
    with stack.app.app_context():
        assert sweep_campaigns() == 0  # a done campaign is not worked again
    assert stack.dispatch("c") == "done"
    assert sent_to(fake_at).count(NEVER_ROUTED) == dispatch.MAX_ATTEMPTS


def test_a_slice_finding_the_campaign_lock_held_does_nothing(make_app, fake_at):
    stack = campaign_of(make_app, fake_at, 4)
    fake_at.answer_with(accepted)
    campaign_id = stack.campaign("c").id
    other = stack.ext.redis.lock(lock_key(campaign_id), timeout=60)
    assert other.acquire(blocking=False)  # another worker's slice is on the campaign
    assert stack.dispatch("c") == "busy"
    assert fake_at.forms == []
    assert {r.state for r in stack.recipients("c")} == {"queued"}
    assert stack.ext.redis.exists(queued_key(campaign_id))  # still marked as taken care of
    stack.ext.redis.delete(queued_key(campaign_id))
    with stack.app.app_context():
        assert sweep_campaigns() == 0  # the held lock says a slice works it: the sweeper adds none
    other.release()
    assert stack.dispatch("c") == "done"
    assert sorted(sent_to(fake_at)) == [phone(n) for n in range(4)]


def test_a_slice_whose_lock_expired_during_a_slow_batch_stops_and_the_sweeper_hands_the_rest_on(
    make_app, fake_at
):
    # Batches of two, one request out at a time (with several out at once, the second batch would
    # already be at AT when the lock runs out).
    stack = campaign_of(make_app, fake_at, 4, rate=2, campaign_lock_seconds=1, campaign_concurrency=1)

    def slow(form):  # AT takes everyone but answers after the lock's 1 s have run out
        time.sleep(1.3)
        return accepted(form)

    fake_at.answer_with(slow)
    campaign_id = stack.campaign("c").id
    assert stack.dispatch("c") == "lost its lock"
    # The batch it sent is recorded; it sends no more and queues no slice: the campaign is not its own.
    first = sent_to(fake_at)
    assert len(first) == 2  # one batch (recipients go in the order the draw made their rows)
    by_phone = recipients_by_phone(stack)
    assert {number: r.state for number, r in by_phone.items()} == {
        phone(n): "sent" if phone(n) in first else "queued" for n in range(4)
    }
    assert not stack.ext.redis.exists(lock_key(campaign_id), queued_key(campaign_id))
    fake_at.answer_with(accepted)
    with stack.app.app_context():
        assert sweep_campaigns() == 1  # nobody works it: the sweeper queues a slice
    stack.work()
    assert stack.campaign("c").state == "done"
    assert sorted(sent_to(fake_at)) == [phone(n) for n in range(4)]  # everyone once, nobody twice


# --- The steps, called directly on campaigns built row by row --------------------------------------

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # 10:00 in Nairobi
LATER = NOW + timedelta(seconds=2)


def number(n: int) -> str:
    return f"+2547106{n:05d}"


@pytest.fixture
def db(ext):
    """One transaction for the whole test (committed at its end)."""
    with ext.session_scope() as session:
        yield session


def new_campaign(session, *groups: tuple[str, str], state: str = "sending", name: str = "c") -> Campaign:
    """A campaign sending one message per (variant, language) group; A/en when none is given."""
    campaign = Campaign(
        name=name, state=state, seed=1, holdout_share=0, rate=1000, hours_from=0, hours_until=24 * 60
    )
    session.add(campaign)
    session.flush()
    for variant, language in groups or (("A", "en"),):
        session.add(
            CampaignMessage(
                campaign_id=campaign.id, variant=variant, language=language, text=f"{variant}/{language} text"
            )
        )
    session.flush()
    session.refresh(campaign)
    return campaign


def add_recipients(
    session, campaign: Campaign, numbers: list[int], variant="A", language="en", state="queued", **columns
) -> list[int]:
    """A contact per number and its recipient row in the campaign; their recipient ids, in order."""
    ids = []
    for n in numbers:
        contact = session.scalar(select(Contact).where(Contact.phone == number(n)))
        if contact is None:
            contact = Contact(
                phone=number(n),
                engagement_key=f"engagement-{n}",
                language=language,
                consent_source="test",
                consented_at=datetime(2026, 1, 1, tzinfo=UTC),
                salt=n,
            )
            session.add(contact)
            session.flush()
        row = CampaignRecipient(
            campaign_id=campaign.id,
            contact_id=contact.id,
            variant=variant,
            language=language,
            state=state,
            **columns,
        )
        session.add(row)
        session.flush()
        ids.append(row.id)
    return ids


def recipient_rows(session, ids: list[int], *columns: str) -> list[tuple]:
    """The named columns of these recipients, read fresh from the database, in the order of `ids`."""
    table = CampaignRecipient.__table__
    query = select(table.c.id, *(table.c[c] for c in columns)).where(table.c.id.in_(ids))
    found = {row[0]: tuple(row[1:]) for row in session.execute(query)}
    return [found[rid] for rid in ids]


def states(session, ids: list[int]) -> list[str]:
    return [state for (state,) in recipient_rows(session, ids, "state")]


def batch_of(session, batch_id: int) -> CampaignBatch:
    """The batch as the database has it now."""
    return session.scalars(
        select(CampaignBatch).where(CampaignBatch.id == batch_id).execution_options(populate_existing=True)
    ).one()


def new_batch(session, campaign: Campaign, ids: list[int], state="uncertain", kind="forward", **columns):
    """A batch over these recipient ids (of the campaign's A/en group unless `variant`/`language` say)."""
    batch = CampaignBatch(
        campaign_id=campaign.id,
        kind=kind,
        first_recipient_id=min(ids),
        last_recipient_id=max(ids),
        size=len(ids),
        state=state,
        **({"variant": "A", "language": "en", "claimed_at": NOW} | columns),
    )
    session.add(batch)
    session.flush()
    return batch.id


def keep_report(session, n: int, message_id: str, hash_key: str, received_at=NOW, status="Success") -> None:
    """A delivery report for number n kept as unmatched (its messageId was never recorded)."""
    session.add(
        UnmatchedDeliveryReport(
            message_id=message_id,
            status=status,
            network_code="63902",
            phone_key=delivery_reports.phone_key(number(n), hash_key),
            received_at=received_at,
        )
    )
    session.flush()


def contact_of(session, n: int) -> Contact:
    return session.scalars(
        select(Contact).where(Contact.phone == number(n)).execution_options(populate_existing=True)
    ).one()


def test_groups_are_in_variant_then_language_order(db):
    campaign = new_campaign(db, ("B", "en"), ("A", "sw"), ("A", "en"))
    groups = [(m.variant, m.language) for m in dispatch.groups(campaign)]
    assert groups == [("A", "en"), ("A", "sw"), ("B", "en")]


def test_claim_takes_the_next_queued_recipients_of_the_group_by_id_into_a_claimed_batch(db):
    campaign = new_campaign(db, ("A", "en"), ("A", "sw"))
    ids = add_recipients(db, campaign, [0, 1, 2, 3, 4], attempts=0)
    add_recipients(db, campaign, [5], language="sw")
    claim = dispatch.claim(db, campaign, 2, 0, NOW)
    contacts = {n: contact_of(db, n).id for n in range(5)}
    assert (claim.message, claim.numbers, claim.contact_of, claim.attempts) == (
        "A/en text",
        {number(0): ids[0], number(1): ids[1]},
        {ids[0]: contacts[0], ids[1]: contacts[1]},
        {ids[0]: 0, ids[1]: 0},
    )
    batch = batch_of(db, claim.batch_id)
    assert (batch.campaign_id, batch.variant, batch.language) == (campaign.id, "A", "en")
    assert batch.kind == "forward"
    assert (batch.first_recipient_id, batch.last_recipient_id, batch.size) == (ids[0], ids[1], 2)
    assert (batch.state, as_utc(batch.claimed_at), batch.finished_at) == ("claimed", NOW, None)
    # Forward rows stay queued while the request is out: the group's cursor keeps them from a second claim.
    assert recipient_rows(db, ids, "state", "batch_id") == [("queued", None)] * 5
    assert list(dispatch.claim(db, campaign, 2, 0, NOW).numbers.values()) == ids[2:4]
    assert list(dispatch.claim(db, campaign, 2, 0, NOW).numbers.values()) == ids[4:]
    assert list(dispatch.claim(db, campaign, 2, 0, NOW).numbers) == [number(5)]  # then the next group
    assert dispatch.claim(db, campaign, 2, 0, NOW) is None


def test_claim_starts_at_the_turns_group_and_goes_round_the_others_when_it_is_empty(db):
    campaign = new_campaign(db, ("B", "en"), ("A", "sw"), ("A", "en"))
    add_recipients(db, campaign, [0, 4], variant="A", language="en")
    add_recipients(db, campaign, [1], variant="A", language="sw")
    add_recipients(db, campaign, [2, 3], variant="B", language="en")
    assert dispatch.claim(db, campaign, 1, 2, NOW).message == "B/en text"
    assert dispatch.claim(db, campaign, 1, 4, NOW).message == "A/sw text"  # turns go round
    assert dispatch.claim(db, campaign, 1, 0, NOW).message == "A/en text"
    assert dispatch.claim(db, campaign, 1, 1, NOW).message == "B/en text"  # A/sw is empty: the next
    assert dispatch.claim(db, campaign, 1, 1, NOW).message == "A/en text"  # and the next, round
    assert dispatch.claim(db, campaign, 1, 1, NOW) is None


def test_the_forward_cursor_is_the_groups_own(db):
    campaign = new_campaign(db, ("A", "en"), ("A", "sw"), ("B", "en"))
    en = add_recipients(db, campaign, [0, 1])
    later = add_recipients(db, campaign, [2], language="sw") + add_recipients(db, campaign, [3], variant="B")
    other = new_campaign(db, name="other")
    far = add_recipients(db, other, [4])
    for group, last in ((("A", "sw"), later[0]), (("B", "en"), later[1])):
        new_batch(db, campaign, [last], state="sent", variant=group[0], language=group[1])
    new_batch(db, other, far, state="sent")  # past every id above, in another campaign
    assert list(dispatch.claim(db, campaign, 10, 0, NOW).numbers.values()) == en


def test_a_retry_claim_comes_first_and_marks_its_recipients_sending_in_the_batch(db):
    campaign = new_campaign(db)
    retry = add_recipients(db, campaign, [1, 2], state="retry", attempts=2)
    queued = add_recipients(db, campaign, [0])  # (retry rows were claimed forward before: lower ids)
    other = new_campaign(db, name="other")
    elsewhere = add_recipients(db, other, [3], state="retry")
    claim = dispatch.claim(db, campaign, 10, 0, NOW)
    assert (claim.numbers, claim.attempts) == (
        {number(1): retry[0], number(2): retry[1]},
        {retry[0]: 2, retry[1]: 2},
    )
    batch = batch_of(db, claim.batch_id)
    assert (batch.kind, batch.first_recipient_id, batch.last_recipient_id, batch.size, batch.state) == (
        "retry",
        retry[0],
        retry[1],
        2,
        "claimed",
    )
    assert recipient_rows(db, retry + queued + elsewhere, "state", "batch_id") == [
        ("sending", claim.batch_id),
        ("sending", claim.batch_id),
        ("queued", None),
        ("retry", None),
    ]
    assert list(dispatch.claim(db, campaign, 10, 0, NOW).numbers.values()) == queued  # nobody twice


def test_a_claim_suppresses_opted_out_and_unreachable_recipients_and_leaves_them_out(db):
    campaign = new_campaign(db)
    ids = add_recipients(db, campaign, [0, 1, 2, 3])
    contact_of(db, 1).opted_out_at = NOW
    contact_of(db, 2).unreachable_reason = "InvalidPhoneNumber"
    db.flush()
    claim = dispatch.claim(db, campaign, 10, 0, NOW)
    assert claim.numbers == {number(0): ids[0], number(3): ids[3]}
    assert states(db, ids) == ["queued", "suppressed", "suppressed", "queued"]
    batch = batch_of(db, claim.batch_id)
    assert (batch.first_recipient_id, batch.last_recipient_id, batch.size) == (ids[0], ids[3], 2)


def test_a_claim_suppresses_its_own_recipients_by_recipient_id_never_another_campaigns(db):
    earlier = new_campaign(db, name="earlier")
    theirs = add_recipients(db, earlier, [3, 2, 1, 0])  # contact ids now run against recipient ids
    campaign = new_campaign(db)
    ids = add_recipients(db, campaign, [0, 1, 2, 3])
    contact_of(db, 1).opted_out_at = NOW
    db.flush()
    claim = dispatch.claim(db, campaign, 10, 0, NOW)
    assert claim.numbers == {number(0): ids[0], number(2): ids[2], number(3): ids[3]}
    assert states(db, ids) == ["queued", "suppressed", "queued", "queued"]
    assert states(db, theirs) == ["queued"] * 4  # the earlier campaign's claim decides for its own


def test_a_retry_claim_suppresses_those_who_opted_out_since_their_last_try(db):
    campaign = new_campaign(db)
    ids = add_recipients(db, campaign, [0, 1, 2], state="retry")
    contact_of(db, 1).opted_out_at = NOW
    db.flush()
    claim = dispatch.claim(db, campaign, 10, 0, NOW)
    assert claim.numbers == {number(0): ids[0], number(2): ids[2]}
    assert states(db, ids) == ["sending", "suppressed", "sending"]


def test_a_batch_of_only_suppressed_recipients_is_sent_at_once_and_sends_nobody(db):
    campaign = new_campaign(db)
    ids = add_recipients(db, campaign, [0, 1, 2])
    contact_of(db, 0).opted_out_at = NOW
    contact_of(db, 1).opted_out_at = NOW
    db.flush()
    claim = dispatch.claim(db, campaign, 2, 0, NOW)
    assert (claim.numbers, claim.contact_of, claim.attempts) == ({}, {}, {})
    batch = batch_of(db, claim.batch_id)
    assert (batch.size, batch.state, as_utc(batch.finished_at)) == (0, "sent", NOW)
    assert list(dispatch.claim(db, campaign, 2, 0, NOW).numbers.values()) == ids[2:]


def at(n: int, code: int, status: str = "", message_id: str | None = None, cost: str | None = "KES 0.8000"):
    """AT's answer for number n."""
    return RecipientResult(number(n), code, status, message_id, cost)


def test_record_keeps_each_accepted_messages_id_code_and_cost_and_marks_it_sent(db):
    campaign = new_campaign(db)
    ids = add_recipients(db, campaign, [0, 1, 2], attempts=0)
    claim = dispatch.claim(db, campaign, 10, 0, NOW)
    results = [
        at(0, 101, "Success", "ATXid_0"),
        at(1, 100, "Success", "ATXid_1", "KES 1.6000"),
        at(2, 102, "", ""),
    ]
    recorded = dispatch.record(db, claim, results, LATER)
    assert recorded == dispatch.Recorded(accepted=3, failed=0, retry=0, message_ids=["ATXid_0", "ATXid_1"])
    assert not recorded.nothing_taken
    columns = ("state", "at_message_id", "at_status_code", "cost", "sent_at", "attempts", "batch_id")
    assert [(*row[:3], row[3], as_utc(row[4]), *row[5:]) for row in recipient_rows(db, ids, *columns)] == [
        ("sent", "ATXid_0", 101, Decimal("0.8000"), LATER, 1, claim.batch_id),
        ("sent", "ATXid_1", 100, Decimal("1.6000"), LATER, 1, claim.batch_id),
        ("sent", "", 102, Decimal("0.8000"), LATER, 1, claim.batch_id),
    ]
    batch = batch_of(db, claim.batch_id)
    assert (batch.state, as_utc(batch.finished_at)) == ("sent", LATER)


def test_record_retries_the_unanswered_and_passing_failures_and_fails_the_undeliverable(db):
    campaign = new_campaign(db)
    ids = add_recipients(db, campaign, [0, 1, 2, 3, 4, 5, 6], attempts=0)
    claim = dispatch.claim(db, campaign, 10, 0, NOW)
    results = [
        at(1, 407, "CouldNotRoute", "None", "0"),
        at(2, 406, "UserInBlacklist"),
        at(3, 403, "InvalidPhoneNumber"),
        at(4, 404, ""),
        at(5, 409, "DoNotDisturbRejection"),
        at(6, 101, "Success", "ATXid_6"),
    ]  # nothing at all for number 0
    recorded = dispatch.record(db, claim, results, LATER)
    assert recorded == dispatch.Recorded(accepted=1, failed=4, retry=2, message_ids=["ATXid_6"])
    columns = ("state", "attempts", "at_message_id", "at_status_code", "cost", "sent_at", "failure_reason")
    assert recipient_rows(db, ids[:6], *columns) == [
        ("retry", 1, None, None, None, None, "NoAnswer"),
        ("retry", 1, None, 407, None, None, "CouldNotRoute"),
        ("failed", 1, None, 406, None, None, "UserInBlacklist"),
        ("failed", 1, None, 403, None, None, "InvalidPhoneNumber"),
        ("failed", 1, None, 404, None, None, "Refused"),
        ("failed", 1, None, 409, None, None, "DoNotDisturbRejection"),
    ]
    assert [batch_id for (batch_id,) in recipient_rows(db, ids, "batch_id")] == [claim.batch_id] * 7
    blacklisted = contact_of(db, 2)
    assert (as_utc(blacklisted.opted_out_at), blacklisted.opt_out_source) == (LATER, "blacklist")
    others = [contact_of(db, n) for n in (3, 4, 5, 0, 1)]
    assert [(contact.unreachable_reason, contact.opted_out_at) for contact in others] == [
        ("InvalidPhoneNumber", None),
        ("404", None),
        (None, None),
        (None, None),
        (None, None),
    ]


def test_a_batch_at_took_nobody_of_and_some_may_retry_says_nothing_was_taken(db):
    campaign = new_campaign(db)
    add_recipients(db, campaign, [0, 1])
    claim = dispatch.claim(db, campaign, 10, 0, NOW)
    assert dispatch.record(db, claim, [at(0, 405, "InsufficientBalance")], LATER).nothing_taken
    unanswered = dispatch.claim(db, campaign, 10, 0, NOW)
    assert dispatch.record(db, unanswered, [], LATER) == dispatch.Recorded(accepted=0, failed=0, retry=2)
    assert dispatch.Recorded(accepted=0, retry=1).nothing_taken
    assert not dispatch.Recorded(accepted=1, retry=1).nothing_taken
    assert not dispatch.Recorded(accepted=0, failed=2, retry=0).nothing_taken


def test_a_passing_failure_at_the_last_attempt_fails_the_recipient(db):
    campaign = new_campaign(db)
    ids = add_recipients(db, campaign, [0, 1], state="retry", attempts=dispatch.MAX_ATTEMPTS - 2)
    db.execute(update(CampaignRecipient).where(CampaignRecipient.id == ids[1]).values(attempts=4))
    claim = dispatch.claim(db, campaign, 10, 0, NOW)
    dispatch.record(db, claim, [at(0, 500, "InternalServerError"), at(1, 500, "InternalServerError")], LATER)
    assert recipient_rows(db, ids, "state", "attempts") == [("retry", 4), ("failed", 5)]


def test_an_answer_for_a_recipient_cancelled_meanwhile_is_recorded_only_when_at_took_it(db):
    campaign = new_campaign(db)
    ids = add_recipients(db, campaign, [0, 1])
    claim = dispatch.claim(db, campaign, 10, 0, NOW)
    db.execute(update(CampaignRecipient).where(CampaignRecipient.id.in_(ids)).values(state="cancelled"))
    dispatch.record(db, claim, [at(0, 101, "Success", "ATXid_0"), at(1, 407, "CouldNotRoute")], LATER)
    assert recipient_rows(db, ids, "state", "at_message_id") == [("sent", "ATXid_0"), ("cancelled", None)]


def test_record_leaves_rows_no_longer_waiting_for_the_answer_alone(db):
    campaign = new_campaign(db)
    ids = add_recipients(db, campaign, [0, 1])
    claim = dispatch.claim(db, campaign, 10, 0, NOW)
    db.execute(update(CampaignRecipient).where(CampaignRecipient.id.in_(ids)).values(state="suppressed"))
    dispatch.record(db, claim, [at(0, 101, "Success", "ATXid_0"), at(1, 407, "CouldNotRoute")], LATER)
    assert recipient_rows(db, ids, "state", "at_message_id", "attempts") == [("suppressed", None, 0)] * 2


def test_record_applies_delivery_reports_that_arrived_before_the_answer(db, ext):
    campaign = new_campaign(db)
    ids = add_recipients(db, campaign, [0])
    claim = dispatch.claim(db, campaign, 10, 0, NOW)
    keep_report(db, 0, "ATXid_0", ext.config.phone_hash_key, status="Success")
    dispatch.record(db, claim, [at(0, 101, "Success", "ATXid_0")], LATER)
    assert recipient_rows(db, ids, "state", "delivery_status") == [("sent", "Success")]
    assert db.scalar(select(func.count()).select_from(UnmatchedDeliveryReport)) == 0


@pytest.mark.parametrize(
    ("text", "cost"),
    [
        ("KES 0.8000", Decimal("0.8000")),
        ("0", Decimal(0)),
        ("KES 999999.9999", Decimal("999999.9999")),
        ("KES 1000000", None),
        ("KES -1", None),
        ("KES inf", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_cost_reads_ats_amount_within_the_columns_bounds(text, cost):
    assert dispatch.parse_cost(text) == cost


def test_a_request_that_certainly_failed_puts_the_batchs_recipients_back_in_the_queue(db):
    campaign = new_campaign(db, ("A", "en"), ("A", "sw"), ("B", "en"))
    other = new_campaign(db, name="other")
    ids = add_recipients(db, campaign, [0, 1])
    # Inside the batch's id range: the campaign's other groups, and another campaign.
    between = add_recipients(db, campaign, [2], language="sw")
    between += add_recipients(db, campaign, [5], variant="B") + add_recipients(db, other, [6])
    ids += add_recipients(db, campaign, [3])
    after = add_recipients(db, campaign, [4])
    claim = dispatch.claim(db, campaign, 3, 0, NOW)
    db.execute(update(CampaignRecipient).where(CampaignRecipient.id == ids[1]).values(state="suppressed"))
    dispatch.fail(db, claim, "AT answered 500 " + "x" * 300, False, LATER)
    batch = batch_of(db, claim.batch_id)
    assert (batch.state, as_utc(batch.finished_at)) == ("failed", LATER)
    assert batch.error == ("AT answered 500 " + "x" * 300)[:200]
    assert states(db, ids + between + after) == ["retry", "suppressed", "retry"] + ["queued"] * 4


def test_a_failed_retry_batch_puts_back_only_its_own_recipients(db):
    campaign = new_campaign(db)
    ids = add_recipients(db, campaign, [0, 1], state="retry")
    first = dispatch.claim(db, campaign, 1, 0, NOW)
    second = dispatch.claim(db, campaign, 1, 0, NOW)
    dispatch.fail(db, second, "no connection", False, LATER)
    assert states(db, ids) == ["sending", "retry"]
    assert batch_of(db, first.batch_id).state == "claimed"


def test_a_failed_request_in_a_campaign_cancelled_meanwhile_cancels_its_recipients(db):
    campaign = new_campaign(db)
    ids = add_recipients(db, campaign, [0, 1])
    claim = dispatch.claim(db, campaign, 10, 0, NOW)
    campaign.state = "cancelled"
    db.execute(update(CampaignRecipient).where(CampaignRecipient.id == ids[1]).values(state="cancelled"))
    dispatch.fail(db, claim, "no connection", False, LATER)
    assert states(db, ids) == ["cancelled", "cancelled"]


def test_a_request_that_may_have_reached_at_leaves_the_batch_uncertain_and_its_recipients_waiting(db):
    campaign = new_campaign(db)
    ids = add_recipients(db, campaign, [0, 1])
    claim = dispatch.claim(db, campaign, 10, 0, NOW)
    dispatch.fail(db, claim, "read timeout", True, LATER)
    batch = batch_of(db, claim.batch_id)
    assert (batch.state, batch.finished_at, batch.error) == ("uncertain", None, "read timeout")
    assert states(db, ids) == ["queued", "queued"]


def test_mark_stale_makes_the_campaigns_claimed_batches_uncertain(db):
    campaign, other = new_campaign(db), new_campaign(db, name="other")
    ids = add_recipients(db, campaign, [0, 1, 2])
    claimed = [new_batch(db, campaign, [rid], state="claimed") for rid in ids[:2]]
    sent = new_batch(db, campaign, ids[2:], state="sent")
    elsewhere = new_batch(db, other, add_recipients(db, other, [3]), state="claimed")
    assert dispatch.mark_stale(db, campaign.id) == 2
    assert [(batch_of(db, b).state, batch_of(db, b).error) for b in (*claimed, sent, elsewhere)] == [
        ("uncertain", "the worker stopped during this batch"),
        ("uncertain", "the worker stopped during this batch"),
        ("sent", None),
        ("claimed", None),
    ]


@pytest.fixture
def key(ext):
    return ext.config.phone_hash_key


def test_reconcile_marks_sent_a_lost_batch_whose_every_recipient_has_a_delivery_report(db, key):
    campaign = new_campaign(db)
    ids = add_recipients(db, campaign, [0, 1], attempts=0)
    claim = dispatch.claim(db, campaign, 10, 0, NOW)
    dispatch.fail(db, claim, "read timeout", True, NOW)
    keep_report(db, 1, "ATXid_1", key, received_at=NOW + timedelta(seconds=1))
    keep_report(db, 0, "ATXid_0", key, received_at=NOW)
    assert dispatch.reconcile(db, campaign, LATER, timedelta(minutes=10), key) == 0
    columns = ("state", "at_message_id", "sent_at", "attempts", "batch_id", "delivery_status")
    assert [(r[0], r[1], as_utc(r[2]), *r[3:]) for r in recipient_rows(db, ids, *columns)] == [
        ("sent", "ATXid_0", NOW, 1, claim.batch_id, "Success"),
        ("sent", "ATXid_1", NOW, 1, claim.batch_id, "Success"),
    ]
    batch = batch_of(db, claim.batch_id)
    assert (batch.state, as_utc(batch.finished_at), batch.error) == (
        "sent",
        LATER,
        "reconciled from delivery reports: 2 sent",
    )
    assert db.scalar(select(func.count()).select_from(UnmatchedDeliveryReport)) == 0


def test_reconcile_within_the_window_settles_whom_it_can_and_waits_for_the_rest(db, key):
    campaign = new_campaign(db)
    ids = add_recipients(db, campaign, [0, 1, 2])
    claim = dispatch.claim(db, campaign, 10, 0, NOW)
    dispatch.fail(db, claim, "read timeout", True, NOW)
    keep_report(db, 1, "ATXid_1", key)
    keep_report(db, 2, "ATXid_old", key, received_at=NOW - timedelta(seconds=1))  # before the batch: not its
    window = timedelta(seconds=10)
    assert dispatch.reconcile(db, campaign, NOW + window - timedelta(microseconds=1), window, key) == 1
    assert recipient_rows(db, ids, "state", "at_message_id") == [
        ("queued", None),
        ("sent", "ATXid_1"),
        ("queued", None),
    ]
    batch = batch_of(db, claim.batch_id)
    assert (batch.state, batch.finished_at, batch.error) == ("uncertain", None, "read timeout")


def test_reconcile_after_the_window_holds_the_unreported_recipients_as_uncertain(db, key):
    campaign = new_campaign(db)
    ids = add_recipients(db, campaign, [0, 1, 2])
    claim = dispatch.claim(db, campaign, 10, 0, NOW)
    dispatch.fail(db, claim, "read timeout", True, NOW)
    keep_report(db, 1, "ATXid_1", key)
    window = timedelta(seconds=10)
    assert dispatch.reconcile(db, campaign, NOW + window, window, key) == 0
    assert recipient_rows(db, ids, "state", "batch_id") == [
        ("uncertain", claim.batch_id),
        ("sent", claim.batch_id),
        ("uncertain", claim.batch_id),
    ]
    batch = batch_of(db, claim.batch_id)
    assert (batch.state, batch.finished_at, batch.error) == (
        "held",
        None,
        "1 sent by delivery reports, 2 uncertain: resend or skip",
    )


def test_reconcile_takes_only_the_campaigns_uncertain_batches(db, key):
    campaign, other = new_campaign(db), new_campaign(db, name="other")
    ids = add_recipients(db, campaign, [0])
    claimed = dispatch.claim(db, campaign, 10, 0, NOW)
    other_ids = add_recipients(db, other, [1])
    elsewhere = dispatch.claim(db, other, 10, 0, NOW)
    dispatch.fail(db, elsewhere, "read timeout", True, NOW)
    keep_report(db, 0, "ATXid_0", key)
    keep_report(db, 1, "ATXid_1", key)
    assert dispatch.reconcile(db, campaign, LATER, timedelta(0), key) == 0
    assert states(db, ids + other_ids) == ["queued", "queued"]
    assert [batch_of(db, b.batch_id).state for b in (claimed, elsewhere)] == ["claimed", "uncertain"]


def test_reconcile_of_a_retry_batch_settles_its_sending_recipients(db, key):
    campaign = new_campaign(db)
    ids = add_recipients(db, campaign, [0, 1], state="retry", attempts=1)
    claim = dispatch.claim(db, campaign, 10, 0, NOW)
    dispatch.fail(db, claim, "read timeout", True, NOW)
    keep_report(db, 0, "ATXid_0", key)
    keep_report(db, 1, "ATXid_1", key)
    assert dispatch.reconcile(db, campaign, LATER, timedelta(minutes=1), key) == 0
    assert recipient_rows(db, ids, "state", "attempts") == [("sent", 2), ("sent", 2)]


def test_one_kept_report_settles_one_recipient_and_the_first_kept_report_of_a_number_wins(db, key):
    campaign = new_campaign(db)
    ids = add_recipients(db, campaign, [0, 1])
    claim = dispatch.claim(db, campaign, 10, 0, NOW)
    dispatch.fail(db, claim, "read timeout", True, NOW)
    keep_report(db, 0, "ATXid_first", key)
    keep_report(db, 0, "ATXid_second", key)
    assert dispatch.reconcile(db, campaign, LATER, timedelta(minutes=1), key) == 1
    assert recipient_rows(db, ids, "state", "at_message_id") == [("sent", "ATXid_first"), ("queued", None)]


def test_a_batch_larger_than_one_lookup_of_kept_reports_is_settled_whole(db, key):
    campaign = new_campaign(db)
    count = 1201
    add_recipients(db, campaign, list(range(count)))
    claim = dispatch.claim(db, campaign, count, 0, NOW)
    dispatch.fail(db, claim, "read timeout", True, NOW)
    for n in range(count):
        keep_report(db, n, f"ATXid_{n}", key)
    assert dispatch.reconcile(db, campaign, LATER, timedelta(minutes=1), key) == 0
    assert batch_of(db, claim.batch_id).error == f"reconciled from delivery reports: {count} sent"


@pytest.mark.parametrize(
    ("states_newest_first", "seconds"),
    [
        ([], 5),
        (["sent"], 5),
        (["failed"], 5),
        (["failed", "failed"], 10),
        (["failed", "failed", "failed", "sent", "failed"], 20),
        (["failed"] * 6, 160),
        (["failed"] * 7, 300),
        (["failed"] * 12, 300),
        (["uncertain", "failed", "failed"], 5),
    ],
)
def test_backoff_doubles_per_failed_batch_in_a_row_from_5_s_to_at_most_5_minutes(
    db, states_newest_first, seconds
):
    campaign, other = new_campaign(db), new_campaign(db, name="other")
    ids = add_recipients(db, campaign, [0])
    for state in reversed(states_newest_first):
        new_batch(db, campaign, ids, state=state)
    new_batch(db, other, add_recipients(db, other, [1]), state="failed")  # another campaign's
    assert dispatch.backoff(db, campaign.id) == timedelta(seconds=seconds)


def test_backoff_looks_back_eight_batches_at_most(db):
    campaign = new_campaign(db)
    ids = add_recipients(db, campaign, [0])
    for state in ["sent"] + ["failed"] * 8:
        new_batch(db, campaign, ids, state=state)
    assert dispatch.backoff(db, campaign.id) == timedelta(seconds=300)
    new_batch(db, campaign, ids, state="sent")
    for _ in range(4):
        new_batch(db, campaign, ids, state="failed")
    assert dispatch.backoff(db, campaign.id) == timedelta(seconds=40)


@pytest.mark.parametrize("state", ["queued", "retry", "sending", "uncertain"])
def test_a_campaign_with_someone_still_to_send_or_decide_on_is_not_done(db, state):
    campaign = new_campaign(db)
    add_recipients(db, campaign, [0], state="sent")
    add_recipients(db, campaign, [1], state=state)
    assert dispatch.finish_if_done(db, campaign, LATER) is False
    assert (campaign.state, campaign.finished_at) == ("sending", None)


def test_a_campaign_with_nobody_left_to_send_or_decide_on_is_done(db):
    campaign, other = new_campaign(db), new_campaign(db, name="other")
    campaign.next_send_at = NOW
    finished = ["sent", "failed", "suppressed", "held_out", "cancelled", "skipped"]
    for n, state in enumerate(finished):
        add_recipients(db, campaign, [n], state=state)
    add_recipients(db, other, [10], state="queued")
    assert dispatch.finish_if_done(db, campaign, LATER) is True
    assert (campaign.state, as_utc(campaign.finished_at), campaign.next_send_at) == ("done", LATER, None)


def test_a_forward_claim_takes_only_queued_recipients(db):
    campaign = new_campaign(db)
    ids = add_recipients(db, campaign, [0])
    ids += add_recipients(db, campaign, [1], state="failed")
    ids += add_recipients(db, campaign, [2])
    assert list(dispatch.claim(db, campaign, 10, 0, NOW).numbers.values()) == [ids[0], ids[2]]
    assert states(db, ids) == ["queued", "failed", "queued"]


@pytest.mark.parametrize("kind", ["forward", "retry"])
def test_a_recipient_settled_in_the_window_stays_sent_when_the_rest_of_its_batch_is_held(db, key, kind):
    campaign = new_campaign(db)
    ids = add_recipients(db, campaign, [0, 1], state="queued" if kind == "forward" else "retry")
    claim = dispatch.claim(db, campaign, 10, 0, NOW)
    dispatch.fail(db, claim, "read timeout", True, NOW)
    keep_report(db, 0, "ATXid_0", key)
    window = timedelta(seconds=10)
    assert dispatch.reconcile(db, campaign, LATER, window, key) == 1
    assert dispatch.reconcile(db, campaign, NOW + window, window, key) == 0
    assert recipient_rows(db, ids, "state", "at_message_id") == [("sent", "ATXid_0"), ("uncertain", None)]
    assert batch_of(db, claim.batch_id).error == "0 sent by delivery reports, 1 uncertain: resend or skip"


def test_a_lost_answer_is_reconciled_for_recipients_cancelled_meanwhile(db, key):
    campaign = new_campaign(db)
    ids = add_recipients(db, campaign, [0, 1])
    claim = dispatch.claim(db, campaign, 10, 0, NOW)
    dispatch.fail(db, claim, "read timeout", True, NOW)
    campaign.state = "cancelled"
    db.execute(update(CampaignRecipient).where(CampaignRecipient.id.in_(ids)).values(state="cancelled"))
    keep_report(db, 0, "ATXid_0", key)
    window = timedelta(seconds=10)
    assert dispatch.reconcile(db, campaign, NOW + window, window, key) == 0
    assert recipient_rows(db, ids, "state", "at_message_id") == [("sent", "ATXid_0"), ("uncertain", None)]


def test_reconcile_counts_every_batch_still_waiting_for_reports(db, key):
    campaign = new_campaign(db)
    add_recipients(db, campaign, [0, 1])
    for _ in range(2):
        dispatch.fail(db, dispatch.claim(db, campaign, 1, 0, NOW), "read timeout", True, NOW)
    assert dispatch.reconcile(db, campaign, LATER, timedelta(minutes=1), key) == 2
