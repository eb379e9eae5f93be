"""What the routing benchmark runs against, set up from nothing in a temporary directory.

A private `redis-server`, a SQLite database migrated and seeded with the demo data (`flask seed
--demo`: counties, three demo tips, the demo focal points), the AT simulator (`flask run`, one
process: it keeps the SMS in memory) with delivery reports on, the hotline under gunicorn pointed
at the simulator, and exactly one `flask worker` (jobs in-process, the default). `RoutingStack`
is a context manager like every benchmark's stack (`bench/processes.py`): leaving it stops every
process and deletes the directory unless `keep`.

The demo tips are routed before anything is measured: the worker's start-up sweep skips tips
younger than 30 s, so left alone they would be routed by the first periodic sweep, in the middle of
the measurement. The stack queues their routing the way the sweeper would, then waits until
their SMS are sent and their delivery reports posted, and empties the simulator's inbox.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # bench/processes.py

from processes import (  # noqa: E402
    REPO,
    Processes,
    commit,
    cpu_seconds,
    exit_on_termination,
    free_port,
    gunicorn_settings,
    machine_cpu,
    run_main,
    service_env,
)

__all__ = [
    "REPO", "RoutingStack", "commit", "cpu_seconds", "exit_on_termination", "machine_cpu", "run_main",
]

# The simulator's own settings; a developer's shell may carry them too.
SIMULATOR_VARIABLES = ("HOTLINE_URL", "USSD_TIMEOUT", "SIM_")
PROBE = (
    b"sessionId=ATUid_probe&serviceCode=%2A384%2A1234%23&phoneNumber=%2B254799999999"
    b"&networkCode=63902&text="
)
# Queue routing for the tips that have none yet, as the sweeper does (it waits until they are 30 s old).
ROUTE_WAITING_TIPS = """
from datetime import timedelta
from hotline import create_app
from hotline.tips import submission as tips
ext = create_app().extensions["hotline"]
with ext.session_scope() as session:
    ids = tips.unrouted_tip_ids(session, timedelta(0))
print(sum(tips.queue_routing(ext.queues, tip_id) for tip_id in ids))
"""


class RoutingStack(Processes):
    """Redis, the database, the simulator, the hotline and one worker."""

    def __init__(self, web_workers: int = 2, delivery_delay: float = 0.2, keep: bool = False):
        super().__init__("bench-routing-", keep)
        self.web_workers, self.delivery_delay = web_workers, delivery_delay
        self.database = self.dir / "hotline.db"

    def _start(self) -> None:
        env = service_env(self.dir, self.start_redis())
        env = {k: v for k, v in env.items() if not k.startswith(SIMULATOR_VARIABLES)}
        self.ports["simulator"], self.ports["hotline"] = free_port(), free_port()
        self.env = env = {
            **env,
            "AT_API_URL": self.simulator_url,
            # Flask imports the app from the temporary directory; the repository must be importable.
            "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO), env.get("PYTHONPATH")))),
        }
        for command in (["db", "upgrade"], ["seed", "--demo"]):
            self.run([sys.executable, "-m", "flask", "--app", "hotline:create_app", *command])
        self.spawn("simulator", [
            sys.executable, "-m", "flask", "--app", "simulator:create_app", "run",
            "--host", "127.0.0.1", "--port", str(self.ports["simulator"]), "--no-reload", "--no-debugger",
        ], env={
            **env,
            "HOTLINE_URL": f"http://127.0.0.1:{self.ports['hotline']}",
            "SIM_DELIVERY_DELAY": str(self.delivery_delay),
            "SIM_SEED": "1",  # the same duplicate, reordered and intermediate reports every run
        })
        # cwd is the temporary directory so no gunicorn.conf.py is picked up by accident.
        self.spawn("hotline", [
            sys.executable, "-m", "gunicorn", *gunicorn_settings(self.web_workers),
            "--bind", f"127.0.0.1:{self.ports['hotline']}", "--pythonpath", str(REPO), "hotline:create_app()",
        ], env=env)
        self.wait_until("simulator", lambda: _why_not(lambda: self.messages()), what="answer /api/messages")
        self.wait_until("hotline", self._first_screen, what="answer POST /ussd with CON")
        self.run([sys.executable, "-c", ROUTE_WAITING_TIPS])
        worker = [sys.executable, "-m", "flask", "--app", "hotline:create_app", "worker"]
        self.spawn("worker", worker, env=env)
        self.wait_until("worker", self.settled, timeout=60, what="route the demo tips")
        self.wait_until("simulator", self._flushed, timeout=30, what="post the demo tips' delivery reports")
        self.call("DELETE", "/api/messages")

    @property
    def simulator_url(self) -> str:
        """Where the simulator answers."""
        return f"http://127.0.0.1:{self.ports['simulator']}"

    def call(self, method: str, path: str, timeout: float = 10) -> tuple[int, object]:
        """A JSON call to the simulator's API: status and decoded body."""
        request = urllib.request.Request(self.simulator_url + path, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                return reply.status, json.load(reply)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    def messages(self, phone: str | None = None, since: str | None = None) -> list[dict]:
        """The SMS the simulator accepted, oldest first (`GET /api/messages`)."""
        query = urllib.parse.urlencode({k: v for k, v in (("phone", phone), ("since", since)) if v})
        status, body = self.call("GET", "/api/messages" + ("?" + query if query else ""))
        if status != 200:
            raise RuntimeError(f"GET /api/messages answered {status}: {body}")
        return body

    def flush_reports(self, timeout: float) -> dict:
        """Wait for the simulator's delivery reports (`POST /api/flush`); their counts and `flushed`."""
        return self.call("POST", f"/api/flush?timeout={timeout:g}", timeout=timeout + 5)[1]

    def query(self, sql: str, *params) -> list[tuple]:
        """Rows from the hotline's database, read-only."""
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=15) as connection:
            return connection.execute(sql, params).fetchall()

    def _first_screen(self) -> str | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ports['hotline']}/ussd", data=PROBE,
                                        timeout=2) as reply:
                body = reply.read()
        except OSError as exc:
            return str(exc)
        return None if body.startswith(b"CON ") else f"answered {body[:80]!r}"

    def settled(self) -> str | None:
        """None once every tip's routing started and no SMS is pending, else what is left."""
        [(unrouted, pending)] = self.query(
            "SELECT (SELECT count(*) FROM tip WHERE routing_started_at IS NULL),"
            " (SELECT count(*) FROM outbound_sms WHERE state = 'pending')")
        return f"{unrouted} tips not routed, {pending} SMS pending" if unrouted or pending else None

    def _flushed(self) -> str | None:
        counts = self.flush_reports(1)
        return None if counts.get("flushed") else f"{counts.get('pending')} delivery reports pending"


def _why_not(attempt) -> str | None:
    try:
        attempt()
    except (OSError, RuntimeError, ValueError) as exc:
        return str(exc)
    return None
