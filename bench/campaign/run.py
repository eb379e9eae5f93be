"""Campaign benchmark: a national campaign from `send` to every SMS accepted, and its report.

Run it from the repository root with the project's virtualenv (PostgreSQL must be reachable):

    .venv/bin/python bench/campaign/run.py                        # 100,000 then 1,000,000 contacts
    .venv/bin/python bench/campaign/run.py --sizes 20000          # a quick look

For each size it fills a scratch PostgreSQL database with that many consented contacts (INSERT ...
SELECT generate_series: realistic spreads of county and language, a random salt each), starts a
fresh `flask worker` (jobs in-process, the default) and the AT simulator (delivery reports off:
bench/delivery measures those; it keeps only the last 1,000 message bodies), creates a campaign in
two languages with a 10% holdout through the CLI, and times `flask campaigns send` to the moment the
simulator has accepted every treated recipient. The worker's peak memory is its VmHWM.
Then it times `campaigns.report.build` on the largest campaign (after adding dials, tips and SMS
from 1% of the contacts so the effect has something to match).

Targets (issue 5): 1,000,000 contacts sent in under 300 s; worker peak under 300 MB at every size,
not growing with the audience; the report in under 1 s. Prints a table and writes
bench/results/campaign.json. Exit status: 0 targets met, 1 broken, 2 a target missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from processes import REPO, Processes, commit, exit_on_termination, free_port, service_env  # noqa: E402

RESULTS = REPO / "bench" / "results" / "campaign.json"
MAX_SEND_SECONDS = 300.0  # for 1,000,000 contacts
MAX_WORKER_MB = 300.0
MAX_GROWTH = 1.25  # worker peak at the largest size / at the smallest
MAX_REPORT_SECONDS = 1.0
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def parse_args(argv=None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="audiences to send, comma-separated")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="PostgreSQL URL allowed to CREATE DATABASE")
    parser.add_argument("--report-runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory and database")
    return parser.parse_args(argv)


class CampaignStack(Processes):
    """Redis, a scratch PostgreSQL database, the simulator; workers come and go per size."""

    def __init__(self, admin_url: str, keep: bool = False):
        super().__init__("bench-campaign-", keep)
        self.admin_url = admin_url
        self.db_name = f"campaign_bench_{int(time.time())}"

    @property
    def database_url(self) -> str:
        """The scratch database, as the hotline wants it."""
        base = self.admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        return f"{base}/{self.db_name}"

    @property
    def plain_url(self) -> str:
        """The scratch database, as psycopg wants it."""
        return self.database_url.replace("postgresql+psycopg://", "postgresql://")

    def _start(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.db_name}"')
        self.start_redis()
        self.env = service_env(self.dir, self.redis_url)
        self.ports["simulator"] = free_port()
        self.env.update(
            DATABASE_URL=self.database_url,
            AT_API_URL=self.simulator_url,
            FLASK_APP="hotline:create_app",
        )
        self.run([sys.executable, "-m", "flask", "db", "upgrade"])
        self.run([sys.executable, "-m", "flask", "seed"])
        sim_env = {**self.env, "SIM_DELIVERY_REPORTS": "0", "SIM_KEEP_MESSAGES": "1000"}
        self.spawn(
            "simulator",
            [
                sys.executable,
                "-m",
                "flask",
                "--app",
                "simulator:create_app",
                "run",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.ports["simulator"]),
                "--no-reload",
                "--no-debugger",
                "--with-threads",
            ],
            env=sim_env,
            cwd=REPO,
        )
        self.wait_until("simulator", lambda: None if self.stats() else "no answer", what="answer /api/stats")

    def stop(self) -> None:
        super().stop()
        if not self.keep:
            try:
                with psycopg.connect(self.admin_url, autocommit=True) as connection:
                    connection.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            except psycopg.Error:
                pass

    @property
    def simulator_url(self) -> str:
        """Where the simulator answers."""
        return f"http://127.0.0.1:{self.ports['simulator']}"

    def stats(self) -> dict | None:
        """The simulator's counts (`GET /api/stats`), or None while it does not answer."""
        try:
            with urllib.request.urlopen(self.simulator_url + "/api/stats", timeout=5) as response:
                return json.load(response)
        except OSError:
            return None

    def clear_simulator(self) -> None:
        """Forget every message and count (`DELETE /api/messages`)."""
        request = urllib.request.Request(self.simulator_url + "/api/messages", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()

    def sql(self, statement: str, *params) -> list[tuple]:
        """Run one statement on the scratch database; its rows (if any)."""
        with psycopg.connect(self.plain_url, autocommit=True) as connection:
            cursor = connection.execute(statement, params or None)
            return cursor.fetchall() if cursor.description else []

    def start_worker(self) -> int:
        """A fresh `flask worker`; returns its pid."""
        if "worker" in self.processes:
            self.processes.pop("worker").terminate()
        self.spawn("worker", [sys.executable, "-m", "flask", "worker"], env=self.env, cwd=REPO)
        return self.processes["worker"].pid


def fill_contacts(stack: CampaignStack, size: int) -> None:
    """`size` consented contacts: every county, two thirds English, a random salt each."""
    stack.sql(
        "DELETE FROM campaign_recipient; DELETE FROM campaign_batch; DELETE FROM campaign_message;"
        " DELETE FROM campaign; DELETE FROM contact"
    )
    stack.sql(
        "INSERT INTO contact (phone, engagement_key, county_code, language, consent_source, consented_at,"
        " salt, created_at, updated_at)"
        " SELECT '+2547' || lpad(i::text, 8, '0'), md5(i::text) || md5((i + 7)::text), 1 + i %% 47,"
        " CASE WHEN i %% 3 = 0 THEN 'sw' ELSE 'en' END, CASE WHEN i %% 5 = 0 THEN 'ussd' ELSE 'partner' END,"
        " now(), floor(random() * 2147483647)::bigint, now(), now()"
        " FROM generate_series(1, %s) AS i",
        size,
    )
    stack.sql("VACUUM ANALYZE contact")


def peak_mb(pid: int) -> float:
    """A process's peak resident memory (VmHWM) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def send_one(stack: CampaignStack, size: int) -> dict:
    """Fill, create, send and time one campaign of `size` contacts."""
    print(f"\n{size:,} contacts: filling the database ...", flush=True)
    fill_contacts(stack, size)
    stack.clear_simulator()
    pid = stack.start_worker()
    name = f"bench-{size}"
    stack.run(
        [
            sys.executable,
            "-m",
            "flask",
            "campaigns",
            "create",
            name,
            "--message",
            "en=Offered a job abroad? Check the agency is licensed: dial *384*1234# free. STOP to end",
            "--message",
            "sw=Umepewa kazi ng'ambo? Hakiki wakala: piga *384*1234# bure. ACHA kusitisha",
            "--holdout",
            "10%",
            "--hours",
            "00:00-24:00",
            "--rate",
            "10000",
            "--seed",
            "2026",
        ]
    )
    started = time.monotonic()
    output = stack.run(
        [sys.executable, "-m", "flask", "campaigns", "send", name, "--yes", "--no-wait"], timeout=600
    )
    drawn = time.monotonic() - started
    treated = stack.sql(
        "SELECT count(*) FROM campaign_recipient r JOIN campaign c ON c.id = r.campaign_id"
        " WHERE c.name = %s AND NOT r.held_out",
        name,
    )[0][0]
    print(f"  {output.strip()}\n  sending {treated:,} ...", flush=True)
    accepted, last_print = 0, 0.0
    while accepted < treated:
        stack.alive("worker")
        stats = stack.stats() or {}
        accepted = stats.get("accepted", 0)
        if time.monotonic() - last_print > 10:
            print(f"  {accepted:,} accepted after {time.monotonic() - started:.0f} s", flush=True)
            last_print = time.monotonic()
        if time.monotonic() - started > 3 * MAX_SEND_SECONDS * max(1, size / 1_000_000):
            raise RuntimeError(f"gave up: {accepted:,} of {treated:,} accepted")
        time.sleep(0.25)
    elapsed = time.monotonic() - started
    while stack.sql("SELECT state FROM campaign WHERE name = %s", name)[0][0] != "done":
        stack.alive("worker")
        time.sleep(0.25)
    states = dict(
        stack.sql(
            "SELECT r.state, count(*) FROM campaign_recipient r JOIN campaign c"
            " ON c.id = r.campaign_id WHERE c.name = %s GROUP BY r.state",
            name,
        )
    )
    stats = stack.stats()
    twice = stats.get("accepted", 0) - stats.get("unique_numbers", 0)
    result = {
        "contacts": size,
        "treated": treated,
        "draw_seconds": round(drawn, 2),
        "send_seconds": round(elapsed, 2),
        "per_second": round(treated / elapsed),
        "worker_peak_mb": round(peak_mb(pid), 1),
        "states": states,
        "sent_twice": twice,
        "requests": stats.get("requests"),
    }
    print(
        f"  all {treated:,} accepted in {elapsed:.1f} s ({result['per_second']:,}/s; audience drawn in "
        f"{drawn:.1f} s); worker peak {result['worker_peak_mb']} MB; states {states}",
        flush=True,
    )
    return result


def time_report(stack: CampaignStack, size: int, runs: int) -> dict:
    """Median and worst time of `campaigns.report.build` on the campaign of `size` contacts."""
    # 1% of the contacts dialled, 0.3% sent an SMS, inside the attribution window; sealed as the
    # service seals them (hotline.engagement), so the report opens every one.
    from hotline.config import DEV_PHONE_HASH_KEY
    from hotline.privacy import seal_engagement

    key = stack.env.get("PHONE_HASH_KEY") or DEV_PHONE_HASH_KEY  # the key the report's app gets
    today = stack.sql("SELECT (now() AT TIME ZONE 'Africa/Nairobi')::date")[0][0]
    with psycopg.connect(stack.plain_url, autocommit=True) as connection:
        rows = [
            (today, signal, seal_engagement(engagement_key, key))
            for signal, every in (("dialled", 100), ("sms", 300))
            for (engagement_key,) in connection.execute(
                "SELECT engagement_key FROM contact WHERE id %% %s = 0", (every,)
            )
        ]
        with connection.cursor().copy("COPY engagement (day, signal, sealed_key) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    stack.sql("VACUUM ANALYZE")
    os.environ.update(stack.env)
    from sqlalchemy import select

    from campaigns import report
    from hotline import create_app
    from hotline.models import Campaign

    app = create_app()
    ext = app.extensions["hotline"]
    with ext.session_scope() as session:
        campaign_id = session.scalar(select(Campaign.id).where(Campaign.name == f"bench-{size}"))
    times = []
    for _ in range(runs + 1):  # the first warms the caches
        with ext.session_scope() as session:
            started = time.perf_counter()
            built = report.build(session, campaign_id)
            times.append(time.perf_counter() - started)
    times = times[1:]
    result = {
        "median_seconds": round(statistics.median(times), 3),
        "max_seconds": round(max(times), 3),
        "runs": runs,
        "reach": getattr(built, "reach", None),
    }
    print(
        f"\nreport of {size:,} contacts: median {result['median_seconds']} s, "
        f"worst {result['max_seconds']} s",
        flush=True,
    )
    return result


def main(argv=None) -> int:
    """Run the benchmark; the exit status says whether the targets were met."""
    args = parse_args(argv)
    exit_on_termination()
    sizes = [int(part) for part in args.sizes.split(",") if part.strip()]
    results: dict = {"commit": commit(), "date": datetime.now(UTC).isoformat(timespec="seconds"), "sends": []}
    try:
        with CampaignStack(args.admin_url, keep=args.keep) as stack:
            for size in sizes:
                results["sends"].append(send_one(stack, size))
            results["report"] = time_report(stack, max(sizes), args.report_runs)
    except (RuntimeError, psycopg.Error, OSError) as exc:
        print(f"benchmark broke: {exc}", file=sys.stderr)
        return 1
    sends = results["sends"]
    largest = max(sends, key=lambda s: s["contacts"])
    scaled = largest["send_seconds"] * 1_000_000 / largest["contacts"]
    growth = largest["worker_peak_mb"] / min(sends, key=lambda s: s["contacts"])["worker_peak_mb"]
    checks = {
        "send 1,000,000 (s)": (scaled, MAX_SEND_SECONDS),
        "worker peak (MB)": (max(s["worker_peak_mb"] for s in sends), MAX_WORKER_MB),
        "worker peak growth (largest/smallest)": (growth, MAX_GROWTH),
        "report (s, median)": (results["report"]["median_seconds"], MAX_REPORT_SECONDS),
        "sent twice": (max(s["sent_twice"] for s in sends), 0),
    }
    print("\n| figure | measured | target | ratio | result |\n|---|---|---|---|---|")
    missed = False
    for label, (value, target) in checks.items():
        ok = value <= target
        missed |= not ok
        ratio = f"{value / target:.2f}" if target else "-"
        print(
            f"| {label} | {value:,.3f} | {'<=' if target else '=='} {target} | {ratio} | "
            f"{'pass' if ok else 'MISS'} |"
        )
    if largest["contacts"] < 1_000_000:
        print(f"(the send figure is scaled linearly from {largest['contacts']:,} contacts)")
    results["checks"] = {
        label: {"value": value, "target": target} for label, (value, target) in checks.items()
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str))
    return 2 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
