"""The simulator as the hotline's SMS peer: failures, faults, delivery reports and SMS sent as a phone.

A small fake hotline runs on a real port and records what the simulator posts to `/sms/delivery` and
`/sms/inbound`; sends go through the official SDK over HTTP, as the hotline's do.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter

import pytest
import requests
from africastalking.Service import AfricasTalkingException
from flask import Flask, request

from simulator import create_app
from simulator.config import from_mapping
from simulator.delivery import DeliveryReporter
from simulator.errors import ConfigError
from simulator.failures import Failure, parse_failure
from simulator.store import MessageStore
from tests.test_simulator import API_KEY, OTHER_PHONE, PHONE, closed_port, sdk_pointed_at, serving, sim_config

THIRD_PHONE = "+254733000003"
FAST = {  # delivery reports quickly and plainly; tests turn on what they check
    "SIM_DELIVERY_REPORTS": "1",
    "SIM_DELIVERY_DELAY": "0.02",
    "SIM_DUPLICATE_RATE": "0",
    "SIM_REORDER_RATE": "0",
    "SIM_INTERMEDIATE_RATE": "0",
    "SIM_SEED": "7",
    "SIM_RETRY_BACKOFF": "0.01",
    "SIM_DELIVERY_RETRIES": "3",
    "SIM_CALLBACK_TIMEOUT": "30",  # the fake hotline answers at once, however late a loaded machine runs it
}


class FakeHotline:
    """The hotline's SMS callbacks at the outer edge: records each post, answers from a script."""

    def __init__(self):
        self.lock = threading.Lock()
        self.deliveries: list[dict] = []
        self.delivery_args: list[dict] = []
        self.inbound: list[tuple[dict, dict]] = []
        self.delivery_statuses: list[int] = []  # answered in turn, then 200
        self.app = Flask("fake_hotline")
        self.app.add_url_rule("/sms/delivery", view_func=self.delivery, methods=["POST"])
        self.app.add_url_rule("/sms/inbound", view_func=self.sms_inbound, methods=["POST"])

    def delivery(self):
        with self.lock:
            self.deliveries.append(request.form.to_dict())
            self.delivery_args.append(request.args.to_dict())
            status = self.delivery_statuses.pop(0) if self.delivery_statuses else 200
        return "", status

    def sms_inbound(self):
        with self.lock:
            self.inbound.append((request.form.to_dict(), request.args.to_dict()))
        return "thanks", 200

    def reports_for(self, message_id: str) -> list[dict]:
        with self.lock:
            return [form for form in self.deliveries if form["id"] == message_id]


@pytest.fixture
def hotline():
    fake = FakeHotline()
    with serving(fake.app) as url:
        fake.url = url
        yield fake


@pytest.fixture
def simulator(hotline):
    """Start a simulator pointed at the fake hotline; yields (base_url, app) from `start(**config)`."""
    running = []

    def start(**overrides):
        config = {"HOTLINE_URL": hotline.url, "AT_API_KEY": API_KEY, **FAST, **overrides}
        app = create_app(sim_config(**config))
        context = serving(app)
        base_url = context.__enter__()
        running.append((context, base_url))
        return base_url, app

    yield start
    for context, base_url in running:
        requests.delete(base_url + "/api/faults", timeout=5)  # let go of any stalled request
        context.__exit__(None, None, None)


def sdk_send(base_url, recipients, message="Asante", **kwargs):
    return sdk_pointed_at(base_url).send(message, recipients, **kwargs)["SMSMessageData"]


def flush(base_url, timeout=60):  # returns once every report is posted: the bound is for a broken test
    response = requests.post(base_url + "/api/flush", params={"timeout": timeout}, timeout=timeout + 5)
    return response.status_code, response.json()


def messages(base_url, **params):
    return requests.get(base_url + "/api/messages", params=params, timeout=5).json()


# Configuration


def test_failures_come_from_the_environment():
    config = from_mapping(None, {"SIM_FAILURES": "+254700000406=406, +254700000410=Failed:UserInBlackList"})
    assert config.failures == {
        "+254700000406": Failure(status="UserInBlacklist", status_code=406),
        "+254700000410": Failure(status="Failed", reason="UserInBlackList"),
    }


