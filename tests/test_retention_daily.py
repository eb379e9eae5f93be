"""The daily purge (workers/retention.py): the sweep schedules one job a day for 03:00 in Nairobi,
however many sweeps and workers ask, and the worker's scheduler runs it then. The clock moves with
time_machine; the worker is the service's own, in burst mode with RQ's scheduler."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from rq.registry import FinishedJobRegistry, ScheduledJobRegistry
from sqlalchemy import select

from hotline.core.models import AuditEvent
from workers.retention import next_run, queue_daily_purge
from workers.scheduler import make_worker

MORNING = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)  # 10:00 in Nairobi
THREE_AM = datetime(2026, 3, 11, 0, 0, tzinfo=UTC)  # 03:00 in Nairobi the next day


def work(app) -> None:
    ext = app.extensions["hotline"]
    with app.app_context():
        worker = make_worker(list(ext.queues.values()), ext.redis, ext.config.worker_maintenance_seconds)
        worker.work(burst=True, with_scheduler=True)


def test_the_next_run_is_the_next_three_oclock_in_nairobi():
    assert next_run(MORNING) == THREE_AM
    assert next_run(THREE_AM - timedelta(seconds=1)) == THREE_AM
    assert next_run(THREE_AM) == THREE_AM + timedelta(days=1)


def test_the_sweep_schedules_one_purge_a_day_and_the_worker_runs_it_at_three(app, ext):
    with time_machine.travel(MORNING, tick=True), app.app_context():
        assert queue_daily_purge() == "retention-purge-2026-03-11"
        # Every sweep of every worker asks again: the day's key makes it one job.
        assert [queue_daily_purge() for _ in range(3)] == [None, None, None]
    default = ext.queues["default"]
    scheduled = ScheduledJobRegistry(queue=default)
    assert scheduled.get_job_ids() == ["retention-purge-2026-03-11"]
    assert scheduled.get_scheduled_time("retention-purge-2026-03-11") == THREE_AM

    with time_machine.travel(THREE_AM - timedelta(seconds=30), tick=True):
        work(app)  # not due yet
        assert "retention-purge-2026-03-11" not in FinishedJobRegistry(queue=default).get_job_ids()
    with time_machine.travel(THREE_AM + timedelta(seconds=5), tick=True):
        work(app)
        assert "retention-purge-2026-03-11" in FinishedJobRegistry(queue=default).get_job_ids()
        with app.app_context():
            assert queue_daily_purge() is None  # the worker's start-up sweep scheduled the next day's
        purges = [
            job for job in ScheduledJobRegistry(queue=default).get_job_ids() if job.startswith("retention")
        ]
        assert purges == ["retention-purge-2026-03-12"]
    with ext.session_scope() as session:
        runs = session.scalars(select(AuditEvent).where(AuditEvent.action == "purge")).all()
        assert [(run.actor, run.detail["closed_tips"]["count"]) for run in runs] == [("retention", 0)]
