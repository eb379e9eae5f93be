"""Campaigns end to end: CLI -> audience -> dispatcher -> the AT simulator over HTTP -> delivery reports.

The hotline and the simulator each run on a real port; batches go through the official SDK.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import time_machine
from sqlalchemy import func, select

import simulator
from campaigns import dispatch, service
from campaigns.hours import NAIROBI
from campaigns.queueing import lock_key, queued_key
from hotline.contacts.service import new_salt
from hotline.core.models import Campaign, CampaignBatch, CampaignRecipient, Contact
from hotline.core.privacy import engagement_key
from hotline.core.time import as_utc
from tests.conftest import AT_TIMEOUT, LOST_ANSWER_DELAY, listening_socket, serve, stop
from workers.campaigns import dispatch_campaign
from workers.sweeper import sweep_campaigns

IN_HOURS = datetime(2026, 11, 23, 10, 0, tzinfo=NAIROBI)  # a Monday, 10:00 EAT


def phone(n: int) -> str:
    return f"+2547105{n:05d}"


class CampaignStack:
    def __init__(self, app, sim_url):
        self.app, self.sim_url = app, sim_url
        self.ext = app.extensions["hotline"]
        self.cli = app.test_cli_runner()

    def add_contacts(self, count: int, language=lambda n: "en" if n % 3 else "sw", county=lambda n: 47):
        key = self.ext.config.phone_hash_key
        with self.ext.session_scope() as session:
            for n in range(count):
                session.add(
                    Contact(
                        phone=phone(n),
                        engagement_key=engagement_key(phone(n), key),
                        county_code=county(n),
                        language=language(n),
                        consent_source="test",
                        consented_at=datetime(2026, 1, 1, tzinfo=UTC),
                        salt=new_salt(),
                    )
                )

    def flask(self, *args, ok=True):
        result = self.cli.invoke(args=list(args))
        if ok:
            assert result.exit_code == 0, result.output
        return result

    def create(self, name="nov", *extra):
        return self.flask(
            "campaigns",
            "create",
            name,
            "--message",
            "en=Jobs abroad? Check the agency first: dial *384*1234#",
            "--message",
            "sw=Kazi ng'ambo? Hakiki wakala kwanza: piga *384*1234#",
            "--hours",
            "00:00-24:00",
            "--rate",
            "1000",
            *extra,
        )

    def safety_tips(self, name: str, rate: int = 1000):
        """Create an English campaign to everyone: no holdout, any hour (sent by `send`)."""
        self.flask(
            "campaigns",
            "create",
            name,
            "--message",
            "en=Safety tips",
            "--holdout",
            "0",
            "--hours",
            "00:00-24:00",
            "--rate",
            str(rate),
        )

    def dispatch(self, name="nov") -> str:
        with self.ext.session_scope() as session:
            campaign_id = service.find(session, name).id
        with self.app.app_context():
            return dispatch_campaign(campaign_id)

    def work(self):
        result = self.cli.invoke(args=["worker", "--burst"])
        assert result.exit_code == 0, result.output

    def flush(self):
        """Let the simulator post its delivery reports, then apply them from the buffer."""
        requests.post(f"{self.sim_url}/api/flush", timeout=20)
        self.work()

    def messages(self) -> list[dict]:
        return requests.get(f"{self.sim_url}/api/messages", timeout=5).json()

    def recipients(self, name="nov") -> list[CampaignRecipient]:
        with self.ext.session_scope() as session:
            campaign_id = service.find(session, name).id
            return list(
                session.scalars(
                    select(CampaignRecipient)
                    .where(CampaignRecipient.campaign_id == campaign_id)
                    .order_by(CampaignRecipient.id)
                )
            )

    def campaign(self, name="nov") -> Campaign:
        with self.ext.session_scope() as session:
            return service.find(session, name)

    def fault(self, **fault):
        requests.post(f"{self.sim_url}/api/faults", json=fault, timeout=5).raise_for_status()

    def fail_numbers(self, table: dict):
        requests.put(f"{self.sim_url}/api/failures", json=table, timeout=5).raise_for_status()


def _stack(make_app, app_config: dict | None = None, **sim_config):
    web, sim_socket = listening_socket(), listening_socket()
    sim_url = f"http://127.0.0.1:{sim_socket.getsockname()[1]}"
    sim = simulator.create_app(
        {
            "HOTLINE_URL": f"http://127.0.0.1:{web.getsockname()[1]}",
            "SIM_DELIVERY_DELAY": "0.02",
            "SIM_SEED": "5",
            "SIM_DUPLICATE_RATE": "0.3",
            "SIM_REORDER_RATE": "0.3",
            "SIM_INTERMEDIATE_RATE": "0.3",
            **sim_config,
        }
    )
    app = make_app(
        at_api_url=sim_url, at_timeout=AT_TIMEOUT, campaign_reconcile_seconds=2, **(app_config or {})
    )
    servers = [serve(sim, sim_socket), serve(app, web)]
    yield CampaignStack(app, sim_url)
    requests.delete(f"{sim_url}/api/faults", timeout=5)
    for server, thread in servers:
        stop(server, thread)


@pytest.fixture
def stack(make_app):
    yield from _stack(make_app)


@pytest.fixture
def silent_stack(make_app):
    """AT takes every message but its delivery reports never come (as when they are lost)."""
    # One request at a time: the lost first answer (the 1 s read timeout) must end the slice before
    # the next batch falls due (1 s later too), so exactly one batch is lost.
    yield from _stack(make_app, {"campaign_concurrency": 1}, SIM_DELIVERY_REPORTS="0")


def test_a_two_language_campaign_with_a_holdout_reaches_each_treated_contact_once(stack):
    stack.add_contacts(60)
    stack.create("nov", "--holdout", "25%", "--seed", "42")
    estimate = stack.flask("campaigns", "estimate", "nov").output
    assert "audience              60" in estimate and "KES" in estimate
    result = stack.flask("campaigns", "send", "nov", "--yes", "--no-wait")
    assert "60 contacts" in result.output
    stack.work()
    stack.flush()
    rows = stack.recipients()
    held = [r for r in rows if r.held_out]
    treated = [r for r in rows if not r.held_out]
    assert len(held) == 12  # 25% of 60, as the seeded salts and seed 42 draw it
    assert all(r.state == "held_out" and r.variant is None for r in held)
    assert all(r.state == "sent" and r.at_message_id and r.cost is not None for r in treated)
    # Duplicate, intermediate and late reports changed nothing:
    assert [r.delivery_status for r in treated] == ["Success"] * len(treated)
    inbox: dict[str, list[str]] = {}
    for message in stack.messages():
        inbox.setdefault(message["to"], []).append(message["message"])
    with stack.ext.session_scope() as session:
        phones = dict(session.execute(select(Contact.id, Contact.phone)).all())
        languages = dict(session.execute(select(Contact.id, Contact.language)).all())
    assert sorted(inbox) == sorted(phones[r.contact_id] for r in treated)  # held-out contacts got nothing
    for r in treated:
        [text] = inbox[phones[r.contact_id]]
        assert text.startswith("Jobs abroad" if languages[r.contact_id] == "en" else "Kazi ng'ambo")
    assert stack.campaign().state == "done"
    assert "done" in stack.flask("campaigns", "status", "nov").output


def test_the_holdout_draw_is_reproducible_and_recorded_per_contact(stack):
    stack.add_contacts(200)
    stack.create(
        "one",
        "--holdout",
        "0.3",
        "--seed",
        "7",
        "--message",
        "B/en=Other text",
        "--message",
        "B/sw=Maandishi mengine",
    )
    stack.create(
        "two",
        "--holdout",
        "0.3",
        "--seed",
        "7",
        "--message",
        "B/en=Other text",
        "--message",
        "B/sw=Maandishi mengine",
    )
    stack.flask("campaigns", "send", "one", "--yes", "--no-wait")
    stack.flask("campaigns", "send", "two", "--yes", "--no-wait")
    one = [(r.contact_id, r.held_out, r.variant) for r in stack.recipients("one")]
    two = [(r.contact_id, r.held_out, r.variant) for r in stack.recipients("two")]
    assert one == two
    held = sum(held_out for _, held_out, _ in one)
    variants = [variant for _, held_out, variant in one if not held_out]
    # 30% of 200 held out, the rest split between A and B, as the seeded salts and seed 7 draw it:
    assert (held, variants.count("A"), variants.count("B")) == (58, 77, 65)


def test_sending_waits_outside_the_allowed_hours_and_resumes_inside(stack):
    stack.add_contacts(5)
    evening = datetime(2026, 11, 23, 19, 30, tzinfo=NAIROBI)
    with time_machine.travel(evening, tick=True):
        stack.flask("campaigns", "create", "eve", "--message", "en=Safety tips", "--message", "sw=Vidokezo")
        stack.flask("campaigns", "send", "eve", "--yes", "--no-wait")
        assert stack.dispatch("eve") == "waiting"
        assert stack.messages() == []
        due = as_utc(stack.campaign("eve").next_send_at).astimezone(NAIROBI)
        assert (due.day, due.hour, due.minute) == (24, 8, 0)
    with time_machine.travel(datetime(2026, 11, 24, 7, 59, tzinfo=NAIROBI), tick=True):
        assert stack.dispatch("eve") == "waiting" and stack.messages() == []
    with time_machine.travel(datetime(2026, 11, 24, 8, 0, 5, tzinfo=NAIROBI), tick=True):
        assert stack.dispatch("eve") == "done"
    assert len(stack.messages()) == 5 - sum(r.held_out for r in stack.recipients("eve"))


def test_an_opt_out_in_the_middle_of_a_campaign_is_never_sent_the_rest(stack, make_app):
    stack.add_contacts(30, language=lambda n: "en")
    stack.safety_tips("mid", rate=10)
    stack.flask("campaigns", "send", "mid", "--yes", "--no-wait")
    fast = make_app(at_api_url=stack.sim_url, at_timeout=AT_TIMEOUT, campaign_slice_seconds=0)
    with fast.app_context():
        campaign_id = stack.campaign("mid").id
        assert dispatch_campaign(campaign_id) == "continuing"  # one batch of 10, then it yields
    last = stack.recipients("mid")[-1]
    with stack.ext.session_scope() as session:
        leaving = session.get(Contact, last.contact_id).phone
    client = stack.app.test_client()
    form = {
        "from": leaving,
        "to": "21606",
        "text": "STOP",
        "id": "ATmsg-stop-1",
        "date": "2026-11-23 10:00:00",
    }
    assert client.post("/sms/inbound", data=form).status_code == 200
    stack.work()
    rows = {r.contact_id: r for r in stack.recipients("mid")}
    assert rows[last.contact_id].state == "suppressed"
    assert sum(r.state == "sent" for r in rows.values()) == 29
    to_leaver = [m["message"] for m in stack.messages() if m["to"] == leaving]
    assert "Safety tips" not in to_leaver  # only the STOP confirmation reached them


def test_an_at_outage_backs_off_then_sends_and_per_recipient_refusals_are_acted_on(stack):
    stack.add_contacts(6, language=lambda n: "en")
    stack.fail_numbers({phone(1): 406, phone(2): 403, phone(3): 405})
    stack.safety_tips("out")
    stack.flask("campaigns", "send", "out", "--yes", "--no-wait")
    stack.fault(status=500, count=1)
    assert stack.dispatch("out") == "backing off"
    campaign = stack.campaign("out")
    assert campaign.last_error == "AT refused the request: Internal Server Error"
    assert {r.state for r in stack.recipients("out")} == {"retry"} and stack.messages() == []
    with time_machine.travel(as_utc(campaign.next_send_at) + timedelta(seconds=1), tick=True):
        result = stack.dispatch("out")
    rows = {r.contact_id: r for r in stack.recipients("out")}
    by_phone = {}
    with stack.ext.session_scope() as session:
        contacts = {c.id: c for c in session.scalars(select(Contact))}
        for contact_id, row in rows.items():
            by_phone[contacts[contact_id].phone] = (row.state, row.at_status_code, row.failure_reason)
        assert contacts_by(contacts, phone(1)).opt_out_source == "blacklist"
        assert contacts_by(contacts, phone(2)).unreachable_reason == "InvalidPhoneNumber"
    assert by_phone[phone(1)] == ("failed", 406, "UserInBlacklist")
    assert by_phone[phone(2)] == ("failed", 403, "InvalidPhoneNumber")
    assert by_phone[phone(3)] == ("retry", 405, "InsufficientBalance")  # passes: tried again later
    assert [by_phone[phone(n)][0] for n in (0, 4, 5)] == ["sent"] * 3
    # The slice tried phone 3 again at once, AT took none of that batch: it backs off again.
    assert result == "backing off"
    assert stack.campaign("out").last_error == f"AT took none of batch {batches(stack)[-1].id}"
    assert [b.state for b in batches(stack)] == ["failed", "sent", "sent"]


def wait_for(condition, timeout=60.0):
    """Poll until `condition` holds (the bound is for a broken test, not a speed limit)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def contacts_by(contacts: dict, number: str) -> Contact:
    return next(c for c in contacts.values() if c.phone == number)


