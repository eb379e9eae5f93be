"""Awareness keywords by SMS: STOP/ACHA leave and START/JOIN/ANZA/JIUNGE join, each confirmed by one
SMS in the keyword's language, acted on once per AT id. Through `/sms/inbound`, real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import requests
from rq import Queue
from sqlalchemy import select

from flows.gsm import is_gsm7, segments
from hotline.contacts import service as contacts
from hotline.core.models import (
    CaseMessage,
    FocalPoint,
    InboundSms,
    OutboundSms,
    Suppression,
    Tip,
    User,
    utcnow,
)
from hotline.core.privacy import decrypt_contact, reporter_key
from hotline.core.time import as_utc
from hotline.messaging import outbound
from hotline.sms.texts import REPLIES
from hotline.tips import conversation, routing
from tests import test_routing
from workers.sweeper import sweep_service_sms, sweep_unqueued_tips

PHONE = "+254733000777"


def text_in(client, text, at_id=None, phone=PHONE):
    form = {
        "id": at_id or f"ATXid_{uuid.uuid4().hex}",
        "from": phone,
        "to": "21606",
        "text": text,
        "date": "2026-11-22 10:00:00",
    }
    response = client.post("/sms/inbound", data=form)
    assert response.status_code == 200, response.get_data(as_text=True)


def replies(ext) -> list[tuple[str, str]]:
    """Every reply SMS as (recipient, message), oldest first."""
    with ext.session_scope() as session:
        rows = session.scalars(
            select(OutboundSms).where(OutboundSms.purpose == "reply").order_by(OutboundSms.id)
        )
        return [(decrypt_contact(row.to_token, ext.config.contact_key), row.message) for row in rows]


def contact(ext, phone=PHONE):
    with ext.session_scope() as session:
        found = contacts.find(session, phone)
        if found is not None:
            session.expunge(found)
        return found


@pytest.mark.parametrize(
    ("keyword", "language"), [("START", "en"), ("join", "en"), ("Anza", "sw"), ("JIUNGE", "sw")]
)
def test_joining_by_sms_subscribes_in_the_keywords_language_and_confirms(ext, client, keyword, language):
    text_in(client, keyword)
    joined = contact(ext)
    assert (joined.consent_source, joined.language, joined.county_code) == ("sms", language, None)
    assert contacts.is_subscribed(joined)
    assert replies(ext) == [(PHONE, REPLIES[language]["joined"].format(short_code="21606"))]


@pytest.mark.parametrize(("keyword", "language"), [("STOP", "en"), ("acha tafadhali", "sw")])
def test_leaving_by_sms_opts_out_and_confirms(ext, client, keyword, language):
    text_in(client, "JOIN")
    text_in(client, keyword)
    left = contact(ext)
    assert left.opt_out_source == "sms" and not contacts.is_subscribed(left)
    assert replies(ext)[-1] == (PHONE, REPLIES[language]["stopped"].format(short_code="21606"))


def test_stop_from_an_unknown_number_is_remembered_without_the_number_and_join_undoes_it(ext, client):
    text_in(client, "STOP")
    assert contact(ext) is None
    with ext.session_scope() as session:
        assert session.scalar(select(Suppression.source)) == "sms"
    text_in(client, "JIUNGE")
    back = contact(ext)
    assert contacts.is_subscribed(back) and (back.consent_source, back.language) == ("sms", "sw")
    assert [message for _to, message in replies(ext)] == [
        REPLIES["en"]["stopped"].format(short_code="21606"),
        REPLIES["sw"]["joined"].format(short_code="21606"),
    ]
    with ext.session_scope() as session:
        assert session.scalar(select(Suppression.source)) is None  # joining ends the suppression


def test_a_keyword_delivered_twice_acts_and_replies_once(ext, client):
    text_in(client, "STOP", at_id="ATXid_twice")
    text_in(client, "STOP", at_id="ATXid_twice")
    assert len(replies(ext)) == 1


def test_the_confirmations_are_neutral_gsm7_single_sms():
    for language in ("en", "sw"):
        for key in ("joined", "stopped"):
            message = REPLIES[language][key]
            assert is_gsm7(message) and len(message) <= 160, message
            assert "traffick" not in message.lower() and "ulanguzi" not in message.lower()


def _tip_with_a_waiting_message(ext) -> Tip:
    """A tip reported from PHONE (routed, acknowledged) with one unread message from the case team."""
    with ext.session_scope() as session:
        tip = Tip(
            reference="482177305417",
            channel="sms",
            source_id="test:status",
            kind="other",
            status="acknowledged",
            reporter_key=reporter_key(PHONE, ext.config.phone_hash_key),
        )
        user = User(email="fp@example.org", password_hash="x", role="focal_point", session_token="t")
        session.add_all([tip, user])
        session.flush()
        conversation.post_message(session, ext.config, tip, user.id, "Are they still there?", utcnow())
        return tip


@pytest.mark.parametrize(
    "keyword, expected",
    [
        (
            "STATUS",
            "Reference 482-177-305-417: taken up by the county team. A message from the county team "
            "is waiting: dial *384*1234# and choose 3.",
        ),
        (
            "hali",
            "Kumbukumbu 482-177-305-417: inashughulikiwa na timu ya kaunti. Una ujumbe kutoka kwa timu ya "
            "kaunti: piga *384*1234# kisha uchague 3.",
        ),
    ],
)
def test_status_tells_the_reporter_a_message_waits_without_its_content(ext, client, keyword, expected):
    _tip_with_a_waiting_message(ext)
    text_in(client, f"{keyword} 482-177-305-417")
    assert replies(ext) == [(PHONE, expected)]
    assert is_gsm7(expected) and len(expected) <= 160


def test_status_from_another_number_that_knows_the_reference_says_nothing_of_a_message(ext, client):
    _tip_with_a_waiting_message(ext)
    text_in(client, "STATUS 482177305417", phone="+254722333444")
    assert replies(ext) == [("+254722333444", "Reference 482-177-305-417: taken up by the county team.")]
    with ext.session_scope() as session:
        assert session.scalar(select(CaseMessage)).read_at is None  # an SMS reads nothing out


def test_a_tip_by_sms_while_redis_is_down_is_answered_saved_marked_and_queued_later_by_the_sweep(
    app, ext, client, redis_server
):
    redis_server.stop()
    try:
        text_in(client, "TIP Girls kept in a bar in Kakamega")  # 200: AT does not send it again
    finally:
        redis_server.start()  # empty: nothing of that request reached it
    with ext.session_scope() as session:
        [tip] = session.scalars(select(Tip)).all()
        [reply] = session.scalars(select(OutboundSms)).all()
        assert tip.routing_started_at is None and tip.routing_queue_failed_at is not None
        assert (reply.purpose, reply.state, reply.attempts) == ("reply", "pending", 0)
        tip_id, reply_id, due = tip.id, reply.id, as_utc(reply.next_attempt_at)
    queue = Queue("tips", connection=ext.redis)
    assert queue.job_ids == []
    with app.app_context():
        assert sweep_unqueued_tips(older_than_seconds=3600) == 1  # marked: due at once
        assert sweep_service_sms() == 1
        assert (sweep_unqueued_tips(older_than_seconds=3600), sweep_service_sms()) == (0, 0)  # once each
    assert queue.job_ids == [f"route-tip-{tip_id}", outbound.attempt_job_id(reply_id, 0, due)]


@pytest.mark.parametrize(
    ("listed", "county"),
    [
        ((37, 47), 37),
        ((37, 47), 47),  # the Nairobi listing was sent the tip, not the first one
        ((0, 47), 47),  # the secretariat's listing may too, but the county's is the one that did
    ],
)
def test_a_focal_point_listed_for_two_counties_acknowledges_a_tip_as_the_listing_of_its_county(
    ext, client, listed, county
):
    organisations = {0: "CTiP", 37: "Kakamega CCO", 47: "Nairobi CCO"}
    with ext.session_scope() as session:
        listings = {
            code: FocalPoint(
                county_code=code, name="Officer P", organisation=organisations[code], phone=PHONE
            )
            for code in listed
        }
        tip = Tip(
            reference="482177305417", channel="ussd", kind="other", county_code=county, reporter_key="0" * 64
        )
        session.add_all([*listings.values(), tip])
        session.flush()
        routing.notify_stage(session, ext.config, tip, 0, utcnow())
        tip_id, by = tip.id, listings[county].id
    text_in(client, "ACK 482-177-305-417")
    assert replies(ext) == [(PHONE, REPLIES["en"]["ack_done"].format(ref="482-177-305-417"))]
    with ext.session_scope() as session:
        tip = session.get(Tip, tip_id)
        assert (tip.status, tip.acknowledged_by_id) == ("acknowledged", by)


def test_an_sms_form_without_a_text_field_is_a_400_and_acts_on_nothing(ext, client):
    form = {"id": "ATXid_notext", "from": PHONE, "to": "21606", "date": "2026-11-22 10:00:00"}
    response = client.post("/sms/inbound", data=form)
    assert response.status_code == 400
    assert response.get_data(as_text=True) == "bad request: missing field text\n"
    with ext.session_scope() as session:
        assert session.get(InboundSms, "ATXid_notext") is None
    assert replies(ext) == []


def test_an_empty_sms_gets_the_keyword_list(ext, client):
    text_in(client, "")
    text_in(client, "   ")
    listed = REPLIES["en"]["help"].format(short_code="21606")
    lines = REPLIES["en"]["help_lines"].format(code=ext.config.ussd_service_code)
    assert replies(ext) == [(PHONE, listed), (PHONE, lines)] * 2


@pytest.mark.parametrize(("word", "language"), [("HELP", "en"), ("msaada", "sw")])
def test_help_lists_every_keyword_of_its_language_in_two_sms_that_fit_one_each(ext, client, word, language):
    text_in(client, word)
    sent = [message for _to, message in replies(ext)]
    assert len(sent) == 2 and all(segments(message) == 1 for message in sent)
    words = {"en": ("TIP", "STATUS", "AGENCY", "JOIN", "STOP", "HELP", "ACK")}
    words["sw"] = ("RIPOTI", "HALI", "WAKALA", "JIUNGE", "ACHA", "MSAADA", "POKEA")
    for keyword in words[language]:
        assert keyword in " ".join(sent), keyword
    assert "21606" in sent[0] and ext.config.ussd_service_code in sent[1]


def test_an_unknown_word_gets_a_short_list_of_the_keywords(client, ext):
    text_in(client, "hello there")
    [(_to, message)] = replies(ext)
    assert message.startswith("Sorry, we did not understand. Words you can send: TIP, STATUS, AGENCY, JOIN")


@pytest.mark.parametrize(
    ("date", "sent"),
    [
        ("2026-11-22 07:59:58", datetime(2026, 11, 22, 7, 59, 58, tzinfo=UTC)),
        ("2026-11-22T10:59:58+03:00", datetime(2026, 11, 22, 7, 59, 58, tzinfo=UTC)),
        ("not a date", None),
    ],
)
def test_an_sms_is_stored_with_when_the_phone_sent_it(ext, client, date, sent):
    form = {"id": "ATXid_dated", "from": PHONE, "to": "21606", "text": "HELP", "date": date}
    assert client.post("/sms/inbound", data=form).status_code == 200
    with ext.session_scope() as session:
        assert as_utc(session.get(InboundSms, "ATXid_dated").sent_at) == sent


def test_a_premium_sms_reply_keeps_the_link_id_on_the_reply_only(ext, client):
    form = {"id": "ATXid_premium", "from": PHONE, "to": "21606", "text": "HELP", "linkId": "SampleLinkId123"}
    assert client.post("/sms/inbound", data=form).status_code == 200
    with ext.session_scope() as session:
        row, second = session.scalars(select(OutboundSms).where(OutboundSms.purpose == "reply")).all()
        assert (row.at_short_code, row.at_link_id) == ("21606", "SampleLinkId123")
        assert (second.at_short_code, second.at_link_id) == (None, None)  # never charged twice
        inbound = session.get(InboundSms, "ATXid_premium")
        stored = {column.name: getattr(inbound, column.key) for column in InboundSms.__table__.columns}
        assert "SampleLinkId123" not in stored.values() and "21606" not in stored.values()
    form = {"id": "ATXid_bulk", "from": PHONE, "to": "21606", "text": "HELP"}
    assert client.post("/sms/inbound", data=form).status_code == 200
    with ext.session_scope() as session:
        row = session.scalar(select(OutboundSms).where(OutboundSms.dedupe_key == "reply:ATXid_bulk"))
        assert (row.at_short_code, row.at_link_id) == (None, None)


stack = test_routing.stack  # the hotline and the AT simulator on real ports


@pytest.mark.parametrize("stack_settings", [{"at_premium_replies": True}])
def test_a_reply_to_a_premium_sms_passes_its_link_id_back_to_at_through_the_sdk(stack):
    body = {"from": PHONE, "to": "21606", "text": "HELP", "linkId": "SampleLinkId123", "id": "ATXid_prem"}
    response = requests.post(f"{stack.sim_url}/api/inbound", json=body, timeout=5)
    assert response.json()["status"] == 200
    stack.work()
    messages = requests.get(f"{stack.sim_url}/api/messages", params={"phone": PHONE}, timeout=5).json()
    premium = [m for m in messages if m.get("linkId")]
    assert [(m["from"], m["linkId"]) for m in premium] == [("21606", "SampleLinkId123")]
    assert len(messages) == 2  # HELP's second SMS is an ordinary send
    row = next(row for row in stack.sms() if row.dedupe_key == "reply:ATXid_prem")
    # Sent: the link id served its one reply and is not kept.
    assert (row.state, row.at_link_id, row.at_message_id) == ("sent", None, premium[0]["id"])


def test_on_a_two_way_short_code_a_reply_is_an_ordinary_send_though_the_sms_came_with_a_link_id(stack):
    body = {"from": PHONE, "to": "21606", "text": "HELP", "linkId": "SampleLinkId123", "id": "ATXid_twoway"}
    response = requests.post(f"{stack.sim_url}/api/inbound", json=body, timeout=5)
    assert response.json()["status"] == 200
    stack.work()
    messages = requests.get(f"{stack.sim_url}/api/messages", params={"phone": PHONE}, timeout=5).json()
    assert [m.get("linkId") for m in messages] == [None, None]
    rows = stack.sms()
    assert sorted(m["id"] for m in messages) == sorted(row.at_message_id for row in rows)
    assert all((row.state, row.at_link_id) == ("sent", None) for row in rows)
