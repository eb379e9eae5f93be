"""What the campaign benchmark runs: the Procfile's layout on a scratch PostgreSQL database.

A private `redis-server`, a database `bench_camp_<pid>` created for the run and dropped at the end,
migrated and seeded with the project's CLI; then, per measurement, the processes of `Procfile`:
`web` (its gunicorn command line, read from the Procfile itself, so the bench runs what is
deployed: gthread workers, threads, access log), `worker` (`flask worker`, as many as asked; the
Procfile starts one), and the AT simulator as `Procfile.dev` starts it (`flask run`, threaded),
with its send latency and delivery reports posted to the web server.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import sys
import time
import urllib.request
from pathlib import Path

import psycopg

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # bench/processes.py

from processes import REPO, Processes, _exited, _signal_group, free_port, service_env  # noqa: E402

TOKEN = "bench-campaign-token"  # the webhook token: every delivery report carries ?token=
FINAL_STATUSES = ("Success", "Failed", "Rejected", "Expired")
BENCH_CLIENT = "bench-campaign"  # the benchmark's own connections, left out of the backends measured


def procfile_command(name: str, variables: dict[str, str], procfile: Path = REPO / "Procfile") -> list[str]:
    """The Procfile's command line for process type `name`, with `${VAR:-default}` filled in."""
    for line in procfile.read_text().splitlines():
        kind, _, command = line.partition(":")
        if kind.strip() == name:
            filled = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: variables.get(m[1], m[2]), command)
            return shlex.split(filled)
    raise RuntimeError(f"no {name!r} process in {procfile}")


class CampaignStack(Processes):
    """Redis and the scratch database for the whole run; web, workers and simulator per measurement."""

    def __init__(self, pg: str, keep: bool = False):
        super().__init__("bench-campaign-", keep)
        self.pg = pg  # postgresql+psycopg://user@host:port
        self.db_name = f"bench_camp_{os.getpid()}"
        self.database_url = f"{pg}/{self.db_name}"
        self.plain_url = self.database_url.replace("postgresql+psycopg://", "postgresql://")
        self.admin_url = pg.replace("postgresql+psycopg://", "postgresql://") + "/postgres"

    def _start(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.db_name}"')
        self.env = service_env(self.dir, self.start_redis())
        self.ports["web"], self.ports["simulator"] = free_port(), free_port()
        self.env.update(
            DATABASE_URL=self.database_url,
            AT_API_URL=self.simulator_url,
            WEBHOOK_TOKEN=TOKEN,
            FLASK_APP="hotline:create_app",
        )
        self.run([sys.executable, "-m", "flask", "db", "upgrade"])
        self.run([sys.executable, "-m", "flask", "seed"])

    def stop(self) -> None:
        """Stop every process, then drop the scratch database (unless kept)."""
        super().stop()
        if not self.keep:
            try:
                with psycopg.connect(self.admin_url, autocommit=True) as connection:
                    connection.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            except psycopg.Error:
                pass

    # The processes of one measurement

    def start_simulator(self, latency: float, reports: bool, report_threads: int, seed: int) -> None:
        """The AT simulator as Procfile.dev starts it, answering each send after `latency` seconds."""
        env = {
            **self.env,
            "HOTLINE_URL": self.web_url,
            "SIM_SEND_LATENCY": str(latency),
            "SIM_DELIVERY_REPORTS": "1" if reports else "0",
            "SIM_DELIVERY_WORKERS": str(report_threads),
            "SIM_SEED": str(seed),
            "SIM_KEEP_MESSAGES": "1000",  # the counts at /api/stats still cover every message
        }
        self.spawn("simulator", [
            sys.executable, "-m", "flask", "--app", "simulator:create_app", "run", "--host", "127.0.0.1",
            "--port", str(self.ports["simulator"]), "--no-reload", "--no-debugger", "--with-threads",
        ], env=env, cwd=REPO)
        self.wait_until("simulator", lambda: None if self.stats() else "no answer", what="answer /api/stats")

    def start_web(self) -> None:
        """The Procfile's `web` line (gunicorn and its settings), bound to 127.0.0.1 on our port."""
        argv = procfile_command("web", {"PORT": str(self.ports["web"])})
        argv = [sys.executable, "-m", "gunicorn", *(a.replace("0.0.0.0", "127.0.0.1") for a in argv[1:])]
        # cwd is the scratch directory (no gunicorn.conf.py picked up by accident); no control socket
        # there, so that two benchmarks never share one.
        self.spawn("web", [*argv[:-1], "--no-control-socket", "--chdir", str(REPO), argv[-1]], env=self.env)

        def answered() -> str | None:
            try:
                urllib.request.urlopen(self.web_url + "/healthz", timeout=2).close()
                return None
            except OSError as exc:
                return str(exc)

        self.wait_until("web", answered, what="answer /healthz")

    def start_workers(self, count: int) -> list[str]:
        """`count` `flask worker` processes (the Procfile's `worker` line); returns their names."""
        argv = procfile_command("worker", {})
        names = []
        for number in range(count):
            name = f"worker{number + 1}"
            self.spawn(name, [sys.executable, "-m", *argv], env=self.env, cwd=REPO)
            names.append(name)
        return names

    def workers_ready(self, count: int) -> bool:
        """True once `count` RQ workers are registered (their start-up is not part of the send)."""
        import redis

        client = redis.Redis.from_url(self.redis_url)
        try:
            return client.scard("rq:workers") >= count
        finally:
            client.close()

    def end(self, name: str) -> None:
        """Stop one process (its whole group) and forget it."""
        process = self.processes.pop(name)
        _signal_group(process, signal.SIGINT if name != "web" else signal.SIGTERM)
        deadline = time.monotonic() + 15
        while not _exited(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        _signal_group(process, signal.SIGKILL)
        process.wait()

    # What the benchmark reads

    @property
    def simulator_url(self) -> str:
        """Where the simulator answers."""
        return f"http://127.0.0.1:{self.ports['simulator']}"

    @property
    def web_url(self) -> str:
        """Where the hotline's web server answers."""
        return f"http://127.0.0.1:{self.ports['web']}"

    def stats(self) -> dict | None:
        """The simulator's counts (`GET /api/stats`), or None while it does not answer."""
        try:
            with urllib.request.urlopen(self.simulator_url + "/api/stats", timeout=10) as response:
                return json.load(response)
        except OSError:
            return None

    def sql(self, statement: str, *params) -> list[tuple]:
        """Run one statement on the scratch database; its rows (if any)."""
        with psycopg.connect(self.plain_url, autocommit=True, application_name=BENCH_CLIENT) as connection:
            cursor = connection.execute(statement, params or None)
            return cursor.fetchall() if cursor.description else []

    def backend_pids(self) -> list[int]:
        """The PostgreSQL backends connected to the scratch database (the services', not the benchmark's)."""
        return [pid for (pid,) in self.sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name <> %s",
            BENCH_CLIENT,
        )]
