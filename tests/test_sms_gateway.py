"""The AT SMS gateway on the wire: which host it calls, and what a dropped or garbled answer means.

The official SDK sends every request; an HTTP server bound by the test on a port the kernel picks
plays AT (or a proxy in front of it), so the URL actually requested is what the tests see. The
server answers as each test says: a body, or no answer at all (the connection closed after the
request was read).
"""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from rq.registry import FailedJobRegistry
from sqlalchemy import select

from hotline.africastalking.gateway import GatewayError, SmsGateway
from hotline.core.config import Config
from hotline.core.models import CampaignBatch, FocalPoint, OutboundSms
from tests.conftest import AT_TIMEOUT, Phone
from tests.test_campaigns import CampaignStack

FOCAL = "+254700000101"
TO = "+254711000001"
MESSAGE_IDS = itertools.count(1)  # AT's messageIds are unique across requests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest's output clean
        pass

    def _record(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        self.server.requests.append(f"{self.command} {self.path}")
        self.server.forms.append(form)
        return form

    def do_CONNECT(self):  # noqa: N802 (http.server's naming): a proxy asked to tunnel to AT
        self._record()
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):  # noqa: N802
        form = self._record()
        answer = self.server.answer(form)
        if answer is None:  # read the request, then hang up without a word
            self.close_connection = True
            return
        status, content_type, body = answer
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FakeAt:
    """An HTTP server on a port the kernel chose; `answer(form)` decides each reply."""

    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.requests, self.server.forms = [], []
        self.answer_with(accepted)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    @property
    def requests(self) -> list[str]:
        """`METHOD target` of every request received."""
        return self.server.requests

    @property
    def forms(self) -> list[dict]:
        return self.server.forms

    def answer_with(self, answer) -> None:
        """`answer(form)` returns (status, content type, body), or None to hang up unanswered."""
        self.server.answer = answer

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def recipients(form: dict, code: int = 101, status: str = "Success") -> list[dict]:
    numbers = form["to"].split(",")
    return [
        {
            "statusCode": code,
            "number": n,
            "status": status,
            "cost": "KES 0.8000",
            "messageId": f"ATXid_{next(MESSAGE_IDS)}",
        }
        for n in numbers
    ]


def accepted(form):
    body = {"SMSMessageData": {"Message": "Sent", "Recipients": recipients(form)}}
    return 201, "application/json", json.dumps(body)


def hang_up(form):
    return None


@pytest.fixture
def fake_at():
    server = FakeAt()
    yield server
    server.close()


# --- Which API the SDK calls -------------------------------------------------------------------


@pytest.fixture
def proxy(fake_at, monkeypatch):
    """The fake server as every HTTP(S) proxy: it sees the host of each request before any TLS."""
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, fake_at.url)
    return fake_at


SANDBOX, LIVE = "https://api.sandbox.africastalking.com", "https://api.africastalking.com"


@pytest.mark.parametrize(
    ("username", "requested", "url"),
    [
        ("sandbox", "CONNECT api.sandbox.africastalking.com:443", SANDBOX),
        ("ctip-kenya", "CONNECT api.africastalking.com:443", LIVE),
        ("sandbox2", "CONNECT api.africastalking.com:443", LIVE),
        # No credentials at all: the local simulator, never AT.
        (None, "POST http://127.0.0.1:5001/version1/messaging", "http://127.0.0.1:5001"),
    ],
)
def test_the_sandbox_username_calls_the_sandbox_api_and_any_other_the_live_api(
    proxy, username, requested, url
):
    gateway = SmsGateway(Config(env="testing", at_username=username, at_api_key="k", at_timeout=AT_TIMEOUT))
    proxy.answer_with(hang_up)
    with pytest.raises(GatewayError):  # the proxy refuses the tunnel: nothing leaves the machine
        gateway.send("Hello", [TO])
    assert proxy.requests == [requested]
    assert gateway.service._make_url("/messaging") == url + "/version1/messaging"


def test_at_api_url_wins_over_the_username_and_the_username_is_sent_as_given(fake_at):
    config = Config(env="testing", at_username="ctip-kenya", at_api_key="k", at_api_url=fake_at.url + "/")
    [result] = SmsGateway(config).send("Hello", [TO])
    assert result.accepted and result.number == TO
    assert fake_at.requests == ["POST /version1/messaging"]
    assert fake_at.forms[0]["username"] == "ctip-kenya" and fake_at.forms[0]["to"] == TO


