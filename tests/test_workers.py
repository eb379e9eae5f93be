"""Jobs and the `flask worker` command, against the real Redis and database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

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


def test_a_routing_job_popped_by_a_worker_that_died_is_queued_again_and_routed_once(app, ext, client):
    """A SIGKILLed worker's BLPOP can take a job id whose reply never arrives: the job hash still
    says `queued` but no queue holds it. The sweep must not take that job for a waiting one."""
    submit(client)
    [tip_id] = _tip_ids(ext)
    tips_queue = Queue("tips", connection=ext.redis)
    assert ext.redis.lpop(tips_queue.key) == f"route-tip-{tip_id}".encode()  # the dead worker's pop
    with ext.session_scope() as session:
        session.execute(update(Tip).values(created_at=utcnow() - timedelta(minutes=1)))
    with app.app_context():
        from workers.sweeper import sweep_unqueued_tips

        assert sweep_unqueued_tips() == 1
        assert sweep_unqueued_tips() == 0  # now really on the queue: not queued twice
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert FinishedJobRegistry("tips", connection=ext.redis).get_job_ids() == [f"route-tip-{tip_id}"]
    with ext.session_scope() as session:
        assert session.get(Tip, tip_id).routing_started_at is not None


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


def test_a_sigkilled_worker_leaves_no_scheduler_child_running(config, ext):
    worker = _start_worker(config)
    scheduler = None
    try:
        # The worker runs jobs itself (no --fork): its one child is RQ's scheduler.
        [scheduler] = _eventually(lambda: _children(worker.pid))
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        assert _eventually(lambda: not _alive(scheduler)), f"scheduler {scheduler} outlived its worker"
    finally:
        worker.kill()
        worker.wait(timeout=10)
        if scheduler and _alive(scheduler):
            os.kill(scheduler, signal.SIGKILL)


def _start_worker(config, **settings) -> subprocess.Popen:
    """`flask worker` as its own process, on the test's database and Redis."""
    env = {
        **os.environ,
        "FLASK_APP": "hotline:create_app",
        "HOTLINE_ENV": "testing",
        "DATABASE_URL": config.database_url,
        "REDIS_URL": config.redis_url,
        "SECRET_KEY": "test",
        **settings,
    }
    flask = str(Path(sys.executable).parent / "flask")
    root = Path(__file__).resolve().parents[1]
    return subprocess.Popen(
        [flask, "worker"], cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _children(pid: int) -> list[int]:
    """The child processes of `pid`, from /proc (every thread's list)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return found


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for its new parent to reap it has exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def _eventually(condition, deadline: float = 30.0):
    """Poll `condition` until it holds or the deadline passes (a bound, not a speed test)."""
    until = time.monotonic() + deadline
    while not (result := condition()) and time.monotonic() < until:
        time.sleep(0.1)
    return result


def _tip_ids(ext) -> list[int]:
    with ext.session_scope() as session:
        return list(session.scalars(select(Tip.id)))



def test_a_running_worker_routes_tips_saved_while_redis_restarted_empty(config, ext, client, redis_server):
    """Redis keeps nothing on disk: after it restarts empty, the worker schedules its sweep again
    (and with it the routing of tips saved while Redis was down), without being restarted."""
    worker = _start_worker(config, WORKER_MAINTENANCE_SECONDS="1")
    try:
        assert _eventually(lambda: ext.redis.keys("rq:job:sweep-unqueued-tips-*")), "no sweep scheduled"
        redis_server.stop()
        submit(client)  # saved in the database; its routing job cannot be queued
        [tip_id] = _tip_ids(ext)
        redis_server.start()  # empty: the sweep chain and the scheduler's locks are gone
        assert not ext.redis.keys("rq:job:sweep-*")
        assert _eventually(lambda: ext.redis.keys("rq:job:sweep-unqueued-tips-*"), deadline=60), (
            "the worker never scheduled its sweep again"
        )

        def routed():
            with ext.session_scope() as session:
                return session.get(Tip, tip_id).routing_started_at is not None

        assert _eventually(routed, deadline=150), "the tip saved during the outage was never routed"
    finally:
        worker.terminate()
        worker.wait(timeout=30)
