"""Hostile input on every AT webhook: never a 500, `/ussd` always `CON `/`END `.

The endpoints come from the app's own url_map, so a webhook added later is fuzzed too (with every
AT field name when it has no entry in FIELDS). Hypothesis is derandomized and bounded: the same
examples run every time, in seconds.
"""

from __future__ import annotations

import logging
import socket
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.models import UssdSessionEnd
from tests.conftest import TEST_PHONE, serve

TOKEN = "fuzz-token-0123456789-0123456789-0123"

# Rules of the app that are not AT callbacks, by endpoint name.
NOT_WEBHOOKS = {"static", "health.healthz"}

# What AT posts to each webhook (FACTS.md).
FIELDS = {
    "/ussd": ("sessionId", "serviceCode", "phoneNumber", "networkCode", "text"),
    "/ussd/events": (
        "sessionId", "serviceCode", "networkCode", "phoneNumber", "status", "cost", "durationInMillis",
        "hopsCount", "input", "lastAppResponse", "errorMessage", "date",
    ),
    "/sms/inbound": ("from", "to", "text", "date", "id", "linkId", "networkCode", "cost"),
    "/sms/delivery": ("id", "status", "phoneNumber", "networkCode", "failureReason", "retryCount"),
    "/sms/opt-out": ("senderId", "phoneNumber"),
}
ALL_FIELDS = tuple(sorted({name for names in FIELDS.values() for name in names}))
EXAMPLES_PER_WEBHOOK = 150

# Values AT really sends, so that parsing passes and the code behind it runs too.
PLAUSIBLE = {
    "sessionId": st.uuids().map(lambda u: f"ATUid_{u.hex}"),
    "id": st.uuids().map(lambda u: f"ATXid_{u.hex}"),
    "phoneNumber": st.sampled_from([TEST_PHONE, "254711000002", "0733000888", "%2B254711000003"]),
    "from": st.sampled_from([TEST_PHONE, "+254700000101", "0711000004"]),
    "status": st.sampled_from(["Incomplete", "Success", "Failed", "Sent", "Rejected", "Buffered"]),
    "networkCode": st.sampled_from(["63902", "63903", "99999"]),
    "durationInMillis": st.sampled_from(["41230", "0", "180000"]),
    "hopsCount": st.sampled_from(["1", "4", "12"]),
    "retryCount": st.sampled_from(["0", "1"]),
    "text": st.sampled_from(["", "1", "3", "2*acme", "1*1*1", "STATUS 482177305", "ACK 1", "TIP help"]),
}
# Hostile values: unicode digits, huge and special numbers, control characters, empty, long.
NASTY = [
    "1e400", "-1e400", "inf", "-inf", "Infinity", "nan", "NaN", "9" * 20, "-" + "9" * 20, "1" * 5000,
    "²²²²²²²²²", "٣٤٥", "１２３", "⁵", "Ⅻ", "0x1F", "1_000", " 12 ", "-1", "", " ", "\x00", "\r\n",
    "\t", "*", "**", "%", "%00", "\ud7ff", "\ufffd", "😀" * 40, "<script>", "' OR 1=1 --",
]
KEYWORDS = ["STATUS", "HALI", "ACK", "POKEA", "TIP", "RIPOTI", "AGENCY", "WAKALA", "STOP", "START", "HELP"]

nasty = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.text(alphabet=st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=25),
    st.text(alphabet=st.characters(categories=["Nd", "No"]), min_size=9, max_size=9),  # a reference's length
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.builds(lambda char, n: char * n, st.characters(), st.integers(0, 6000)),
)
sms_text = st.tuples(st.sampled_from(KEYWORDS), nasty).map(" ".join)
ussd_text = st.lists(st.one_of(st.sampled_from(["1", "2", "3", "5", "0", "00", "98", "99"]), nasty),
                     max_size=8).map("*".join)


def value_of(path: str, name: str):
    hostile = nasty
    if name == "text":
        hostile = st.one_of(nasty, ussd_text if path == "/ussd" else sms_text)
    return st.one_of(PLAUSIBLE[name], hostile) if name in PLAUSIBLE else hostile


