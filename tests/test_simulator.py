"""The AT simulator: the SMS API in AT's wire format (also through the official SDK over HTTP), the
message store and its pages, and the browser phone's forwarding to a hotline (a fake one here)."""

from __future__ import annotations

import json
import re
import threading
from contextlib import contextmanager

import pytest
from africastalking.Service import AfricasTalkingException
from africastalking.SMS import SMSService
from flask import Flask, request
from werkzeug.serving import make_server

from flows.gsm import segments
from simulator import create_app
from simulator.config import DEFAULT_HOTLINE_URL, from_mapping
from simulator.errors import ConfigError
from simulator.store import MessageStore
from tests.conftest import free_port

PHONE = "+254711000001"
OTHER_PHONE = "+254722000002"
API_KEY = "test-api-key"


def sim_config(**overrides) -> dict:
    """Every key given explicitly (empty means unset) so the developer's environment cannot leak in.

    Delivery reports are off unless a test turns them on: they would go to a real hotline on port 5000.
    """
    config = {"TESTING": True, "HOTLINE_URL": "", "WEBHOOK_TOKEN": "", "AT_API_KEY": "", "SIM_FAILURES": "",
              "SIM_DELIVERY_REPORTS": "0"}
    config.update(overrides)
    return config


def sms_form(**overrides) -> dict:
    """An SMS API call as the SDK makes it: defaults plus overrides."""
    form = {"username": "sandbox", "to": PHONE, "message": "Asante. Your tip reference is KE-7Q2M.",
            "bulkSMSMode": "1"}
    form.update(overrides)
    return form


