"""Service SMS under AT outages and lost answers, through the AT simulator over HTTP.

The clock moves with time_machine; `work` runs RQ's real burst worker, which sweeps first and then
runs the jobs due at that (travelled) time.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import requests
import time_machine
from rq.job import Job
from sqlalchemy import delete, insert, select, text, update

from hotline.africastalking.gateway import RecipientResult
from hotline.core.models import OutboundSms, UnmatchedDeliveryReport, utcnow
from hotline.core.privacy import encrypt_contact
from hotline.core.time import as_utc
from hotline.messaging import delivery_reports, outbound
from tests import test_routing
from tests.conftest import LOST_ANSWER_DELAY
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


def wait_for(condition, timeout=60.0):
    """Poll until `condition` holds (the bound is for a broken test, not a speed limit)."""
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
    assert as_utc(first.attempt_started_at) - start == timedelta(minutes=30, seconds=1)
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
    start = utcnow().replace(microsecond=0)
    requests.put(f"{stack.sim_url}/api/failures", json={FOCAL_A: 407}, timeout=5)  # CouldNotRoute
    with time_machine.travel(start, tick=False):  # the 10 minutes count from here, however slow the machine
        stack.report()
    work_frozen(stack, start)
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
    fault(stack, delay=LOST_ANSWER_DELAY, count=4)  # longer than the stack's read timeout
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
    fault(stack, delay=LOST_ANSWER_DELAY, status=500, count=1)  # the answer is lost and AT took nothing
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
    tried = [as_utc(first_notice(stack).attempt_started_at)]
    for gap in (10, 30, 60, 120, 300, 300, 300):
        due = tried[-1] + timedelta(seconds=gap)
        if gap == 60:
            stack.ext.redis.flushdb()  # Redis restarted empty: only the row knows when
        work_frozen(stack, due - timedelta(seconds=1))
        assert first_notice(stack).attempts == len(tried)  # not a second early
        work_frozen(stack, due)
        row = first_notice(stack)
        assert (row.state, row.attempts) == ("pending", len(tried) + 1)
        tried.append(as_utc(row.attempt_started_at))
    offsets = (0, 10, 40, 100, 220, 520, 820, 1120)
    assert [at - start for at in tried] == [timedelta(seconds=s) for s in offsets]
    assert stack.inbox(FOCAL_A) == []
    clear_faults(stack)  # AT is back: the next attempt, 5 minutes on, is sent
    work_frozen(stack, tried[-1] + timedelta(seconds=300))
    row = first_notice(stack)
    assert (row.state, row.attempts) == ("sent", 9) and len(stack.inbox(FOCAL_A)) == 1


# -- the functions, one at a time, with the real database and Redis ---------------------------------

T0 = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # never the wall clock: a stamp from utcnow() shows
REPORTER, SOMEONE_ELSE = "+254722000123", "+254722000456"


def sms(ext, session, key: str = "reply:1", **fields) -> OutboundSms:
    """A service SMS to the reporter's number, with these fields set."""
    token = encrypt_contact(REPORTER, ext.config.contact_key)
    row = outbound.prepare(session, key, "reply", "Asante", to_token=token)
    for name, value in fields.items():
        setattr(row, name, value)
    session.flush()
    return row


def kept_report(ext, session, message_id: str, phone: str, at: datetime) -> None:
    """A delivery report no SMS of ours had the id of, kept for reconciliation."""
    key = delivery_reports.phone_key(phone, ext.config.phone_hash_key)
    kept = UnmatchedDeliveryReport(message_id=message_id, status="Success", phone_key=key, received_at=at)
    session.add(kept)
    session.flush()


@contextmanager
def unordered_reversed(session):
    """On SQLite, make a select without ORDER BY return its rows backwards (they come in id order anyway)."""
    sqlite = session.bind.dialect.name == "sqlite"
    if sqlite:
        session.execute(text("PRAGMA reverse_unordered_selects = ON"))
    try:
        yield
    finally:
        if sqlite:
            session.execute(text("PRAGMA reverse_unordered_selects = OFF"))


