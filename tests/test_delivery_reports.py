"""Delivery reports: buffered by the webhook, applied in batches, never undoing a final state, none lost."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from hotline import delivery_reports
from hotline.contacts import new_salt
from hotline.delivery_reports import DeliveryReport, fold
from hotline.models import Campaign, CampaignRecipient, Contact, UnmatchedDeliveryReport
from hotline.privacy import delivery_key, engagement_key, reporter_key
from workers import campaigns as campaign_jobs
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
    assert DeliveryReport.decode(original.encode().encode()) == original


@pytest.fixture
def recipient(app):
    """One sent campaign SMS with AT's messageId ATXid_1."""
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
        return row.id


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
