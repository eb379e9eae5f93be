"""What the USSD benchmark runs against, set up from nothing in a temporary directory.

A private `redis-server` (no persistence) on a free port, a database migrated and seeded with the
project's own CLI (a SQLite file, or with `pg` a scratch PostgreSQL database created and dropped by
the run), and two gunicorn servers with identical settings: the hotline and the bare baseline
(`bare.py`). `Stack` is a context manager: leaving it, normally, on an error or
on Ctrl-C, stops every process it started (each runs in its own process group) and deletes the
directory (see `bench/processes.py`, shared with the other benchmarks).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(1, str(BENCH.parent))  # bench/processes.py, shared by the benchmarks

from processes import (  # noqa: E402
    REPO,
    Processes,
    commit,
    cpu_seconds,
    exit_on_termination,
    free_port,
    gunicorn_settings,
    machine_cpu,
    postgres_command,
    run_main,
    service_env,
)

__all__ = [
    "BENCH", "REPO", "Stack", "commit", "cpu_seconds", "exit_on_termination", "free_port",
    "gunicorn_settings", "machine_cpu", "run_main",
]

PROBE = (
    b"sessionId=ATUid_probe&serviceCode=%2A384%2A1234%23&phoneNumber=%2B254799999999"
    b"&networkCode=63902&text="
)


class Stack(Processes):
    """Redis, the database and both servers; use as `with Stack(workers) as stack:`."""

    def __init__(self, workers: int = 2, keep: bool = False, pg: str | None = None):
        super().__init__("bench-ussd-", keep)
        self.workers = workers
        self.pg = pg  # e.g. postgresql+psycopg://postgres@127.0.0.1:5432; None: SQLite
        self.scratch = f"bench_ussd_{os.getpid()}" if pg else None
        self.created = False

    def _start(self) -> None:
        env = self._start_services()
        self.spawn_gunicorn_pair(BENCH, self.workers, env)
        for name in ("hotline", "bare"):
            self._wait_for_http(name)

    def _start_services(self) -> dict[str, str]:
        """Redis and the migrated, seeded database; the hotline's environment."""
        self.env = env = service_env(self.dir, self.start_redis())
        if self.scratch:
            postgres_command(self.pg, "createdb", self.scratch)
            self.created = True
            env["DATABASE_URL"] = f"{self.pg}/{self.scratch}"
        for command in (["db", "upgrade"], ["seed"]):
            self.run([sys.executable, "-m", "flask", "--app", "hotline:create_app", *command])
        return env

    def stop(self) -> None:
        """Stop every process, then drop the scratch database (if any)."""
        super().stop()
        if self.created:
            postgres_command(self.pg, "dropdb", "--force", "--if-exists", self.scratch)
            self.created = False

    def _wait_for_http(self, name: str, timeout: float = 30) -> None:
        """Wait until the server answers a first USSD screen with `CON `."""
        url = f"http://127.0.0.1:{self.ports[name]}/ussd"

        def first_screen() -> str | None:
            try:
                with urllib.request.urlopen(url, data=PROBE, timeout=2) as reply:
                    body = reply.read()
            except (OSError, urllib.error.URLError) as exc:
                return str(exc)
            return None if body.startswith(b"CON ") else f"answered {body[:80]!r}"

        self.wait_until(name, first_screen, timeout, what="answer POST /ussd with CON")