def test_a_lost_answer_is_reconciled_from_delivery_reports_not_sent_twice(stack):
    stack.add_contacts(8, language=lambda n: "en")
    stack.safety_tips("lost")
    stack.flask("campaigns", "send", "lost", "--yes", "--no-wait")
    stack.fault(delay=LOST_ANSWER_DELAY)  # longer than the read timeout: AT takes it, we never hear
    assert stack.dispatch("lost") == "backing off"
    [batch] = batches(stack)
    assert batch.state == "uncertain"
    wait_for(lambda: len(stack.messages()) == 8)  # the simulator took the stalled request after all
    stack.flush()  # its reports, for ids we never recorded: kept as unmatched
    with time_machine.travel(as_utc(stack.campaign("lost").next_send_at), tick=True):
        assert stack.dispatch("lost") == "done"
    assert len(stack.messages()) == 8  # nobody got it twice
    rows = stack.recipients("lost")
    assert all(r.state == "sent" and r.at_message_id for r in rows)
    stack.flush()
    assert all(r.delivery_status == "Success" for r in stack.recipients("lost"))


def test_a_batch_a_dead_worker_left_with_no_delivery_report_waits_for_a_decision_then_resends(stack):
    stack.add_contacts(4, language=lambda n: "en")
    stack.safety_tips("gone")
    stack.flask("campaigns", "send", "gone", "--yes", "--no-wait")
    with stack.ext.session_scope() as session:  # a dispatcher died after claiming, before sending
        campaign = service.find(session, "gone")
        dispatch.claim(session, campaign, 1000, 0, datetime.now(UTC))
    assert stack.dispatch("gone") == "reconciling"
    with time_machine.travel(as_utc(stack.campaign("gone").next_send_at), tick=True):  # past the window
        assert stack.dispatch("gone") == "held"  # it cannot know AT never took them: nobody sent blindly
    assert stack.messages() == []
    stack.flask("campaigns", "resend-uncertain", "gone", "--yes")
    assert stack.dispatch("gone") == "done"
    assert len(stack.messages()) == 4
    assert [b.state for b in batches(stack)] == ["resent", "sent"]