def forms(path: str):
    """Forms with AT's field names, any of them missing, hostile values, sometimes extra fields."""
    names = FIELDS.get(path, ALL_FIELDS)
    return st.tuples(
        st.fixed_dictionaries({}, optional={name: value_of(path, name) for name in names}),
        st.dictionaries(st.text(max_size=12), nasty, max_size=2),
    ).map(lambda pair: {**pair[1], **pair[0]})


raw_bodies = st.tuples(
    st.sampled_from(
        ["application/x-www-form-urlencoded", "multipart/form-data", "multipart/form-data; boundary=x",
         "application/json", "text/plain", ""]
    ),
    st.binary(max_size=300),
)


def webhook_paths(app) -> list[str]:
    """Every AT-facing route of the app (all rules but the named exceptions)."""
    return sorted({rule.rule for rule in app.url_map.iter_rules() if rule.endpoint not in NOT_WEBHOOKS})


@pytest.fixture
def fuzz_app(make_app):
    return make_app(webhook_token=TOKEN)


def check_answer(path: str, response, sent, failures: list) -> None:
    body = response.get_data(as_text=True)
    if response.status_code >= 500:
        failures.append((path, response.status_code, sent, body[:80]))
    if path == "/ussd" and not body.startswith(("CON ", "END ")):
        failures.append((path, response.status_code, sent, body[:80]))


def test_every_webhook_is_fuzzed_from_the_url_map(fuzz_app):
    paths = webhook_paths(fuzz_app)
    assert set(FIELDS) <= set(paths), "a webhook in FIELDS is no longer served"
    assert "/healthz" not in paths and "/ussd" in paths


def fuzz(client, path: str, failures: list) -> int:
    """Post hypothesis's forms and raw bodies to one webhook; returns how many examples ran."""
    ran = 0
    once = settings(max_examples=EXAMPLES_PER_WEBHOOK, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))

    @once
    @given(form=forms(path), token_ok=st.booleans())
    def post_form(form, token_ok):
        nonlocal ran
        ran += 1
        query = f"?token={TOKEN}" if token_ok else "?token=wrong"
        check_answer(path, client.post(path + query, data=form), form, failures)

    @once
    @given(body=raw_bodies)
    def post_raw(body):
        nonlocal ran
        ran += 1
        content_type, data = body
        headers = {"Content-Type": content_type} if content_type else {}
        check_answer(path, client.post(f"{path}?token={TOKEN}", data=data, headers=headers), body, failures)

    post_form()
    post_raw()
    return ran


def test_hostile_forms_never_get_a_500_and_ussd_always_answers_con_or_end(fuzz_app, caplog):
    """Every webhook of the url_map gets hostile forms and raw bodies: no 5xx, no failure logged."""
    client = fuzz_app.test_client()
    failures: list = []
    with caplog.at_level(logging.ERROR):
        ran = {path: fuzz(client, path, failures) for path in webhook_paths(fuzz_app)}
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    print(f"hypothesis examples per webhook: {ran}; bad answers: {len(failures)}; logged: {len(logged)}")
    assert failures == [], f"{len(failures)} bad answers, first: {failures[:3]}"
    assert logged == [], f"{len(logged)} failures logged, first: {logged[:3]}"


def event(**overrides) -> dict:
    form = {"sessionId": f"ATUid_{uuid.uuid4().hex}", "status": "Incomplete", "phoneNumber": TEST_PHONE,
            "networkCode": "63902", "durationInMillis": "41230", "hopsCount": "4"}
    form.update(overrides)
    return form


@pytest.mark.parametrize(
    ("field", "value"),
    [("durationInMillis", "1e400"), ("durationInMillis", "inf"), ("durationInMillis", "nan"),
     ("durationInMillis", "-5"), ("hopsCount", "9" * 20), ("hopsCount", "²²"), ("hopsCount", "٣"),
     ("networkCode", "6390²"), ("networkCode", "<script>")],
)
def test_an_out_of_bounds_number_in_a_session_end_is_stored_as_unknown(ext, client, field, value):
    form = event(**{field: value})
    response = client.post("/ussd/events", data=form)
    assert (response.status_code, response.get_data(as_text=True)) == (200, "ok\n")
    with ext.session_scope() as session:
        row = session.get(UssdSessionEnd, form["sessionId"])
    column = {"durationInMillis": "duration_ms", "hopsCount": "hops", "networkCode": "network_code"}[field]
    assert getattr(row, column) is None
    assert (row.duration_ms, row.hops, row.network_code) == {
        "durationInMillis": (None, 4, "63902"), "hopsCount": (41230, None, "63902"),
        "networkCode": (41230, 4, None),
    }[field]


