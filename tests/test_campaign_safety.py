"""The safety rule (campaigns.safety): whoever has a tip open, or reported in the last 30 days, is
left out of every campaign and its holdout, counted and named nowhere.

Tips are submitted as USSD and SMS submit them (`submit_tip` with the reporter's engagement key);
campaigns go through the CLI and the dispatcher, with the AT simulator over HTTP as AT.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from itertools import count

import pytest
import time_machine
from sqlalchemy import String, Text, select

from campaigns import audience, safety, service
from hotline.core.models import Base, Campaign, CampaignRecipient, Contact, Tip, utcnow
from hotline.core.privacy import engagement_key, reporter_key
from hotline.core.viewer import Viewer
from hotline.tips import casework
from hotline.tips.submission import NewTip, submit_tip
from tests.console import make_user
from tests.test_campaigns import _stack, phone

_sources = count()


@pytest.fixture
def stack(make_app):
    yield from _stack(make_app)


def report(ext, number: str) -> int:
    """The person at `number` reports a tip, as the USSD and SMS channels submit one; its id."""
    key = ext.config.phone_hash_key
    new = NewTip(
        channel="sms",
        source_id=f"sms:safety-{next(_sources)}",
        kind="recruitment_fraud",
        reporter_key=reporter_key(number, key),
        county_code=47,
    )
    return submit_tip(ext.session_scope, new, engagement_key(number, key)).id


def close(ext, tip_id: int) -> None:
    """The secretariat closes the tip (resolved)."""
    user = make_user(ext, "secretariat")
    viewer = Viewer(user.user_id, user.email, "secretariat")
    with ext.session_scope() as session:
        casework.set_status(session, viewer, session.get(Tip, tip_id), "Closed", utcnow(), "resolved")


def contact_ids(ext) -> dict[str, int]:
    with ext.session_scope() as session:
        return {number: cid for cid, number in session.execute(select(Contact.id, Contact.phone))}


def arms(stack, name: str) -> dict[int, bool]:
    """contact id -> held out, of the campaign's recipient rows."""
    return {r.contact_id: r.held_out for r in stack.recipients(name)}


def test_a_contact_with_an_open_tip_is_left_out_of_estimate_draw_and_holdout_and_counted(stack):
    stack.add_contacts(40, language=lambda n: "en")
    ids = contact_ids(stack.ext)
    # A first campaign, drawn before anyone reported, shows where each contact would fall with seed 7.
    stack.create("before", "--holdout", "50%", "--seed", "7")
    stack.flask("campaigns", "send", "before", "--yes", "--no-wait")
    drawn = arms(stack, "before")
    held = next(n for n in range(40) if drawn[ids[phone(n)]])
    treated = next(n for n in range(40) if not drawn[ids[phone(n)]])
    report(stack.ext, phone(held))
    report(stack.ext, phone(treated))
    report(stack.ext, phone(treated))  # twice: still one person
    report(stack.ext, "+254799999999")  # a reporter who is no contact changes nothing

    stack.create("after", "--holdout", "50%", "--seed", "7")
    with stack.ext.session_scope() as session:
        assert safety.at_risk_contacts(session, utcnow()) == {ids[phone(held)], ids[phone(treated)]}
        figures = audience.estimate(session, service.find(session, "after"), Decimal("0.80"))
        # The builder's live estimate: the same audience and the same left out, the draw's expected split.
        live = audience.expected(session, service.find(session, "after"), Decimal("0.80"))
    held_before = sum(drawn.values())
    assert (figures.audience, figures.held_out, figures.safety_suppressed) == (38, held_before - 1, 2)
    assert (live.audience, live.held_out, live.safety_suppressed, live.exact) == (38, 19, 2, False)
    assert sum(live.recipients.values()) == live.treated == 19
    assert sum(figures.recipients.values()) == 40 - held_before - 1
    assert re.search(r"left out +2  for their safety", stack.flask("campaigns", "estimate", "after").output)

    stack.flask("campaigns", "send", "after", "--yes", "--no-wait")
    after = arms(stack, "after")
    reporters = {ids[phone(held)], ids[phone(treated)]}
    assert after == {cid: out for cid, out in drawn.items() if cid not in reporters}
    campaign = stack.campaign("after")
    assert (campaign.audience_size, campaign.held_out, campaign.safety_suppressed) == (38, held_before - 1, 2)
    assert "left out for safety 2" in stack.flask("campaigns", "status", "after").output
    stack.work()
    received = {message["to"] for message in stack.messages()}
    assert phone(treated) not in received and phone(held) not in received
    assert len(received) == 40 - held_before - 1
    # The first campaign, drawn before they reported, leaves them out when its batch reaches them.
    assert stack.campaign("before").safety_suppressed == 2


