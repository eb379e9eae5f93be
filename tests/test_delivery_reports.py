"""Delivery reports: buffered by the webhook, applied in batches, never undoing a final state, none lost."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
import redis
import time_machine
from sqlalchemy import select

from campaigns import queueing as campaign_jobs
from hotline.africastalking.sms_forms import DeliveryReport
from hotline.contacts.service import new_salt
from hotline.core.models import Campaign, CampaignRecipient, Contact, OutboundSms, UnmatchedDeliveryReport
from hotline.core.privacy import delivery_key, engagement_key, reporter_key
from hotline.messaging import delivery_reports
from hotline.messaging.delivery_reports import Applied, decode, encode, fold
from workers.delivery import apply_delivery_reports

PHONE = "+254711555001"


def report(message_id="ATXid_1", status="Success", at=1.0, reason=None):
    return DeliveryReport(message_id, status, reason, "63902", None, at)


def test_fold_keeps_the_first_final_report_else_the_latest():
    reports = [
        report("a", "Sent", 1),
        report("a", "Success", 2),
        report("a", "Failed", 3),  # a final stands
        report("b", "Buffered", 2),
        report("b", "Sent", 1),  # out of order: the later one
        report("c", "Failed", 5, "UserInBlackList"),
        report("c", "Submitted", 6),
    ]
    standing = fold(reports)
    assert {key: r.status for key, r in standing.items()} == {"a": "Success", "b": "Buffered", "c": "Failed"}


def test_a_report_line_survives_the_buffer_round_trip():
    original = DeliveryReport("ATXid_9", "Failed", "DeliveryFailure", "63902", "k" * 64, 1763800000.125)
    assert decode(encode(original).encode()) == original
    counted = DeliveryReport("ATXid_9", "Failed", None, None, None, 1763800000.125, retry_count=3)
    assert decode(encode(counted)) == counted


def test_a_report_line_buffered_before_the_retry_count_was_kept_still_reads():
    assert decode("ATXid_9\tSent\t\t63902\t\t1763800000.500") == DeliveryReport(
        "ATXid_9", "Sent", None, "63902", None, 1763800000.5
    )


def _campaign_sms(app) -> tuple[int, int]:
    """One sent campaign SMS with AT's messageId ATXid_1; returns (recipient id, contact id)."""
    ext = app.extensions["hotline"]
    with ext.session_scope() as session:
        contact = Contact(
            phone=PHONE,
            engagement_key=engagement_key(PHONE, ext.config.phone_hash_key),
            language="en",
            consent_source="test",
            consented_at=datetime(2026, 1, 1, tzinfo=UTC),
            salt=new_salt(),
        )
        campaign = Campaign(name="c", state="sending", seed=1)
        session.add_all([contact, campaign])
        session.flush()
        row = CampaignRecipient(
            campaign_id=campaign.id,
            contact_id=contact.id,
            language="en",
            state="sent",
            at_message_id="ATXid_1",
            variant="A",
        )
        session.add(row)
        session.flush()
        return row.id, contact.id


@pytest.fixture
def recipient(app):
    """One sent campaign SMS with AT's messageId ATXid_1."""
    return _campaign_sms(app)[0]


def post(client, **form):
    data = {
        "id": "ATXid_1",
        "status": "Success",
        "phoneNumber": PHONE,
        "networkCode": "63902",
        "retryCount": "0",
        **form,
    }
    return client.post("/sms/delivery", data=data)


def test_the_applying_job_waits_behind_a_campaign_slice_already_queued_not_ahead_of_it(app, client):
    ext = app.extensions["hotline"]
    with app.app_context():
        campaign_jobs.queue_dispatch(ext, 1)
    assert post(client).status_code == 200
    jobs = ext.queues["campaigns"].get_jobs()
    assert [job.func_name for job in jobs] == [campaign_jobs.JOB, delivery_reports.APPLY_JOB]
    assert ext.queues["default"].count == 0


def test_a_stream_of_reports_keeps_one_applying_job_waiting_and_the_next_is_queued_once_it_starts(
    app, client
):
    ext = app.extensions["hotline"]
    for number in range(3):  # the buffer emptied between reports, as a busy worker takes them
        assert post(client, id=f"ATXid_{number}").status_code == 200
        delivery_reports.take(ext.redis, 100)
    assert ext.queues["campaigns"].count == 1
    delivery_reports.applying_started(ext.redis)
    assert post(client, id="ATXid_9").status_code == 200
    assert ext.queues["campaigns"].count == 2