# --- An answer lost after the request was sent -------------------------------------------------


def test_a_connection_closed_after_the_request_was_read_is_maybe_sent(fake_at):
    fake_at.answer_with(hang_up)
    gateway = SmsGateway(Config(env="testing", at_api_url=fake_at.url, at_timeout=AT_TIMEOUT))
    with pytest.raises(GatewayError) as caught:
        gateway.send("Hello", [TO])
    assert fake_at.forms[0]["to"] == TO  # the request reached "AT"
    assert caught.value.maybe_sent is True


def test_a_refused_connection_is_certainly_not_sent(fake_at):
    closed = fake_at.url
    fake_at.close()  # nobody listens on that port any more
    gateway = SmsGateway(Config(env="testing", at_api_url=closed, at_timeout=AT_TIMEOUT))
    with pytest.raises(GatewayError) as caught:
        gateway.send("Hello", [TO])
    assert caught.value.maybe_sent is False


@pytest.fixture
def hotline(make_app, fake_at):
    """The hotline sending to the fake AT, with one focal point for Kakamega (county 37)."""
    app = make_app(at_api_url=fake_at.url, at_timeout=AT_TIMEOUT)
    with app.extensions["hotline"].session_scope() as session:
        session.add(
            FocalPoint(county_code=37, name="A", organisation="Kakamega CCO", phone=FOCAL, priority=1)
        )
    return app


def route_one_tip(app) -> OutboundSms:
    """A USSD tip, routed by RQ's real burst worker; returns the focal point's SMS row."""
    phone = Phone(app.test_client())
    phone.dial()
    phone.send("1", "1", "kak", "Lurambi market", "Men locked in a yard", "2", "2", "1", "1")
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    ext = app.extensions["hotline"]
    for queue in ext.queues.values():
        assert FailedJobRegistry(queue=queue).get_job_ids() == []  # no job crashed
    with ext.session_scope() as session:
        [row] = session.scalars(select(OutboundSms)).all()
        session.expunge(row)
    return row


def test_a_tip_notice_whose_connection_closed_after_sending_is_uncertain_not_failed_nor_sent(
    hotline, fake_at
):
    fake_at.answer_with(hang_up)
    row = route_one_tip(hotline)
    assert [form["to"] for form in fake_at.forms] == [FOCAL]
    assert (row.state, row.attempts, row.at_message_id, row.sent_at) == ("uncertain", 1, None, None)
    assert row.last_error == "AT unreachable: ConnectionError"


@pytest.fixture
def campaign(make_app, fake_at):
    """A campaign of four English contacts, sent to the fake AT."""
    app = make_app(at_api_url=fake_at.url, at_timeout=AT_TIMEOUT)
    stack = CampaignStack(app, fake_at.url)
    stack.add_contacts(4, language=lambda n: "en")
    stack.safety_tips("odd")
    stack.flask("campaigns", "send", "odd", "--yes", "--no-wait")
    return stack


def batch_states(stack) -> list[str]:
    with stack.ext.session_scope() as session:
        return list(session.scalars(select(CampaignBatch.state).order_by(CampaignBatch.id)))


def test_a_campaign_batch_whose_connection_closed_after_sending_is_uncertain(campaign, fake_at):
    fake_at.answer_with(hang_up)
    assert campaign.dispatch("odd") == "backing off"
    assert len(fake_at.forms[0]["to"].split(",")) == 4
    assert batch_states(campaign) == ["uncertain"]
    # Neither sent nor put back for a blind resend: reconciled from delivery reports.
    assert [r.state for r in campaign.recipients("odd")] == ["queued"] * 4


# --- Answers that make no sense ----------------------------------------------------------------


def as_json(body):
    return lambda form: (201, "application/json", json.dumps(body))


def unknown_code(form):
    body = {"SMSMessageData": {"Message": "Sent", "Recipients": recipients(form, 418, "Teapot")}}
    return 201, "application/json", json.dumps(body)


def junk_types(form):
    entries = [
        {"statusCode": [101], "number": n, "status": {}, "cost": 0.8, "messageId": 7}
        for n in form["to"].split(",")
    ]
    return 201, "application/json", json.dumps({"SMSMessageData": {"Recipients": entries}})


