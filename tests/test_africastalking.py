"""The Africa's Talking adapter, by tables of payloads shaped as AT sends them (its docs, its SDK
and public integrations): each form read into its dataclass or refused with a short reason, each
send answer read into per-recipient verdicts, the USSD forms `flask ussd dial` builds read back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from hotline.africastalking import statuses
from hotline.africastalking.forms import (
    UssdRequest,
    UssdSessionEnded,
    parse_session_ended,
    parse_ussd,
    session_ended_form,
    ussd_form,
)
from hotline.africastalking.gateway import GatewayError, RecipientResult, content_url, parse_response
from hotline.africastalking.sms_forms import (
    DeliveryReport,
    IncomingSms,
    OptOut,
    parse_delivery_report,
    parse_incoming_sms,
    parse_opt_out,
    sent_date,
)
from hotline.core.errors import BadRequest
from hotline.core.privacy import delivery_key
from hotline.messaging import delivery_reports

PHONE = "+254711555001"
HASH_KEY = "a test hash key"


def refused(parse, form, *args) -> str:
    with pytest.raises(BadRequest) as caught:
        parse(form, *args)
    return str(caught.value)


# --- USSD ---------------------------------------------------------------------------------------

USSD = {"sessionId": "ATUid_1", "serviceCode": "*384*1234#", "phoneNumber": PHONE, "networkCode": "63902"}


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({**USSD, "text": ""}, UssdRequest("ATUid_1", PHONE, "*384*1234#", "63902", "")),
        ({**USSD, "text": "1*4"}, UssdRequest("ATUid_1", PHONE, "*384*1234#", "63902", "1*4")),
        # The `+` of `%2B254…` lost on the way, as some of AT's examples show it.
        ({**USSD, "phoneNumber": "254711555001", "text": "1"}, UssdRequest(
            "ATUid_1", PHONE, "*384*1234#", "63902", "1")),
        ({**USSD, "networkCode": "99999", "text": "2"},
         UssdRequest("ATUid_1", PHONE, "*384*1234#", "99999", "2")),
        ({**USSD, "networkCode": "6390", "text": ""}, UssdRequest("ATUid_1", PHONE, "*384*1234#", "", "")),
    ],
)
def test_a_ussd_screen_request_reads_into_a_ussd_request(form, expected):
    assert parse_ussd(form) == expected


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({**USSD, "sessionId": ""}, "missing field sessionId"),
        ({**USSD, "sessionId": "x" * 101}, "sessionId too long"),
        ({**USSD, "phoneNumber": "12"}, "phoneNumber is not a phone number"),
        ({**USSD, "text": "1" * 4001}, "text too long"),
    ],
)
def test_a_ussd_form_that_is_not_ats_is_refused_with_a_reason(form, reason):
    assert refused(parse_ussd, form) == reason


ENDED = {
    "date": "2026-11-22 10:00:00", "sessionId": "ATUid_1", "serviceCode": "*384*1234#",
    "networkCode": "63902", "phoneNumber": PHONE, "status": "Incomplete", "cost": "KES 0.0000",
    "durationInMillis": "41230", "hopsCount": "4", "input": "1*1*kak", "lastAppResponse": "CON Where?",
    "errorMessage": "",
}


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        (ENDED, UssdSessionEnded("ATUid_1", "Incomplete", PHONE, "63902", 41230, 4, None)),
        ({**ENDED, "status": "Failed", "errorMessage": "Timeout", "phoneNumber": ""},
         UssdSessionEnded("ATUid_1", "Failed", None, "63902", 41230, 4, "Timeout")),
        ({"sessionId": "ATUid_1", "status": "Success"},
         UssdSessionEnded("ATUid_1", "Success", None, None, None, None, None)),
    ],
)
def test_an_end_of_session_notification_reads_without_what_was_typed(form, expected):
    assert parse_session_ended(form) == expected


def test_the_forms_the_dial_command_builds_read_back_as_at_would_send_them():
    form = ussd_form("ATUid_7", "*384*1234#", PHONE, "63903", ["1", "kak"])
    assert parse_ussd(form) == UssdRequest("ATUid_7", PHONE, "*384*1234#", "63903", "1*kak")
    ended = session_ended_form("ATUid_7", "*384*1234#", PHONE, "63903", statuses.SESSION_SUCCESS, ["1", "2"])
    assert ended["input"] == "1*2"
    assert parse_session_ended(ended) == UssdSessionEnded("ATUid_7", "Success", PHONE, "63903", None, 3, None)


# --- Incoming SMS -------------------------------------------------------------------------------

SMS = {
    "date": "2017-05-03 06:04:45", "from": PHONE, "to": "21606", "text": "TIP men locked in a yard",
    "id": "ATXid_in1", "linkId": "SampleLinkId123", "networkCode": "63902", "cost": "KES 0.0000",
}
SENT = datetime(2017, 5, 3, 6, 4, 45, tzinfo=UTC)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, IncomingSms("ATXid_in1", PHONE, "21606", "TIP men locked in a yard", SENT, "SampleLinkId123")),
        # A shared or bulk short code: no linkId; the ISO date.
        ({"linkId": "", "date": "2017-05-03T06:04:45Z"},
         IncomingSms("ATXid_in1", PHONE, "21606", "TIP men locked in a yard", SENT, None)),
        ({"text": ""}, IncomingSms("ATXid_in1", PHONE, "21606", "", SENT, "SampleLinkId123")),
        ({"text": "  help  ", "from": "0711555001", "date": ""},
         IncomingSms("ATXid_in1", PHONE, "21606", "help", None, "SampleLinkId123")),
        ({"id": "x" * 100, "linkId": "l" * 100, "text": "t" * 2000},
         IncomingSms("x" * 100, PHONE, "21606", "t" * 2000, SENT, "l" * 100)),
    ],
)
def test_an_incoming_sms_reads_into_an_incoming_sms(overrides, expected):
    assert parse_incoming_sms({**SMS, **overrides}) == expected


def test_an_incoming_sms_without_date_or_link_id_fields_has_neither():
    form = {name: SMS[name] for name in ("from", "to", "text", "id")}
    parsed = parse_incoming_sms(form)
    assert (parsed.sent_at, parsed.link_id) == (None, None)


@pytest.mark.parametrize(
    ("remove", "overrides", "reason"),
    [
        ("text", {}, "missing field text"),
        ("id", {}, "missing or overlong field id"),
        (None, {"id": "x" * 101}, "missing or overlong field id"),
        (None, {"from": "12"}, "from is not a phone number"),
        (None, {"text": "t" * 2001}, "text too long"),
        (None, {"linkId": "l" * 101}, "linkId too long"),
    ],
)
def test_an_incoming_sms_form_that_is_not_ats_is_refused_with_a_reason(remove, overrides, reason):
    form = {name: value for name, value in {**SMS, **overrides}.items() if name != remove}
    assert refused(parse_incoming_sms, form) == reason


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("2017-05-03 06:04:45", SENT),
        ("2017-05-03T06:04:45Z", SENT),
        ("2017-05-03T06:04:45.123Z", SENT.replace(microsecond=123000)),
        ("2017-05-03T09:04:45+03:00", SENT),
        ("2017-05-03T09:04:45+0300", SENT),
        (" 2017-05-03 06:04:45 ", SENT),
        ("2017-05-03 06:04", SENT.replace(second=0)),
        ("2017-13-03 06:04:45", None),
        ("2017-05-03 25:04:45", None),
        ("２０１７-05-03 06:04:45", None),
        ("03/05/2017 06:04", None),
        ("2017-05-03", None),
        ("1493791485", None),
        ("", None),
        (None, None),
    ],
)
def test_ats_sent_date_reads_in_both_its_forms_as_utc_and_anything_else_is_unknown(date, expected):
    assert sent_date(date) == expected


# --- Opt-out ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"senderId": "HOTLINE", "phoneNumber": PHONE}, OptOut(PHONE, "HOTLINE")),
        ({"phoneNumber": " 254711555001 "}, OptOut(PHONE, None)),
    ],
)
def test_a_bulk_opt_out_reads_into_an_opt_out(form, expected):
    assert parse_opt_out(form) == expected


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"senderId": "HOTLINE"}, "missing field phoneNumber"),
        ({"phoneNumber": "  "}, "missing field phoneNumber"),
        ({"phoneNumber": "12"}, "phoneNumber is not a phone number"),
    ],
)
def test_an_opt_out_without_a_number_is_refused_with_a_reason(form, reason):
    assert refused(parse_opt_out, form) == reason


# --- Delivery reports ---------------------------------------------------------------------------


def report_form(**overrides) -> dict:
    return {
        "id": "ATXid_1",
        "status": "Success",
        "phoneNumber": PHONE,
        "networkCode": "63902",
        "retryCount": "0",
        **overrides,
    }


def test_a_delivery_report_reads_every_field_we_keep_and_stamps_when_it_came():
    came = datetime(2026, 11, 23, 7, 0, 0, 125000, tzinfo=UTC)
    fields = report_form(id=" ATXid_9 ", status=" Failed ", failureReason=" Deliv\tery ")
    fields.update(networkCode=" 63903 ", retryCount=" 2 ")
    with time_machine.travel(came, tick=False):
        parsed = parse_delivery_report(fields, HASH_KEY)
    assert parsed == DeliveryReport(
        "ATXid_9", "Failed", "Deliv ery", "63903", delivery_key(PHONE, HASH_KEY), came.timestamp(), 2
    )
    assert parsed.final and parsed.failed and not parsed.delivered and parsed.received == came


def test_a_delivery_report_keeps_a_missing_phone_reason_network_or_count_as_none_and_any_kenyan_form():
    parsed = parse_delivery_report({"id": "ATXid_1", "status": "Buffered"}, HASH_KEY)
    assert (parsed.phone_key, parsed.failure_reason, parsed.network_code, parsed.retry_count) == (None,) * 4
    assert not parsed.final and not parsed.failed
    local = parse_delivery_report(report_form(phoneNumber="0711555001", networkCode="6390"), HASH_KEY)
    assert (local.phone_key, local.network_code) == (delivery_key(PHONE, HASH_KEY), None)
    assert delivery_reports.phone_key("254711555001", HASH_KEY) == delivery_key(PHONE, HASH_KEY)


def test_a_delivery_report_cuts_the_failure_reason_to_40_characters():
    assert parse_delivery_report(report_form(failureReason="x" * 50), HASH_KEY).failure_reason == "x" * 40


@pytest.mark.parametrize(
    ("count", "expected"), [("0", 0), ("3", 3), ("1000", 1000), ("1001", None), ("-1", None), ("²", None),
                            ("many", None), ("", None)],
)
def test_a_delivery_reports_retry_count_is_a_small_whole_number_or_unknown(count, expected):
    assert parse_delivery_report(report_form(retryCount=count), HASH_KEY).retry_count == expected


@pytest.mark.parametrize("status", statuses.DELIVERY_STATUSES)
def test_a_delivery_report_takes_every_status_at_sends(status):
    parsed = parse_delivery_report(report_form(status=status), HASH_KEY)
    assert parsed.status == status
    assert parsed.final == (status in ("Success", "Failed", "Rejected", "Expired"))
    assert parsed.delivered == (status == "Success")


@pytest.mark.parametrize(
    ("reason", "blacklisted"),
    [("UserInBlackList", True), ("UserInBlacklist", False), ("DeliveryFailure", False)],
)
def test_only_ats_delivery_reason_user_in_black_list_marks_a_blacklisted_number(reason, blacklisted):
    parsed = parse_delivery_report(report_form(status="Failed", failureReason=reason), HASH_KEY)
    assert parsed.blacklisted is blacklisted


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        (report_form(id=""), "missing or overlong field id"),
        (report_form(id="   "), "missing or overlong field id"),
        (report_form(id="x" * 81), "missing or overlong field id"),
        (report_form(id="ATX\tid"), "missing or overlong field id"),
        (report_form(status="Delivered"), "unknown status"),
        (report_form(status=""), "unknown status"),
        (report_form(phoneNumber="12"), "phoneNumber is not a phone number"),
        ({"status": "Success"}, "missing or overlong field id"),
        ({"id": "ATXid_1"}, "unknown status"),
    ],
)
def test_a_delivery_report_we_cannot_keep_is_refused_with_a_short_reason(form, reason):
    assert refused(parse_delivery_report, form, HASH_KEY) == reason


def test_a_delivery_report_takes_an_id_of_80_characters():
    assert parse_delivery_report(report_form(id="x" * 80), HASH_KEY).message_id == "x" * 80


# --- Send answers -------------------------------------------------------------------------------


def answer(*recipients, message="Sent to 1/1 Total Cost: KES 0.8000") -> dict:
    return {"SMSMessageData": {"Message": message, "Recipients": list(recipients)}}


def recipient(**fields) -> dict:
    entry = {"statusCode": 101, "number": PHONE, "status": "Success", "cost": "KES 0.8000",
             "messageId": "ATXid_out1", "messageParts": 1}
    return {name: value for name, value in {**entry, **fields}.items() if value is not None}


SENT_OK = RecipientResult(PHONE, 101, "Success", "ATXid_out1", "KES 0.8000")


@pytest.mark.parametrize(
    ("entry", "expected", "verdict"),
    [
        (recipient(), SENT_OK, "accepted"),
        (recipient(statusCode=102, status="Queued"),
         RecipientResult(PHONE, 102, "Queued", "ATXid_out1", "KES 0.8000"), "accepted"),
        (recipient(statusCode="101"), SENT_OK, "accepted"),
        # No statusCode, as some AT answers are: "Success" with a messageId is a sent message.
        (recipient(statusCode=None), SENT_OK, "accepted"),
        (recipient(statusCode=None, status="Queued"),
         RecipientResult(PHONE, 102, "Queued", "ATXid_out1", "KES 0.8000"), "accepted"),
        (recipient(statusCode=None, status="UserInBlacklist", messageId="None", cost="0"),
         RecipientResult(PHONE, 406, "UserInBlacklist", None, "0"), "undeliverable"),
        (recipient(statusCode=None, status="Teapot", messageId="None"),
         RecipientResult(PHONE, 500, "Teapot", None, "KES 0.8000"), "retry_later"),
        (recipient(statusCode=406, status="UserInBlacklist", messageId="None", cost="0"),
         RecipientResult(PHONE, 406, "UserInBlacklist", None, "0"), "undeliverable"),
        (recipient(statusCode=403, status="InvalidPhoneNumber", messageId="None", cost="0"),
         RecipientResult(PHONE, 403, "InvalidPhoneNumber", None, "0"), "undeliverable"),
        (recipient(statusCode=405, status="InsufficientBalance", messageId="None", cost="0"),
         RecipientResult(PHONE, 405, "InsufficientBalance", None, "0"), "retry_later"),
        (recipient(statusCode=502, status="RejectedByGateway", messageId="None", cost="0"),
         RecipientResult(PHONE, 502, "RejectedByGateway", None, "0"), "retry_later"),
    ],
)
def test_each_recipient_of_a_send_answer_reads_into_ats_verdict(entry, expected, verdict):
    [result] = parse_response(answer(entry))
    assert result == expected
    assert [result.accepted, result.undeliverable, result.retry_later] == [
        verdict == "accepted", verdict == "undeliverable", verdict == "retry_later"
    ]


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (answer(message="InvalidSenderId"), "AT sent to nobody: InvalidSenderId"),
        ("The supplied authentication is invalid", "AT answered without JSON"),
        ({"SMSMessageData": "Sent"}, "AT answered without SMSMessageData"),
    ],
)
def test_a_send_answer_that_sent_nothing_is_a_gateway_error(response, error):
    with pytest.raises(GatewayError) as caught:
        parse_response(response)
    assert str(caught.value) == error


@pytest.mark.parametrize(
    ("base", "content"),
    [
        ("https://api.africastalking.com", "https://content.africastalking.com"),
        ("https://api.sandbox.africastalking.com", "https://content.sandbox.africastalking.com"),
        ("http://127.0.0.1:5001", "http://127.0.0.1:5001"),
        ("https://proxy.example.org/api.africastalking.com", "https://proxy.example.org/api.africastalking.com"),
    ],
)
def test_premium_replies_go_to_ats_content_host_and_any_other_host_serves_both(base, content):
    assert content_url(base) == content


def test_every_status_code_we_act_on_has_its_name_and_one_meaning():
    groups = [statuses.ACCEPTED, statuses.RETRY_LATER, statuses.UNDELIVERABLE]
    assert set().union(*groups) == set(statuses.STATUS_NAMES)
    assert sum(len(group) for group in groups) == len(statuses.STATUS_NAMES)
