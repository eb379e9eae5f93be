"""Routing end to end over real HTTP: USSD tip -> worker -> the AT simulator's phones -> ACK -> follow-up.

The hotline runs on a real port, the local AT simulator on another; SMS go through the official
SDK to the simulator, which posts delivery reports and incoming SMS back to the hotline.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import time_machine
from sqlalchemy import select

import simulator
from flows.gsm import is_gsm7, septets
from flows.menu import TIP_KINDS
from flows.texts import text
from hotline.core.counties import name_of
from hotline.core.models import FocalPoint, OutboundSms, Tip, TipUpdate, UnmatchedDeliveryReport, utcnow
from hotline.sms.texts import REPLIES
from hotline.tips import routing
from hotline.tips.reference import display
from tests.conftest import AT_TIMEOUT, TEST_PHONE, Phone, listening_socket, serve, stop
from workers.routing import route_tip
from workers.sweeper import sweep_escalations

FOCAL_A, FOCAL_B, NATIONAL = "+254700000101", "+254700000102", "+254700000190"


@pytest.fixture
def stack(make_app, stack_settings):
    """The hotline and the AT simulator, each on a real port, talking to each other over HTTP."""
    web, sim_socket = listening_socket(), listening_socket()
    sim_url = f"http://127.0.0.1:{sim_socket.getsockname()[1]}"
    sim = simulator.create_app(
        {
            "HOTLINE_URL": f"http://127.0.0.1:{web.getsockname()[1]}",
            "SIM_DELIVERY_DELAY": "0.02",
            "SIM_SEED": "7",
            "SIM_DUPLICATE_RATE": "0",
            "SIM_REORDER_RATE": "0",
            "SIM_INTERMEDIATE_RATE": "0",
        }
    )
    app = make_app(at_api_url=sim_url, at_timeout=AT_TIMEOUT, **stack_settings)
    servers = [serve(sim, sim_socket), serve(app, web)]
    ext = app.extensions["hotline"]
    with ext.session_scope() as session:
        session.add_all(
            [
                FocalPoint(
                    county_code=37, name="Officer A", organisation="Kakamega CCO", phone=FOCAL_A, priority=1
                ),
                FocalPoint(
                    county_code=37,
                    name="Officer B",
                    organisation="Kakamega police",
                    phone=FOCAL_B,
                    priority=2,
                ),
                FocalPoint(
                    county_code=0, name="Secretariat", organisation="CTiP", phone=NATIONAL, priority=1
                ),
            ]
        )
    yield Stack(app, sim_url)
    for server, thread in servers:
        stop(server, thread)


class Stack:
    def __init__(self, app, sim_url):
        self.app, self.sim_url = app, sim_url
        self.ext = app.extensions["hotline"]
        self.phone = Phone(app.test_client())

    def work(self):
        """Run the worker until the queues are empty (RQ's real worker, forking per job)."""
        result = self.app.test_cli_runner().invoke(args=["worker", "--burst"])
        assert result.exit_code == 0, result.output

    def inbox(self, number) -> list[str]:
        response = requests.get(f"{self.sim_url}/api/messages", params={"phone": number}, timeout=5)
        return [m["message"] for m in response.json()]

    def text_from(self, number, text, at_id=None):
        body = {"from": number, "text": text}
        if at_id:
            body["id"] = at_id
        response = requests.post(f"{self.sim_url}/api/inbound", json=body, timeout=5)
        assert response.status_code == 200, response.text

    def flush(self):
        """Wait for the simulator's delivery reports, then apply them from the buffer."""
        requests.post(f"{self.sim_url}/api/flush", timeout=10)
        self.work()

    def tip(self) -> Tip:
        with self.ext.session_scope() as session:
            return session.scalars(select(Tip).order_by(Tip.id.desc())).first()

    def sms(self) -> list[OutboundSms]:
        with self.ext.session_scope() as session:
            return list(session.scalars(select(OutboundSms).order_by(OutboundSms.id)))

    def report(self, urgent=False):
        self.phone.dial()
        danger = "1" if urgent else "2"
        return self.phone.send(
            "1", "1", "kak", "Lurambi market", "Men locked in a yard", danger, "2", "1", "1"
        )


def test_a_ussd_tip_reaches_the_county_focal_point_without_the_reporter_number(stack):
    stack.report()
    stack.work()
    tip = stack.tip()
    [notice] = stack.inbox(FOCAL_A)
    assert display(tip.reference) in notice and "Forced labour, Kakamega: Lurambi market" in notice
    assert "Call-back number: available" in notice and f"ACK {tip.reference}" in notice
    for secret in (TEST_PHONE, TEST_PHONE[1:], TEST_PHONE[4:]):
        assert secret not in notice
    assert stack.inbox(FOCAL_B) == [] and stack.inbox(NATIONAL) == []  # priority 2 and national wait
    assert tip.status == "routed" and tip.escalate_at is not None
    stack.flush()
    [row] = stack.sms()
    assert (row.state, row.at_status_code, row.delivery_status) == ("sent", 101, "Success")
    assert row.at_message_id.startswith("ATXid_")


def test_an_urgent_tip_goes_to_every_county_focal_point_at_once(stack):
    assert stack.report(urgent=True).startswith("END In danger?")
    stack.work()
    assert len(stack.inbox(FOCAL_A)) == 1 and len(stack.inbox(FOCAL_B)) == 1
    assert stack.inbox(FOCAL_A)[0].startswith("URGENT Hotline report")


def test_routing_twice_sends_nothing_twice(stack):
    stack.report()
    stack.work()
    with stack.app.app_context():
        route_tip(stack.tip().id)
    stack.work()
    assert len(stack.inbox(FOCAL_A)) == 1 and len(stack.sms()) == 1


def test_ack_from_a_focal_point_shows_in_the_reporters_follow_up(stack):
    stack.report(urgent=True)
    stack.work()
    tip = stack.tip()
    stack.text_from(FOCAL_A, f"ack {display(tip.reference)}")
    stack.work()
    assert stack.inbox(FOCAL_A)[-1] == f"Report {display(tip.reference)} acknowledged. Thank you."
    assert "acknowledged by Officer A (Kakamega CCO)" in stack.inbox(FOCAL_B)[-1]
    tip = stack.tip()
    assert tip.status == "acknowledged" and tip.escalate_at is None
    stack.phone.dial()
    screen = stack.phone.send("3", tip.reference)
    assert f"Report {display(tip.reference)}: taken up by the county team." in screen
    stack.text_from(FOCAL_B, f"POKEA {tip.reference}")
    stack.work()
    assert stack.inbox(FOCAL_B)[-1] == f"Ripoti {display(tip.reference)} tayari imethibitishwa na Officer A."


def test_ack_from_an_unknown_phone_or_for_an_unknown_reference_changes_nothing(stack):
    stack.report()
    stack.work()
    tip = stack.tip()
    stack.text_from("+254799999999", f"ACK {tip.reference}")
    stack.text_from(FOCAL_A, "ACK 123456789")
    stack.work()
    assert "not registered as a focal point" in stack.inbox("+254799999999")[-1]
    assert (
        stack.inbox(FOCAL_A)[-1] == "We could not find reference 123456789. Check it and try again."
    )
    assert stack.tip().status == "routed"


OTHER_COUNTY, DEACTIVATED, UNKNOWN = "+254700000147", "+254700000103", "+254799999999"


@pytest.mark.parametrize("keyword, language", [("ACK", "en"), ("POKEA", "sw")])
@pytest.mark.parametrize(
    "sender, answer",
    [
        (OTHER_COUNTY, "ack_not_yours"),  # a Nairobi focal point, never sent this Kakamega tip
        (DEACTIVATED, "ack_not_registered"),  # Kakamega's own, but no longer active
        (UNKNOWN, "ack_not_registered"),
    ],
)
def test_ack_from_another_countys_a_deactivated_or_an_unknown_number_changes_nothing(
    stack, keyword, language, sender, answer
):
    with stack.ext.session_scope() as session:
        session.add_all(
            [
                FocalPoint(county_code=47, name="Officer N", organisation="Nairobi CCO", phone=OTHER_COUNTY),
                FocalPoint(
                    county_code=37, name="Officer C", organisation="Kakamega", phone=DEACTIVATED, active=False
                ),
            ]
        )
    stack.report()
    stack.work()
    tip = stack.tip()
    before = [(row.id, row.purpose, row.focal_point_id) for row in stack.sms()]
    stack.text_from(sender, f"{keyword} {tip.reference}")
    stack.work()
    # The sender learns only what it typed; nobody else hears of it.
    assert stack.inbox(sender) == [REPLIES[language][answer].format(ref=display(tip.reference))]
    assert len(stack.inbox(FOCAL_A)) == 1 and stack.inbox(FOCAL_B) == [] and stack.inbox(NATIONAL) == []
    after = stack.tip()
    assert (after.status, after.acknowledged_at, after.acknowledged_by_id) == ("routed", None, None)
    assert (after.escalation_level, after.escalate_at) == (0, tip.escalate_at)
    assert [(row.id, row.purpose, row.focal_point_id) for row in stack.sms()][: len(before)] == before
    assert [row.purpose for row in stack.sms()][len(before) :] == ["reply"]
    # Its deadline still moves it on to the next focal point.
    with stack.app.app_context():
        assert sweep_escalations(now=utcnow() + timedelta(hours=25)) == 1
    stack.work()
    assert stack.inbox(FOCAL_B)[0].startswith("ESCALATED: not acknowledged in 1440 min.")
    assert stack.tip().escalation_level == 1


def test_escalation_to_the_next_focal_point_then_the_secretariat(stack):
    stack.report()
    stack.work()
    with stack.app.app_context():
        assert sweep_escalations(now=utcnow() + timedelta(hours=1)) == 0  # not due yet
        assert sweep_escalations(now=utcnow() + timedelta(hours=25)) == 1
    stack.work()
    assert stack.inbox(FOCAL_B)[0].startswith("ESCALATED: not acknowledged in 1440 min.")
    assert stack.inbox(NATIONAL) == []
    with stack.app.app_context():
        assert sweep_escalations(now=utcnow() + timedelta(hours=50)) == 1
    stack.work()
    assert len(stack.inbox(NATIONAL)) == 1
    with stack.app.app_context():
        assert sweep_escalations(now=utcnow() + timedelta(days=30)) == 0  # the secretariat is last
    assert stack.tip().escalation_level == 2


def test_a_tip_without_county_goes_to_the_secretariat(stack):
    stack.phone.dial()
    stack.phone.send("1", "9", "99", "Unknown", "99", "3", "3", "2", "1")
    stack.work()
    assert len(stack.inbox(NATIONAL)) == 1 and stack.inbox(FOCAL_A) == []


def test_africas_talking_down_or_refusing_delays_but_loses_nothing(stack):
    from workers.sms import send_sms

    requests.post(f"{stack.sim_url}/api/faults", json={"status": 500, "count": 1}, timeout=5)
    stack.report()
    stack.work()  # AT answers 500: the SMS waits for its next attempt, 10 s later
    [row] = stack.sms()
    assert (row.state, row.attempts) == ("pending", 1)
    with stack.app.app_context():
        assert send_sms(row.id) == "pending"  # not due yet: nothing is sent
    requests.post(f"{stack.sim_url}/api/faults", json={"status": 401, "count": 1}, timeout=5)  # bad key
    with time_machine.travel(utcnow() + timedelta(seconds=11), tick=True), stack.app.app_context():
        assert send_sms(row.id) == "pending"
    assert stack.inbox(FOCAL_A) == [] and stack.sms()[0].state == "pending"
    with time_machine.travel(utcnow() + timedelta(seconds=60), tick=True), stack.app.app_context():
        assert send_sms(row.id) == "sent"
        assert send_sms(row.id) == "sent"  # a second run sends nothing
    assert len(stack.inbox(FOCAL_A)) == 1
    assert stack.sms()[0].attempts == 3


def test_a_recipient_that_cannot_receive_is_recorded(stack):
    requests.put(f"{stack.sim_url}/api/failures", json={FOCAL_A: 406}, timeout=5)
    stack.report()
    stack.work()
    [row] = stack.sms()
    assert (row.state, row.at_status_code, row.failure_reason) == ("failed", 406, "UserInBlacklist")


def test_delivery_reports_duplicate_out_of_order_and_unknown(stack):
    stack.report()
    stack.work()
    stack.flush()  # the simulator's own report: Success
    client = stack.app.test_client()
    [row] = stack.sms()
    for status in ("Sent", "Failed", "Success", "Buffered"):  # late, contradicting, duplicate
        form = {
            "id": row.at_message_id,
            "status": status,
            "phoneNumber": FOCAL_A,
            "failureReason": "DeliveryFailure",
        }
        assert client.post("/sms/delivery", data=form).status_code == 200
    stack.work()
    [row] = stack.sms()
    assert (row.delivery_status, row.failure_reason) == ("Success", None)  # a final state is never undone
    assert client.post("/sms/delivery", data={"id": "ATXid_unknown", "status": "Success"}).status_code == 200
    stack.work()
    with stack.ext.session_scope() as session:  # kept for reconciliation
        kept = session.scalars(select(UnmatchedDeliveryReport.message_id)).all()
    assert kept == ["ATXid_unknown"]
    assert client.post("/sms/delivery", data={"id": "x", "status": "Maybe"}).status_code == 400
    assert client.post("/sms/delivery", data={"status": "Success"}).status_code == 400


def test_tip_by_sms_acts_once_and_replies_in_neutral_words(stack):
    stack.text_from(TEST_PHONE, "TIP girls kept in a house near Kisumu bus park", at_id="ATmsg-1")
    stack.text_from(TEST_PHONE, "TIP girls kept in a house near Kisumu bus park", at_id="ATmsg-1")
    stack.work()
    tip = stack.tip()
    assert (tip.channel, tip.county_code, tip.kind) == ("sms", None, "other")
    [reply] = stack.inbox(TEST_PHONE)
    assert (
        reply.startswith("Thank you, your message was received. Reference: ")
        and display(tip.reference) in reply
    )
    assert "traffick" not in reply.lower()
    assert len(stack.inbox(NATIONAL)) == 1  # national triage
    stack.text_from(TEST_PHONE, f"hali {tip.reference}")
    stack.text_from(TEST_PHONE, "hello there")
    stack.text_from(TEST_PHONE, "MSAADA")
    stack.work()
    status, unknown, *help_sw = stack.inbox(TEST_PHONE)[1:]
    assert status == f"Kumbukumbu {display(tip.reference)}: iko na timu ya kaunti."
    assert unknown.startswith("Sorry, we did not understand.")
    assert sorted(message.split()[0] for message in help_sw) == ["MSAADA", "Maneno"]  # two SMS


def test_follow_up_lookups_are_rate_limited(stack):
    stack.phone.dial()
    for _ in range(10):
        stack.phone.send("3", "111111111", "00")
    assert stack.phone.send("3", "111111111").startswith("CON Too many tries.")


def test_follow_up_information_is_stored_and_forwarded(stack):
    stack.report()
    stack.work()
    tip = stack.tip()
    stack.phone.dial()
    stack.phone.send("3", display(tip.reference), "1")
    end = stack.phone.send("They moved to Mumias today")
    assert end.startswith(f"END Thank you. Your information was added to report {display(tip.reference)}.")
    stack.work()
    assert stack.inbox(FOCAL_A)[-1].endswith("from the reporter: They moved to Mumias today")
    with stack.ext.session_scope() as session:
        [update] = session.scalars(select(TipUpdate)).all()
        assert update.text == "They moved to Mumias today"
        assert (update.author, update.state) == ("reporter", "forwarded")


def test_a_burst_worker_started_right_after_a_redis_outage_routes_the_tips_saved_during_it(
    stack, redis_server
):
    redis_server.stop()
    try:
        for _ in range(2):  # saved, but their routing jobs cannot be queued
            assert stack.report().startswith("END Report sent. Reference: ")
        stack.text_from("+254711000002", "TIP Girls kept in a bar in Kakamega")
    finally:
        redis_server.start()
    stack.work()  # at once: no 30 s wait, no clock moved
    assert len(stack.inbox(FOCAL_A)) == 2
    assert len(stack.inbox(NATIONAL)) == 1  # the SMS tip goes to the secretariat
    with stack.ext.session_scope() as session:
        assert session.scalar(select(Tip.id).where(Tip.routing_started_at.is_(None))) is None


def test_information_added_from_another_number_is_held_until_the_case_team_accepts_it(stack):
    stack.report()
    stack.work()
    ref = display(stack.tip().reference)
    other = Phone(stack.app.test_client(), number="+254722333444")
    other.dial()
    other.send("3", ref, "1")
    end = other.send("They moved to Mumias today")
    assert end.startswith(f"END Thank you. Your information on report {ref} was received.")
    stack.work()
    assert not any("Mumias" in message for message in stack.inbox(FOCAL_A))
    assert [sms for sms in stack.sms() if sms.purpose == "update"] == []
    with stack.ext.session_scope() as session:
        [update] = session.scalars(select(TipUpdate)).all()
        assert (update.author, update.state, update.text) == ("caller", "held", "They moved to Mumias today")

    cli = stack.app.test_cli_runner()
    listed = cli.invoke(args=["tips", "held-updates"])
    assert f"report {ref}" in listed.output and "They moved to Mumias today" in listed.output
    accepted = cli.invoke(args=["tips", "accept-update", str(update.id)])
    assert accepted.exit_code == 0, accepted.output
    stack.work()
    assert stack.inbox(FOCAL_A)[-1].endswith(
        "from another phone, accepted by the case team: They moved to Mumias today"
    )
    assert cli.invoke(args=["tips", "accept-update", str(update.id)]).exit_code == 0  # again: nothing new
    stack.work()
    assert len([sms for sms in stack.sms() if sms.purpose == "update"]) == 1
    assert cli.invoke(args=["tips", "held-updates"]).output.strip() == "no held updates"


def test_rejected_information_from_another_number_is_never_forwarded(stack):
    stack.report()
    stack.work()
    other = Phone(stack.app.test_client(), number="+254722333444")
    other.dial()
    other.send("3", stack.tip().reference, "1", "Ignore the first report")
    with stack.ext.session_scope() as session:
        [update] = session.scalars(select(TipUpdate)).all()
    cli = stack.app.test_cli_runner()
    assert cli.invoke(args=["tips", "reject-update", str(update.id)]).exit_code == 0
    refused = cli.invoke(args=["tips", "accept-update", str(update.id)])
    assert refused.exit_code != 0 and f"no held or accepted update {update.id}" in refused.output
    stack.work()
    assert [sms for sms in stack.sms() if sms.purpose == "update"] == []
    with stack.ext.session_scope() as session:
        assert session.get(TipUpdate, update.id).state == "rejected"


# The use cases of hotline.routing called directly: the real database, no servers.

NAIROBI_FP = "+254700000147"
KAKAMEGA_REFERENCE = "482177305417"
CONSOLE = "https://desk.ctip.go.ke/console"


@pytest.fixture
def kakamega(ext):
    """A Kakamega tip, Kakamega's focal points A (priority 1, Kakamega CCO) and B (priority 2, no
    organisation), a Nairobi focal point and the secretariat; yields (session, tip, focal points by
    name) inside one transaction."""
    with ext.session_scope() as session:
        people = {
            "A": FocalPoint(
                county_code=37, name="Officer A", organisation="Kakamega CCO", phone=FOCAL_A, priority=1
            ),
            "B": FocalPoint(county_code=37, name="Officer B", organisation="", phone=FOCAL_B, priority=2),
            "N": FocalPoint(county_code=47, name="Officer N", organisation="Nairobi CCO", phone=NAIROBI_FP),
            "S": FocalPoint(county_code=0, name="Secretariat", organisation="CTiP", phone=NATIONAL),
        }
        tip = Tip(
            reference=KAKAMEGA_REFERENCE,
            channel="ussd",
            source_id="test:kakamega",
            kind="forced_labour",
            county_code=37,
            place="Lurambi market",
            reporter_key="0" * 64,
        )
        session.add_all([tip, *people.values()])
        session.flush()
        yield session, tip, people


def _sms(session, tip) -> list[OutboundSms]:
    """The tip's SMS rows, oldest first."""
    query = select(OutboundSms).where(OutboundSms.tip_id == tip.id).order_by(OutboundSms.id)
    return list(session.scalars(query))


def _rows(session, tip) -> list[tuple[str, str, int, str]]:
    return [(row.dedupe_key, row.purpose, row.focal_point_id, row.message) for row in _sms(session, tip)]


def test_notified_are_the_focal_points_sent_the_tip_or_its_escalation_and_no_one_else(ext, kakamega):
    session, tip, fp = kakamega
    other = Tip(reference="000000000000", channel="ussd", kind="other", county_code=37, reporter_key="1" * 64)
    session.add(other)
    session.flush()
    now = utcnow()
    routing.notify_stage(session, ext.config, tip, 0, now)  # A: purpose tip
    routing.notify_stage(session, ext.config, tip, 1, now)  # B: purpose escalation
    routing.tell(session, tip, [fp["S"]], "test:{tip}:ack:{fp}", "ack", "acknowledged")  # not a notice
    routing.tell(session, tip, [fp["S"]], "test:{tip}:update:{fp}", "update", "an update")  # nor this
    routing.tell(session, other, [fp["N"]], "test:{tip}:notify:{fp}", "tip", "another tip")  # another tip
    assert sorted(f.id for f in routing.notified(session, tip.id)) == [fp["A"].id, fp["B"].id]
    assert [f.id for f in routing.notified(session, other.id)] == [fp["N"].id]


@pytest.mark.parametrize(
    "who, notified_before_moving, allowed",
    [
        ("A", False, True),  # the tip's county
        ("S", False, True),  # the national secretariat: any tip, sent or not
        ("N", False, False),  # another county, never sent the tip
        ("B", True, True),  # sent the tip by escalation, then moved to Nairobi
    ],
)
def test_who_may_acknowledge_the_county_the_secretariat_and_whoever_was_sent_the_tip(
    ext, kakamega, who, notified_before_moving, allowed
):
    session, tip, fp = kakamega
    routing.notify_stage(session, ext.config, tip, 0, utcnow())  # A
    if notified_before_moving:
        routing.notify_stage(session, ext.config, tip, 1, utcnow())  # B, by escalation
        fp[who].county_code = 47
        session.flush()
    assert routing.may_acknowledge(session, tip, fp[who]) is allowed


def test_acknowledging_tells_every_other_notified_focal_point_once_with_the_organisation_in_brackets(
    ext, kakamega
):
    session, tip, fp = kakamega
    now = utcnow()
    routing.notify_stage(session, ext.config, tip, 0, now)
    routing.notify_stage(session, ext.config, tip, 1, now)
    routing.notify_stage(session, ext.config, tip, 2, now)
    before = len(_rows(session, tip))
    ids = routing.acknowledge(session, tip, fp["A"], now)
    told = _rows(session, tip)[before:]
    message = (
        "Report 482-177-305-417 was acknowledged by Officer A (Kakamega CCO). No action needed from you."
    )
    assert told == [
        (f"tip:{tip.id}:acked:{fp['B'].id}", "ack", fp["B"].id, message),
        (f"tip:{tip.id}:acked:{fp['S'].id}", "ack", fp["S"].id, message),
    ]
    assert len(ids) == 2
    assert (tip.status, tip.acknowledged_at, tip.acknowledged_by_id, tip.escalate_at) == (
        "acknowledged", now, fp["A"].id, None
    )
    assert routing.acknowledge(session, tip, fp["A"], now) == ids  # decided once: the same two SMS
    assert _rows(session, tip)[before:] == told


def test_an_acknowledger_without_organisation_is_named_without_brackets(ext, kakamega):
    session, tip, fp = kakamega
    now = utcnow()
    routing.notify_stage(session, ext.config, tip, 0, now)
    routing.notify_stage(session, ext.config, tip, 1, now)
    routing.acknowledge(session, tip, fp["B"], now)
    [(_, purpose, to, message)] = _rows(session, tip)[2:]
    assert (purpose, to) == ("ack", fp["A"].id)
    assert message == "Report 482-177-305-417 was acknowledged by Officer B. No action needed from you."


def test_an_update_on_an_acknowledged_tip_goes_only_to_whoever_acknowledged_it(ext, kakamega):
    session, tip, fp = kakamega
    now = utcnow()
    routing.notify_stage(session, ext.config, tip, 0, now)
    routing.notify_stage(session, ext.config, tip, 1, now)
    routing.acknowledge(session, tip, fp["B"], now)
    session.refresh(tip)
    update = TipUpdate(tip_id=tip.id, author="reporter", text="They moved to Mumias today")
    session.add(update)
    session.flush()
    routing.forward_update(session, tip, update)
    forwarded = [row for row in _rows(session, tip) if row[1] == "update"]
    assert forwarded == [
        (
            f"update:{update.id}:{fp['B'].id}",
            "update",
            fp["B"].id,
            "Update on report 482-177-305-417 from the reporter: They moved to Mumias today",
        )
    ]


def test_a_forwarded_update_is_cut_to_two_sms_parts(ext, kakamega):
    session, tip, fp = kakamega
    routing.notify_stage(session, ext.config, tip, 0, utcnow())
    update = TipUpdate(tip_id=tip.id, author="reporter", text="x" * 400)
    session.add(update)
    session.flush()
    routing.forward_update(session, tip, update)
    [(_, _, to, message)] = [row for row in _rows(session, tip) if row[1] == "update"]
    head = "Update on report 482-177-305-417 from the reporter: "
    assert to == fp["A"].id
    assert message == head + "x" * (306 - len(head))


# -- the focal point's notice, word for word ------------------------------------------------------------


def _tip(**fields) -> Tip:
    base = dict(reference=KAKAMEGA_REFERENCE, kind="other", county_code=None, place=None, description=None,
                urgent=False, danger="unsure", children="unsure", callback_contact=None)
    return Tip(**{**base, **fields})


def test_the_notice_of_a_tip_with_nothing_optional_says_so_in_plain_words():
    assert routing.notice(_tip(), CONSOLE) == (
        "Hotline report 482-177-305-417\n"
        "Other, county not given: -\n"
        "Danger now: unsure. Children: unsure. Call-back number: no.\n"
        "Reply ACK 482177305417\n"
        "https://desk.ctip.go.ke/console/t/482177305417"
    )


def test_the_notice_marks_urgent_tips_and_an_available_call_back_and_cuts_place_and_description():
    tip = _tip(kind="forced_labour", county_code=37, place="P" * 70, description="D" * 120, urgent=True,
               danger="yes", children="no", callback_contact="sealed")
    assert routing.notice(tip, CONSOLE) == (
        "URGENT Hotline report 482-177-305-417\n"
        f"Forced labour, Kakamega: {'P' * 60}\n"
        f"{'D' * 52}\n"  # what the two parts leave: the reply line and the address are never cut off
        "Danger now: yes. Children: no. Call-back number: available.\n"
        "Reply ACK 482177305417\n"
        "https://desk.ctip.go.ke/console/t/482177305417"
    )
    assert len(routing.notice(tip, CONSOLE)) == routing.NOTICE_LIMIT


def test_the_notice_gives_a_short_description_whole_and_at_most_110_characters_of_a_long_one():
    assert "\nMarket stall 5\n" in routing.notice(_tip(description="Market stall 5"), CONSOLE)
    assert f"\n{'D' * 110}\n" in routing.notice(_tip(description="D" * 200), CONSOLE)


def test_an_escalated_notice_keeps_the_danger_line_the_reply_line_and_the_address_and_shortens_the_rest():
    tip = _tip(kind="forced_labour", county_code=37, place="P" * 70, description="D" * 120, urgent=True,
               danger="yes", children="no", callback_contact="sealed")
    unreached = routing.notice(tip, CONSOLE, unreached=10)
    assert unreached == (
        "ESCALATED: the county team could not be reached by SMS in 10 min.\n"
        "URGENT Hotline report 482-177-305-417\n"
        f"Forced labour, Kakamega: {'P' * 47}\n"  # the place gets what is left; the description nothing
        "Danger now: yes. Children: no. Call-back number: available.\n"
        "Reply ACK 482177305417\n"
        "https://desk.ctip.go.ke/console/t/482177305417"
    )
    assert routing.notice(_tip(), CONSOLE, escalated_after=1440).startswith(
        "ESCALATED: not acknowledged in 1440 min.\nHotline report 482-177-305-417\n"
    )


@pytest.mark.parametrize("kind", TIP_KINDS)
@pytest.mark.parametrize("county_code", [37, 28, None])  # Kakamega, Elgeyo/Marakwet (the longest name), none
def test_with_the_longest_fields_the_notice_fits_two_gsm7_parts_and_ends_with_the_reply_and_the_address(
    kind, county_code
):
    tip = _tip(kind=kind, county_code=county_code, place="Ω€" * 50, description="[x] " * 80, urgent=True,
               danger="unsure", children="unsure", callback_contact="sealed")
    for notice in (routing.notice(tip, CONSOLE, unreached=1440), routing.notice(tip, CONSOLE)):
        assert is_gsm7(notice) and septets(notice) <= routing.NOTICE_LIMIT, notice
        assert notice.endswith(
            "\nDanger now: unsure. Children: unsure. Call-back number: available.\n"
            "Reply ACK 482177305417\nhttps://desk.ctip.go.ke/console/t/482177305417"
        )
        assert f"{text('en', 'kind.' + kind)}, {name_of(county_code) or 'county not given'}: Ω" in notice


def test_focal_points_come_by_priority_then_by_id_and_only_the_active_ones(ext):
    with ext.session_scope() as session:
        rows = [
            FocalPoint(county_code=37, name="second", phone="+254700000201", priority=2),
            FocalPoint(county_code=37, name="first", phone="+254700000202", priority=1),
            FocalPoint(county_code=37, name="gone", phone="+254700000203", priority=1, active=False),
            FocalPoint(county_code=37, name="third", phone="+254700000204", priority=2),
            FocalPoint(county_code=47, name="elsewhere", phone="+254700000205", priority=1),
        ]
        session.add_all(rows)
        session.flush()
        assert [fp.name for fp in routing.focal_points(session, 37)] == ["first", "second", "third"]


def test_focal_points_of_the_same_priority_are_notified_together_at_one_stage(ext):
    with ext.session_scope() as session:
        session.add_all([
            FocalPoint(county_code=37, name="first", phone="+254700000211", priority=1),
            FocalPoint(county_code=37, name="also first", phone="+254700000212", priority=1),
            FocalPoint(county_code=37, name="second", phone="+254700000213", priority=2),
            FocalPoint(county_code=0, name="secretariat", phone="+254700000214", priority=1),
        ])
        session.flush()
        tip = _tip(county_code=37)
        assert [[fp.name for fp in stage] for stage in routing.stages(session, tip)] == [
            ["first", "also first"], ["second"], ["secretariat"]
        ]
        tip.urgent = True  # urgent: the whole county at once, then the secretariat
        assert [[fp.name for fp in stage] for stage in routing.stages(session, tip)] == [
            ["first", "also first", "second"], ["secretariat"]
        ]


# -- stages, deadlines and what is due ------------------------------------------------------------------

ESCALATION = {"urgent": 15, "forced_labour": 120, "default": 1440}


def test_each_stage_notifies_its_focal_points_and_sets_the_deadline_of_the_tips_kind(ext, kakamega):
    session, tip, fp = kakamega
    config = ext.config.replace(escalation_minutes=ESCALATION)
    now = utcnow()
    first = routing.notify_stage(session, config, tip, 0, now)
    assert (tip.escalation_level, tip.status, tip.escalate_at) == (0, "routed", now + timedelta(minutes=120))
    second = routing.notify_stage(session, config, tip, 1, now)
    assert (tip.escalation_level, tip.escalate_at) == (1, now + timedelta(minutes=120))
    last = routing.notify_stage(session, config, tip, 2, now)
    assert (tip.escalation_level, tip.escalate_at) == (2, None)  # the secretariat: nobody after it
    escalated = routing.notice(tip, config.console_url, escalated_after=120)
    assert _rows(session, tip) == [
        (f"tip:{tip.id}:notify:{fp['A'].id}", "tip", fp["A"].id, routing.notice(tip, config.console_url)),
        (f"tip:{tip.id}:notify:{fp['B'].id}", "escalation", fp["B"].id, escalated),
        (f"tip:{tip.id}:notify:{fp['S'].id}", "escalation", fp["S"].id, escalated),
    ]
    assert first + second + last == [row.id for row in _sms(session, tip)]
    assert routing.notify_stage(session, config, tip, 3, now) == []  # past the last stage
    assert tip.escalate_at is None


@pytest.mark.parametrize("kind, urgent, minutes", [
    ("forced_labour", False, 120), ("other", False, 1440), ("forced_labour", True, 15), ("other", True, 15),
])
def test_the_deadline_is_the_urgent_one_for_urgent_tips_else_the_kinds_else_the_default(
    ext, kakamega, kind, urgent, minutes
):
    session, tip, _ = kakamega
    tip.kind, tip.urgent = kind, urgent
    now = utcnow()
    routing.notify_stage(session, ext.config.replace(escalation_minutes=ESCALATION), tip, 0, now)
    assert tip.escalate_at == now + timedelta(minutes=minutes)


def test_an_acknowledged_tip_keeps_its_status_when_a_stage_is_notified(ext, kakamega):
    session, tip, _ = kakamega
    tip.status = "acknowledged"
    routing.notify_stage(session, ext.config, tip, 1, utcnow())
    assert tip.status == "acknowledged"


def test_an_unreached_county_escalates_to_the_next_stage_and_the_secretariat_at_once(ext, kakamega):
    session, tip, fp = kakamega
    routing.notify_stage(session, ext.config, tip, 1, utcnow(), unreached=10)
    warned = routing.notice(tip, ext.config.console_url, unreached=10)
    assert [(key, purpose, message) for key, purpose, _, message in _rows(session, tip)] == [
        (f"tip:{tip.id}:notify:{fp['B'].id}", "escalation", warned),
        (f"tip:{tip.id}:notify:{fp['S'].id}", "escalation", warned),
    ]
    secretariat = _sms(session, tip)[1].id
    # At the last stage the secretariat is both the stage and the one told at once: one SMS.
    assert routing.notify_stage(session, ext.config, tip, 2, utcnow(), unreached=10) == [secretariat]
    assert len(_rows(session, tip)) == 2


def _tips(session, count: int) -> list[Tip]:
    tips = [
        Tip(reference=f"{n:012d}", channel="ussd", kind="other", county_code=37, reporter_key=f"{n:064d}")
        for n in range(1, count + 1)
    ]
    session.add_all(tips)
    session.flush()
    return tips


def test_due_for_escalation_are_the_tips_whose_deadline_has_come_and_no_other(ext):
    now = utcnow()
    with ext.session_scope() as session:
        exactly_now, past, future, none = _tips(session, 4)
        past.escalate_at = now - timedelta(minutes=1)  # due first, listed second: by tip id
        exactly_now.escalate_at = now
        future.escalate_at = now + timedelta(seconds=1)
        none.escalate_at = None
        session.flush()
        assert routing.due_for_escalation(session, now) == [exactly_now.id, past.id]


def test_unreached_are_routed_unacknowledged_level_0_tips_whose_notice_nobody_took(ext, kakamega):
    session, _, fp = kakamega
    now = utcnow()
    since = now - timedelta(minutes=10)
    names = ["unreached", "recent", "accepted", "acknowledged", "escalated", "last stage", "sent update only"]
    tips = dict(zip(names, _tips(session, len(names)), strict=True))
    for tip in tips.values():
        tip.escalate_at, tip.escalation_level, tip.routing_started_at = now, 0, since
    tips["recent"].routing_started_at = since + timedelta(seconds=1)
    tips["sent update only"].routing_started_at = since - timedelta(minutes=1)  # listed by tip id
    tips["acknowledged"].acknowledged_at = now
    tips["escalated"].escalation_level = 1
    tips["last stage"].escalate_at = None
    for name, purpose, state in [("accepted", "tip", "sent"), ("unreached", "tip", "failed"),
                                 ("sent update only", "update", "sent")]:
        row = OutboundSms(dedupe_key=f"test:{name}", purpose=purpose, message="m", tip_id=tips[name].id,
                          focal_point_id=fp["A"].id, state=state, created_at=now, next_attempt_at=now)
        session.add(row)
    session.flush()
    expected = [tips["unreached"].id, tips["sent update only"].id]
    assert routing.unreached_tips(session, since) == expected
    assert routing.unreached_tips(session, since, tip_id=tips["sent update only"].id) == expected[1:]
    assert routing.unreached_tips(session, since, tip_id=tips["recent"].id) == []


def test_a_sweep_takes_at_most_1000_due_or_unreached_tips_the_oldest_ids_first(ext):
    now = utcnow()
    since = now - timedelta(minutes=10)
    with ext.session_scope() as session:
        tips = _tips(session, 1001)
        for tip in tips:
            tip.escalate_at, tip.routing_started_at = now, since
        session.flush()
        first_1000 = [tip.id for tip in tips[:1000]]
        assert routing.due_for_escalation(session, now) == first_1000
        assert routing.unreached_tips(session, since) == first_1000