# (name, answer, the service SMS's state and last error, the campaign batch's state and recipients')
ODD_ANSWERS = [
    (
        "not JSON",
        lambda form: (201, "text/plain", "OK"),
        "pending",
        "AT answered without JSON",
        "failed",
        "retry",
    ),
    (
        "broken JSON",
        lambda form: (201, "application/json", '{"SMSMessageData": '),
        "uncertain",
        "AT unreachable: JSONDecodeError",
        "uncertain",
        "queued",
    ),
    ("a JSON list", as_json([]), "pending", "AT answered without JSON", "failed", "retry"),
    ("no SMSMessageData", as_json({}), "pending", "AT sent to nobody: no recipients", "failed", "retry"),
    (
        "no Recipients",
        as_json({"SMSMessageData": {"Message": "InvalidSenderId"}}),
        "pending",
        "AT sent to nobody: InvalidSenderId",
        "failed",
        "retry",
    ),
    (
        "SMSMessageData a string",
        as_json({"SMSMessageData": "Sent"}),
        "pending",
        "AT answered without SMSMessageData",
        "failed",
        "retry",
    ),
    (
        "Recipients a string",
        as_json({"SMSMessageData": {"Message": "x", "Recipients": "all"}}),
        "pending",
        "AT answered without a list of recipients",
        "failed",
        "retry",
    ),
    (
        "a recipient that is no object",
        as_json({"SMSMessageData": {"Recipients": [None]}}),
        "pending",
        "AT status 500 ",
        "sent",
        "retry",
    ),
    ("fields of the wrong type", junk_types, "pending", "AT status 500 ", "sent", "retry"),
    ("an unknown statusCode", unknown_code, "pending", "AT status 418 Teapot", "sent", "retry"),
]


@pytest.mark.parametrize(
    ("answer", "state", "error"), [pytest.param(a, s, e, id=name) for name, a, s, e, _, _ in ODD_ANSWERS]
)
def test_an_odd_answer_to_a_tip_notice_leaves_it_to_send_or_settle_later_without_a_crash(
    hotline, fake_at, answer, state, error
):
    fake_at.answer_with(answer)
    row = route_one_tip(hotline)
    assert (row.state, row.last_error, row.attempts, row.sent_at) == (state, error, 1, None)
    assert row.next_attempt_at is not None  # it will be tried (or checked) again: nothing lost


@pytest.mark.parametrize(
    ("answer", "batch", "recipient"), [pytest.param(a, b, r, id=name) for name, a, _, _, b, r in ODD_ANSWERS]
)
def test_an_odd_answer_to_a_campaign_batch_backs_off_and_loses_no_recipient(
    campaign, fake_at, answer, batch, recipient
):
    fake_at.answer_with(answer)
    assert campaign.dispatch("odd") == "backing off"
    assert batch_states(campaign) == [batch]
    rows = campaign.recipients("odd")
    assert [(r.state, r.sent_at, r.at_message_id) for r in rows] == [(recipient, None, None)] * 4
    assert campaign.campaign("odd").next_send_at is not None  # it comes back for them


# --- An answer without statusCode, as some of AT's are -------------------------------------------


def without_status_code(form):
    entries = [{k: v for k, v in entry.items() if k != "statusCode"} for entry in recipients(form)]
    return 201, "application/json", json.dumps({"SMSMessageData": {"Message": "Sent", "Recipients": entries}})


def test_a_tip_notice_answered_success_with_a_message_id_but_no_status_code_is_sent_once(hotline, fake_at):
    fake_at.answer_with(without_status_code)
    row = route_one_tip(hotline)
    assert (row.state, row.attempts, row.at_status_code, row.at_status) == ("sent", 1, 101, "Success")
    assert row.at_message_id.startswith("ATXid_") and row.next_attempt_at is None
    assert len(fake_at.forms) == 1  # not sent again


def test_a_campaign_batch_answered_without_status_codes_is_sent_and_keeps_the_ids(campaign, fake_at):
    fake_at.answer_with(without_status_code)
    campaign.dispatch("odd")
    assert batch_states(campaign) == ["sent"]
    rows = campaign.recipients("odd")
    assert [r.state for r in rows] == ["sent"] * 4
    assert all(r.at_message_id.startswith("ATXid_") for r in rows)
    assert len(fake_at.forms) == 1