def test_delivery_defaults():
    config = from_mapping({}, {})
    assert config.delivery_reports is True
    assert config.delivery_delay == 1.0
    assert (config.duplicate_rate, config.reorder_rate, config.seed) == (0.1, 0.1, None)


@pytest.mark.parametrize(
    "env",
    [{"SIM_FAILURES": "+254700000406=408"}, {"SIM_FAILURES": "+254700000406"}, {"SIM_DUPLICATE_RATE": "2"},
     {"SIM_DELIVERY_DELAY": "soon"}, {"SIM_SEED": "1.5"}],
)
def test_bad_configuration_stops_the_start(env):
    with pytest.raises(ConfigError):
        from_mapping(None, env)


@pytest.mark.parametrize(
    ("value", "failure"),
    [
        (406, Failure("UserInBlacklist", 406)),
        ("502", Failure("RejectedByGateway", 502)),
        ("AbsentSubscriber", Failure("AbsentSubscriber")),
        ("Rejected", Failure("Rejected", reason="DeliveryFailure")),
        ("Failed:DoNotDisturbRejection", Failure("Failed", reason="DoNotDisturbRejection")),
    ],
)
def test_parse_failure(value, failure):
    assert parse_failure(value) == failure


# Per-recipient failures


def test_failures_api_replaces_shows_and_clears(simulator):
    base_url, _ = simulator(SIM_FAILURES="+254700000001=401")
    table = {PHONE: 406, OTHER_PHONE: "Failed:UserInBlackList", THIRD_PHONE: "Expired"}
    assert requests.put(base_url + "/api/failures", json=table, timeout=5).json() == table
    assert requests.get(base_url + "/api/failures", timeout=5).json() == table
    assert requests.delete(base_url + "/api/failures", timeout=5).json() == {"deleted": 3}
    assert requests.get(base_url + "/api/failures", timeout=5).json() == {}


@pytest.mark.parametrize("table", [[406], {PHONE: 101}, {PHONE: "Expired:UserInBlackList"}, {PHONE: "Oops"}])
def test_a_bad_failure_table_is_a_400_and_changes_nothing(simulator, table):
    base_url, _ = simulator(SIM_FAILURES=f"{PHONE}=406")
    response = requests.put(base_url + "/api/failures", json=table, timeout=5)
    assert response.status_code == 400 and response.json()["error"]
    assert requests.get(base_url + "/api/failures", timeout=5).json() == {PHONE: 406}


def test_configured_numbers_are_refused_per_recipient_through_the_sdk(simulator, hotline):
    base_url, _ = simulator(SIM_FAILURES=f"{PHONE}=406,{OTHER_PHONE}=409")
    data = sdk_send(base_url, [PHONE, OTHER_PHONE, THIRD_PHONE])
    assert data["Message"] == "Sent to 1/3 Total Cost: KES 0.8000"
    refused, dnd, sent = data["Recipients"]
    assert refused == {"statusCode": 406, "number": PHONE, "status": "UserInBlacklist", "cost": "0",
                       "messageId": "None", "messageParts": 0}
    assert (dnd["statusCode"], dnd["status"], dnd["messageId"]) == (409, "DoNotDisturbRejection", "None")
    assert sent["statusCode"] == 101
    assert flush(base_url)[1]["posted"] == 1
    assert [m["to"] for m in messages(base_url)] == [THIRD_PHONE]
    assert [form["phoneNumber"] for form in hotline.deliveries] == [THIRD_PHONE]


