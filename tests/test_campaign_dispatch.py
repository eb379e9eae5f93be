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

import pytest
import time_machine
from sqlalchemy import select

from campaigns import dispatch
from hotline import delivery_reports
from hotline.contacts import as_utc
from hotline.models import (
    Campaign,
    CampaignBatch,
    CampaignMessage,
    CampaignRecipient,
    Contact,
    UnmatchedDeliveryReport,
)
from tests.test_campaigns import CampaignStack, phone
from tests.test_sms_gateway import FakeAt, accepted, recipients
from workers.campaigns import lock_key, queued_key
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
    stack = campaign_of(make_app, fake_at, 4, rate=2, campaign_lock_seconds=1)  # batches of two

    def slow(form):  # AT takes everyone but answers after the lock's 1 s have run out
        time.sleep(1.3)
        return accepted(form)

    fake_at.answer_with(slow)
    campaign_id = stack.campaign("c").id
    assert stack.dispatch("c") == "lost its lock"
    # The batch it sent is recorded; it sends no more and queues no slice: the campaign is not its own.
    assert sent_to(fake_at) == [phone(0), phone(1)]
    by_phone = recipients_by_phone(stack)
    assert [by_phone[phone(n)].state for n in range(4)] == ["sent", "sent", "queued", "queued"]
    assert not stack.ext.redis.exists(lock_key(campaign_id), queued_key(campaign_id))
    fake_at.answer_with(accepted)
    with stack.app.app_context():
        assert sweep_campaigns() == 1  # nobody works it: the sweeper queues a slice
    stack.work()
    assert stack.campaign("c").state == "done"
    assert sent_to(fake_at) == [phone(n) for n in range(4)]  # everyone once, nobody twice


# --- The steps, called directly on campaigns built row by row --------------------------------------

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # 10:00 in Nairobi


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
    """A batch of the campaign's A/en group over these recipient ids."""
    batch = CampaignBatch(
        campaign_id=campaign.id,
        variant="A",
        language="en",
        kind=kind,
        first_recipient_id=min(ids),
        last_recipient_id=max(ids),
        size=len(ids),
        state=state,
        claimed_at=columns.pop("claimed_at", NOW),
        **columns,
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