def test_batches_go_out_side_by_side_while_at_is_slow_and_a_lost_answer_among_them_is_not_sent_twice(
    stack, make_app
):
    stack.add_contacts(12, language=lambda n: "en")
    stack.safety_tips("wide", rate=4)  # a batch of 4 falls due every second
    patient = CampaignStack(
        make_app(at_api_url=stack.sim_url, at_timeout=(1, 3), campaign_reconcile_seconds=2), stack.sim_url
    )
    stack.flask("campaigns", "send", "wide", "--yes", "--no-wait")
    stack.fault(delay=5)  # the first request's answer is lost (3 s read timeout); AT takes it at 5 s
    assert patient.dispatch("wide") == "backing off"
    # The second and third batches left, and were answered, while the first request was still out.
    assert [b.state for b in batches(stack)] == ["uncertain", "sent", "sent"]
    wait_for(lambda: len(stack.messages()) == 12)
    stack.flush()  # the first batch's reports, for ids we never recorded: kept as unmatched
    with time_machine.travel(as_utc(stack.campaign("wide").next_send_at), tick=True):
        assert patient.dispatch("wide") == "done"
    counts = per_number(stack.messages())
    assert len(counts) == 12 and set(counts.values()) == {1}  # everyone, once
    assert all(r.state == "sent" and r.at_message_id for r in stack.recipients("wide"))
    assert batches(stack)[0].error == "reconciled from delivery reports: 4 sent"