@pytest.mark.parametrize(
    ("value", "status", "reason"),
    [("Failed:UserInBlackList", "Failed", "UserInBlackList"), ("Rejected", "Rejected", "DeliveryFailure"),
     ("AbsentSubscriber", "AbsentSubscriber", None), ("Expired", "Expired", None)],
)
def test_a_delivery_failure_is_accepted_then_reported(simulator, hotline, value, status, reason):
    base_url, _ = simulator()
    requests.put(base_url + "/api/failures", json={PHONE: value}, timeout=5)
    [recipient] = sdk_send(base_url, [PHONE])["Recipients"]
    assert (recipient["statusCode"], recipient["status"]) == (101, "Success")
    flush(base_url)
    [report] = hotline.deliveries
    assert report["status"] == status
    assert report.get("failureReason") == reason  # only with Failed or Rejected
    [message] = messages(base_url)
    assert (message["delivery_status"], message["failure_reason"]) == (status, reason)


# Delivery reports


def test_a_delivery_report_carries_ats_fields_and_the_token(simulator, hotline):
    base_url, _ = simulator(WEBHOOK_TOKEN="s3cret&x")
    [recipient] = sdk_send(base_url, [PHONE])["Recipients"]
    status, counts = flush(base_url)
    assert status == 200
    assert counts == {"flushed": True, "pending": 0, "posted": 1, "failed": 0, "attempts": 1,
                      "by_status": {"Success": 1}}
    assert hotline.deliveries == [{"id": recipient["messageId"], "status": "Success", "phoneNumber": PHONE,
                                   "networkCode": "63902", "retryCount": "0"}]
    assert hotline.delivery_args == [{"token": "s3cret&x"}]
    [message] = messages(base_url)
    assert message["delivery_status"] == "Success"
    [attempt] = message["delivery_reports"]
    assert (attempt["status"], attempt["http_status"], attempt["attempt"], attempt["final"]) == (
        "Success", 200, 1, True)


def test_duplicates_post_the_final_report_twice(simulator, hotline):
    base_url, _ = simulator(SIM_DUPLICATE_RATE="1")
    [recipient] = sdk_send(base_url, [PHONE])["Recipients"]
    flush(base_url)
    first, second = hotline.reports_for(recipient["messageId"])
    assert first == second and first["status"] == "Success"
    assert [r["duplicate"] for r in messages(base_url)[0]["delivery_reports"]] == [False, True]


def test_reordered_reports_bring_the_final_one_first(simulator, hotline):
    base_url, _ = simulator(SIM_REORDER_RATE="1")
    [recipient] = sdk_send(base_url, [PHONE])["Recipients"]
    flush(base_url)
    assert [r["status"] for r in hotline.reports_for(recipient["messageId"])] == ["Success", "Buffered"]
    # The late intermediate report does not undo the delivery.
    assert messages(base_url)[0]["delivery_status"] == "Success"


def test_an_intermediate_report_comes_before_the_final_one_and_does_not_replace_it(simulator, hotline):
    base_url, _ = simulator(SIM_INTERMEDIATE_RATE="1")
    [recipient] = sdk_send(base_url, [PHONE])["Recipients"]
    flush(base_url)
    assert [r["status"] for r in hotline.reports_for(recipient["messageId"])] == ["Buffered", "Success"]
    [message] = messages(base_url)
    assert message["delivery_status"] == "Success"
    reports = [(r["status"], r["final"]) for r in message["delivery_reports"]]
    assert reports == [("Buffered", False), ("Success", True)]


def test_one_seed_plans_the_same_reports():
    config = from_mapping(sim_config(SIM_SEED="42", SIM_DUPLICATE_RATE="0.3", SIM_REORDER_RATE="0.3",
                                     SIM_INTERMEDIATE_RATE="0.3"), {})

    def plans():
        reporter = DeliveryReporter(config, MessageStore())
        return [[(r.status, r.duplicate) for r in reporter.plan(f"ATXid_{n}", PHONE)] for n in range(200)]

    first = plans()
    assert first == plans()
    shapes = Counter(tuple(status for status, _ in plan) for plan in first)
    # 200 messages at these rates show every shape AT produces, as often as seed 42 draws them.
    assert shapes == {
        ("Success",): 73,
        ("Success", "Success"): 26,  # a duplicate
        ("Sent", "Success"): 19,  # an intermediate report first
        ("Buffered", "Success"): 8,
        ("Sent", "Success", "Success"): 9,
        ("Buffered", "Success", "Success"): 7,
        ("Success", "Sent"): 21,  # the intermediate report late
        ("Success", "Buffered"): 19,
        ("Success", "Success", "Sent"): 7,
        ("Success", "Success", "Buffered"): 11,
    }