def row_of(app, recipient_id):
    with app.extensions["hotline"].session_scope() as session:
        return session.get(CampaignRecipient, recipient_id)


def test_reports_wait_in_the_buffer_while_no_worker_runs_then_apply_in_order(app, client, recipient):
    for status, extra in [
        ("Sent", {}),
        ("Failed", {"failureReason": "DeliveryFailure"}),
        ("Success", {}),
        ("Buffered", {}),
        ("Failed", {"failureReason": "DeliveryFailure"}),
    ]:
        assert post(client, status=status, **extra).status_code == 200
    ext = app.extensions["hotline"]
    assert delivery_reports.pending(ext.redis) == 5
    assert row_of(app, recipient).delivery_status is None  # nothing applied by the webhook
    with app.app_context():
        assert apply_delivery_reports() == 5
    row = row_of(app, recipient)
    # The first final report (Failed) stands; the later Success, Buffered and Failed change nothing.
    assert (row.delivery_status, row.failure_reason, row.network_code) == (
        "Failed",
        "DeliveryFailure",
        "63902",
    )
    assert delivery_reports.pending(ext.redis) == 0
    post(client, status="Success")
    with app.app_context():
        apply_delivery_reports()
    assert row_of(app, recipient).delivery_status == "Failed"  # a final state is never undone


def test_a_success_then_a_late_intermediate_keeps_success(app, client, recipient):
    post(client, status="Success")
    with app.app_context():
        apply_delivery_reports()
    post(client, status="Sent")
    post(client, status="Success")  # AT's duplicate
    with app.app_context():
        apply_delivery_reports()
    row = row_of(app, recipient)
    assert row.delivery_status == "Success" and row.delivered_at is not None


def test_unknown_ids_are_kept_for_reconciliation_with_the_number_only_as_a_key(app, client, recipient):
    post(client, id="ATXid_nobody", status="Failed", failureReason="UserInBlackList")
    post(client, id="ATXid_nobody", status="Failed", failureReason="UserInBlackList")  # twice
    with app.app_context():
        apply_delivery_reports()
    with app.extensions["hotline"].session_scope() as session:
        [kept] = session.scalars(select(UnmatchedDeliveryReport)).all()
        assert (kept.message_id, kept.status, kept.failure_reason) == (
            "ATXid_nobody",
            "Failed",
            "UserInBlackList",
        )
        hash_key = app.extensions["hotline"].config.phone_hash_key
        assert kept.phone_key == delivery_key(PHONE, hash_key) != reporter_key(PHONE, hash_key)
        assert PHONE not in repr(vars(kept))


def test_a_blacklisted_delivery_opts_the_contact_out(app, client, recipient):
    post(client, status="Failed", failureReason="UserInBlackList")
    with app.app_context():
        apply_delivery_reports()
    with app.extensions["hotline"].session_scope() as session:
        contact = session.scalar(select(Contact).where(Contact.phone == PHONE))
        assert contact.opted_out_at is not None and contact.opt_out_source == "blacklist"


def test_with_redis_down_the_webhook_writes_through(app, client, recipient, redis_server):
    redis_server.stop()
    try:
        assert post(client, status="Success").status_code == 200
    finally:
        redis_server.start()
    assert row_of(app, recipient).delivery_status == "Success"


def test_reports_taken_by_a_worker_that_died_are_applied_by_the_next(app, client, recipient):
    post(client, status="Success")
    ext = app.extensions["hotline"]
    key, taken = delivery_reports.take(ext.redis, 100)  # a worker took them, then died
    assert len(taken) == 1 and delivery_reports.pending(ext.redis) == 0
    assert delivery_reports.stale(ext.redis, 0) == [(key, taken)]
    ext.redis.zadd(delivery_reports.APPLYING, {key: 0})  # taken long ago
    with app.app_context():
        assert apply_delivery_reports() == 1
    assert row_of(app, recipient).delivery_status == "Success"
    assert delivery_reports.stale(ext.redis, 0) == []


def test_bad_reports_get_a_clear_400(client):
    assert post(client, status="Maybe").get_data(as_text=True) == "bad request: unknown status\n"
    assert post(client, id="").status_code == 400
    assert (
        post(client, phoneNumber="not a number").get_data(as_text=True).startswith("bad request: phoneNumber")
    )
    assert post(client, id="x" * 81).status_code == 400