def batches(stack) -> list[CampaignBatch]:
    with stack.ext.session_scope() as session:
        return list(session.scalars(select(CampaignBatch).order_by(CampaignBatch.id)))


def test_pause_resume_and_cancel_take_effect_within_a_batch(stack, make_app):
    stack.add_contacts(30, language=lambda n: "en")
    stack.safety_tips("pr", rate=10)
    stack.flask("campaigns", "send", "pr", "--yes", "--no-wait")
    fast = make_app(at_api_url=stack.sim_url, at_timeout=AT_TIMEOUT, campaign_slice_seconds=0)
    campaign_id = stack.campaign("pr").id
    with fast.app_context():
        assert dispatch_campaign(campaign_id) == "continuing"
        stack.flask("campaigns", "pause", "pr")
        assert dispatch_campaign(campaign_id) == "paused"
        assert len(stack.messages()) == 10
        stack.flask("campaigns", "resume", "pr")
        assert dispatch_campaign(campaign_id) == "continuing"
        assert "10 recipients will not be sent it" in stack.flask("campaigns", "cancel", "pr").output
        assert dispatch_campaign(campaign_id) == "cancelled"
    assert len(stack.messages()) == 20
    states = [r.state for r in stack.recipients("pr")]
    assert states.count("sent") == 20 and states.count("cancelled") == 10
    assert stack.flask("campaigns", "resume", "pr", ok=False).exit_code != 0