def test_a_tip_closed_31_days_ago_no_longer_protects_but_one_closed_10_days_ago_still_does(ext):
    numbers = {"old closed": "+254711000001", "recent closed": "+254711000002", "old open": "+254711000003"}
    with ext.session_scope() as session:
        for number in numbers.values():
            key = engagement_key(number, ext.config.phone_hash_key)
            session.add(Contact(phone=number, engagement_key=key, county_code=47, language="en",
                                consent_source="test", consented_at=utcnow() - timedelta(days=60), salt=1))
    ids = {name: contact_ids(ext)[number] for name, number in numbers.items()}
    now = utcnow()
    with time_machine.travel(now - timedelta(days=31, minutes=1), tick=False):
        close(ext, report(ext, numbers["old closed"]))
    with time_machine.travel(now - timedelta(days=10), tick=False):
        close(ext, report(ext, numbers["recent closed"]))
    with time_machine.travel(now - timedelta(days=90), tick=False):
        report(ext, numbers["old open"])  # still open: protects however old
    with ext.session_scope() as session:
        assert safety.at_risk_contacts(session, now) == {ids["recent closed"], ids["old open"]}
        # 20 days on, the tip closed 10 days ago is 30 days old: it no longer protects.
        assert safety.at_risk_contacts(session, now + timedelta(days=20, minutes=1)) == {ids["old open"]}
        assert safety.reported(session, numbers.values(), ext.config.phone_hash_key, now) == {
            numbers["recent closed"], numbers["old open"]
        }


def test_a_seal_made_under_another_key_is_skipped_not_fatal(ext, caplog):
    number = "+254711000009"
    with ext.session_scope() as session:
        session.add(Contact(phone=number, engagement_key=engagement_key(number, ext.config.phone_hash_key),
                            county_code=47, language="en", consent_source="test",
                            consented_at=utcnow() - timedelta(days=1), salt=1))
    tip_id = report(ext, number)
    with ext.session_scope() as session:
        session.get(Tip, tip_id).safety_seal = "bm90IGEgc2VhbCBhdCBhbGwsIGp1c3QgYnl0ZXMgMTIzNDU2Nzg5MA=="
        assert safety.at_risk_contacts(session, utcnow()) == set()
    assert "1 tip seals could not be opened" in caplog.text


def test_a_tip_after_the_draw_stops_the_send_and_its_held_out_neighbours_go_the_same_way(stack):
    stack.add_contacts(30, language=lambda n: "en")
    stack.create("c", "--holdout", "50%", "--seed", "11")
    stack.flask("campaigns", "send", "c", "--yes", "--no-wait")
    ids = contact_ids(stack.ext)
    drawn = arms(stack, "c")
    held = [n for n in range(30) if drawn[ids[phone(n)]]]
    treated = [n for n in range(30) if not drawn[ids[phone(n)]]]
    reporters = [held[0], treated[0], treated[-1]]
    for n in reporters:
        report(stack.ext, phone(n))  # after the draw, before the first batch
    before = stack.campaign("c")
    assert before.safety_suppressed == 0

    stack.work()
    stack.flush()
    received = {m["to"] for m in stack.messages()}
    assert received == {phone(n) for n in treated[1:-1]}  # nobody held out, nobody who reported
    campaign = stack.campaign("c")
    assert campaign.state == "done"
    assert campaign.safety_suppressed == 3
    assert (campaign.audience_size, campaign.held_out) == (30 - 3, len(held) - 1)
    rows = stack.recipients("c")
    left_out = {ids[phone(n)] for n in reporters}
    assert {r.contact_id for r in rows} == set(ids.values()) - left_out
    assert {r.state for r in rows} == {"sent", "held_out"}  # no state says "left out for safety"


def test_no_row_anywhere_names_a_contact_left_out_for_safety(stack):
    stack.add_contacts(12, language=lambda n: "en")
    ids = contact_ids(stack.ext)
    left_out = phone(3)
    report(stack.ext, left_out)
    with stack.ext.session_scope() as session:
        before = {c.name: getattr(session.get(Contact, ids[left_out]), c.name) for c in Contact.__table__.c}
    stack.create("c", "--holdout", "25%", "--seed", "3")
    stack.flask("campaigns", "send", "c", "--yes", "--no-wait")
    stack.work()
    assert stack.campaign("c").safety_suppressed == 1

    with stack.ext.session_scope() as session:
        contact = session.get(Contact, ids[left_out])
        assert {c.name: getattr(contact, c.name) for c in Contact.__table__.c} == before  # untouched
        secrets = (left_out, contact.engagement_key)
        for table in Base.metadata.sorted_tables:
            rows = session.execute(select(table)).all()
            for column in table.c:
                refers_to_contacts = any(fk.column.table.name == "contact" for fk in column.foreign_keys)
                values = [row._mapping[column] for row in rows]
                if refers_to_contacts:
                    assert ids[left_out] not in values, f"{table.name}.{column.name} names the contact"
                if table.name != "contact" and isinstance(column.type, String | Text):
                    for value in values:
                        found = any(secret in (value or "") for secret in secrets)
                        assert not found, f"{table.name}.{column.name} holds the number or its key"
        states = set(session.scalars(select(CampaignRecipient.state)))
        assert states <= {"sent", "held_out"}
        assert session.scalar(select(Campaign.safety_suppressed).where(Campaign.name == "c")) == 1