# --- Parsing, the buffer and applying, called directly ----------------------------------------------

def test_a_report_with_empty_fields_survives_the_buffer_round_trip_as_none():
    original = DeliveryReport("ATXid_9", "Sent", None, None, None, 1763800000.5)
    assert encode(original) == "ATXid_9\tSent\t\t\t\t1763800000.500\t"
    assert decode(encode(original)) == original


def test_only_the_first_report_in_an_empty_buffer_queues_the_applying_job(ext):
    queue = ext.queues[delivery_reports.APPLY_QUEUE]
    delivery_reports.buffer(ext.redis, ext.queues, report("ATXid_0"))
    assert [job.func_name for job in queue.jobs] == [delivery_reports.APPLY_JOB]  # at once
    for n in range(1, 3):
        delivery_reports.buffer(ext.redis, ext.queues, report(f"ATXid_{n}"))
    assert delivery_reports.pending(ext.redis) == 3
    assert [job.func_name for job in queue.jobs] == [delivery_reports.APPLY_JOB]
    assert queue.jobs[0].retries_left is None


def test_queueing_the_applying_job_with_redis_down_says_it_was_not_queued(ext, redis_server):
    redis_server.stop()
    try:
        assert delivery_reports.queue_apply(ext.queues) is False
    finally:
        redis_server.start()
    assert delivery_reports.queue_apply(ext.queues) is True


def test_take_moves_up_to_count_reports_in_order_and_done_forgets_them(ext):
    client = ext.redis
    reports = [report(f"ATXid_{n}", at=float(n)) for n in range(3)]
    for one in reports:
        client.rpush(delivery_reports.BUFFER, encode(one))
    taken_at = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    with time_machine.travel(taken_at, tick=False):
        key, taken = delivery_reports.take(client, 2)
    assert key.startswith(f"{delivery_reports.APPLYING}:") and taken == reports[:2]
    assert delivery_reports.pending(client) == 1
    assert [decode(line) for line in client.lrange(key, 0, -1)] == reports[:2]
    assert client.zscore(delivery_reports.APPLYING, key) == taken_at.timestamp()
    other_key, rest = delivery_reports.take(client, 2)
    assert rest == reports[2:] and other_key != key
    delivery_reports.done(client, key)
    assert not client.exists(key)
    assert client.zrange(delivery_reports.APPLYING, 0, -1) == [other_key.encode()]


def test_take_from_an_empty_buffer_takes_nothing_and_leaves_no_applying_list(ext):
    key, taken = delivery_reports.take(ext.redis, 10)
    assert taken == [] and not ext.redis.exists(key)
    assert ext.redis.zcard(delivery_reports.APPLYING) == 0


def test_stale_hands_over_only_applying_lists_older_than_asked(ext):
    client = ext.redis
    for n in range(3):
        client.rpush(delivery_reports.BUFFER, encode(report(f"ATXid_old_{n}")))
    start = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        old_key, old = delivery_reports.take(client, 10)
    client.rpush(delivery_reports.BUFFER, encode(report("ATXid_new")))
    with time_machine.travel(start + timedelta(seconds=50), tick=False):
        delivery_reports.take(client, 10)
    with time_machine.travel(start + timedelta(seconds=60), tick=False):
        assert delivery_reports.stale(client, 60) == [(old_key, old)] and len(old) == 3
        assert len(delivery_reports.stale(client, 10)) == 2
    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        assert delivery_reports.stale(client, 60) == []


def test_fold_takes_the_later_of_two_intermediate_reports_received_at_the_same_time():
    standing = fold([report("a", "Sent", 1), report("a", "Buffered", 1), report("b", "Submitted", 0)])
    assert {key: r.status for key, r in standing.items()} == {"a": "Buffered", "b": "Submitted"}


def test_fold_lets_a_final_report_replace_an_earlier_intermediate_one_whatever_its_time():
    standing = fold([report("a", "Buffered", 5), report("a", "Success", 1), report("a", "Sent", 9)])
    assert standing["a"].status == "Success"