def test_a_seeded_run_over_http_posts_the_same_reports(hotline, simulator):
    rates = {"SIM_SEED": "3", "SIM_DUPLICATE_RATE": "0.5", "SIM_REORDER_RATE": "0.3",
             "SIM_INTERMEDIATE_RATE": "0.3"}

    def run():
        base_url, _ = simulator(**rates)
        for phone in (PHONE, OTHER_PHONE, THIRD_PHONE):
            sdk_send(base_url, [phone])
        flush(base_url)
        with hotline.lock:
            by_phone = {}
            for form in hotline.deliveries:
                by_phone.setdefault(form["phoneNumber"], []).append(form["status"])
            hotline.deliveries.clear()
        return by_phone

    assert run() == run()


def test_a_hotline_error_is_retried_until_it_answers_200(simulator, hotline):
    hotline.delivery_statuses = [500, 503]
    base_url, _ = simulator()
    sdk_send(base_url, [PHONE])
    _, counts = flush(base_url)
    assert (counts["posted"], counts["failed"], counts["attempts"]) == (1, 0, 3)
    assert len(hotline.deliveries) == 3 and hotline.deliveries[0] == hotline.deliveries[2]
    attempts = messages(base_url)[0]["delivery_reports"]
    assert [(a["attempt"], a["http_status"]) for a in attempts] == [(1, 500), (2, 503), (3, 200)]


def test_a_report_is_given_up_after_the_retries(simulator, hotline):
    hotline.delivery_statuses = [500] * 10
    base_url, _ = simulator(SIM_DELIVERY_RETRIES="2")
    sdk_send(base_url, [PHONE])
    _, counts = flush(base_url)
    assert (counts["posted"], counts["failed"], counts["attempts"]) == (0, 1, 3)
    # The network still delivered the SMS; only the hotline did not take the report.
    assert messages(base_url)[0]["delivery_status"] == "Success"


def test_an_unreachable_hotline_is_recorded_not_fatal(simulator):
    base_url, _ = simulator(HOTLINE_URL=f"http://127.0.0.1:{closed_port()}", SIM_DELIVERY_RETRIES="1")
    sdk_send(base_url, [PHONE])
    _, counts = flush(base_url)
    assert (counts["failed"], counts["attempts"]) == (1, 2)
    attempt = messages(base_url)[0]["delivery_reports"][0]
    assert attempt["http_status"] is None and "ConnectionError" in attempt["error"]
    assert sdk_send(base_url, [PHONE])["Recipients"][0]["statusCode"] == 101  # still serving


def test_delivery_reports_can_be_turned_off(simulator, hotline):
    base_url, _ = simulator(SIM_DELIVERY_REPORTS="0")
    sdk_send(base_url, [PHONE])
    assert flush(base_url)[1]["attempts"] == 0
    assert hotline.deliveries == [] and messages(base_url)[0]["delivery_status"] is None


def test_flush_answers_504_while_reports_are_pending(simulator, hotline):
    base_url, _ = simulator(SIM_DELIVERY_DELAY="30")
    sdk_send(base_url, [PHONE])
    status, counts = flush(base_url, timeout=0)
    assert (status, counts["flushed"], counts["pending"]) == (504, False, 1)