@contextmanager
def serving(app: Flask):
    """`app` on a real port in a background thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll so that shutting down takes milliseconds, not half a second.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    """A port nothing listens on (bound, then released), never handed out before in this session."""
    return free_port()


@pytest.fixture
def make_app():
    def build(**overrides):
        return create_app(sim_config(**overrides))

    return build


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


def send(client, headers=None, **overrides):
    return client.post("/version1/messaging", data=sms_form(**overrides), headers=headers or {})


# Configuration


def test_config_reads_the_environment_when_no_dict_is_given():
    env = {"HOTLINE_URL": "http://hotline:8000/", "WEBHOOK_TOKEN": "tok", "AT_API_KEY": "key"}
    config = from_mapping(None, env)
    assert config.hotline_url == "http://hotline:8000"  # no trailing slash: paths are appended
    assert (config.webhook_token, config.at_api_key) == ("tok", "key")


def test_config_dict_beats_the_environment_and_empty_means_unset():
    env = {"HOTLINE_URL": "http://x", "AT_API_KEY": "k"}
    config = from_mapping({"HOTLINE_URL": "", "AT_API_KEY": ""}, env)
    assert config.hotline_url == DEFAULT_HOTLINE_URL
    assert config.at_api_key is None


# SMS API: AT's wire format


def test_send_answers_201_with_ats_json(client):
    response = send(client)
    assert response.status_code == 201
    # The SDK parses the body only when the content type is exactly this.
    assert response.headers["Content-Type"] == "application/json"
    data = response.get_json()["SMSMessageData"]
    assert data["Message"] == "Sent to 1/1 Total Cost: KES 0.8000"
    [recipient] = data["Recipients"]
    assert recipient["statusCode"] == 101
    assert recipient["status"] == "Success"
    assert recipient["number"] == PHONE
    assert recipient["cost"] == "KES 0.8000"
    assert recipient["messageParts"] == 1
    assert recipient["messageId"].startswith("ATXid_") and len(recipient["messageId"]) > 10


def test_enqueue_answers_queued(client):
    [recipient] = send(client, enqueue="1").get_json()["SMSMessageData"]["Recipients"]
    assert (recipient["statusCode"], recipient["status"]) == (102, "Queued")


def test_each_recipient_gets_its_own_status_and_id(client):
    data = send(client, to=f"{PHONE}, {OTHER_PHONE},0711000001").get_json()["SMSMessageData"]
    assert data["Message"] == "Sent to 2/3 Total Cost: KES 1.6000"
    good, other, bad = data["Recipients"]
    assert (good["number"], other["number"]) == (PHONE, OTHER_PHONE)
    assert good["messageId"] != other["messageId"]
    assert bad == {"statusCode": 403, "number": "0711000001", "status": "InvalidPhoneNumber", "cost": "0",
                   "messageId": "None", "messageParts": 0}


def test_nothing_sent_costs_a_bare_zero(client):
    data = send(client, to="12345").get_json()["SMSMessageData"]
    assert data["Message"] == "Sent to 0/1 Total Cost: 0"


@pytest.mark.parametrize("field", ["username", "to", "message"])
def test_a_missing_field_is_a_plain_400(client, field):
    form = sms_form()
    del form[field]
    response = client.post("/version1/messaging", data=form)
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert field in response.get_data(as_text=True)


def test_only_commas_in_to_is_a_400(client):
    assert send(client, to=" , ").status_code == 400


@pytest.mark.parametrize("headers", [{}, {"apiKey": "wrong"}])
def test_a_wrong_api_key_is_refused_as_at_does(make_app, headers):
    client = make_app(AT_API_KEY=API_KEY).test_client()
    response = send(client, headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == "The supplied authentication is invalid"


def test_the_right_api_key_is_accepted(make_app):
    client = make_app(AT_API_KEY=API_KEY).test_client()
    assert send(client, headers={"apiKey": API_KEY}).status_code == 201


def test_no_configured_key_accepts_any(client):
    assert send(client, headers={"apiKey": "anything"}).status_code == 201


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters take two septets
        ("€" * 81, 2),
        ("Habari ✓" + "a" * 62, 1),  # one character outside GSM-7: 70 UCS-2 units
        ("Habari ✓" + "a" * 63, 2),
    ],
)
def test_message_parts_follow_gsm7_and_ucs2(text, parts):
    assert segments(text) == parts


def test_a_long_message_costs_per_part(client):
    [recipient] = send(client, message="a" * 200).get_json()["SMSMessageData"]["Recipients"]
    assert (recipient["messageParts"], recipient["cost"]) == (2, "KES 1.6000")


# The store and its pages


def test_api_messages_lists_what_was_sent_newest_last(client):
    send(client, to=f"{PHONE},{OTHER_PHONE}", message="first", **{"from": "HOTLINE"})
    send(client, message="second")
    messages = client.get("/api/messages").get_json()
    assert [(m["to"], m["message"]) for m in messages] == [(PHONE, "first"), (OTHER_PHONE, "first"),
                                                            (PHONE, "second")]
    first = messages[0]
    assert first["from"] == "HOTLINE"
    assert first["status"] == "Success"
    assert first["id"].startswith("ATXid_")
    assert first["received_at"].endswith("Z")
    assert messages[2]["from"] is None


def test_api_messages_filters_by_phone(client):
    send(client, to=f"{PHONE},{OTHER_PHONE}")
    messages = client.get("/api/messages", query_string={"phone": OTHER_PHONE}).get_json()
    assert [m["to"] for m in messages] == [OTHER_PHONE]


def test_refused_recipients_are_not_stored(client):
    send(client, to="0711000001")
    assert client.get("/api/messages").get_json() == []


def test_delete_clears_the_store(client):
    send(client)
    assert client.delete("/api/messages").get_json() == {"deleted": 1}
    assert client.get("/api/messages").get_json() == []


def test_each_app_has_its_own_store(make_app):
    send(make_app().test_client())
    assert make_app().test_client().get("/api/messages").get_json() == []


def test_inbox_page_lists_each_phone_and_escapes_messages(client):
    send(client, to=OTHER_PHONE, message="<script>alert(1)</script>")
    send(client, message="Asante")
    page = client.get("/").get_data(as_text=True)
    assert page.index(PHONE) < page.index(OTHER_PHONE)
    assert "Asante" in page
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_inbox_page_without_messages(client):
    assert "No SMS yet" in client.get("/").get_data(as_text=True)


def test_store_keeps_every_message_sent_from_many_threads(client):
    def burst():
        for _ in range(20):
            send(client)

    threads = [threading.Thread(target=burst) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    messages = client.get("/api/messages").get_json()
    assert len(messages) == 100
    assert len({m["id"] for m in messages}) == 100


def test_store_get_finds_a_message_by_ats_id(app, client):
    [recipient] = send(client).get_json()["SMSMessageData"]["Recipients"]
    store: MessageStore = app.extensions["simulator"].messages
    assert store.get(recipient["messageId"]).to == PHONE
    assert store.get("ATXid_unknown") is None


# The official SDK over real HTTP


def sdk_pointed_at(base_url: str, api_key: str = API_KEY) -> SMSService:
    """The SDK's SMS service with its base URL moved to the simulator (it has no host setting)."""
    sms = SMSService("sandbox", api_key)
    sms._baseUrl = base_url + "/version1"
    return sms


