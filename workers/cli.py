"""`flask worker`: an RQ worker on all of the service's queues, with RQ's scheduler.

The scheduler runs in a child process that exits when the worker dies, however it dies
(workers/scheduler.py).
"""

from __future__ import annotations

import logging
import signal
import time

import click
import redis
from flask.cli import with_appcontext

from hotline.core.extensions import current
from workers.scheduler import WorkerBoundScheduler, make_worker
from workers.sweeper import schedule_sweep, sweep_all

log = logging.getLogger(__name__)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Work until the queues are empty, then exit.")
@click.option(
    "--fork/--no-fork",
    default=False,
    show_default=True,
    help="Run each job in a forked child (isolation) or in the worker itself (speed).",
)
@with_appcontext
def worker_command(burst, fork):
    """Run jobs from every queue (tips first). Survives Redis outages: it waits and reconnects.

    Jobs run in the worker process by default: a tip's SMS leave within milliseconds instead of
    paying a fork per job. Jobs never let an error kill the worker either way (RQ catches them).
    """
    ext = current()
    delay = 1.0
    while True:
        worker = None
        try:
            ext.redis.ping()
            # Tips saved while Redis was down get their routing job now.
            sweep_all()
            if not burst:
                schedule_sweep()
            worker = make_worker(
                list(ext.queues.values()), ext.redis, ext.config.worker_maintenance_seconds, fork
            )
            if not burst:
                # RQ's scheduler process, but one that exits when this worker dies (RQ has no hook to
                # choose the class: a scheduler set here is the one RQ starts, checks and stops).
                worker.scheduler = WorkerBoundScheduler(worker.queues, connection=ext.redis)
                worker.scheduler.acquire_locks(auto_start=True)
            # A burst worker moves due scheduled jobs to their queues once, in this process.
            worker.work(burst=burst, with_scheduler=burst, logging_level="INFO")
        except redis.RedisError as exc:
            # Redis went away outside RQ's own waiting loop: while a job's end was being recorded,
            # during the start-up sweep, or in RQ's teardown. Wait for it and start over.
            if burst:
                raise click.ClickException(
                    f"Redis is not reachable at {ext.config.redis_url}: {exc}"
                ) from None
            if worker is not None:
                _abandon(worker)
                if _stopping(worker):
                    return
            _default_signals()  # no job runs while we wait: a stop request may end the process
            log.warning("Redis unreachable (%s); retrying in %.0f s", type(exc).__name__, delay)
            time.sleep(delay)
            delay = min(delay * 2, 30)
            continue
        delay = 1.0
        if burst or _stopping(worker):
            return
        log.warning("worker stopped unexpectedly (Redis lost?); restarting")
        time.sleep(1)


def _stopping(worker) -> bool:
    """Whether a warm shutdown (SIGTERM/SIGINT) was asked of `worker`, busy or idle."""
    return worker._stop_requested or worker._shutdown_requested_date is not None


def _abandon(worker) -> None:
    """Stop what a worker that lost Redis leaves running here: its scheduler child, its pub/sub thread."""
    process = worker.scheduler and worker.scheduler._process
    if process and process.is_alive():
        worker.stop_scheduler()
    if worker.pubsub_thread and worker.pubsub_thread.is_alive():
        worker.pubsub_thread.stop()
        worker.pubsub_thread.join(timeout=1)


def _default_signals() -> None:
    """Undo RQ's SIGTERM/SIGINT handlers, which belong to a worker that no longer runs."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