@pytest.fixture
def sent(app):
    """A campaign SMS (ATXid_1) and a service SMS (ATXid_svc), both sent, neither reported yet."""
    recipient_id, contact_id = _campaign_sms(app)
    with app.extensions["hotline"].session_scope() as session:
        sms = OutboundSms(
            dedupe_key="svc", purpose="ack", message="Thanks", state="sent", at_message_id="ATXid_svc"
        )
        session.add(sms)
        session.flush()
        return recipient_id, sms.id, contact_id


def apply(app, reports):
    with app.extensions["hotline"].session_scope() as session:
        return delivery_reports.apply(session, reports)


def settled(app, sent):
    recipient_id, sms_id, _ = sent
    with app.extensions["hotline"].session_scope() as session:
        row, sms = session.get(CampaignRecipient, recipient_id), session.get(OutboundSms, sms_id)
        return (
            (row.delivery_status, row.failure_reason, row.network_code, row.delivered_at),
            (sms.delivery_status, sms.failure_reason, sms.delivered_at),
        )


def aware(moment):
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


def test_apply_settles_campaign_and_service_sms_keeps_the_unknown_and_counts_each(app, sent):
    at = 1763881200.0
    result = apply(
        app,
        [
            report("ATXid_1", "Sent", at),
            report("ATXid_1", "Success", at + 1),
            report("ATXid_svc", "Failed", at, "DeliveryFailure"),
            report("ATXid_svc", "Failed", at, "DeliveryFailure"),
            report("ATXid_who", "Rejected", at),
        ],
    )
    assert result == Applied(campaign=1, service=1, unmatched=1, ignored=2, blacklisted_contacts=[])
    (campaign, service) = settled(app, sent)
    assert campaign[:3] == ("Success", None, "63902")
    assert aware(campaign[3]) == datetime.fromtimestamp(at + 1, UTC)
    assert service == ("Failed", "DeliveryFailure", None)
    with app.extensions["hotline"].session_scope() as session:
        [kept] = session.scalars(select(UnmatchedDeliveryReport)).all()
        assert (kept.message_id, kept.status, kept.failure_reason, kept.network_code, kept.phone_key) == (
            "ATXid_who",
            "Rejected",
            None,
            "63902",
            None,
        )
        assert aware(kept.received_at) == datetime.fromtimestamp(at, UTC)


def test_a_final_report_without_a_reason_keeps_its_status_as_the_reason(app, sent):
    apply(app, [report("ATXid_1", "Rejected"), report("ATXid_svc", "Expired")])
    campaign, service = settled(app, sent)
    assert (campaign[:2], service[:2]) == (("Rejected", "Rejected"), ("Expired", "Expired"))
    assert (campaign[3], service[2]) == (None, None)


def test_an_intermediate_report_records_the_status_with_no_reason_and_no_delivery_time(app, sent):
    apply(app, [report("ATXid_1", "Buffered", reason="Queued"), report("ATXid_svc", "Sent")])
    assert settled(app, sent) == (("Buffered", None, "63902", None), ("Sent", None, None))


def test_reports_after_a_final_state_are_counted_as_ignored_and_change_nothing(app, sent):
    apply(app, [report("ATXid_1", "Failed", reason="DeliveryFailure"), report("ATXid_svc", "Success", 5.0)])
    result = apply(app, [report("ATXid_1", "Success"), report("ATXid_svc", "Failed")])
    assert result == Applied(campaign=0, service=0, unmatched=0, ignored=2)
    campaign, service = settled(app, sent)
    assert campaign[:2] == ("Failed", "DeliveryFailure") and service[:2] == ("Success", None)


def test_a_blacklisted_campaign_recipient_is_named_in_the_result(app, sent):
    result = apply(app, [report("ATXid_1", "Failed", reason="UserInBlackList")])
    assert result.blacklisted_contacts == [sent[2]]


def test_applying_nothing_does_nothing():
    assert delivery_reports.apply(None, []) == Applied()


def test_a_service_sms_report_alone_is_applied_and_nothing_is_kept(app, sent):
    assert apply(app, [report("ATXid_svc", "Success")]) == Applied(service=1)
    with app.extensions["hotline"].session_scope() as session:
        assert session.scalars(select(UnmatchedDeliveryReport)).all() == []


