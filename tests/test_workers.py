"""Jobs and the `flask worker` command, against the real Redis and database."""

from __future__ import annotations

from datetime import timedelta

from rq import Queue
from rq.registry import FinishedJobRegistry, ScheduledJobRegistry
from sqlalchemy import select, update

from hotline.models import Tip, utcnow
from tests.conftest import Phone


def submit(client) -> None:
    phone = Phone(client)
    phone.dial()
    phone.send("1", "1", "kak", "Lurambi", "99", "2", "2", "2", "1")


def test_worker_burst_runs_the_routing_job(app, ext, client):
    submit(client)
    [tip_id] = _tip_ids(ext)
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert Queue("tips", connection=ext.redis).count == 0
    finished = FinishedJobRegistry("tips", connection=ext.redis)
    assert finished.get_job_ids() == [f"route-tip-{tip_id}"]
    assert Queue("tips", connection=ext.redis).fetch_job(f"route-tip-{tip_id}").return_value() == "received"
    with ext.session_scope() as session:
        assert session.get(Tip, tip_id).routing_started_at is not None
    with app.app_context():
        from workers.sweeper import sweep_unqueued_tips

        assert sweep_unqueued_tips(older_than_seconds=0) == 0  # started: nothing to sweep


def test_worker_start_sweeps_tips_that_were_never_queued(app, ext, client):
    submit(client)
    [tip_id] = _tip_ids(ext)
    ext.redis.flushdb()  # Redis lost the job (it keeps nothing on disk), or was down at the time
    with ext.session_scope() as session:
        session.execute(update(Tip).values(created_at=utcnow() - timedelta(minutes=1)))
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert FinishedJobRegistry("tips", connection=ext.redis).get_job_ids() == [f"route-tip-{tip_id}"]


def test_periodic_sweep_is_scheduled_once(app, ext):
    with app.app_context():
        from workers.sweeper import schedule_sweep

        job_id = schedule_sweep()
        assert schedule_sweep() == job_id
    assert ScheduledJobRegistry("default", connection=ext.redis).get_job_ids() == [job_id]


def test_routing_a_deleted_tip_does_not_crash(app):
    with app.app_context():
        from workers.routing import route_tip

        assert route_tip(999_999) == "missing"


def test_worker_burst_with_redis_down_says_so(make_app, redis_server):
    app = make_app(redis_url="redis://127.0.0.1:1/0", redis_timeout=0.2)
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 1
    assert "Redis is not reachable at redis://127.0.0.1:1/0" in result.output


def _tip_ids(ext) -> list[int]:
    with ext.session_scope() as session:
        return list(session.scalars(select(Tip.id)))