def test_many_concurrent_sends_all_get_their_reports(simulator, hotline):
    base_url, _ = simulator(SIM_DUPLICATE_RATE="0.2", SIM_REORDER_RATE="0.2", SIM_INTERMEDIATE_RATE="0.2")
    numbers = [f"+2547100000{n:02d}" for n in range(40)]

    def burst(chunk):
        sdk_send(base_url, chunk)

    threads = [threading.Thread(target=burst, args=(numbers[n:n + 10],)) for n in range(0, 40, 10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _, counts = flush(base_url)
    # Each message's reports take four draws in send order: whatever order the threads send in,
    # the 40 messages get the same plans, so the same reports.
    assert (counts["by_status"], counts["failed"]) == ({"Success": 53, "Sent": 8, "Buffered": 10}, 0)
    finals = {form["phoneNumber"] for form in hotline.deliveries if form["status"] == "Success"}
    assert finals == set(numbers)


# Faults of the whole API, through the SDK


def fault(base_url, **body):
    return requests.post(base_url + "/api/faults", json=body, timeout=5)


def test_status_faults_answer_the_next_calls_then_stop(simulator):
    base_url, _ = simulator()
    assert fault(base_url, status=500, count=2).json() == [{"status": 500, "delay": 0.0, "count": 2}]
    for _ in range(2):
        with pytest.raises(AfricasTalkingException, match="Internal Server Error"):
            sdk_send(base_url, [PHONE])
    assert requests.get(base_url + "/api/faults", timeout=5).json() == []
    assert sdk_send(base_url, [PHONE])["Recipients"][0]["statusCode"] == 101
    assert len(messages(base_url)) == 1


def test_a_401_fault_answers_as_at_does(simulator):
    base_url, _ = simulator()
    fault(base_url, status=401)
    response = requests.post(base_url + "/version1/messaging", data={"username": "sandbox", "to": PHONE,
                                                                     "message": "x"}, timeout=5)
    assert (response.status_code, response.headers["Content-Type"], response.text) == (
        401, "text/plain; charset=utf-8", "The supplied authentication is invalid")


def test_a_delay_fault_makes_the_sdk_time_out_though_the_send_may_go_through(simulator):
    base_url, _ = simulator()
    fault(base_url, delay=0.6)
    with pytest.raises(requests.ReadTimeout):
        sdk_send(base_url, [PHONE], timeout=(1, 0.2))
    # AT took the send whose answer the client never saw: a retry would send the SMS twice.
    deadline = time.monotonic() + 60  # a bound for a broken test, not a speed limit
    while not messages(base_url) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(messages(base_url)) == 1
    assert flush(base_url)[1]["posted"] == 1


def test_send_latency_is_read_from_the_environment_and_off_by_default():
    assert from_mapping({}, {}).send_latency == 0.0
    assert from_mapping({}, {"SIM_SEND_LATENCY": "0.15"}).send_latency == 0.15


@pytest.mark.parametrize("value", ["-0.1", "61", "soon"])
def test_a_send_latency_out_of_range_stops_the_start(value):
    with pytest.raises(ConfigError):
        from_mapping({}, {"SIM_SEND_LATENCY": value})


def test_a_send_waits_out_the_latency_before_it_answers_and_still_goes_through(simulator):
    base_url, _ = simulator(SIM_SEND_LATENCY="0.6")
    # A client that gives up before the latency has passed gets no answer at all ...
    with pytest.raises(requests.ReadTimeout):
        sdk_send(base_url, [PHONE], timeout=(1, 0.2))
    # ... and AT takes the send all the same, as with a delay fault.
    deadline = time.monotonic() + 60  # a bound for a broken test, not a speed limit
    while not messages(base_url) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [message["to"] for message in messages(base_url)] == [PHONE]
    # A client that waits long enough gets AT's answer.
    assert sdk_send(base_url, [OTHER_PHONE], timeout=(1, 5))["Recipients"][0]["statusCode"] == 101


def test_clearing_faults_releases_a_stalled_call(simulator):
    base_url, _ = simulator()
    fault(base_url, delay=30)
    fault(base_url, status=500, count=3)
    result = {}
    thread = threading.Thread(target=lambda: result.update(data=sdk_send(base_url, [PHONE])))
    thread.start()
    deadline = time.monotonic() + 60  # a bound for a broken test, not a speed limit
    while len(requests.get(base_url + "/api/faults", timeout=5).json()) == 2:
        assert time.monotonic() < deadline, "the call never took the delay"
        time.sleep(0.01)  # until the call has taken the delay and stalls
    assert requests.delete(base_url + "/api/faults", timeout=5).json() == {"deleted": 3}
    thread.join(timeout=60)
    assert result["data"]["Recipients"][0]["statusCode"] == 101


@pytest.mark.parametrize("body", [None, {}, {"status": 200}, {"delay": -1}, {"count": 0, "status": 500},
                                  {"status": 500, "why": 1}, {"status": True}])
def test_a_bad_fault_is_a_400(simulator, body):
    base_url, _ = simulator()
    response = requests.post(base_url + "/api/faults", json=body, timeout=5)
    assert response.status_code == 400 and response.json()["error"]


# Sending an SMS as a phone


DATE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def inbound(base_url, **body):
    return requests.post(base_url + "/api/inbound", json=body, timeout=5)


def test_an_sms_from_a_phone_reaches_the_hotline_as_at_sends_it(simulator, hotline):
    base_url, _ = simulator(WEBHOOK_TOKEN="tok")
    response = inbound(base_url, **{"from": PHONE, "text": "Habari * 1"})
    assert response.status_code == 200
    answer = response.json()
    assert (answer["status"], answer["body"]) == (200, "thanks")
    [(form, args)] = hotline.inbound
    assert args == {"token": "tok"}
    assert set(form) == {"date", "from", "to", "text", "id", "linkId", "networkCode"}
    assert (form["from"], form["to"], form["text"], form["networkCode"]) == (PHONE, "21606", "Habari * 1",
                                                                             "63902")
    assert DATE.fullmatch(form["date"])
    assert form["id"] == answer["id"] and uuid.UUID(form["id"])


def test_a_test_can_resend_the_same_sms_id(simulator, hotline):
    base_url, _ = simulator()
    for _ in range(2):
        inbound(base_url, **{"from": PHONE, "text": "STOP", "to": "40404", "id": "dup-1"})
    assert [(form["id"], form["to"]) for form, _ in hotline.inbound] == [("dup-1", "40404")] * 2


def test_an_sms_to_an_unreachable_hotline_is_a_502(simulator):
    base_url, _ = simulator(HOTLINE_URL=f"http://127.0.0.1:{closed_port()}")
    response = inbound(base_url, **{"from": PHONE, "text": "hi"})
    assert response.status_code == 502
    assert "cannot reach the hotline" in response.json()["error"]


@pytest.mark.parametrize("body", [None, {"text": "hi"}, {"from": "", "text": "hi"},
                                  {"from": PHONE, "text": 5}])
def test_a_malformed_sms_from_a_phone_is_a_400(simulator, body):
    base_url, _ = simulator()
    response = requests.post(base_url + "/api/inbound", json=body, timeout=5)
    assert response.status_code == 400 and response.json()["error"]


def test_the_pages_have_a_form_to_send_an_sms(simulator):
    base_url, _ = simulator()
    for path in ("/", "/phone"):
        page = requests.get(base_url + path, timeout=5).text
        assert 'id="sms-form"' in page and 'id="sms-text"' in page and "/api/inbound" in page
        assert "<script src" not in page


def test_the_inbox_page_shows_a_failed_delivery(simulator):
    base_url, _ = simulator(SIM_FAILURES=f"{PHONE}=Failed:UserInBlackList")
    sdk_send(base_url, [PHONE])
    flush(base_url)
    page = requests.get(base_url + "/", timeout=5).text
    assert "Failed (UserInBlackList)" in page


# /api/messages?since=


def test_messages_since_an_id_or_a_time(simulator):
    base_url, _ = simulator(SIM_DELIVERY_REPORTS="0")
    sdk_send(base_url, [PHONE], message="one")
    [first] = messages(base_url)
    sdk_send(base_url, [PHONE, OTHER_PHONE], message="two")
    assert [m["message"] for m in messages(base_url, since=first["id"])] == ["two", "two"]
    assert [m["to"] for m in messages(base_url, since=first["received_at"])] == [PHONE, OTHER_PHONE]
    assert messages(base_url, since="2000-01-01T00:00:00") and messages(base_url, since="ATXid_gone") == []
    bad = requests.get(base_url + "/api/messages", params={"since": "yesterday"}, timeout=5)
    assert bad.status_code == 400