def test_backoff_is_10_s_30_s_1_min_2_min_then_5_min_for_ever():
    waits = [outbound.backoff(attempts).total_seconds() for attempts in range(8)]
    assert waits == [10, 10, 30, 60, 120, 300, 300, 300]


def test_prepare_makes_one_row_per_dedupe_key_due_at_once(ext):
    token = encrypt_contact(REPORTER, ext.config.contact_key)
    with time_machine.travel(T0, tick=False), ext.session_scope() as session:
        first = outbound.prepare(session, "reply:1", "reply", "Asante", to_token=token)
        again = outbound.prepare(session, "reply:1", "reply", "Something else", to_token=token)
        other = outbound.prepare(session, "reply:2", "ack", "Thanks", to_token=token)
        assert again is first and other.id != first.id
    with ext.session_scope() as session:
        rows = [
            (r.dedupe_key, r.purpose, r.message, r.to_token, r.state, r.attempts,
             as_utc(r.created_at), as_utc(r.next_attempt_at))
            for r in session.scalars(select(OutboundSms).order_by(OutboundSms.id))
        ]
    assert rows == [
        ("reply:1", "reply", "Asante", token, "pending", 0, T0, T0),
        ("reply:2", "ack", "Thanks", token, "pending", 0, T0, T0),
    ]


def test_begin_attempt_claims_a_pending_sms_due_exactly_now_for_its_recipient(ext):
    with ext.session_scope() as session:
        row_id = sms(ext, session, next_attempt_at=T0, attempts=2).id
    with ext.session_scope() as session:
        attempt = outbound.begin_attempt(session, ext.config, row_id, T0)
    assert attempt == outbound.Attempt("sending", 3, "Asante", REPORTER)
    with ext.session_scope() as session:
        row = session.get(OutboundSms, row_id)
        assert (row.state, row.attempts, as_utc(row.attempt_started_at)) == ("sending", 3, T0)


def test_begin_attempt_claims_a_pending_sms_with_no_due_time(ext):
    with ext.session_scope() as session:
        row_id = sms(ext, session, next_attempt_at=None).id
        assert outbound.begin_attempt(session, ext.config, row_id, T0) == outbound.Attempt(
            "sending", 1, "Asante", REPORTER
        )


def test_begin_attempt_leaves_an_sms_not_yet_due_or_not_pending_alone(ext):
    with ext.session_scope() as session:
        early = sms(ext, session, "reply:1", next_attempt_at=T0 + timedelta(seconds=1)).id
        done = sms(ext, session, "reply:2", next_attempt_at=None, state="sent").id
        sending = sms(ext, session, "reply:3", next_attempt_at=T0, state="sending", attempts=1).id
    with ext.session_scope() as session:
        found = [outbound.begin_attempt(session, ext.config, i, T0) for i in (early, done, sending, 424242)]
    assert found == [outbound.Attempt("pending"), outbound.Attempt("sent"), outbound.Attempt("sending"),
                     outbound.Attempt("missing")]
    with ext.session_scope() as session:
        rows = [(r.state, r.attempts) for r in session.scalars(select(OutboundSms).order_by(OutboundSms.id))]
    assert rows == [("pending", 0), ("sent", 0), ("sending", 1)]


def test_begin_attempt_fails_an_sms_with_nobody_to_send_to(ext):
    with ext.session_scope() as session:
        row_id = sms(ext, session, to_token=None, next_attempt_at=T0).id
        assert outbound.begin_attempt(session, ext.config, row_id, T0) == outbound.Attempt("failed")
    with ext.session_scope() as session:
        row = session.get(OutboundSms, row_id)
        assert (row.state, row.failure_reason, row.next_attempt_at, row.attempts) == (
            "failed", "NoRecipient", None, 0
        )


def test_begin_attempt_sends_nothing_when_another_job_claimed_the_sms_first(ext):
    with ext.session_scope() as session:
        row = sms(ext, session, next_attempt_at=T0)
        # Another job's claim, which this session's copy of the row has not seen.
        session.execute(
            update(OutboundSms)
            .where(OutboundSms.id == row.id)
            .values(state="sending", attempts=1, attempt_started_at=T0)
            .execution_options(synchronize_session=False)
        )
        assert outbound.begin_attempt(session, ext.config, row.id, T0 + timedelta(seconds=1)) == (
            outbound.Attempt("sending")
        )
        session.expire_all()
        assert (row.state, row.attempts, as_utc(row.attempt_started_at)) == ("sending", 1, T0)


