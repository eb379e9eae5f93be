"""Africa's Talking's USSD callbacks: AT's form fields in, `CON`/`END` out (SMS callbacks: `sms_forms`).

USSD: one form-encoded POST per screen with `sessionId`,
`serviceCode`, `phoneNumber` (E.164, `+` arrives as `%2B`; sometimes without `+`),
`networkCode` (63902 Safaricom, 63903 Airtel, 99999 sandbox) and `text`: `""` on the first
request, then every input of the session joined with `*`. The reply is 200 `text/plain`,
`CON <screen>` to wait for input or `END <screen>` to close. Anything else (a 5xx, an empty
body, a leading space) makes AT end the session with an error, so `/ussd` always answers with
`CON ` or `END `.

End-of-session notification: `sessionId`, `status` (Incomplete | Success | Failed),
`durationInMillis`, `hopsCount`, `networkCode`, `errorMessage`, `input`, `lastAppResponse`,
`phoneNumber`, `date`, `cost`. Flows never see these field names: they get the dataclasses below.

`flask ussd dial` plays AT with `ussd_form` and `session_ended_form`, so that it too never spells a
field name. Numbers are read with `hotline.numbers`: ASCII digits within bounds, else unknown (None). A
`networkCode` that is not 5 or 6 ASCII digits (MCC and MNC) is unknown too.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from flask import Response, g

from hotline.core.errors import BadRequest, InvalidPhoneNumber
from hotline.core.numbers import ascii_digits, bounded_int
from hotline.core.privacy import normalise_phone

# AT caps one USSD input at ~182 characters; a whole session's `text` longer than this is junk.
MAX_TEXT = 4000
MAX_ID = 100
# A session lasts at most 180 s and takes a screen per hop; these bounds leave room and fit INTEGER.
MAX_DURATION_MS = 24 * 3600 * 1000
MAX_HOPS = 10_000


@dataclass(frozen=True)
class UssdRequest:
    """One USSD screen request."""

    session_id: str
    phone: str  # E.164; never logged, never stored
    service_code: str
    network_code: str
    text: str


@dataclass(frozen=True)
class UssdSessionEnded:
    """AT's end-of-session notification, without what was typed."""

    session_id: str
    status: str
    phone: str | None  # only to find the session's state; never stored
    network_code: str | None
    duration_ms: int | None
    hops: int | None
    error_message: str | None


def form_of(request) -> dict:
    """The request's form fields; bytes that are not UTF-8, and NUL, become U+FFFD instead of losing
    the form (no AT field carries a NUL, and PostgreSQL text cannot hold one)."""
    if request.mimetype == "application/x-www-form-urlencoded":
        raw = request.get_data(cache=False).decode("utf-8", "replace")
        pairs = parse_qsl(raw, keep_blank_values=True, errors="replace")
    else:
        pairs = request.form.items()
    g.body_read = True  # see hotline.webhooks.close_when_body_unread
    return {name: value.replace("\x00", "\ufffd") for name, value in pairs}


def _field(form, name: str, required: bool = True) -> str:
    value = form.get(name)
    if value is None or (required and not value.strip()):
        if required:
            raise BadRequest(f"missing field {name}")
        return ""
    return value


def _session_id(form) -> str:
    session_id = _field(form, "sessionId").strip()
    if len(session_id) > MAX_ID:
        raise BadRequest("sessionId too long")
    return session_id


def network_code(value: str | None) -> str | None:
    """AT's `networkCode` (MCC and MNC: 63902, 99999), or None when it is not 5 or 6 ASCII digits."""
    value = (value or "").strip()
    return value if len(value) in (5, 6) and ascii_digits(value) else None


def parse_ussd(form) -> UssdRequest:
    """A UssdRequest from AT's form, or BadRequest naming what is wrong."""
    session_id = _session_id(form)
    try:
        phone = normalise_phone(_field(form, "phoneNumber"))
    except InvalidPhoneNumber as exc:
        raise BadRequest("phoneNumber is not a phone number") from exc
    text = _field(form, "text", required=False)
    if len(text) > MAX_TEXT:
        raise BadRequest("text too long")
    return UssdRequest(
        session_id=session_id,
        phone=phone,
        service_code=form.get("serviceCode", "")[:40],
        network_code=network_code(form.get("networkCode")) or "",
        text=text,
    )


def parse_session_ended(form) -> UssdSessionEnded:
    """A UssdSessionEnded from AT's end-of-session notification."""
    status = _field(form, "status").strip()[:16]
    try:
        phone = normalise_phone(form.get("phoneNumber") or "")
    except InvalidPhoneNumber:
        phone = None
    return UssdSessionEnded(
        session_id=_session_id(form),
        status=status,
        phone=phone,
        network_code=network_code(form.get("networkCode")),
        duration_ms=bounded_int(form.get("durationInMillis"), 0, MAX_DURATION_MS),
        hops=bounded_int(form.get("hopsCount"), 0, MAX_HOPS),
        error_message=(form.get("errorMessage") or "")[:200] or None,
    )


def ussd_response(text: str, end: bool, status: int = 200) -> Response:
    """AT's reply: `CON …` or `END …`, text/plain."""
    body = ("END " if end else "CON ") + text
    return Response(body, status=status, mimetype="text/plain")


def ussd_form(session_id: str, service_code: str, phone: str, network: str, inputs: list[str]) -> dict:
    """The form AT posts for one screen of a session, after the phone typed `inputs`."""
    return {
        "sessionId": session_id,
        "serviceCode": service_code,
        "phoneNumber": phone,
        "networkCode": network,
        "text": "*".join(inputs),
    }


def session_ended_form(
    session_id: str, service_code: str, phone: str, network: str, status: str, inputs: list[str]
) -> dict:
    """The end-of-session notification AT posts when a session that took `inputs` ended with `status`."""
    return {
        "sessionId": session_id,
        "serviceCode": service_code,
        "networkCode": network,
        "phoneNumber": phone,
        "status": status,
        "input": "*".join(inputs),
        "hopsCount": str(len(inputs) + 1),
    }
