"""RQ's scheduler, bound to the worker that forked it: it stops when that worker dies.

RQ runs its scheduler in a child of the worker and stops it only when the worker shuts down
cleanly. A worker that is SIGKILLed (or killed by the OOM killer) would leave the child running,
scheduling jobs and holding the scheduler locks for a worker that no longer exists.

The mechanism: the child compares `os.getppid()` with the worker's pid on every tick (RQ calls
`heartbeat` once a second). When the worker dies the kernel hands the child to another parent
(init or a subreaper), so the pid differs, and the child stops as on SIGTERM: it releases its
locks and exits within about a second. No signals or platform calls: the check cannot miss a
death that happens before it is armed (the kernel's PR_SET_PDEATHSIG, set in the child, can) and
it works wherever Python does.
"""

from __future__ import annotations

import logging
import os

import redis
from rq import SimpleWorker, Worker
from rq.scheduler import RQScheduler

from workers.sweeper import schedule_sweep, sweep_all, swept_recently

log = logging.getLogger(__name__)


class WorkerBoundScheduler(RQScheduler):
    """RQ's scheduler process, which stops once the worker that started it is gone."""

    worker_pid: int | None = None

    def start(self):
        """Fork the scheduler process, remembering the worker's pid (this runs in the worker)."""
        self.worker_pid = os.getpid()
        return super().start()

    def heartbeat(self):
        """RQ's heartbeat, after checking that the worker is still this process's parent."""
        if self.worker_pid is not None and os.getppid() != self.worker_pid:
            self.log.warning("worker %s is gone: the scheduler stops", self.worker_pid)
            self.request_stop()
        super().heartbeat()


class SweepKeeping:
    """A worker whose periodic maintenance also makes sure the next sweep is scheduled.

    The sweep reschedules itself through RQ's scheduler, so the chain lives in Redis. A Redis that
    restarts empty (it keeps nothing on disk here) loses it, and with it every retry of tips saved
    while it was down. RQ's maintenance, which already restarts a dead scheduler process, runs
    every `worker_maintenance_seconds` (the dequeue timeout is set to match): when no sweep ran
    lately it sweeps at once, then makes sure the next one is scheduled.
    """

    def run_maintenance_tasks(self):
        """RQ's maintenance (scheduler restart, registries), then the sweep if it stopped."""
        super().run_maintenance_tasks()
        try:
            if not swept_recently():
                log.warning("no sweep ran lately (Redis restarted empty?): sweeping now")
                sweep_all()
            schedule_sweep()
        except redis.RedisError as exc:
            log.warning("could not schedule the sweep (%s); trying again at the next maintenance",
                        type(exc).__name__)


class HotlineWorker(SweepKeeping, SimpleWorker):
    """Runs jobs in the worker process; keeps the sweep scheduled."""


class ForkingHotlineWorker(SweepKeeping, Worker):
    """Runs each job in a forked child; keeps the sweep scheduled."""


def make_worker(queues, connection, maintenance_seconds: int, fork: bool = False):
    """A worker on `queues` whose maintenance (and so the sweep check) runs every `maintenance_seconds`."""
    worker_class = ForkingHotlineWorker if fork else HotlineWorker
    # RQ checks for maintenance between dequeues; its dequeue waits `worker_ttl - 15` seconds.
    return worker_class(queues, connection=connection, maintenance_interval=maintenance_seconds,
                        worker_ttl=maintenance_seconds + 15)