def test_begin_attempt_settles_a_due_uncertain_sms_and_claims_it_once_its_window_passed(ext):
    window = timedelta(seconds=ext.config.campaign_reconcile_seconds)
    with ext.session_scope() as session:
        waiting = sms(ext, session, "reply:1", state="uncertain", attempts=1, attempt_started_at=T0,
                      next_attempt_at=T0 + timedelta(seconds=30)).id
        lapsed = sms(ext, session, "reply:2", state="uncertain", attempts=1, attempt_started_at=T0,
                     next_attempt_at=T0 + window).id
        early = sms(ext, session, "reply:3", state="uncertain", attempts=1, attempt_started_at=T0,
                    next_attempt_at=T0 + window + timedelta(seconds=1)).id
    with ext.session_scope() as session:
        assert outbound.begin_attempt(session, ext.config, waiting, T0 + timedelta(seconds=30)) == (
            outbound.Attempt("uncertain", next_at=T0 + timedelta(seconds=60), attempts=1)
        )
        assert outbound.begin_attempt(session, ext.config, lapsed, T0 + window) == outbound.Attempt(
            "sending", 2, "Asante", REPORTER
        )
        not_due = outbound.begin_attempt(session, ext.config, early, T0 + window)
        assert not_due == outbound.Attempt("uncertain")
    with ext.session_scope() as session:
        rows = [(r.state, r.attempts, as_utc(r.next_attempt_at))
                for r in session.scalars(select(OutboundSms).order_by(OutboundSms.id))]
    assert rows == [
        ("uncertain", 1, T0 + timedelta(seconds=60)),
        ("sending", 2, T0 + window),
        ("uncertain", 1, T0 + window + timedelta(seconds=1)),
    ]


def finish(ext, number: int = 3, **outcome) -> tuple[outbound.Attempt, OutboundSms]:
    """Attempt `number` of an SMS whose third attempt is sending ends at T0 with this outcome."""
    with ext.session_scope() as session:
        row_id = sms(ext, session, state="sending", attempts=3, attempt_started_at=T0, next_attempt_at=T0).id
    with ext.session_scope() as session:
        attempt = outbound.finish_attempt(session, row_id, number, T0, **outcome)
    with ext.session_scope() as session:
        row = session.get(OutboundSms, row_id)
        session.expunge(row)
    return attempt, row


def test_an_accepted_attempt_is_sent_with_ats_message_id_status_and_cost(ext):
    result = RecipientResult(REPORTER, 101, "Success", "ATXid_1", "KES 0.8000")
    attempt, row = finish(ext, result=result)
    assert attempt == outbound.Attempt("sent", next_at=None, attempts=3)
    assert (row.state, row.at_message_id, as_utc(row.sent_at), row.next_attempt_at) == (
        "sent", "ATXid_1", T0, None
    )
    assert (row.at_status_code, row.at_status, row.cost) == (101, "Success", "KES 0.8000")


def test_an_accepted_attempt_takes_the_delivery_report_that_came_before_its_answer(ext):
    with ext.session_scope() as session:
        kept_report(ext, session, "ATXid_1", REPORTER, T0)
    attempt, row = finish(ext, result=RecipientResult(REPORTER, 101, "Success", "ATXid_1", "KES 0.8000"))
    assert (row.state, row.delivery_status) == ("sent", "Success")
    with ext.session_scope() as session:
        assert session.scalars(select(UnmatchedDeliveryReport)).all() == []


def test_an_undeliverable_attempt_fails_with_ats_status(ext):
    attempt, row = finish(ext, result=RecipientResult(REPORTER, 403, "InvalidPhoneNumber", None, None))
    assert attempt == outbound.Attempt("failed", next_at=None, attempts=3)
    assert (row.state, row.failure_reason, row.next_attempt_at, row.at_status_code) == (
        "failed", "InvalidPhoneNumber", None, 403
    )