def test_resuming_a_paused_campaign_keeps_its_start_time(stack):
    stack.add_contacts(5)
    with time_machine.travel(IN_HOURS, tick=True):
        stack.create("later", "--start", "2026-12-01T09:00")
        stack.flask("campaigns", "send", "later", "--yes", "--no-wait")
        stack.flask("campaigns", "pause", "later")
        resumed = stack.flask("campaigns", "resume", "later").output
        assert resumed == "Resumed 'later'. Sending starts 2026-12-01 09:00 EAT: its start time or the " \
            "allowed sending hours.\n"
        due = as_utc(stack.campaign("later").next_send_at)
        assert due == datetime(2026, 12, 1, 9, 0, tzinfo=NAIROBI)
        assert stack.dispatch("later") == "waiting" and stack.messages() == []
        stack.create("now")
        stack.flask("campaigns", "send", "now", "--yes", "--no-wait")
        stack.flask("campaigns", "pause", "now")
        assert stack.flask("campaigns", "resume", "now").output == "Resumed 'now'.\n"


def test_campaign_commands_refuse_bad_input_with_clear_errors(stack):
    bad = [
        (["create", "x", "--message", "fr=Bonjour"], "unknown language"),
        (["create", "x", "--message", "en=Hi", "--message", "B/sw=Habari"], "variant"),
        (["create", "x", "--message", "en=Hi", "--hours", "8-18"], "08:00-18:00"),
        (["create", "x", "--message", "en=Hi", "--county", "99"], "unknown county"),
        (["create", "x", "--message", "en=Hi", "--holdout", "1.5"], "holdout"),
        (["create", "x", "--message", "Hi"], "LANG=TEXT"),
        (["estimate", "nope"], "no campaign named"),
        (["send", "nope", "--yes"], "no campaign named"),
    ]
    for args, words in bad:
        result = stack.flask("campaigns", *args, ok=False)
        assert result.exit_code != 0 and words in result.output, (args, result.output)
    stack.flask("campaigns", "create", "empty", "--message", "en=Hi", "--county", "1")
    result = stack.flask("campaigns", "send", "empty", "--yes", ok=False)
    assert "nobody in its audience" in result.output
    with stack.ext.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(CampaignRecipient)) == 0


