"""Talking with the anonymous reporter: the case team's messages and the reporter's answers.

The case team writes on the case page (`post_message`); the reporter reads it in the USSD follow-up
(menu 3) and may answer there (`add_reply`). Message content never goes by SMS: a phone may be read
by the person being reported. Only when the reporter consented to be contacted does one neutral
SMS say that a message waits, and only one at a time: a second message before the first is read
sends none. An answer tells the case team by SMS that there is one, with the case's address.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.engine import clean_text
from flows.gsm import septets, to_gsm7
from flows.menu import MESSAGE_LENGTH
from hotline.core import audit
from hotline.core.config import Config
from hotline.core.models import CaseMessage, Tip, User
from hotline.messaging import outbound
from hotline.tips import routing
from hotline.tips.reference import display

log = logging.getLogger(__name__)

# What the USSD message screen shows whole, with its options and navigation, in 160 GSM-7
# characters (`flows.validate` renders it at this length in every language).
MESSAGE_MAX_LENGTH = MESSAGE_LENGTH
# The longest answer kept (a USSD input is far shorter in practice).
REPLY_MAX_LENGTH = 500

# The SMS that tells a reporter who consented to be contacted that a message waits: no content,
# nothing that says what the service is about.
MESSAGE_WAITING = {
    "en": "You have a message. Dial {code} and choose 3.",
    "sw": "Una ujumbe. Piga {code} kisha uchague 3.",
}


class NotTheReporter(Exception):
    """Only the number that reported a tip may answer the case team's messages on it."""


def post_message(
    session: Session, config: Config, tip: Tip, user_id: int, text: str, now: datetime
) -> list[int]:
    """Keep the case team's message to the reporter; returns the ids of the SMS to queue.

    Raises ValueError, in words a case worker understands, when the text is empty or longer than a
    reporter's phone shows on one screen.
    """
    words = clean_text(to_gsm7(text or ""))
    if not words:
        raise ValueError("Write a message first.")
    if septets(words) > MESSAGE_MAX_LENGTH:
        raise ValueError(
            f"The message is {septets(words)} characters long; a basic phone shows at most "
            f"{MESSAGE_MAX_LENGTH} on one screen. Please shorten it."
        )
    message = CaseMessage(tip_id=tip.id, direction="out", text=words, user_id=user_id, created_at=now)
    session.add(message)
    session.flush()
    audit.record(session, session.get(User, user_id), "message_sent", tip_id=tip.id, at=now)
    if not tip.callback_contact or [m.id for m in unread(session, tip)] != [message.id]:
        return []  # no consent to be contacted, or an earlier message is still unread: its SMS said so
    row = outbound.prepare(
        session,
        f"message:{tip.id}:{message.id}:waiting",
        "message_waiting",
        MESSAGE_WAITING.get(tip.language, MESSAGE_WAITING["en"]).format(code=config.ussd_service_code),
        tip_id=tip.id,
        to_token=tip.callback_contact,
    )
    return [row.id] if row.state == "pending" else []


def unread(session: Session, tip: Tip) -> list[CaseMessage]:
    """The case team's messages the reporter has not read yet, oldest first."""
    query = (
        select(CaseMessage)
        .where(CaseMessage.tip_id == tip.id, CaseMessage.direction == "out", CaseMessage.read_at.is_(None))
        .order_by(CaseMessage.created_at, CaseMessage.id)
    )
    return list(session.scalars(query))


def waiting_for(session: Session, tip: Tip, reporter_key: str) -> int:
    """How many unread messages wait for this caller: none unless they reported the tip."""
    return len(unread(session, tip)) if tip.reporter_key == reporter_key else 0


def mark_read(session: Session, message: CaseMessage, now: datetime) -> None:
    """The reporter read the message (the first reading counts)."""
    if message.read_at is None:
        message.read_at = now


def add_reply(
    session: Session, config: Config, tip: Tip, reporter_key: str, text: str, source_id: str, now: datetime
) -> list[int]:
    """Keep the reporter's answer and tell the case team; returns the ids of the SMS to queue.

    Idempotent by `source_id` (the USSD session: AT retries a request). Raises NotTheReporter for
    any other number, ValueError for an empty answer.
    """
    if tip.reporter_key != reporter_key:
        raise NotTheReporter(tip.id)
    if session.scalar(select(CaseMessage.id).where(CaseMessage.source_id == source_id)) is not None:
        return []
    words = clean_text(text or "")[:REPLY_MAX_LENGTH]
    if not words:
        raise ValueError("empty answer")
    message = CaseMessage(tip_id=tip.id, direction="in", text=words, source_id=source_id, created_at=now)
    session.add(message)
    session.flush()
    log.info("tip %s: the reporter answered (message %s)", tip.id, message.id)
    notice = to_gsm7(
        f"The reporter answered on report {display(tip.reference)}. "
        f"Open: {routing.case_address(config.console_url, tip)}"
    )
    key = f"answer:{message.id}:{{fp}}"
    return routing.tell(session, tip, routing.holders(session, tip), key, "answer", notice)
