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

import os

from rq.scheduler import RQScheduler


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
