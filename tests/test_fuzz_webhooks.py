"""Hostile input on every AT webhook: never a 500, `/ussd` always `CON `/`END `.

The endpoints come from the app's own url_map, so a webhook added later is fuzzed too (with every
AT field name when it has no entry in FIELDS). Hypothesis is derandomized and bounded: the same
examples run every time, in seconds.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections import Counter

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hotline.core.models import UssdSessionEnd
from tests.conftest import TEST_PHONE, serve, stop

TOKEN = "fuzz-token-0123456789-0123456789-0123"

# Rules of the app that are not AT callbacks, by endpoint name.
NOT_WEBHOOKS = {"static", "health.healthz", "home.index"}

# What AT posts to each webhook (hotline/africastalking documents each form).
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
# Per webhook: for each of its fields, every seed value and this many generated ones; then odd
# forms and raw bodies.
EXAMPLES_PER_FIELD = 10
ODD_FORMS = 60
RAW_BODIES = 40

# Values AT really sends, so that parsing passes and the code behind it runs too.
PLAUSIBLE = {
    "sessionId": st.uuids().map(lambda u: f"ATUid_{u.hex}"),
    "id": st.uuids().map(lambda u: f"ATXid_{u.hex}"),
    "phoneNumber": st.sampled_from([TEST_PHONE, "254711000002", "0733000888"]),
    "from": st.sampled_from([TEST_PHONE, "+254700000101", "0711000004"]),
    "status": st.sampled_from(["Success", "Failed", "Rejected", "Buffered"]),  # both callbacks' words
    "networkCode": st.sampled_from(["63902", "63903", "99999"]),
    "durationInMillis": st.sampled_from(["41230", "0", "180000"]),
    "hopsCount": st.sampled_from(["1", "4", "12"]),
    "retryCount": st.sampled_from(["0", "1"]),
    "text": st.sampled_from(["", "1", "3", "2*acme", "1*1*1", "STATUS 482177305", "ACK 1", "TIP help"]),
    "serviceCode": st.just("*384*1234#"),
    "to": st.just("21525"),
    "senderId": st.just("HOTLINE"),
}
# Hostile values: unicode digits, huge and special numbers, control characters, empty, long.
NASTY = [
    "1e400", "-1e400", "inf", "-inf", "Infinity", "nan", "NaN", "9" * 20, "-" + "9" * 20, "1" * 5000,
    "²²²²²²²²²", "٣٤٥", "１２３", "⁵", "Ⅻ", "0x1F", "1_000", " 12 ", "-1", "", " ", "\x00", "\r\n",
    "\t", "*", "**", "%", "%00", "\ud7ff", "\ufffd", "😀" * 40, "<script>", "' OR 1=1 --",
]
# The SMS keywords, those that read a reference or a number first; "" sends the hostile text alone.
KEYWORDS = ["STATUS", "HALI", "", "ACK", "POKEA", "TIP", "RIPOTI", "AGENCY", "WAKALA", "STOP", "HELP"]

# Digits of any script mixed with ASCII ones, as long as a menu choice or a reference: `isdigit()`
# is true for all of them, `int()` fails on some and accepts others.
ANY_DIGIT = "²³¹⁰⁴⁵₇⑧٠١٢٣٤٥٦٧٨٩۴০१２３߀0123456789"  # hypothesis favours the first ones
any_digits = st.one_of(
    st.text(alphabet=st.sampled_from(ANY_DIGIT), min_size=1, max_size=3),  # a menu choice
    st.text(alphabet=st.sampled_from(ANY_DIGIT), min_size=9, max_size=9),  # a reference
)
nasty = st.one_of(
    st.sampled_from(NASTY),
    any_digits,
    st.one_of(
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.text(alphabet=st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=25),
    ),
    st.one_of(
        st.text(max_size=40),
        st.builds(lambda char, n: char * n, st.characters(), st.integers(0, 6000)),
    ),
)
# A keyword, then something hostile: references and numbers are read after STATUS, ACK, …
sms_text = st.tuples(st.sampled_from(KEYWORDS), st.one_of(any_digits, nasty)).map(
    lambda pair: " ".join(filter(None, pair))
)
# Hostile input on the screens that read numbers and references (menus, follow-up, agency pick).
ussd_text = st.one_of(
    st.tuples(
        st.sampled_from(["", "3", "2*acme", "1", "1*1", "5", "6", "1*1*98"]), st.one_of(any_digits, nasty)
    ).map(lambda pair: "*".join(filter(None, pair))),
    st.lists(st.one_of(st.sampled_from(["1", "2", "3", "5", "0", "00", "98", "99"]), nasty), max_size=8).map(
        "*".join
    ),
)


def hostile_value(path: str, name: str):
    if name == "text":
        return ussd_text if path == "/ussd" else sms_text
    return nasty


def plausible_form(path: str):
    """AT's form for this webhook, with values AT really sends."""
    names = FIELDS.get(path, ALL_FIELDS)
    return st.fixed_dictionaries({name: PLAUSIBLE.get(name, st.just("")) for name in names})