def test_a_refused_attempt_is_pending_again_after_its_backoff_with_ats_status_as_error(ext):
    attempt, row = finish(ext, result=RecipientResult(REPORTER, 500, "InternalServerError", None, None))
    assert attempt == outbound.Attempt("pending", next_at=T0 + timedelta(seconds=60), attempts=3)
    assert (row.state, row.last_error, as_utc(row.next_attempt_at)) == (
        "pending", "AT status 500 InternalServerError", T0 + timedelta(seconds=60)
    )


def test_an_attempt_that_never_reached_at_is_pending_again_with_its_error_cut_to_120_characters(ext):
    attempt, row = finish(ext, error="x" * 200)
    assert attempt == outbound.Attempt("pending", next_at=T0 + timedelta(seconds=60), attempts=3)
    assert (row.state, row.last_error) == ("pending", "x" * 120)


def test_an_attempt_without_answer_or_error_is_pending_as_not_sent(ext):
    attempt, row = finish(ext)
    assert (attempt.state, row.last_error) == ("pending", "not sent")


def test_an_attempt_whose_answer_was_lost_is_uncertain_and_looks_again_in_30_s(ext):
    attempt, row = finish(ext, error="y" * 200, maybe_sent=True)
    assert attempt == outbound.Attempt("uncertain", next_at=T0 + timedelta(seconds=30), attempts=3)
    assert (row.state, row.last_error, as_utc(row.next_attempt_at)) == (
        "uncertain", "y" * 120, T0 + timedelta(seconds=30)
    )


def test_a_lost_answer_without_an_error_is_recorded_as_no_answer(ext):
    with ext.session_scope() as session:
        row_id = sms(ext, session, state="sending", attempts=1, attempt_started_at=T0).id
        outbound.finish_attempt(session, row_id, 1, T0, maybe_sent=True)
        assert session.get(OutboundSms, row_id).last_error == "no answer"


def test_an_old_attempts_outcome_changes_nothing_once_a_later_attempt_owns_the_sms(ext):
    attempt, row = finish(ext, number=2, result=RecipientResult(REPORTER, 101, "Success", "ATXid_1", None))
    assert attempt == outbound.Attempt("sending")
    assert (row.state, row.attempts, row.at_message_id) == ("sending", 3, None)
    with ext.session_scope() as session:
        done = sms(ext, session, "reply:2", state="sent", attempts=1).id
        assert outbound.finish_attempt(session, done, 1, T0, error="late") == outbound.Attempt("sent")
        assert outbound.finish_attempt(session, 424242, 1, T0, error="late") == outbound.Attempt("missing")
        assert session.get(OutboundSms, done).last_error is None


def test_record_result_without_a_time_stamps_the_send_now(ext):
    with time_machine.travel(T0, tick=False), ext.session_scope() as session:
        row = sms(ext, session)
        outbound.record_result(row, RecipientResult(REPORTER, 101, "Success", "ATXid_1", None))
        assert as_utc(row.sent_at) == T0


def test_an_answer_that_comes_after_the_sweeper_made_the_sms_uncertain_still_settles_it(ext):
    with ext.session_scope() as session:
        row_id = sms(ext, session, state="uncertain", attempts=1, attempt_started_at=T0).id
        result = RecipientResult(REPORTER, 101, "Success", "ATXid_1", None)
        assert outbound.finish_attempt(session, row_id, 1, T0, result=result).state == "sent"


def settle_at(ext, now: datetime, **fields) -> OutboundSms:
    """Settle an SMS whose attempt at T0 lost its answer; the row afterwards."""
    lost = {"state": "uncertain", "attempts": 1, "attempt_started_at": T0, "last_error": "no answer"}
    fields = lost | fields
    with ext.session_scope() as session:
        row = sms(ext, session, "reply:settle", **fields)
        outbound.settle(session, ext.config, row, now)
        row_id = row.id
    with ext.session_scope() as session:
        row = session.get(OutboundSms, row_id)
        session.expunge(row)
    return row


