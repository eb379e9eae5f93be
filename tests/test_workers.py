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

from hotline.core.models import Tip, utcnow
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


def test_a_sigkilled_worker_leaves_no_scheduler_child_running(config, ext, tmp_path):
    worker = _start_worker(config, tmp_path / "worker.log")
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


def _start_worker(config, log: Path, **settings) -> subprocess.Popen:
    """`flask worker` as its own process, on the test's database and Redis, writing to `log`."""
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
    with log.open("ab") as out:
        return subprocess.Popen([flask, "worker"], cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)


def _tail(log: Path, lines: int = 60) -> str:
    """The last `lines` lines the worker wrote (shown when a test of it fails)."""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


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



def test_a_running_worker_routes_tips_saved_while_redis_restarted_empty(
    config, ext, client, redis_server, tmp_path
):
    """Redis keeps nothing on disk: after it restarts empty, the worker schedules its sweep again
    (and with it the routing of tips saved while Redis was down), without being restarted."""
    log = tmp_path / "worker.log"
    worker = _start_worker(config, log, WORKER_MAINTENANCE_SECONDS="1")
    try:
        assert _eventually(lambda: ext.redis.keys("rq:job:sweep-unqueued-tips-*")), "no sweep scheduled"
        redis_server.stop()
        submit(client)  # saved in the database; its routing job cannot be queued
        [tip_id] = _tip_ids(ext)
        redis_server.start()  # empty: the sweep chain and the scheduler's locks are gone
        assert not ext.redis.keys("rq:job:sweep-*")
        assert _eventually(lambda: ext.redis.keys("rq:job:sweep-unqueued-tips-*"), deadline=60), (
            f"the worker never scheduled its sweep again; its log ends:\n{_tail(log)}"
        )

        def routed():
            with ext.session_scope() as session:
                return session.get(Tip, tip_id).routing_started_at is not None

        assert _eventually(routed, deadline=150), (
            f"the tip saved during the outage was never routed; the worker's log ends:\n{_tail(log)}"
        )
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_a_worker_whose_job_ends_while_redis_is_down_keeps_running(config, ext, redis_server, tmp_path):
    """Redis goes down while the worker runs a job: recording the job's end fails. The worker must
    wait for Redis and carry on (sweep scheduled again), not exit and leave tips unrouted."""
    log = tmp_path / "worker.log"
    release, done = tmp_path / "release", tmp_path / "done"
    worker = _start_worker(config, log, WORKER_MAINTENANCE_SECONDS="1")
    try:
        job = Queue("default", connection=ext.redis).enqueue(
            "subprocess.call", ["sh", "-c", f"until [ -e {release} ]; do sleep 0.05; done; touch {done}"]
        )
        assert _eventually(lambda: job.get_status(refresh=True) == "started"), "the job never started"
        redis_server.stop()
        release.touch()  # the job ends while Redis is down
        assert _eventually(done.exists)
        assert _eventually(lambda: "Redis unreachable" in log.read_text()), _tail(log)
        redis_server.start()
        assert _eventually(lambda: ext.redis.keys("rq:job:sweep-unqueued-tips-*"), deadline=60), (
            f"the worker never scheduled its sweep again; its log ends:\n{_tail(log)}"
        )
        assert worker.poll() is None, f"the worker exited; its log ends:\n{_tail(log)}"
        assert len(_eventually(lambda: _children(worker.pid))) == 1, "not one scheduler child"
    finally:
        worker.terminate()
        worker.wait(timeout=30)
