"""The campaign dispatcher's edges: a recipient AT never takes, and its per-campaign lock busy or lost.

AT is an HTTP server bound by the test (tests/test_sms_gateway.py), so each request is counted; the
batches go through the official SDK.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from campaigns import dispatch
from hotline.contacts import as_utc
from hotline.models import CampaignRecipient, Contact
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