def usual_form(path: str, n: int) -> dict:
    """AT's form for this webhook; the n-th one has its own ids and phone number (no retry, no
    rate limit in the way)."""
    usual = {
        "sessionId": f"ATUid_fuzz{n}", "id": f"ATXid_fuzz{n}", "phoneNumber": f"+2547110{n:05d}",
        "from": f"+2547220{n:05d}", "status": "Success", "networkCode": "63902", "text": "",
        "durationInMillis": "41230", "hopsCount": "4", "retryCount": "0", "serviceCode": "*384*1234#",
        "to": "21525", "senderId": "HOTLINE",
    }
    return {name: usual.get(name, "") for name in FIELDS.get(path, ALL_FIELDS)}


# Known-hostile digits: superscripts (`isdigit()` true, `int()` fails), other scripts' digits (both
# true), a reference spelled so, a number past every column.
HOSTILE_DIGITS = [
    "²²²²²²²²²", "²", "⁵", "٣", "١", "٤٨٢١٧٧٣٠٥", "４８２１７７３０５", "48217730²", "9" * 20, "1e400",
]


def seeds(path: str, name: str) -> list[str]:
    """The values every field always gets: NASTY, and for `text` the hostile digits where a menu
    choice, a reference or an agency pick is read (USSD) or after each keyword (SMS)."""
    if name != "text":
        return NASTY
    if path == "/ussd":
        return NASTY + [f"{before}{digits}" for before in ("", "3*", "2*acme*") for digits in HOSTILE_DIGITS]
    return NASTY + [f"{word} {digits}" for word in KEYWORDS if word for digits in HOSTILE_DIGITS[:8]]


def odd_forms(path: str):
    """AT's form with fields missing, or hostile throughout; extra fields at times."""
    names = FIELDS.get(path, ALL_FIELDS)
    extra = st.dictionaries(st.text(max_size=12), nasty, max_size=2)
    missing = st.tuples(plausible_form(path), st.sets(st.sampled_from(names), min_size=1), extra).map(
        lambda p: {k: v for k, v in {**p[2], **p[0]}.items() if k not in p[1]}
    )
    wild = st.tuples(
        st.fixed_dictionaries({}, optional={name: hostile_value(path, name) for name in names}), extra
    ).map(lambda p: {**p[1], **p[0]})
    return st.one_of(missing, wild)


raw_bodies = st.tuples(
    st.sampled_from(
        ["application/x-www-form-urlencoded", "multipart/form-data", "multipart/form-data; boundary=x",
         "application/json", "text/plain", ""]
    ),
    st.binary(max_size=300),
)


def webhook_paths(app) -> list[str]:
    """Every AT-facing route of the app (all rules but the named exceptions and the console's pages,
    which a session and CSRF tokens guard: tests/test_accounts.py)."""
    return sorted({rule.rule for rule in app.url_map.iter_rules()
                   if rule.endpoint not in NOT_WEBHOOKS and not rule.rule.startswith("/console")})