def test_the_official_sdk_sends_through_the_simulator(make_app):
    app = make_app(AT_API_KEY=API_KEY)
    with serving(app) as base_url:
        result = sdk_pointed_at(base_url).send("Asante", [PHONE, OTHER_PHONE], sender_id="HOTLINE")
    # A dict, not text: the SDK only parses JSON when the content type is exactly application/json.
    assert isinstance(result, dict)
    recipients = result["SMSMessageData"]["Recipients"]
    assert [r["statusCode"] for r in recipients] == [101, 101]
    stored = app.extensions["simulator"].messages.messages()
    assert [(m.to, m.sender, m.message) for m in stored] == [(PHONE, "HOTLINE", "Asante"),
                                                             (OTHER_PHONE, "HOTLINE", "Asante")]
    assert [m.id for m in stored] == [r["messageId"] for r in recipients]


def test_the_official_sdk_enqueues(app):
    with serving(app) as base_url:
        result = sdk_pointed_at(base_url).send("Asante", [PHONE], enqueue=True)
    assert result["SMSMessageData"]["Recipients"][0]["status"] == "Queued"


def test_the_official_sdk_raises_on_a_wrong_key(make_app):
    with serving(make_app(AT_API_KEY=API_KEY)) as base_url:
        with pytest.raises(AfricasTalkingException, match="The supplied authentication is invalid"):
            sdk_pointed_at(base_url, api_key="wrong").send("Asante", [PHONE])


# The browser phone


class FakeHotline:
    """The hotline's `/ussd` at the outer edge: records each request, answers from a script."""

    def __init__(self):
        self.requests: list[tuple[dict, dict]] = []
        self.replies: list[tuple[str, int]] = []
        self.release = threading.Event()
        self.stall = False
        self.events: list[dict] = []
        self.app = Flask("fake_hotline")
        self.app.add_url_rule("/ussd", view_func=self.ussd, methods=["POST"])
        self.app.add_url_rule("/ussd/events", view_func=self.event, methods=["POST"])

    def event(self):
        self.events.append(request.form.to_dict())
        return "ok", 200, {"Content-Type": "text/plain"}

    def ussd(self):
        self.requests.append((request.form.to_dict(), request.args.to_dict()))
        if self.stall:
            self.release.wait(timeout=5)
        body, status = self.replies.pop(0) if self.replies else ("END Thank you.", 200)
        return body, status, {"Content-Type": "text/plain"}


@pytest.fixture
def hotline():
    fake = FakeHotline()
    with serving(fake.app) as url:
        fake.url = url
        try:
            yield fake
        finally:
            fake.release.set()  # let a stalled request finish so the server can stop


def screen(client, text="", session_id="ATUid_test", phone=PHONE):
    return client.post("/phone/ussd", json={"sessionId": session_id, "phoneNumber": phone, "text": text})


def test_phone_page_is_self_contained(client):
    response = client.get("/phone")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'value="+254700000001"' in page
    assert 'id="dial"' in page and 'id="screen"' in page and 'id="answer"' in page
    # No CDN, no external script, stylesheet or font: the page must work offline.
    assert "<script src" not in page and "<link" not in page and "@import" not in page


def test_phone_forwards_each_screen_as_at_does(make_app, hotline):
    hotline.replies = [("CON Welcome\n1. Report", 200), ("CON County?", 200), ("END Asante.", 200)]
    client = make_app(HOTLINE_URL=hotline.url).test_client()
    answers = [screen(client, text).get_json() for text in ("", "1", "1*4")]
    assert answers == [
        {"body": "CON Welcome\n1. Report", "status": 200, "end": False},
        {"body": "CON County?", "status": 200, "end": False},
        {"body": "END Asante.", "status": 200, "end": True},
    ]
    assert [form["text"] for form, _ in hotline.requests] == ["", "1", "1*4"]
    form, args = hotline.requests[0]
    assert form == {"sessionId": "ATUid_test", "serviceCode": "*384*1234#", "phoneNumber": PHONE,
                    "networkCode": "63902", "text": ""}
    assert args == {}
    # The END screen is followed by AT's end-of-session notification.
    [event] = hotline.events
    assert (event["sessionId"], event["phoneNumber"], event["status"], event["input"]) == (
        "ATUid_test", PHONE, "Success", "1*4")


def test_phone_appends_the_webhook_token(make_app, hotline):
    client = make_app(HOTLINE_URL=hotline.url, WEBHOOK_TOKEN="s3cret&x").test_client()
    screen(client)
    assert hotline.requests[0][1] == {"token": "s3cret&x"}


def test_a_hotline_error_ends_the_session(make_app, hotline):
    hotline.replies = [("CON looks fine but is a 500", 500)]
    client = make_app(HOTLINE_URL=hotline.url).test_client()
    assert screen(client).get_json() == {"body": "CON looks fine but is a 500", "status": 500, "end": True}