def test_a_worker_killed_in_the_middle_of_a_batch_makes_nobody_get_it_twice_or_skipped(stack, config):
    """A real `flask worker` process is killed (SIGKILL) while its batch request is at AT."""
    stack.add_contacts(30, language=lambda n: "en")
    stack.safety_tips("kill", rate=10)
    stack.fault(delay=60)  # the first batch's request stalls at AT until the faults are cleared
    stack.flask("campaigns", "send", "kill", "--yes", "--no-wait")
    env = {
        **os.environ,
        "HOTLINE_ENV": "testing",
        "DATABASE_URL": config.database_url,
        "REDIS_URL": config.redis_url,
        "AT_API_URL": stack.sim_url,
        "SECRET_KEY": "test",
        "CAMPAIGN_CONCURRENCY": "1",  # the stalled first batch is the only one out when it dies
    }
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "flask"), "worker"],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # The simulator took the delay fault as the request came in: the request is at AT, and the worker
        # (which claimed the batch before sending it) waits for an answer. Nothing more to wait for.
        wait_for(lambda: requests.get(f"{stack.sim_url}/api/faults", timeout=5).json() == [])
    finally:
        worker.kill()
        worker.wait(timeout=60)
    requests.delete(f"{stack.sim_url}/api/faults", timeout=5)  # AT takes the stalled batch
    [batch] = batches(stack)
    assert batch.state == "claimed"  # it died between claiming and recording
    wait_for(lambda: len(stack.messages()) == 10)  # AT took the batch the worker never heard about
    stack.ext.redis.delete(lock_key(stack.campaign("kill").id))  # the dead worker's lock running out
    # AT's delivery reports reach the buffer (their applying job queued) before the sweeper finds
    # that nobody works the campaign and queues a slice: the reports are kept as unmatched, then the
    # slice reconciles the batch from them and goes on.
    requests.post(f"{stack.sim_url}/api/flush", timeout=20)
    with stack.app.app_context():
        assert sweep_campaigns() == 1
    stack.work()
    counts: dict[str, int] = {}
    for message in stack.messages():
        counts[message["to"]] = counts.get(message["to"], 0) + 1
    assert len(counts) == 30 and set(counts.values()) == {1}  # everyone, once
    rows = stack.recipients("kill")
    assert all(r.state == "sent" and r.at_message_id for r in rows)
    assert stack.campaign("kill").state == "done"
    assert "reconciled" in batches(stack)[0].error


def test_estimate_counts_segments_and_cost_before_anything_is_sent(stack):
    stack.add_contacts(30)  # 20 en, 10 sw
    long_en = "Safety tip:" + " a genuine employer never keeps your passport." * 4  # 195 GSM-7 chars
    stack.flask(
        "campaigns",
        "create",
        "est",
        "--message",
        f"en={long_en}",
        "--message",
        "sw=Kidokezo 🙏 usiache pasipoti yako",  # an emoji: UCS-2, 70 a segment
        "--holdout",
        "0",
        "--start",
        "2026-12-01T09:00",
    )
    output = stack.flask("campaigns", "estimate", "est").output
    assert "variant A en          20  x 2 segments (195 characters, GSM-7)" in output
    assert "variant A sw          10  x 1 segment (32 characters, UCS-2)" in output
    assert "segments              50" in output and "KES 40.00" in output
    assert stack.messages() == [] and stack.recipients("est") == []  # an estimate sends nothing
    with time_machine.travel(datetime(2026, 11, 30, 12, 0, tzinfo=NAIROBI), tick=True):
        result = stack.flask("campaigns", "send", "est", "--yes")
        assert "Sending starts 2026-12-01 09:00 EAT" in result.output
        assert stack.dispatch("est") == "waiting" and stack.messages() == []


def per_number(messages: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for message in messages:
        counts[message["to"]] = counts.get(message["to"], 0) + 1
    return counts


def lose_the_first_answer(stack, name="held", count=12, rate=4):
    """AT takes the first batch but its answer is lost and no delivery report comes; the rest is sent."""
    stack.add_contacts(count, language=lambda n: "en")
    stack.safety_tips(name, rate=rate)  # batches of `rate` recipients
    stack.flask("campaigns", "send", name, "--yes", "--no-wait")
    stack.fault(delay=LOST_ANSWER_DELAY)  # longer than the read timeout: the client gives up, AT takes it
    assert stack.dispatch(name) == "backing off"
    wait_for(lambda: len(stack.messages()) == rate)
    # After the backoff the reconcile window (2 s here) is over: the others go out, the lost batch waits.
    with time_machine.travel(as_utc(stack.campaign(name).next_send_at), tick=True):
        assert stack.dispatch(name) == "held"


def uncertain_phones(stack, name="held") -> set[str]:
    with stack.ext.session_scope() as session:
        phones = dict(session.execute(select(Contact.id, Contact.phone)).all())
    return {phones[r.contact_id] for r in stack.recipients(name) if r.state == "uncertain"}


def test_a_lost_answer_with_no_delivery_report_holds_its_recipients_as_uncertain_not_sent_twice(
    silent_stack,
):
    stack = silent_stack
    lose_the_first_answer(stack)
    counts = per_number(stack.messages())
    assert len(counts) == 12 and set(counts.values()) == {1}  # everyone once: the lost batch not again
    states = [r.state for r in stack.recipients("held")]
    assert states.count("uncertain") == 4 and states.count("sent") == 8
    assert [b.state for b in batches(stack)] == ["held", "sent", "sent"]
    assert stack.campaign("held").state == "sending"  # not done: the campaign manager decides
    status = stack.flask("campaigns", "status", "held").output
    assert "4 recipients uncertain: resend or skip" in status
    assert "flask campaigns resend-uncertain 'held'" in status
    report = stack.flask("campaigns", "report", "held").output
    assert re.search(r"uncertain \(answer lost, no report\): resend or skip\s+4\b", report), report
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=5), tick=True):
        assert stack.dispatch("held") == "held"  # later slices (the sweeper's) never send them either
    assert len(stack.messages()) == 12


