"""Service SMS under AT outages and lost answers, through the AT simulator over HTTP.

The clock moves with time_machine; `work` runs RQ's real burst worker, which sweeps first and then
runs the jobs due at that (travelled) time.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
import requests
import time_machine
from sqlalchemy import select

from hotline import outbound
from hotline.models import OutboundSms, utcnow
from tests import test_routing
from tests.test_routing import FOCAL_A, FOCAL_B, NATIONAL
from workers.sweeper import sweep_all

stack = test_routing.stack  # the hotline and the AT simulator on real ports


def fault(stack, **fault):
    response = requests.post(f"{stack.sim_url}/api/faults", json=fault, timeout=5)
    assert response.status_code == 201, response.text


def clear_faults(stack):
    requests.delete(f"{stack.sim_url}/api/faults", timeout=5)


def at_messages(stack) -> list[dict]:
    return requests.get(f"{stack.sim_url}/api/messages", timeout=5).json()


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def work_at(stack, moment):
    with time_machine.travel(moment, tick=True):
        stack.work()


def by_phone(stack) -> dict[str, list[OutboundSms]]:
    found: dict[str, list[OutboundSms]] = {}
    with stack.ext.session_scope() as session:
        for row in session.scalars(select(OutboundSms).order_by(OutboundSms.id)):
            found.setdefault(row.focal_point.phone, []).append(row)
            session.expunge(row)
    return found


def test_a_tip_notice_is_sent_exactly_once_when_at_returns_after_a_30_minute_outage(stack):
    start = utcnow().replace(microsecond=0)
    fault(stack, status=503, count=100_000)  # AT down: every call answers 503
    with time_machine.travel(start, tick=False):
        stack.report()
    work_frozen(stack, start)
    [row] = stack.sms()
    assert (row.state, row.attempts) == ("pending", 1)
    for minute in range(1, 31):  # longer than RQ's old retry budget (10+30+60+300+900 s)
        work_frozen(stack, start + timedelta(minutes=minute, seconds=1))
    first = first_notice(stack)
    assert all(row.state == "pending" for row in stack.sms())
    # Backoff capped at 5 minutes: tried at 0:00, 1:01, 2:01, 3:01, 5:01, then every 5 minutes to
    # the end of the outage, never given up.
    assert first.attempts == 10
    assert outbound.as_utc(first.attempt_started_at) - start == timedelta(minutes=30, seconds=1)
    clear_faults(stack)  # AT is back
    work_frozen(stack, start + timedelta(minutes=36))
    assert all(row.state == "sent" for row in stack.sms())
    assert len(stack.inbox(FOCAL_A)) == 1
    # Unaccepted for 10 minutes, the tip also went to the next focal point and the secretariat.
    assert len(stack.inbox(FOCAL_B)) == 1 and len(stack.inbox(NATIONAL)) == 1
    work_frozen(stack, start + timedelta(minutes=50))
    assert len(at_messages(stack)) == 3


def test_an_sms_still_unsent_after_the_alarm_age_is_logged_at_error_once_and_shown_by_healthz(
    stack, caplog
):
    start = utcnow()
    fault(stack, status=500, count=100_000)
    stack.report()
    stack.work()
    health = stack.app.test_client()
    with time_machine.travel(start + timedelta(minutes=29), tick=True):
        assert health.get("/healthz").json["status"] == "ok"
        with stack.app.app_context(), caplog.at_level(logging.ERROR):
            sweep_all()
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    with time_machine.travel(start + timedelta(minutes=31), tick=True):
        with stack.app.app_context(), caplog.at_level(logging.ERROR):
            sweep_all()
            sweep_all()  # once per SMS, not every sweep
        answer = health.get("/healthz")
    alarms = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    [first] = by_phone(stack)[FOCAL_A]
    assert alarms == [alarms[0]]
    assert f"service SMS {first.id} (tip, tip {first.tip_id}) still pending" in alarms[0]
    assert "last error: AT refused the request" in alarms[0]
    assert answer.status_code == 200 and answer.json["status"] == "alarm"
    assert answer.json["sms_overdue"] == 1
    clear_faults(stack)
    work_at(stack, start + timedelta(minutes=37))
    with time_machine.travel(start + timedelta(minutes=37), tick=True):
        answer = health.get("/healthz")
    assert (answer.json["status"], answer.json["sms_overdue"]) == ("ok", 0)


def test_a_first_notice_unaccepted_for_10_minutes_escalates_to_the_next_focal_point_and_the_secretariat_once(
    stack,
):
    start = utcnow()
    requests.put(f"{stack.sim_url}/api/failures", json={FOCAL_A: 407}, timeout=5)  # CouldNotRoute
    stack.report()
    stack.work()
    assert stack.inbox(FOCAL_A) == [] and stack.sms()[0].state == "pending"
    work_at(stack, start + timedelta(minutes=9, seconds=50))
    assert stack.inbox(FOCAL_B) == [] and stack.inbox(NATIONAL) == []
    work_at(stack, start + timedelta(minutes=10, seconds=1))
    [to_b], [to_national] = stack.inbox(FOCAL_B), stack.inbox(NATIONAL)
    assert to_b.startswith("ESCALATED: the county team could not be reached by SMS in 10 min.")
    assert to_national == to_b
    assert stack.tip().escalation_level == 1
    for minutes in (11, 20, 60):
        work_at(stack, start + timedelta(minutes=minutes))
    assert len(stack.inbox(FOCAL_B)) == 1 and len(stack.inbox(NATIONAL)) == 1
    # The normal deadline later moves it on to the secretariat, who already has it: nothing twice.
    work_at(stack, start + timedelta(hours=26))
    assert len(stack.inbox(NATIONAL)) == 1 and stack.tip().escalation_level == 2


def test_a_tip_accepted_by_at_in_time_does_not_escalate_early(stack):
    start = utcnow()
    stack.report()
    stack.work()
    work_at(stack, start + timedelta(minutes=11))
    assert len(stack.inbox(FOCAL_A)) == 1
    assert stack.inbox(FOCAL_B) == [] and stack.inbox(NATIONAL) == []


def test_answers_lost_to_a_delay_are_settled_from_delivery_reports_not_sent_twice(stack):
    """Two urgent tips, two focal points each: AT takes all four SMS but every answer times out."""
    start = utcnow()
    fault(stack, delay=1.5, count=4)  # longer than the stack's 1 s read timeout
    stack.report(urgent=True)
    stack.report(urgent=True)
    stack.work()
    wait_for(lambda: len(at_messages(stack)) == 4)  # the stalled requests were taken after all
    stack.flush()  # their delivery reports, for ids we never heard of: kept with the number's key
    work_at(stack, start + timedelta(seconds=75))
    assert len(at_messages(stack)) == 4 and len(stack.inbox(FOCAL_A)) == 2
    rows = stack.sms()
    assert all(row.state == "sent" and row.at_message_id for row in rows)
    assert len({row.at_message_id for row in rows}) == 4
    assert all(row.delivery_status == "Success" for row in rows)
    work_at(stack, start + timedelta(minutes=14))  # before the urgent deadline sends it to the secretariat
    assert len(at_messages(stack)) == 4  # one SMS per tip and focal point, never a second
    assert len(stack.inbox(FOCAL_A)) == 2 and len(stack.inbox(FOCAL_B)) == 2


@pytest.mark.parametrize("urgent, window", [(True, 120), (False, 900)])
def test_a_lost_answer_with_no_delivery_report_is_sent_again_once_after_the_window(stack, urgent, window):
    start = utcnow()
    fault(stack, delay=1.5, status=500, count=1)  # the answer is lost and AT took nothing
    stack.report(urgent=urgent)
    stack.work()
    work_at(stack, start + timedelta(seconds=window - 15))
    assert stack.inbox(FOCAL_A) == []  # not sent again while its delivery report may still come
    assert stack.sms()[0].state == "uncertain"
    work_at(stack, start + timedelta(seconds=window + 40))
    assert len(stack.inbox(FOCAL_A)) == 1 and stack.sms()[0].state == "sent"
    work_at(stack, start + timedelta(seconds=window + 3600))
    assert len(stack.inbox(FOCAL_A)) == 1


def test_a_worker_dying_mid_send_leaves_the_sms_maybe_sent_then_settles_it(stack):
    start = utcnow()
    requests.post(f"{stack.sim_url}/api/faults", json={"status": 503, "count": 1}, timeout=5)
    stack.report()
    stack.work()  # the first attempt fails: pending, due again in 10 s
    [row] = stack.sms()
    with time_machine.travel(start + timedelta(seconds=15), tick=True), stack.ext.session_scope() as session:
        claimed = outbound.begin_attempt(session, stack.ext.config, row.id, utcnow())
    assert claimed.number == 2  # the worker claimed attempt 2, then died before AT answered
    work_at(stack, start + timedelta(seconds=30))
    assert stack.sms()[0].state == "sending"  # it might still be waiting for AT
    work_at(stack, start + timedelta(minutes=2))
    assert stack.sms()[0].state == "uncertain"  # maybe sent: never simply pending again
    work_at(stack, start + timedelta(minutes=10))
    assert stack.inbox(FOCAL_A) == []  # waits for delivery reports (CAMPAIGN_RECONCILE_SECONDS)
    work_at(stack, start + timedelta(minutes=17))
    assert len(stack.inbox(FOCAL_A)) == 1 and stack.sms()[0].state == "sent"


def test_a_due_sms_goes_out_by_the_sweep_when_no_scheduler_queues_its_job(stack):
    start = utcnow()
    for queue in ("tips", "default", "campaigns"):  # a scheduler that died still holds the locks
        stack.ext.redis.set(f"rq:scheduler-lock:{queue}", "a-dead-worker", ex=3600)
    fault(stack, status=503, count=1)
    stack.report()
    stack.work()  # refused: its next attempt is scheduled in RQ, which nobody will queue
    assert stack.sms()[0].state == "pending"
    work_at(stack, start + timedelta(minutes=2))
    assert len(stack.inbox(FOCAL_A)) == 1 and stack.sms()[0].state == "sent"


def work_frozen(stack, moment):
    """Run the burst worker (sweep, scheduler, jobs) with the clock stopped at `moment`."""
    with time_machine.travel(moment, tick=False):
        stack.work()


def first_notice(stack) -> OutboundSms:
    return by_phone(stack)[FOCAL_A][0]


def test_a_refused_sms_is_tried_again_after_10_s_30_s_1_min_2_min_then_every_5_min(stack):
    """AT refuses every call: each attempt comes at its exact time, by RQ's scheduler, or by the sweep
    when Redis lost the scheduled job."""
    fault(stack, status=503, count=100_000)
    start = utcnow().replace(microsecond=0) + timedelta(seconds=1)
    with time_machine.travel(start, tick=False):
        stack.report()
    work_frozen(stack, start)
    tried = [outbound.as_utc(first_notice(stack).attempt_started_at)]
    for gap in (10, 30, 60, 120, 300, 300, 300):
        due = tried[-1] + timedelta(seconds=gap)
        if gap == 60:
            stack.ext.redis.flushdb()  # Redis restarted empty: only the row knows when
        work_frozen(stack, due - timedelta(seconds=1))
        assert first_notice(stack).attempts == len(tried)  # not a second early
        work_frozen(stack, due)
        row = first_notice(stack)
        assert (row.state, row.attempts) == ("pending", len(tried) + 1)
        tried.append(outbound.as_utc(row.attempt_started_at))
    offsets = (0, 10, 40, 100, 220, 520, 820, 1120)
    assert [at - start for at in tried] == [timedelta(seconds=s) for s in offsets]
    assert stack.inbox(FOCAL_A) == []
    clear_faults(stack)  # AT is back: the next attempt, 5 minutes on, is sent
    work_frozen(stack, tried[-1] + timedelta(seconds=300))
    row = first_notice(stack)
    assert (row.state, row.attempts) == ("sent", 9) and len(stack.inbox(FOCAL_A)) == 1