def test_a_body_without_con_ends_the_session(make_app, hotline):
    hotline.replies = [("Welcome", 200)]
    client = make_app(HOTLINE_URL=hotline.url).test_client()
    assert screen(client).get_json()["end"] is True


def test_an_unreachable_hotline_is_a_502_with_a_reason(make_app):
    client = make_app(HOTLINE_URL=f"http://127.0.0.1:{closed_port()}").test_client()
    response = screen(client)
    assert response.status_code == 502
    assert "cannot reach the hotline" in response.get_json()["error"]


def test_a_slow_hotline_is_a_504_as_at_gives_up(make_app, hotline):
    hotline.stall = True
    client = make_app(HOTLINE_URL=hotline.url, USSD_TIMEOUT="0.2").test_client()
    response = screen(client)
    hotline.release.set()
    assert response.status_code == 504
    assert "did not answer" in response.get_json()["error"]


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {"sessionId": "", "phoneNumber": PHONE, "text": ""},
        {"sessionId": "s", "phoneNumber": PHONE, "text": 1},
    ],
)
def test_a_malformed_phone_request_is_a_400(client, payload):
    response = client.post("/phone/ussd", json=payload)
    assert response.status_code == 400
    assert response.get_json()["error"]


# A million recipients: cheap ids, a bounded store, counts of everything


def test_the_answer_is_byte_for_byte_what_jsonify_gives(client):
    response = send(client, to=f"{PHONE},0711000001,+2547ñ,{OTHER_PHONE}", message="a" * 200)
    body = response.get_data(as_text=True)
    assert body == json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")) + "\n"
    assert "\\u00f1" in body  # non-ASCII escaped, as jsonify does


def test_message_ids_are_unique_ats_shape_and_differ_between_simulators(make_app):
    first = send(make_app().test_client(), to=",".join([PHONE] * 50)).get_json()["SMSMessageData"]
    other = send(make_app().test_client()).get_json()["SMSMessageData"]
    ids = [r["messageId"] for r in first["Recipients"] + other["Recipients"]]
    assert len(set(ids)) == 51
    assert all(re.fullmatch(r"ATXid_[0-9a-f]{32}", message_id) for message_id in ids)


def test_keep_messages_keeps_the_most_recent_and_counts_everything(make_app):
    client = make_app(SIM_KEEP_MESSAGES="2").test_client()
    send(client, to=f"{PHONE},{OTHER_PHONE},+254733000003", message="first")
    send(client, message="second")
    kept = client.get("/api/messages").get_json()
    assert [(m["to"], m["message"]) for m in kept] == [("+254733000003", "first"), (PHONE, "second")]
    stats = client.get("/api/stats").get_json()
    assert (stats["accepted"], stats["kept"], stats["forgotten"], stats["keep"]) == (4, 2, 2, 2)
    assert stats["unique_numbers"] == 3


def test_keep_messages_zero_keeps_no_bodies(make_app):
    client = make_app(SIM_KEEP_MESSAGES="0").test_client()
    [recipient] = send(client).get_json()["SMSMessageData"]["Recipients"]
    assert recipient["messageId"].startswith("ATXid_")
    assert client.get("/api/messages").get_json() == []
    assert client.get("/api/stats").get_json()["accepted"] == 1


def test_keep_messages_is_unset_by_default_and_checked():
    assert from_mapping({}, {}).keep_messages is None
    assert from_mapping({"SIM_KEEP_MESSAGES": "1000"}, {}).keep_messages == 1000
    with pytest.raises(ConfigError):
        from_mapping({"SIM_KEEP_MESSAGES": "-1"}, {})


def test_stats_count_calls_recipients_numbers_and_reports(make_app):
    client = make_app(AT_API_KEY=API_KEY, SIM_FAILURES={OTHER_PHONE: 406}).test_client()
    headers = {"apiKey": API_KEY}
    send(client, headers, to=f"{PHONE},{OTHER_PHONE},0711000001")
    send(client, headers, to=PHONE, enqueue="1")
    send(client, {"apiKey": "wrong"})
    send(client, headers, to=" , ")
    stats = client.get("/api/stats").get_json()
    assert stats["requests"] == 4
    assert stats["requests_by_http_status"] == {"201": 2, "400": 1, "401": 1}
    assert (stats["accepted"], stats["recipients"], stats["unique_numbers"]) == (2, 4, 1)
    assert stats["recipients_by_status_code"] == {"101": 1, "102": 1, "403": 1, "406": 1}
    assert stats["delivery_reports"] == {"pending": 0, "posted": 0, "failed": 0, "attempts": 0,
                                         "by_status": {}}
    client.delete("/api/messages")
    assert client.get("/api/stats").get_json()["requests"] == 0