def test_resending_uncertain_recipients_sends_each_of_them_exactly_once_more(silent_stack):
    stack = silent_stack
    lose_the_first_answer(stack)
    lost = uncertain_phones(stack)
    declined = stack.cli.invoke(args=["campaigns", "resend-uncertain", "held"], input="n\n")
    assert declined.exit_code != 0 and "4 recipients of 'held' may already have" in declined.output
    assert uncertain_phones(stack) == lost
    result = stack.cli.invoke(args=["campaigns", "resend-uncertain", "held"], input="y\n")
    assert result.exit_code == 0 and "Queued 4 uncertain recipients" in result.output, result.output
    assert stack.dispatch("held") == "done"
    counts = per_number(stack.messages())
    assert {number for number, n in counts.items() if n == 2} == lost
    assert len(counts) == 12 and sum(counts.values()) == 16
    assert all(r.state == "sent" and r.at_message_id for r in stack.recipients("held"))
    again = stack.flask("campaigns", "resend-uncertain", "held", "--yes", ok=False)
    assert again.exit_code != 0 and "has no uncertain recipients" in again.output
    assert len(stack.messages()) == 16


def test_skipping_uncertain_recipients_sends_them_nothing_and_completes_the_campaign(silent_stack):
    stack = silent_stack
    lose_the_first_answer(stack)
    assert "Skipped 4 uncertain recipients" in stack.flask("campaigns", "skip-uncertain", "held").output
    assert stack.campaign("held").state == "done"
    states = [r.state for r in stack.recipients("held")]
    assert states.count("skipped") == 4 and states.count("sent") == 8
    status = stack.flask("campaigns", "status", "held").output
    assert "skipped 4" in status and "uncertain" not in status
    assert stack.dispatch("held") == "done" and len(stack.messages()) == 12
    for args, words in [
        (["skip-uncertain", "held"], "has no uncertain recipients"),
        (["resend-uncertain", "held", "--yes"], "has no uncertain recipients"),
        (["skip-uncertain", "nope"], "no campaign named"),
        (["resend-uncertain", "999", "--yes"], "no campaign named"),
    ]:
        result = stack.flask("campaigns", *args, ok=False)
        assert result.exit_code != 0 and words in result.output, (args, result.output)
    for command in ("resend-uncertain", "skip-uncertain"):
        assert "uncertain recipients" in stack.flask("campaigns", command, "--help").output
    assert len(stack.messages()) == 12


def test_a_late_delivery_report_settles_an_uncertain_recipient(silent_stack):
    stack = silent_stack
    lose_the_first_answer(stack)
    late = sorted(uncertain_phones(stack))[0]
    [message] = [m for m in stack.messages() if m["to"] == late]
    form = {"id": message["id"], "status": "Success", "phoneNumber": late, "networkCode": "63902"}
    assert stack.app.test_client().post("/sms/delivery", data=form).status_code == 200
    stack.work()  # the applying job keeps it as unmatched, then settles the recipient from it
    assert late not in uncertain_phones(stack)
    with stack.ext.session_scope() as session:
        contact_id = session.scalar(select(Contact.id).where(Contact.phone == late))
    [row] = [r for r in stack.recipients("held") if r.contact_id == contact_id]
    assert (row.state, row.at_message_id, row.delivery_status) == ("sent", message["id"], "Success")
    assert "3 recipients uncertain: resend or skip" in stack.flask("campaigns", "status", "held").output
    assert "Queued 3" in stack.flask("campaigns", "resend-uncertain", "held", "--yes").output
    assert stack.dispatch("held") == "done"
    assert per_number(stack.messages())[late] == 1  # its report said it had it: not sent again


