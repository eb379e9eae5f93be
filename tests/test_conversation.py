"""The case team's messages to the anonymous reporter and the reporter's answers (hotline.tips.conversation),
on the real database: the one neutral SMS when the reporter consented, validation, idempotent answers,
who may answer and who hears of it, the audit entry.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from flows.gsm import septets
from hotline.core.models import AuditEvent, CaseMessage, FocalPoint, OutboundSms, Tip, User, utcnow
from hotline.core.privacy import decrypt_contact, encrypt_contact, reporter_key
from hotline.tips import conversation, routing
from tests.conftest import TEST_PHONE

REFERENCE = "482177305417"
FOCAL_A, FOCAL_B, NATIONAL = "+254700000101", "+254700000102", "+254700000190"


@pytest.fixture
def case(ext):
    """A Kakamega tip whose reporter consented to be contacted, two Kakamega focal points, the
    secretariat and a console user; yields (session, tip, focal points by name, user) in one transaction."""
    with ext.session_scope() as session:
        people = {
            "A": FocalPoint(county_code=37, name="Officer A", organisation="Kakamega CCO", phone=FOCAL_A),
            "B": FocalPoint(county_code=37, name="Officer B", phone=FOCAL_B, priority=2),
            "S": FocalPoint(county_code=0, name="Secretariat", organisation="CTiP", phone=NATIONAL),
        }
        tip = Tip(
            reference=REFERENCE,
            channel="ussd",
            source_id="test:case",
            kind="forced_labour",
            county_code=37,
            reporter_key=reporter_key(TEST_PHONE, ext.config.phone_hash_key),
            callback_contact=encrypt_contact(TEST_PHONE, ext.config.contact_key),
        )
        user = User(email="fp@kakamega.example", password_hash="x", role="focal_point", county_code=37,
                    session_token="t")
        session.add_all([tip, user, *people.values()])
        session.flush()
        yield session, tip, people, user


def _sms(session, tip, purpose) -> list[OutboundSms]:
    query = select(OutboundSms).where(OutboundSms.tip_id == tip.id, OutboundSms.purpose == purpose)
    return list(session.scalars(query.order_by(OutboundSms.id)))


def test_a_message_to_a_reporter_who_consented_sends_one_neutral_sms_in_their_language(ext, case):
    session, tip, _, user = case
    tip.language = "sw"
    ids = conversation.post_message(session, ext.config, tip, user.id, "Bado wako pale?", utcnow())
    [row] = _sms(session, tip, "message_waiting")
    assert ids == [row.id] and row.focal_point_id is None
    assert row.message == "Una ujumbe. Piga *384*1234# kisha uchague 3."
    assert decrypt_contact(row.to_token, ext.config.contact_key) == TEST_PHONE
    [message] = session.scalars(select(CaseMessage)).all()
    assert (message.direction, message.text, message.user_id, message.read_at) == (
        "out", "Bado wako pale?", user.id, None
    )


def test_the_waiting_sms_names_the_service_code_of_the_config_and_never_the_content(make_app, case):
    session, tip, _, user = case
    config = make_app(ussd_service_code="*483*77#").extensions["hotline"].config
    conversation.post_message(session, config, tip, user.id, "Is the girl still at the house?", utcnow())
    [row] = _sms(session, tip, "message_waiting")
    assert row.message == "You have a message. Dial *483*77# and choose 3."


def test_a_reporter_who_did_not_consent_gets_no_sms(ext, case):
    session, tip, _, user = case
    tip.callback_contact = None
    assert conversation.post_message(session, ext.config, tip, user.id, "Any news?", utcnow()) == []
    assert session.scalars(select(OutboundSms)).all() == []
    assert len(conversation.unread(session, tip)) == 1


def test_a_second_message_before_the_first_is_read_sends_no_second_sms_and_one_after_it_does(ext, case):
    session, tip, _, user = case
    now = utcnow()
    first = conversation.post_message(session, ext.config, tip, user.id, "First question", now)
    assert conversation.post_message(session, ext.config, tip, user.id, "Second", now + timedelta(1)) == []
    assert len(_sms(session, tip, "message_waiting")) == 1
    for message in conversation.unread(session, tip)[:1]:
        conversation.mark_read(session, message, now)
    # One still waits unread: the reporter was told and reads on from the next screen.
    assert conversation.post_message(session, ext.config, tip, user.id, "Third", now + timedelta(2)) == []
    for message in conversation.unread(session, tip):
        conversation.mark_read(session, message, now)
    again = conversation.post_message(session, ext.config, tip, user.id, "Fourth", now + timedelta(3))
    assert len(first) == 1 and len(again) == 1 and again != first
    assert len(_sms(session, tip, "message_waiting")) == 2


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_an_empty_message_is_refused_in_plain_words(ext, case, text):
    session, tip, _, user = case
    with pytest.raises(ValueError, match="Write a message first"):
        conversation.post_message(session, ext.config, tip, user.id, text, utcnow())
    assert session.scalars(select(CaseMessage)).all() == []


def test_a_message_longer_than_one_ussd_screen_is_refused_and_one_that_fits_is_kept_in_gsm7(ext, case):
    session, tip, _, user = case
    limit = conversation.MESSAGE_MAX_LENGTH
    with pytest.raises(ValueError, match=f"is {limit + 1} characters long; .* at most {limit}"):
        conversation.post_message(session, ext.config, tip, user.id, "x" * (limit + 1), utcnow())
    with pytest.raises(ValueError, match="at most"):  # the euro sign takes two GSM-7 characters
        conversation.post_message(session, ext.config, tip, user.id, "€" + "x" * (limit - 1), utcnow())
    curly = "“Where” – now?" + "x" * (limit - 14)
    conversation.post_message(session, ext.config, tip, user.id, curly, utcnow())
    [message] = conversation.unread(session, tip)
    assert message.text.startswith('"Where" - now?') and septets(message.text) == limit


def test_posting_a_message_writes_the_audit_log(ext, case):
    session, tip, _, user = case
    now = utcnow()
    conversation.post_message(session, ext.config, tip, user.id, "Any news?", now)
    [event] = session.scalars(select(AuditEvent)).all()
    assert (event.action, event.user_id, event.actor, event.tip_id) == (
        "message_sent", user.id, "fp@kakamega.example", tip.id
    )
    assert "Any news?" not in str(event.detail)


def test_unread_lists_the_case_teams_messages_oldest_first_and_reading_twice_keeps_the_first_time(ext, case):
    session, tip, _, user = case
    now = utcnow()
    for n, words in enumerate(("one", "two")):
        conversation.post_message(session, ext.config, tip, user.id, words, now + timedelta(minutes=n))
    conversation.add_reply(session, ext.config, tip, tip.reporter_key, "an answer", "ussd:S1", now)
    first, second = conversation.unread(session, tip)
    assert (first.text, second.text) == ("one", "two")
    conversation.mark_read(session, first, now)
    conversation.mark_read(session, first, now + timedelta(hours=1))
    assert first.read_at == now and conversation.unread(session, tip) == [second]
    assert conversation.waiting_for(session, tip, tip.reporter_key) == 1
    assert conversation.waiting_for(session, tip, "f" * 64) == 0  # someone else who knows the code


def test_an_answer_is_kept_once_per_ussd_session_and_tells_the_notified_focal_points(ext, case):
    session, tip, people, _ = case
    now = utcnow()
    routing.notify_stage(session, ext.config, tip, 0, now)  # Officer A, priority 1
    ids = conversation.add_reply(session, ext.config, tip, tip.reporter_key, "Yes, 4 girls", "ussd:S1", now)
    again = conversation.add_reply(session, ext.config, tip, tip.reporter_key, "Yes, 4 girls", "ussd:S1", now)
    [row] = _sms(session, tip, "answer")
    assert ids == [row.id] and again == [] and row.focal_point_id == people["A"].id
    assert row.message == (
        "The reporter answered on report 482-177-305-417. "
        "Open: http://127.0.0.1:5000/console/t/482177305417"
    )
    [answer] = session.scalars(select(CaseMessage).where(CaseMessage.direction == "in")).all()
    assert (answer.text, answer.source_id, answer.user_id) == ("Yes, 4 girls", "ussd:S1", None)


def test_an_answer_goes_to_the_assigned_focal_point_before_the_one_who_acknowledged(ext, case):
    session, tip, people, _ = case
    now = utcnow()
    routing.notify_stage(session, ext.config, tip, 0, now)
    routing.acknowledge(session, tip, people["S"], now)
    conversation.add_reply(session, ext.config, tip, tip.reporter_key, "after the ack", "ussd:S1", now)
    tip.assigned_focal_point_id = people["B"].id
    session.flush()
    session.expire(tip, ["assigned_focal_point"])
    conversation.add_reply(session, ext.config, tip, tip.reporter_key, "once assigned", "ussd:S2", now)
    told = [row.focal_point_id for row in _sms(session, tip, "answer")]
    assert told == [people["S"].id, people["B"].id]


def test_only_the_tips_reporter_may_answer_and_an_empty_answer_is_refused(ext, case):
    session, tip, _, _ = case
    with pytest.raises(conversation.NotTheReporter):
        conversation.add_reply(session, ext.config, tip, "f" * 64, "I know the code", "ussd:S9", utcnow())
    with pytest.raises(ValueError):
        conversation.add_reply(session, ext.config, tip, tip.reporter_key, "  ", "ussd:S8", utcnow())
    assert session.scalars(select(CaseMessage)).all() == []
    assert session.scalars(select(OutboundSms)).all() == []
