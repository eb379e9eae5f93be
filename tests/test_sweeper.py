"""The periodic sweep: scheduled in RQ by a worker, run by the worker's scheduler at its minute.

The clock moves with time_machine; the worker is the service's own (workers.scheduler.make_worker),
run in burst mode with RQ's scheduler, which queues the jobs due at that (travelled) time.
"""

from __future__ import annotations

from datetime import timedelta

import time_machine
from rq.registry import FinishedJobRegistry, ScheduledJobRegistry
from sqlalchemy import select

from hotline.core.models import OutboundSms, Tip, utcnow
from tests import test_sms_gateway
from tests.conftest import Phone
from tests.test_sms_gateway import FOCAL
from workers.scheduler import make_worker
from workers.sweeper import SWEPT_KEY, schedule_sweep, sweep_all

fake_at = test_sms_gateway.fake_at  # AT: an HTTP server bound by the test
hotline = test_sms_gateway.hotline  # the hotline sending to it, with a Kakamega focal point


def work(app) -> None:
    """One burst of the service's worker with RQ's scheduler: due scheduled jobs, then every queue."""
    ext = app.extensions["hotline"]
    with app.app_context():
        worker = make_worker(list(ext.queues.values()), ext.redis, ext.config.worker_maintenance_seconds)
        worker.work(burst=True, with_scheduler=True)


def tip_routed(ext) -> bool:
    with ext.session_scope() as session:
        return session.scalar(select(Tip.routing_started_at)) is not None


def test_the_sweep_runs_at_its_scheduled_minute_and_the_next_one_is_scheduled(hotline, fake_at):
    ext = hotline.extensions["hotline"]
    start = (utcnow() + timedelta(minutes=2)).replace(second=10, microsecond=0)
    with time_machine.travel(start, tick=True):
        with hotline.app_context():
            sweep_all()  # as a worker does when it starts (and nothing is left to sweep)
            job_id = schedule_sweep()
        phone = Phone(hotline.test_client())
        phone.dial()
        phone.send("1", "1", "kak", "Lurambi", "99", "2", "2", "2", "1")
    ext.queues["tips"].empty()  # Redis lost the tip's routing job: only a sweep brings it back
    default = ext.queues["default"]
    slot = ScheduledJobRegistry(queue=default).get_scheduled_time(job_id)
    assert slot == start.replace(second=0) + timedelta(minutes=1)
    assert ext.redis.exists(SWEPT_KEY)  # a sweep ran lately: the worker's maintenance will not sweep

    with time_machine.travel(slot - timedelta(seconds=5), tick=True):
        work(hotline)  # the tip is old enough for the sweep, but the sweep is not due yet
    assert not tip_routed(ext) and fake_at.forms == []
    assert FinishedJobRegistry(queue=default).get_job_ids() == []

    with time_machine.travel(slot + timedelta(seconds=5), tick=True):
        work(hotline)
    assert FinishedJobRegistry(queue=default).get_job_ids() == [job_id]
    assert default.fetch_job(job_id).return_value()["tips"] == 1  # that sweep queued the lost routing
    assert tip_routed(ext) and [form["to"] for form in fake_at.forms] == [FOCAL]
    with ext.session_scope() as session:
        assert session.scalar(select(OutboundSms.state)) == "sent"
    # The next one is scheduled a minute on (by the sweep, and by the worker's maintenance as well).
    # (The sweep also schedules the next 03:00's retention purge, workers/retention.py: not a sweep.)
    scheduled = ScheduledJobRegistry(queue=default).get_job_ids()
    [following] = [job for job in scheduled if job.startswith("sweep-")]
    assert following != job_id
    assert ScheduledJobRegistry(queue=default).get_scheduled_time(following) == slot + timedelta(minutes=1)