def test_claim_unmatched_applies_the_kept_reports_of_ids_now_known_and_forgets_them(app, sent):
    apply(app, [report("ATXid_later", "Success", 7.0), report("ATXid_other", "Failed", 7.0)])
    with app.extensions["hotline"].session_scope() as session:
        row = session.get(CampaignRecipient, sent[0])
        row.at_message_id, row.delivery_status = "ATXid_later", None
    with app.extensions["hotline"].session_scope() as session:
        assert delivery_reports.claim_unmatched(session, []) == Applied()
        assert delivery_reports.claim_unmatched(session, ["ATXid_nobody"]) == Applied()
        assert delivery_reports.claim_unmatched(session, ["ATXid_later"]) == Applied(campaign=1)
        kept = session.scalars(select(UnmatchedDeliveryReport.message_id)).all()
        assert kept == ["ATXid_other"]
    campaign, _ = settled(app, sent)
    assert campaign[0] == "Success" and aware(campaign[3]) == datetime.fromtimestamp(7.0, UTC)


@pytest.fixture
def nairobi_clock(monkeypatch):
    """The machine's local time zone is Nairobi's (UTC+3), as on a server set up in Kenya."""
    monkeypatch.setenv("TZ", "Africa/Nairobi")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_kept_report_reads_back_as_the_report_it_was_whatever_the_machines_time_zone(nairobi_clock):
    naive = UnmatchedDeliveryReport(
        message_id="m", status="Failed", failure_reason="x", network_code="63902", phone_key="k",
        received_at=datetime(2026, 11, 23, 7, 0),
    )
    at = datetime(2026, 11, 23, 7, 0, tzinfo=UTC).timestamp()
    expected = DeliveryReport("m", "Failed", "x", "63902", "k", at)
    assert delivery_reports.as_report(naive) == expected
    naive.received_at = datetime(2026, 11, 23, 10, 0, tzinfo=timezone(timedelta(hours=3)))
    assert delivery_reports.as_report(naive) == expected


def test_stale_reads_a_client_that_decodes_its_answers_too(ext, redis_server):
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.rpush(delivery_reports.BUFFER, encode(report("ATXid_1")))
    key, taken = delivery_reports.take(client, 10)
    assert delivery_reports.stale(client, 0) == [(key, taken)]
    client.close()


def test_a_service_sms_keeps_the_reports_network_and_retry_count_as_a_campaign_sms_does(app, sent):
    recipient_id, sms_id, _ = sent
    apply(
        app,
        [
            DeliveryReport("ATXid_1", "Success", None, "63903", None, 1.0, retry_count=2),
            DeliveryReport("ATXid_svc", "Failed", "UserIsInactive", "63902", None, 1.0, retry_count=5),
        ],
    )
    with app.extensions["hotline"].session_scope() as session:
        row, sms = session.get(CampaignRecipient, recipient_id), session.get(OutboundSms, sms_id)
        assert (row.network_code, row.retry_count) == ("63903", 2)
        assert (sms.network_code, sms.retry_count, sms.failure_reason) == ("63902", 5, "UserIsInactive")


def test_a_report_kept_for_an_unknown_id_keeps_its_retry_count_until_its_sms_claims_it(app, sent):
    _, sms_id, _ = sent
    with app.extensions["hotline"].session_scope() as session:
        session.get(OutboundSms, sms_id).at_message_id = None  # the send not recorded yet
    apply(app, [DeliveryReport("ATXid_svc", "Success", None, "63902", None, 1.0, retry_count=1)])
    with app.extensions["hotline"].session_scope() as session:
        [kept] = session.scalars(select(UnmatchedDeliveryReport)).all()
        assert kept.retry_count == 1
        session.get(OutboundSms, sms_id).at_message_id = "ATXid_svc"
        session.flush()
        assert delivery_reports.claim_unmatched(session, ["ATXid_svc"]) == Applied(service=1)
    with app.extensions["hotline"].session_scope() as session:
        sms = session.get(OutboundSms, sms_id)
        assert (sms.delivery_status, sms.network_code, sms.retry_count) == ("Success", "63902", 1)


def test_the_webhook_keeps_retry_count_and_network_for_a_service_sms(app, client, sent):
    _, sms_id, _ = sent
    assert post(client, id="ATXid_svc", networkCode="63903", retryCount="3").status_code == 200
    with app.app_context():
        apply_delivery_reports()
    with app.extensions["hotline"].session_scope() as session:
        sms = session.get(OutboundSms, sms_id)
        assert (sms.delivery_status, sms.network_code, sms.retry_count) == ("Success", "63903", 3)
