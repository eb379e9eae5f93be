"""The follow-up's messages from the case team (hotline.ussd.messages), walked through on a handset in
both languages: the news on the status screen, reading (oldest first, marked read), the next one,
answering, AT retrying the answer, and another number that knows the reference seeing only the status.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hotline.core.models import CaseMessage, FocalPoint, OutboundSms, Tip, User, utcnow
from hotline.core.privacy import reporter_key
from hotline.tips import conversation
from hotline.tips.reference import display
from tests.conftest import TEST_PHONE, Phone

REFERENCE = "482177305417"
FOCAL_A = "+254700000101"
SCREENS = {
    "en": {
        "one": "CON Report 482-177-305-417: with the county team.\n1 new message from the county team\n"
        "1. Read\n2. Add information\n0 Back 00 Menu",
        "two": "CON Report 482-177-305-417: with the county team.\n2 new messages\n"
        "1. Read\n2. Add information\n0 Back 00 Menu",
        "first": "CON Are the girls still in the house?\n1. Answer\n2. Next message\n0 Back 00 Menu",
        "last": "CON When did you see them?\n1. Answer\n0 Back 00 Menu",
        "prompt": "CON Type your answer to the county team:\n0 Back 00 Menu",
        "sent": "END Your answer was sent to the county team.",
        "status": "CON Report 482-177-305-417: with the county team.\n1. Add information\n0 Back 00 Menu",
    },
    "sw": {
        "one": "CON Ripoti 482-177-305-417: iko na timu ya kaunti.\nUjumbe 1 mpya wa timu ya kaunti\n"
        "1. Soma\n2. Ongeza taarifa\n0 Rudi 00 Mwanzo",
        "two": "CON Ripoti 482-177-305-417: iko na timu ya kaunti.\nJumbe 2 mpya za timu ya kaunti\n"
        "1. Soma\n2. Ongeza taarifa\n0 Rudi 00 Mwanzo",
        "first": "CON Are the girls still in the house?\n1. Jibu\n2. Ujumbe unaofuata\n0 Rudi 00 Mwanzo",
        "last": "CON When did you see them?\n1. Jibu\n0 Rudi 00 Mwanzo",
        "prompt": "CON Andika jibu lako kwa timu ya kaunti:\n0 Rudi 00 Mwanzo",
        "sent": "END Jibu lako limetumwa kwa timu ya kaunti.",
        "status": "CON Ripoti 482-177-305-417: iko na timu ya kaunti.\n1. Ongeza taarifa\n0 Rudi 00 Mwanzo",
    },
}


@pytest.fixture
def tip(ext):
    """A routed Kakamega tip reported from TEST_PHONE (no call-back consent), its notified focal
    point and a console user; returns the tip's reference."""
    with ext.session_scope() as session:
        focal_point = FocalPoint(county_code=37, name="Officer A", phone=FOCAL_A)
        session.add_all(
            [
                Tip(
                    reference=REFERENCE,
                    channel="ussd",
                    source_id="test:messages",
                    kind="forced_labour",
                    county_code=37,
                    status="routed",
                    reporter_key=reporter_key(TEST_PHONE, ext.config.phone_hash_key),
                ),
                focal_point,
                User(email="fp@kakamega.example", password_hash="x", role="focal_point", session_token="t"),
            ]
        )
        session.flush()
        session.scalar(select(Tip)).assigned_focal_point_id = focal_point.id
    return REFERENCE


def write(ext, *texts: str) -> None:
    """The case team writes these messages, a minute apart."""
    now = utcnow()
    with ext.session_scope() as session:
        tip = session.scalar(select(Tip))
        user = session.scalar(select(User))
        for n, words in enumerate(texts):
            conversation.post_message(session, ext.config, tip, user.id, words, now + timedelta(minutes=n))


def messages(ext) -> list[tuple[str, str, bool]]:
    with ext.session_scope() as session:
        rows = session.scalars(select(CaseMessage).order_by(CaseMessage.id))
        return [(m.direction, m.text, m.read_at is not None) for m in rows]


def follow_up(phone: Phone, language: str, reference: str) -> str:
    phone.dial()
    if language == "sw":
        phone.send("6", "2")
    return phone.send("3", reference)


@pytest.mark.parametrize("language", ["en", "sw"])
def test_the_reporter_reads_the_messages_oldest_first_then_answers(ext, phone, tip, language):
    write(ext, "Are the girls still in the house?", "When did you see them?")
    screens = SCREENS[language]
    assert follow_up(phone, language, tip) == screens["two"]
    assert phone.send("1") == screens["first"]
    assert messages(ext)[0][2] and not messages(ext)[1][2]
    assert phone.send("2") == screens["last"]
    assert phone.send("1") == screens["prompt"]
    assert phone.send("Yesterday * at 6 pm") == screens["sent"]
    assert messages(ext) == [
        ("out", "Are the girls still in the house?", True),
        ("out", "When did you see them?", True),
        ("in", "Yesterday * at 6 pm", False),
    ]
    with ext.session_scope() as session:
        [told] = session.scalars(select(OutboundSms).where(OutboundSms.purpose == "answer")).all()
        assert told.focal_point.phone == FOCAL_A and "Yesterday" not in told.message
    # Nothing waits any more: the next follow-up shows the status only.
    assert follow_up(phone, language, tip) == screens["status"]


@pytest.mark.parametrize("language", ["en", "sw"])
def test_one_message_has_no_next_option_and_can_be_answered_from_its_screen(ext, phone, tip, language):
    write(ext, "When did you see them?")
    screens = SCREENS[language]
    assert follow_up(phone, language, tip) == screens["one"]
    assert phone.send("1") == screens["last"]
    assert phone.send("1", "Monday") == screens["sent"]
    assert [m[1] for m in messages(ext)] == ["When did you see them?", "Monday"]


@pytest.mark.parametrize("language", ["en", "sw"])
def test_another_number_that_knows_the_reference_sees_the_status_and_never_a_message(
    ext, client, tip, language
):
    write(ext, "Are the girls still in the house?")
    other = Phone(client, number="+254722333444")
    assert follow_up(other, language, display(tip)) == SCREENS[language]["status"]
    assert messages(ext) == [("out", "Are the girls still in the house?", False)]


def test_at_retrying_the_answer_keeps_one_answer_and_tells_the_case_team_once(ext, phone, tip):
    write(ext, "When did you see them?")
    follow_up(phone, "en", tip)
    phone.send("1", "1")
    phone.send("On Monday")
    assert phone.post("*".join(phone.inputs)) == SCREENS["en"]["sent"]  # AT sends the request again
    assert [m[0] for m in messages(ext)] == ["out", "in"]
    with ext.session_scope() as session:
        assert len(session.scalars(select(OutboundSms).where(OutboundSms.purpose == "answer")).all()) == 1


def test_a_message_read_in_another_session_meanwhile_leaves_nothing_to_read(ext, phone, tip):
    write(ext, "When did you see them?")
    assert follow_up(phone, "en", tip) == SCREENS["en"]["one"]
    with ext.session_scope() as session:
        for message in conversation.unread(session, session.scalar(select(Tip))):
            conversation.mark_read(session, message, utcnow())
    assert phone.send("1") == "CON No new messages.\n0 Back 00 Menu"