def test_settle_takes_the_first_report_for_the_number_since_the_attempt_as_the_sms_sent(ext):
    with ext.session_scope() as session:
        kept_report(ext, session, "ATX-later", REPORTER, T0 + timedelta(seconds=5))  # kept first, id order
        kept_report(ext, session, "ATX-before", REPORTER, T0 - timedelta(seconds=1))  # an earlier SMS's
        kept_report(ext, session, "ATX-other", SOMEONE_ELSE, T0 + timedelta(seconds=1))
        kept_report(ext, session, "ATX-first", REPORTER, T0 + timedelta(seconds=2))
    row = settle_at(ext, T0 + timedelta(seconds=10), created_at=T0 - timedelta(minutes=5))
    assert (row.state, row.at_message_id, as_utc(row.sent_at)) == ("sent", "ATX-first", T0)
    assert (row.next_attempt_at, row.last_error, row.delivery_status) == (None, None, "Success")
    with ext.session_scope() as session:
        left = select(UnmatchedDeliveryReport.message_id).order_by(UnmatchedDeliveryReport.id)
        assert list(session.scalars(left)) == ["ATX-later", "ATX-before", "ATX-other"]


def test_settle_counts_a_report_received_the_moment_the_attempt_started(ext):
    with ext.session_scope() as session:
        kept_report(ext, session, "ATX-1", REPORTER, T0)
    assert settle_at(ext, T0 + timedelta(seconds=10)).at_message_id == "ATX-1"


def test_settle_breaks_a_tie_between_reports_by_the_one_kept_first(ext):
    with ext.session_scope() as session:
        kept_report(ext, session, "ATX-1", REPORTER, T0 + timedelta(seconds=3))
        kept_report(ext, session, "ATX-2", REPORTER, T0 + timedelta(seconds=3))
    with ext.session_scope() as session:
        row = sms(ext, session, "reply:tie", state="uncertain", attempts=1, attempt_started_at=T0)
        outbound.settle(session, ext.config, row, T0 + timedelta(seconds=10))
        assert row.at_message_id == "ATX-1"


def test_settle_without_an_attempt_time_looks_for_reports_since_the_sms_was_decided(ext):
    with ext.session_scope() as session:
        kept_report(ext, session, "ATX-1", REPORTER, T0 - timedelta(seconds=30))
    row = settle_at(ext, T0, attempt_started_at=None, created_at=T0 - timedelta(minutes=1))
    assert (row.state, row.at_message_id, as_utc(row.sent_at)) == (
        "sent", "ATX-1", T0 - timedelta(minutes=1)
    )


def test_settle_without_a_report_looks_again_every_30_s_then_sends_again_once_the_window_passed(ext):
    window = timedelta(seconds=ext.config.campaign_reconcile_seconds)
    soon = settle_at(ext, T0 + timedelta(seconds=10))
    assert (soon.state, as_utc(soon.next_attempt_at)) == ("uncertain", T0 + timedelta(seconds=40))
    assert soon.last_error == "no answer"
    with ext.session_scope() as session:
        session.execute(delete(OutboundSms))
    last = settle_at(ext, T0 + window - timedelta(seconds=10))
    assert (last.state, as_utc(last.next_attempt_at)) == ("uncertain", T0 + window)
    with ext.session_scope() as session:
        session.execute(delete(OutboundSms))
    lapsed = settle_at(ext, T0 + window)
    assert (lapsed.state, as_utc(lapsed.next_attempt_at)) == ("pending", T0 + window)
    assert lapsed.last_error == "no delivery report after the request whose answer was lost"


def test_mark_stale_makes_an_sms_sending_for_60_s_uncertain_and_due_now(ext):
    now = T0 + timedelta(seconds=60)
    with ext.session_scope() as session:
        stale = sms(ext, session, "reply:1", state="sending", attempts=1, attempt_started_at=T0,
                    next_attempt_at=T0).id
        recent = sms(ext, session, "reply:2", state="sending", attempts=1, next_attempt_at=T0,
                     attempt_started_at=T0 + timedelta(seconds=1)).id
        pending = sms(ext, session, "reply:3", state="pending", attempts=1, attempt_started_at=T0,
                      next_attempt_at=T0 + timedelta(minutes=5)).id
        assert outbound.mark_stale(session, now) == 1
    with ext.session_scope() as session:
        rows = {r.id: (r.state, as_utc(r.next_attempt_at), r.last_error)
                for r in session.scalars(select(OutboundSms))}
    assert rows == {
        stale: ("uncertain", now, "the worker stopped during the attempt"),
        recent: ("sending", T0, None),
        pending: ("pending", T0 + timedelta(minutes=5), None),
    }


