"""Incoming SMS: the SPEC keywords, acted on once per AT message id, replies sent by a job.

`STOP`/`ACHA` leaves awareness SMS and `START`/`JOIN`/`ANZA`/`JIUNGE` joins them (in the
keyword's language), each confirmed by one SMS. `TIP`/`RIPOTI` makes a tip (channel sms, county
unknown, so the national secretariat triages it), `STATUS`/`HALI` follows one up (telling its
reporter, without the content, when a message from the case team waits), `ACK`/`POKEA`
lets a registered focal point acknowledge one. `HELP`/`MSAADA` and an empty SMS get every keyword
and the help lines (two SMS); anything unknown gets a short list of the keywords. The sender's
number is used only to reply (encrypted in the outbound row), to compute the reporter key, to count
the SMS for campaign effect (`hotline.engagement`, under a pseudonym of its own and by day) and, for
the awareness keywords, as the campaign contact's number.
The inbound row keeps nothing of the sender: AT's id, the keyword, and when it was sent and
received. A reply to an SMS on a premium short code passes AT's link id back; it is kept on the
reply's outbound row only, which needs it to be sent (`hotline.core.models.OutboundSms`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from flows.engine import clean_text
from hotline.africastalking.sms_forms import IncomingSms
from hotline.agencies import register as agencies
from hotline.agencies.verdicts import as_typed, register_text, shorten_names, verdict_lines
from hotline.contacts import service as contacts
from hotline.core import engagement
from hotline.core.extensions import Extensions
from hotline.core.models import FocalPoint, InboundSms, Tip, utcnow
from hotline.core.privacy import encrypt_contact, engagement_key, reporter_key
from hotline.core.time import kenya_today
from hotline.messaging import outbound
from hotline.sms.texts import KEYWORDS, reply
from hotline.tips import conversation, followup, reporters, routing
from hotline.tips import submission as tips
from hotline.tips.reference import display

# The AGENCY reply: the name (up to 60 characters), the verdict and the register in one SMS.
SMS_VERDICT_LENGTH = 160
# An agency's name in the AGENCY reply's list of several (with its licence number, to send back).
SMS_CHOICE_NAME_LENGTH = 40


@dataclass
class Outcome:
    """What handling an SMS decided: SMS to send, a tip to route."""

    send: list
    route_tip_id: int | None = None


def handle(ext: Extensions, sms: IncomingSms) -> Outcome:
    """Act on an incoming SMS once (a repeated AT id does nothing) and queue the replies."""
    key = reporter_key(sms.phone, ext.config.phone_hash_key)
    word, _, rest = sms.text.strip().partition(" ")
    command, language = KEYWORDS.get(word.upper(), ("unknown", None)) if word else ("help", None)
    rest = clean_text(rest)
    now = utcnow()
    for _attempt in range(3):
        try:
            with ext.session_scope() as session:
                if session.get(InboundSms, sms.at_id):
                    return Outcome(send=[])  # AT delivered it again: it was acted on
                inbound = InboundSms(at_id=sms.at_id, keyword=command, received_at=now, sent_at=sms.sent_at)
                session.add(inbound)
                session.flush()
                if command != "stop":  # an opt-out is counted apart, not as engagement
                    engagement.record(session, _engagement_key(ext, sms), "sms", now)
                language = language or reporters.language_of(session, key)
                outcome = _dispatch(ext, session, sms, key, command, language, rest, now)
            break
        except IntegrityError:
            continue  # the same SMS handled at once elsewhere (then it is found above), or a reference clash
    else:
        raise RuntimeError(f"incoming SMS {sms.at_id} could not be stored")
    if outcome.route_tip_id is not None:
        tips.queue_routing(ext.queues, outcome.route_tip_id, ext.session_scope)
    outbound.queue_send(ext.queues, outcome.send)
    return outcome


def _dispatch(ext, session, sms, key, command, language, rest, now) -> Outcome:
    def answer(text_key: str, part: int = 1, **values) -> Outcome:
        token = encrypt_contact(sms.phone, ext.config.contact_key)
        # A premium code's link id serves the first reply only: a second is an ordinary send, never
        # a second charge to the sender.
        premium = {"at_short_code": sms.to, "at_link_id": sms.link_id} if sms.link_id and sms.to else {}
        premium = premium if part == 1 else {}
        message = reply(language, text_key, **values)
        dedupe = f"reply:{sms.at_id}" if part == 1 else f"reply:{sms.at_id}:{part}"
        row = outbound.prepare(session, dedupe, "reply", message, to_token=token, **premium)
        return Outcome(send=[row.id])

    short_code = ext.config.sms_short_code
    if command == "help":  # every keyword, then the help lines: two SMS, each whole on its own
        listed = answer("help", short_code=short_code)
        listed.send += answer("help_lines", part=2, code=ext.config.ussd_service_code).send
        return listed
    if command == "unknown":
        return answer("unknown")
    hash_key = ext.config.phone_hash_key
    if command == "stop":
        contacts.opt_out(session, sms.phone, source="sms", phone_hash_key=hash_key, at=now)
        return answer("stopped", short_code=short_code)
    if command == "start":
        contacts.subscribe(
            session, sms.phone, source="sms", language=language, phone_hash_key=hash_key, at=now
        )
        return answer("joined", short_code=short_code)
    if command == "agency":
        return _agency(session, _engagement_key(ext, sms), language, rest, answer)
    if command == "tip":
        if not rest:
            return answer("tip_empty")
        new = tips.NewTip(
            channel="sms",
            source_id=f"sms:{sms.at_id}",
            kind="other",
            reporter_key=key,
            language=language,
            description=rest[:1000],
        )
        submitted = tips.submit_tip(lambda: _InOpenTransaction(session), new, _engagement_key(ext, sms))
        outcome = answer("tip_received", ref=display(submitted.reference))
        outcome.route_tip_id = submitted.id
        return outcome
    if command == "status":
        if not rest:
            return answer("status_empty")
        found = followup.look_up(session, ext.redis, ext.config, key, rest.split()[0])
        if found.refused:
            return answer(found.refused)
        tip = found.tip
        if tip is None:
            return answer("not_found", typed=rest.split()[0][:20])
        # Only the tip's reporter hears that a message waits (never its content); anyone else the status.
        waiting = conversation.waiting_for(session, tip, key)
        return answer(
            "status_message" if waiting else "status",
            ref=display(tip.reference),
            status=followup.status_words(tip, language),
            code=ext.config.ussd_service_code,
        )
    return _acknowledge(ext, session, sms, language, rest, now, answer)


def _engagement_key(ext: Extensions, sms: IncomingSms) -> str:
    return engagement_key(sms.phone, ext.config.phone_hash_key)


def _agency(session, engaged_key, language, rest, answer) -> Outcome:
    if not rest:
        return answer("agency_empty")
    found = agencies.lookup(session, rest)
    if len(found.candidates) > 1:
        names = shorten_names([c.name for c in found.candidates], SMS_CHOICE_NAME_LENGTH)
        choices = "; ".join(
            f"{n}) {name} ({c.registration_number})"
            for n, (name, c) in enumerate(zip(names, found.candidates, strict=True), 1)
        )
        return answer("agency_several", choices=choices)
    candidate = found.candidates[0] if found.candidates else None
    today = kenya_today()  # the day in Kenya: a check at 01:00 Nairobi time is that day's
    verdict = agencies.verdict(candidate, today)
    agency_id = candidate.agency_id if candidate else None
    agencies.record_lookup(
        session, agency_id, verdict.kind, "sms", today=today, engagement_key=engaged_key, query=rest
    )
    register = register_text(language, agencies.snapshot_date(session), today)
    words = verdict_lines(
        language,
        candidate.name if candidate else as_typed(rest),
        verdict.kind,
        verdict.abroad,
        verdict.until or verdict.since,
        register,
        limit=SMS_VERDICT_LENGTH,
    )
    return answer("raw", message=words)


def _acknowledge(ext, session, sms, language, rest, now: datetime, answer) -> Outcome:
    # The directory is keyed by county and phone: one number may be listed for several counties.
    listed = list(
        session.scalars(
            select(FocalPoint)
            .where(FocalPoint.phone == sms.phone, FocalPoint.active.is_(True))
            .order_by(FocalPoint.id)
        )
    )
    if not listed:
        return answer("ack_not_registered")
    if not rest:
        return answer("ack_empty")
    tip: Tip | None = followup.find(session, rest.split()[0])
    if tip is None:
        return answer("not_found", typed=rest.split()[0][:20])
    ref = display(tip.reference)
    if tip.acknowledged_at:
        return answer("ack_already", ref=ref, name=tip.acknowledged_by.name if tip.acknowledged_by else "-")
    allowed = [fp for fp in listed if routing.may_acknowledge(session, tip, fp)]
    if not allowed:
        return answer("ack_not_yours", ref=ref)
    # As the listing of the tip's county when there is one: the others are told its name and organisation.
    focal_point = min(allowed, key=lambda fp: fp.county_code != tip.county_code)
    notices = routing.acknowledge(session, tip, focal_point, now)
    outcome = answer("ack_done", ref=ref)
    outcome.send += notices
    return outcome


class _InOpenTransaction:
    """Lets `tips.submit_tip` run inside the transaction we already hold (one commit for all)."""

    def __init__(self, session):
        self.session = session

    def __enter__(self):
        return self.session

    def __exit__(self, *exc):
        return False
