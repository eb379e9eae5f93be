"""What the delivery benchmark runs against: Redis, a scratch PostgreSQL database, two gunicorns.

A private `redis-server` (no persistence) on a free port; a PostgreSQL database created for the run
(`createdb`, dropped at the end) or the one `--database-url` names (left in place), migrated with
`hotline.core.db.upgrade`; and two gunicorn servers with the USSD benchmark's settings: the hotline
(`WEBHOOK_TOKEN` set, so reports carry `?token=`) and the bare baseline (`bare.py`).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(1, str(BENCH.parent))  # bench/processes.py, shared by the benchmarks

from processes import Processes, postgres_command, service_env  # noqa: E402

TOKEN = "bench-token"
PROBE = b"id=ATXid_probe&status=Sent&phoneNumber=%2B254799999999&networkCode=63902&retryCount=0"


class Stack(Processes):
    """Redis, the database and both servers; use as `with Stack(workers, pg_host) as stack:`."""

    def __init__(self, workers: int = 2, database_url: str | None = None,
                 pg: str = "postgresql+psycopg://postgres@127.0.0.1:5432", keep: bool = False):
        super().__init__("bench-delivery-", keep)
        self.workers = workers
        self.pg = pg
        self.database_url = database_url or ""
        self.scratch = None if database_url else f"bench_delivery_{os.getpid()}"

    def _start(self) -> None:
        if self.scratch:
            postgres_command(self.pg, "createdb", self.scratch)
            self.database_url = f"{self.pg}/{self.scratch}"
        self.env = env = service_env(self.dir, self.start_redis())
        env.update(DATABASE_URL=self.database_url, WEBHOOK_TOKEN=TOKEN)
        migrate = "import sys; from hotline.core.db import upgrade; upgrade(sys.argv[1])"
        self.run([sys.executable, "-c", migrate, self.database_url])
        self.spawn_gunicorn_pair(BENCH, self.workers, env)
        for name in ("hotline", "bare"):
            self._wait_for_http(name)

    def stop(self) -> None:
        """Stop every process, then drop the scratch database."""
        super().stop()
        if self.scratch and self.database_url:
            postgres_command(self.pg, "dropdb", "--force", "--if-exists", self.scratch)
            self.database_url = ""

    def _wait_for_http(self, name: str, timeout: float = 30) -> None:
        """Wait until the server answers a delivery report with 200 (then forget the probe)."""
        url = f"http://127.0.0.1:{self.ports[name]}/sms/delivery?token={TOKEN}"

        def answered() -> str | None:
            try:
                with urllib.request.urlopen(url, data=PROBE, timeout=2) as reply:
                    return None if reply.status == 200 else f"status {reply.status}"
            except (OSError, urllib.error.URLError) as exc:
                return str(exc)

        self.wait_until(name, answered, timeout, what="answer POST /sms/delivery with 200")