def test_due_lists_pending_and_uncertain_sms_due_by_now_soonest_first(ext):
    with ext.session_scope() as session:
        ids = {
            name: sms(ext, session, name, state=state, attempts=attempts, next_attempt_at=at).id
            for name, state, attempts, at in [
                ("late", "pending", 2, T0 - timedelta(seconds=5)),  # made first: ids are not the order
                ("now", "uncertain", 1, T0),
                ("earliest", "pending", 4, T0 - timedelta(minutes=5)),
                ("future", "pending", 1, T0 + timedelta(seconds=1)),
                ("sending", "sending", 1, T0 - timedelta(minutes=9)),
                ("sent", "sent", 1, T0 - timedelta(minutes=9)),
                ("failed", "failed", 1, T0 - timedelta(minutes=9)),
            ]
        }
        found = outbound.due(session, T0)
        first_two = outbound.due(session, T0, limit=2)
    assert found == [
        (ids["earliest"], 4, T0 - timedelta(minutes=5)),
        (ids["late"], 2, T0 - timedelta(seconds=5)),
        (ids["now"], 1, T0),
    ]
    assert first_two == found[:2]


def many(ext, session, count: int, **fields) -> None:
    """`count` service SMS with these fields, inserted in one statement."""
    session.execute(
        insert(OutboundSms),
        [{"dedupe_key": f"bulk:{n}", "purpose": "reply", "message": "Hi", **fields} for n in range(count)],
    )


def test_due_hands_the_sweep_at_most_5000_sms_at_a_time(ext):
    with ext.session_scope() as session:
        many(ext, session, 5001, state="pending", attempts=1, next_attempt_at=T0, created_at=T0)
        assert len(outbound.due(session, T0)) == 5000


def test_overdue_counts_unsent_sms_decided_at_least_age_ago(ext):
    age = timedelta(minutes=30)
    with ext.session_scope() as session:
        for n, (state, created) in enumerate([
            ("pending", T0 - age),  # exactly the age: overdue
            ("sending", T0 - age - timedelta(minutes=1)),
            ("uncertain", T0 - timedelta(hours=2)),
            ("pending", T0 - age + timedelta(seconds=1)),  # not yet
            ("sent", T0 - timedelta(hours=2)),
            ("failed", T0 - timedelta(hours=2)),
        ]):
            sms(ext, session, f"reply:{n}", state=state, created_at=created)
        assert outbound.overdue(session, T0, age) == 3


def test_raise_alarms_marks_each_overdue_unsent_sms_once_oldest_id_first(ext):
    age = timedelta(minutes=30)
    with ext.session_scope() as session:
        ids = [
            sms(ext, session, f"reply:{n}", state=state, created_at=created).id
            for n, (state, created) in enumerate([
                ("pending", T0 - age),
                ("uncertain", T0 - timedelta(hours=2)),
                ("sending", T0 - age - timedelta(seconds=1)),
                ("pending", T0 - age + timedelta(seconds=1)),
                ("sent", T0 - timedelta(hours=2)),
            ])
        ]
    with ext.session_scope() as session, unordered_reversed(session):
        assert [row.id for row in outbound.raise_alarms(session, T0, age)] == ids[:3]
    with ext.session_scope() as session:
        later = T0 + timedelta(minutes=1)
        assert [row.id for row in outbound.raise_alarms(session, later, age)] == [ids[3]]
        alarmed = {r.id: as_utc(r.alarmed_at) for r in session.scalars(select(OutboundSms))}
    assert alarmed == {ids[0]: T0, ids[1]: T0, ids[2]: T0, ids[3]: later, ids[4]: None}


