"""Africa's Talking's SMS callbacks, each parsed into a small dataclass at the edge.

All three are form-encoded POSTs; AT retries a callback until it gets a 200.

Incoming SMS (to `/sms/inbound`): `from` (the sender, E.164), `to` (our short code), `text`, `id`
(AT's id of the SMS: a retry carries the same one), `date` (when the phone sent it, UTC, as
`2017-05-03 06:04:45` or ISO `2017-05-03T06:04:45Z`), `linkId` (two-way short codes send it too;
a premium one needs it quoted in the reply, see `gateway`), `networkCode`, `cost`. `text` is always present,
empty when the phone sent an empty SMS; a form without it is no SMS from AT (400). An unreadable
`date` is unknown (None) rather than a 400: AT would retry the same form for ever.

Bulk opt-out (to `/sms/opt-out`): `senderId` (the sender ID the subscriber left) and `phoneNumber`.

Delivery report (to `/sms/delivery`), one per status change of one SMS, out of order and sometimes
twice: `id` (the send answer's `messageId`), `status` (`statuses.DELIVERY_STATUSES`),
`phoneNumber`, `networkCode`, `failureReason` (with Failed and Rejected: `statuses.FAILURE_REASONS`)
and `retryCount` (how many times AT retried the delivery). The report's number is turned into its
delivery key here (`privacy.delivery_key`), so the plaintext number goes no further than this module.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from hotline.africastalking.forms import MAX_ID, network_code
from hotline.africastalking.statuses import BLACKLISTED, DELIVERED, DELIVERY_STATUSES, FINAL
from hotline.core.errors import BadRequest, InvalidPhoneNumber
from hotline.core.numbers import bounded_int
from hotline.core.privacy import delivery_key, normalise_phone

MAX_SMS_TEXT = 2000  # a long SMS is at most a few hundred characters; more is junk
MAX_MESSAGE_ID = 80
MAX_RETRY_COUNT = 1000  # AT retries a delivery for hours, not thousands of times
# AT's two date forms, ASCII digits only: `2017-05-03 06:04:45` and ISO 8601 with an optional offset.
_DATE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?"
)


@dataclass(frozen=True)
class IncomingSms:
    """One SMS from a phone to our short code."""

    at_id: str
    phone: str  # E.164; never stored in plaintext, never logged
    to: str  # the short code it was sent to
    text: str
    sent_at: datetime | None = None  # when the phone sent it (UTC), if AT said
    link_id: str | None = None  # premium short codes: a reply must pass it back


@dataclass(frozen=True)
class OptOut:
    """A subscriber left our bulk SMS through AT's opt-out."""

    phone: str  # E.164
    sender_id: str | None


@dataclass(frozen=True)
class DeliveryReport:
    """One delivery report as we keep it: no phone number, only its delivery key."""

    message_id: str
    status: str
    failure_reason: str | None = None
    network_code: str | None = None
    phone_key: str | None = None
    received_at: float = 0.0  # epoch seconds, when the webhook took it
    retry_count: int | None = None

    @property
    def final(self) -> bool:
        """Success, Failed, Rejected and Expired are final; the rest may still change."""
        return self.status in FINAL

    @property
    def delivered(self) -> bool:
        """The phone has it."""
        return self.status == DELIVERED

    @property
    def failed(self) -> bool:
        """Final, and not delivered."""
        return self.final and not self.delivered

    @property
    def blacklisted(self) -> bool:
        """The subscriber blocked our bulk SMS: send them no more."""
        return self.failure_reason == BLACKLISTED

    @property
    def received(self) -> datetime:
        """When the webhook took it, as an aware datetime."""
        return datetime.fromtimestamp(self.received_at, UTC)


def sent_date(value: str | None) -> datetime | None:
    """AT's `date` (`YYYY-MM-DD HH:MM:SS`, UTC, or ISO 8601) as an aware UTC datetime, else None."""
    text = (value or "").strip()
    if not _DATE.fullmatch(text):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:  # month 13, 25 o'clock
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_incoming_sms(form) -> IncomingSms:
    """An IncomingSms from AT's form, or BadRequest naming what is wrong."""
    at_id = form.get("id", "").strip()
    if not at_id or len(at_id) > MAX_ID:
        raise BadRequest("missing or overlong field id")
    try:
        phone = normalise_phone(form.get("from", ""))
    except InvalidPhoneNumber:
        raise BadRequest("from is not a phone number") from None
    if "text" not in form:
        raise BadRequest("missing field text")
    text = form["text"].strip()
    if len(text) > MAX_SMS_TEXT:
        raise BadRequest("text too long")
    link_id = form.get("linkId", "").strip()
    if len(link_id) > MAX_ID:
        raise BadRequest("linkId too long")
    return IncomingSms(
        at_id=at_id,
        phone=phone,
        to=form.get("to", "").strip()[:20],
        text=text,
        sent_at=sent_date(form.get("date")),
        link_id=link_id or None,
    )


def parse_opt_out(form) -> OptOut:
    """An OptOut from AT's form, or BadRequest naming what is wrong."""
    number = form.get("phoneNumber", "").strip()
    if not number:
        raise BadRequest("missing field phoneNumber")
    try:
        phone = normalise_phone(number)
    except InvalidPhoneNumber:
        raise BadRequest("phoneNumber is not a phone number") from None
    return OptOut(phone=phone, sender_id=form.get("senderId", "").strip()[:20] or None)


def parse_delivery_report(form, phone_hash_key: str) -> DeliveryReport:
    """A DeliveryReport from AT's form, or BadRequest with a short reason."""
    message_id, status = form.get("id", "").strip(), form.get("status", "").strip()
    if not message_id or len(message_id) > MAX_MESSAGE_ID or "\t" in message_id:
        raise BadRequest("missing or overlong field id")
    if status not in DELIVERY_STATUSES:
        raise BadRequest("unknown status")
    phone = form.get("phoneNumber", "").strip()
    try:
        key = delivery_key(normalise_phone(phone), phone_hash_key) if phone else None
    except InvalidPhoneNumber:
        raise BadRequest("phoneNumber is not a phone number") from None
    # Kept as AT wrote it, also when it is no reason we know: AT adds reasons now and then.
    reason = form.get("failureReason", "").strip()[:40].replace("\t", " ") or None
    return DeliveryReport(
        message_id=message_id,
        status=status,
        failure_reason=reason,
        network_code=network_code(form.get("networkCode")),
        phone_key=key,
        received_at=time.time(),
        retry_count=bounded_int(form.get("retryCount"), 0, MAX_RETRY_COUNT),
    )