@pytest.fixture
def fuzz_app(make_app):
    return make_app(webhook_token=TOKEN)


ANSWERS: Counter = Counter()  # (path, status) -> how many, printed with -s


def check_answer(path: str, response, sent, failures: list) -> None:
    body = response.get_data(as_text=True)
    ANSWERS[path, response.status_code] += 1
    if response.status_code >= 500:
        failures.append((path, response.status_code, sent, body[:80]))
    if path == "/ussd" and not body.startswith(("CON ", "END ")):
        failures.append((path, response.status_code, sent, body[:80]))


def test_every_webhook_is_fuzzed_from_the_url_map(fuzz_app):
    paths = webhook_paths(fuzz_app)
    assert set(FIELDS) <= set(paths), "a webhook in FIELDS is no longer served"
    assert "/healthz" not in paths and "/" not in paths and "/ussd" in paths


def fuzz(client, path: str, failures: list) -> int:
    """Post hypothesis's forms and raw bodies to one webhook; returns how many examples ran.

    Each field in turn is hostile in an otherwise plausible form, so the value gets past the other
    fields' checks to the code behind them; then odd forms (fields missing, all hostile, a wrong
    token), then raw bodies of any content type."""
    ran = 0
    bounded = settings(
        derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )

    def post(sent, data, query=f"?token={TOKEN}", headers=None):
        nonlocal ran
        ran += 1
        check_answer(path, client.post(path + query, data=data, headers=headers or {}), sent, failures)

    def hostile(name: str):
        @settings(bounded, max_examples=EXAMPLES_PER_FIELD)
        @given(value=hostile_value(path, name))
        def hostile_field(value):
            form = {**usual_form(path, ran), name: value}
            post(form, form)

        for value in seeds(path, name):  # hypothesis runs its explicit examples every time
            hostile_field = example(value=value)(hostile_field)
        return hostile_field

    for name in FIELDS.get(path, ALL_FIELDS):
        hostile(name)()

    @settings(bounded, max_examples=ODD_FORMS)
    @given(form=odd_forms(path), token=st.sampled_from([TOKEN, TOKEN, TOKEN, "wrong"]))
    def odd_form(form, token):
        post(form, form, query=f"?token={token}")

    @settings(bounded, max_examples=RAW_BODIES)
    @given(body=raw_bodies)
    def raw_body(body):
        content_type, data = body
        post(body, data, headers={"Content-Type": content_type} if content_type else {})

    odd_form()
    raw_body()
    return ran


def test_hostile_forms_never_get_a_500_and_ussd_always_answers_con_or_end(fuzz_app, caplog):
    """Every webhook of the url_map gets hostile forms and raw bodies: no 5xx, no failure logged."""
    client = fuzz_app.test_client()
    failures: list = []
    with caplog.at_level(logging.ERROR):
        ran = {path: fuzz(client, path, failures) for path in webhook_paths(fuzz_app)}
    logged = [
        f"{r.getMessage()}: {r.exc_info[0].__name__ if r.exc_info else ''}"
        for r in caplog.records
        if r.levelno >= logging.ERROR
    ]
    print(f"hypothesis examples per webhook: {ran}; answers: {sorted(ANSWERS.items())}")
    print(f"bad answers: {Counter((path, status) for path, status, *_ in failures)}")
    print(f"failures logged: {Counter(message.split(' (session')[0] for message in logged)}")
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
    server, thread = serve(app)
    try:
        body = b"text=" + b"x" * 4000
        # The body hides a second request: a server that kept the connection open and read on
        # from where the app stopped would answer it.
        smuggled = b"POST /ussd HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        request = (
            b"POST /ussd HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {len(body) + len(smuggled)}\r\n\r\n".encode() + body + smuggled
        )
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(request)
            answer = _read_response(sock)
        head, _, rest = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413") and b"Connection: close" in head
        assert rest.startswith(b"END ") and b"HTTP/1.1" not in rest
    finally:
        stop(server, thread)