def test_raise_alarms_marks_at_most_1000_sms_a_sweep_and_the_rest_on_the_next(ext):
    with ext.session_scope() as session:
        many(ext, session, 1001, state="pending", attempts=1, next_attempt_at=T0, created_at=T0)
    with ext.session_scope() as session:
        first = outbound.raise_alarms(session, T0 + timedelta(hours=1), timedelta(minutes=30))
        assert len(first) == 1000
        last = outbound.raise_alarms(session, T0 + timedelta(hours=1), timedelta(minutes=30))
        assert [row.id for row in last] == [max(row.id for row in first) + 1]


def test_queue_send_queues_each_first_send_job_without_rqs_retry(ext):
    assert outbound.queue_send(ext.queues, [7, 8]) == 2
    jobs = [Job.fetch(job_id, connection=ext.redis) for job_id in ext.queues["tips"].job_ids]
    assert [(job.id, job.func_name, job.args, job.retries_left) for job in jobs] == [
        ("send-sms-7", "workers.sms.send_sms", (7,), None),
        ("send-sms-8", "workers.sms.send_sms", (8,), None),
    ]


def test_queue_attempt_schedules_a_future_step_and_queues_a_due_one_at_once(ext):
    later = T0 + timedelta(seconds=10)
    with time_machine.travel(T0, tick=False):
        stray = outbound.attempt_job_id(9, 2, T0)  # scheduled once, then found due by the sweep
        ext.queues["tips"].enqueue_at(later, "workers.sms.send_sms", 9, job_id=stray)
        assert outbound.queue_attempt(ext.queues, 7, 1, later) is True
        assert outbound.queue_attempt(ext.queues, 9, 2, T0) is True  # due exactly now: queued, not scheduled
    tips = ext.queues["tips"]
    scheduled = [Job.fetch(i, connection=ext.redis) for i in tips.scheduled_job_registry.get_job_ids()]
    queued = [Job.fetch(job_id, connection=ext.redis) for job_id in tips.job_ids]
    assert [(job.id, job.func_name, job.args, job.retries_left) for job in scheduled] == [
        (outbound.attempt_job_id(7, 1, later), "workers.sms.send_sms", (7,), None)
    ]
    assert [(job.id, job.func_name, job.args, job.retries_left) for job in queued] == [
        (outbound.attempt_job_id(9, 2, T0), "workers.sms.send_sms", (9,), None)
    ]
    assert outbound.attempt_job_id(7, 1, later) == f"send-sms-7-1-{int(later.timestamp())}"


def test_a_job_counts_as_live_while_queued_or_scheduled_but_not_once_its_scheduler_is_30_s_late(ext):
    tips = ext.queues["tips"]
    at = T0 + timedelta(minutes=1)
    assert outbound.has_live_job(tips, 7, 1, at, T0) is False
    tips.enqueue_at(at, "workers.sms.send_sms", 7, job_id=outbound.attempt_job_id(7, 1, at))
    assert outbound.has_live_job(tips, 7, 1, at, T0) is True
    assert outbound.has_live_job(tips, 7, 1, at, at + timedelta(seconds=29)) is True
    assert outbound.has_live_job(tips, 7, 1, at, at + timedelta(seconds=30)) is False
    assert outbound.has_live_job(tips, 7, 2, at, T0) is False  # another attempt's job
    assert outbound.has_live_job(tips, 8, 1, at, T0) is False  # another SMS's job


def test_before_any_attempt_the_first_send_job_counts_as_live(ext):
    tips = ext.queues["tips"]
    outbound.queue_send(ext.queues, [7])
    assert outbound.has_live_job(tips, 7, 0, T0, T0) is True
    assert outbound.has_live_job(tips, 7, 1, T0, T0) is False
    assert outbound.has_live_job(tips, 8, 0, T0, T0) is False


def test_with_redis_down_queueing_reports_nothing_queued(ext, redis_server):
    redis_server.stop()
    try:
        assert outbound.queue_send(ext.queues, [7, 8]) == 0
        assert outbound.queue_attempt(ext.queues, 7, 1, T0) is False
    finally:
        redis_server.start()