def test_a_session_end_keeps_whole_numbers_within_bounds(ext, client):
    form = event(durationInMillis="180000.0", hopsCount="+12")
    assert client.post("/ussd/events", data=form).status_code == 200
    with ext.session_scope() as session:
        row = session.get(UssdSessionEnd, form["sessionId"])
        assert (row.duration_ms, row.hops) == (180000, 12)


@pytest.mark.parametrize(
    ("path", "form"),
    [("/ussd/events", {"sessionId": "ATUid_\x00", "status": "Failed\x00"}),
     ("/sms/inbound", {"id": "ATXid_\x00", "from": TEST_PHONE, "text": "TIP a\x00b"}),
     ("/sms/delivery", {"id": "ATXid_\x00", "status": "Success"}),
     ("/ussd", {"sessionId": "ATUid_\x00", "phoneNumber": TEST_PHONE, "text": "1*\x00"})],
)
def test_a_nul_character_in_a_field_is_no_500_on_any_database(client, path, form):
    response = client.post(path, data=form)
    assert response.status_code == 200, response.get_data(as_text=True)


def test_sms_status_with_superscript_digits_answers_not_found(ext, client):
    form = {"id": f"ATXid_{uuid.uuid4().hex}", "from": TEST_PHONE, "to": "21525", "text": "STATUS ²²²²²²²²²"}
    response = client.post("/sms/inbound", data=form)
    assert (response.status_code, response.get_data(as_text=True)) == (200, "ok\n")


@pytest.mark.parametrize("typed", ["²²²²²²²²²", "٤٨٢١٧٧٣٠٥", "４８２１７７３０５"])
def test_ussd_follow_up_with_unicode_digits_asks_again_instead_of_failing(phone, typed, caplog):
    phone.dial()
    with caplog.at_level(logging.ERROR):
        screen = phone.send("3", typed)
    assert screen.startswith("CON ") and caplog.records == []


@pytest.mark.parametrize("typed", ["²", "١"])
def test_a_menu_choice_in_unicode_digits_is_a_wrong_key_not_a_failure(phone, typed, caplog):
    first = phone.dial()
    with caplog.at_level(logging.ERROR):
        screen = phone.send(typed)
    assert screen.startswith("CON ") and screen != first and caplog.records == []


@pytest.mark.parametrize("path", sorted(FIELDS))
def test_options_and_get_on_a_webhook_are_405_allowing_post_only(client, path):
    for method in ("OPTIONS", "GET", "PUT"):
        response = client.open(path, method=method)
        assert response.status_code == 405, (method, path)
        assert response.headers["Allow"] == "POST"
        if path == "/ussd":
            assert response.get_data(as_text=True).startswith("END ")


@pytest.mark.parametrize("path", sorted(FIELDS))
def test_an_oversized_body_is_a_413_that_closes_the_connection(make_app, path):
    app = make_app(max_body_bytes=1024)
    response = app.test_client().post(path, data={"text": "x" * 2000, "sessionId": "ATUid_big"})
    assert response.status_code == 413 and response.headers["Connection"] == "close"
    if path == "/ussd":
        assert response.get_data(as_text=True).startswith("END ")


def _read_response(sock) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_an_oversized_body_over_a_real_socket_gets_413_and_the_rest_is_never_parsed(make_app):
    app = make_app(max_body_bytes=1024)
    server, thread = serve(app, 0)
    try:
        body = b"text=" + b"x" * 4000
        # The body hides a second request: a server that kept the connection open and read on
        # from where the app stopped would answer it.
        smuggled = b"POST /ussd HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        request = (
            b"POST /ussd HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {len(body) + len(smuggled)}\r\n\r\n".encode() + body + smuggled
        )
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=10) as sock:
            sock.sendall(request)
            answer = _read_response(sock)
        head, _, rest = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413") and b"Connection: close" in head
        assert rest.startswith(b"END ") and b"HTTP/1.1" not in rest
    finally:
        server.shutdown()
        thread.join(timeout=5)