def test_a_lost_answer_is_reconciled_even_when_the_campaign_is_cancelled_meanwhile(stack):
    stack.add_contacts(8, language=lambda n: "en")
    stack.safety_tips("stop")
    stack.flask("campaigns", "send", "stop", "--yes", "--no-wait")
    stack.fault(delay=LOST_ANSWER_DELAY)
    assert stack.dispatch("stop") == "backing off"
    assert "8 recipients will not be sent it" in stack.flask("campaigns", "cancel", "stop").output
    wait_for(lambda: len(stack.messages()) == 8)  # AT took the batch after all
    stack.flush()  # its reports, kept as unmatched
    assert stack.dispatch("stop") == "cancelled"
    rows = stack.recipients("stop")
    assert all(r.state == "sent" and r.at_message_id for r in rows)  # not shown as cancelled
    stack.flush()
    assert all(r.delivery_status == "Success" for r in stack.recipients("stop"))
    assert len(stack.messages()) == 8


def test_a_dead_workers_batch_in_a_cancelled_campaign_is_swept_and_held_as_uncertain(stack):
    stack.add_contacts(4, language=lambda n: "en")
    stack.safety_tips("dead")
    stack.flask("campaigns", "send", "dead", "--yes", "--no-wait")
    with stack.ext.session_scope() as session:  # a dispatcher died after claiming, before sending
        claimed_at = datetime.now(UTC)
        dispatch.claim(session, service.find(session, "dead"), 1000, 0, claimed_at)
    stack.flask("campaigns", "cancel", "dead")
    stack.ext.redis.delete(queued_key(stack.campaign("dead").id))  # the slice `send` queued was lost
    with time_machine.travel(claimed_at + timedelta(seconds=3), tick=True):  # past the window
        with stack.app.app_context():
            assert sweep_campaigns() == 1  # nobody settles its batch otherwise
        stack.work()
    assert [r.state for r in stack.recipients("dead")] == ["uncertain"] * 4
    refused = stack.flask("campaigns", "resend-uncertain", "dead", "--yes", ok=False)
    assert "is cancelled" in refused.output
    assert "Skipped 4" in stack.flask("campaigns", "skip-uncertain", "dead").output
    assert stack.messages() == [] and stack.campaign("dead").state == "cancelled"


def test_batches_refused_by_at_are_tried_again_after_5_s_doubling_to_at_most_5_min(stack):
    """AT refuses every batch: each slice comes at its exact time, by RQ's scheduler, or by the sweep
    when Redis lost the scheduled slice."""
    stack.add_contacts(3, language=lambda n: "en")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    with time_machine.travel(start, tick=False):
        stack.safety_tips("down")
        stack.flask("campaigns", "send", "down", "--yes", "--no-wait")
    stack.fault(status=500, count=100_000)

    def work_frozen(moment):
        with time_machine.travel(moment, tick=False):
            stack.work()

    def claimed() -> list[datetime]:
        return [as_utc(batch.claimed_at) for batch in batches(stack)]

    work_frozen(start)
    for gap in (5, 10, 20, 40, 80, 160, 300, 300):
        due = claimed()[-1] + timedelta(seconds=gap)
        tried = len(claimed())
        if gap == 40:
            stack.ext.redis.flushdb()  # Redis restarted empty: only the campaign row knows when
        work_frozen(due - timedelta(seconds=1))
        assert len(claimed()) == tried  # not a second early
        work_frozen(due)
        assert len(claimed()) == tried + 1
    offsets = (0, 5, 15, 35, 75, 155, 315, 615, 915)
    assert [at - start for at in claimed()] == [timedelta(seconds=s) for s in offsets]
    assert {b.state for b in batches(stack)} == {"failed"} and stack.messages() == []
    assert {r.state for r in stack.recipients("down")} == {"retry"}
    requests.delete(f"{stack.sim_url}/api/faults", timeout=5)  # AT is back: the next try, 5 min on, sends
    work_frozen(claimed()[-1] + timedelta(seconds=300))
    assert stack.campaign("down").state == "done"
    assert sorted(m["to"] for m in stack.messages()) == [phone(n) for n in range(3)]
