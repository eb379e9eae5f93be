"""The AT SMS gateway on the wire: which host it calls, and what a dropped or garbled answer means.

The official SDK sends every request; an HTTP server bound by the test on a port the kernel picks
plays AT (or a proxy in front of it), so the URL actually requested is what the tests see. The
server answers as each test says: a body, or no answer at all (the connection closed after the
request was read).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from rq.registry import FailedJobRegistry
from sqlalchemy import select

from hotline.config import Config
from hotline.models import CampaignBatch, FocalPoint, OutboundSms
from hotline.sms_gateway import GatewayError, SmsGateway
from tests.conftest import Phone
from tests.test_campaigns import CampaignStack

FOCAL = "+254700000101"
TO = "+254711000001"


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
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
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
        {"statusCode": code, "number": n, "status": status, "cost": "KES 0.8000", "messageId": f"ATXid_{i}"}
        for i, n in enumerate(numbers)
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
def test_the_sandbox_username_calls_the_sandbox_api_and_any_other_the_live_api(proxy, username, requested, url):
    gateway = SmsGateway(Config(env="testing", at_username=username, at_api_key="k", at_timeout=(1, 1)))
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
