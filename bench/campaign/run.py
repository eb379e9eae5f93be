"""Campaign benchmark: a national campaign sent as in production, until every delivery report is applied.

Run it from the repository root with the project's virtualenv (PostgreSQL must be reachable):

    .venv/bin/python bench/campaign/run.py                         # 1,000,000 contacts, real send
    .venv/bin/python bench/campaign/run.py --contacts 20000        # a quick look
    .venv/bin/python bench/campaign/run.py --best-case             # also the old best case, same audience
    .venv/bin/python bench/campaign/run.py --only-best-case        # only the old best case

The real send (bench/README.md says more): the Procfile's processes on a scratch PostgreSQL
database, the simulator answering each AT request after `--latency` seconds (0.15) and posting
delivery reports to the web server, `flask campaigns send` timed until the campaign is `done` and
every treated recipient shows its final delivery status. Prints send time, report lag, each
process's peak memory; the best case (no web server, no reports, no latency, the clock stopped when
the simulator has accepted the last message) is the baseline the ratio is taken against. Then it
times `campaigns.report.build` on the campaign. Writes bench/results/campaign.json.
Exit status: 0 targets met, 1 broken, 2 a target missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from processes import REPO, commit, cpu_seconds, exit_on_termination, run_main  # noqa: E402
from stack import FINAL_STATUSES, CampaignStack  # noqa: E402

RESULTS = REPO / "bench" / "results" / "campaign.json"
MAX_SECONDS = 300.0  # 1,000,000 contacts from `send` to every report applied
MAX_WORKER_MB = 300.0
MAX_REPORT_SECONDS = 1.0
RATE = 10_000  # the campaign's cap, messages a second
POLL_SECONDS = 2.0  # the applied count scans the campaign's rows: about 0.1 s of PostgreSQL at 1M
PG = "postgresql+psycopg://postgres@127.0.0.1:5432"


def parse_args(argv=None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000, help="audience size (1,000,000)")
    parser.add_argument("--latency", type=float, default=0.15, help="seconds AT takes to answer a send")
    parser.add_argument("--workers", type=int, default=1, help="`flask worker` processes (the Procfile: 1)")
    parser.add_argument("--report-threads", type=int, default=8,
                        help="threads the simulator posts delivery reports from (AT posts from many)")
    parser.add_argument("--best-case", action="store_true", help="also measure the old best case")
    parser.add_argument("--only-best-case", action="store_true", help="measure only the old best case")
    parser.add_argument("--pg", default=PG, help="PostgreSQL server allowed to CREATE DATABASE")
    parser.add_argument("--report-runs", type=int, default=5, help="timed report builds (0: none)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory and database")
    return parser.parse_args(argv)


def fill_contacts(stack: CampaignStack, size: int) -> None:
    """`size` consented contacts: every county, two thirds English, a random salt each."""
    stack.sql(
        "DELETE FROM campaign_recipient; DELETE FROM campaign_batch; DELETE FROM campaign_message;"
        " DELETE FROM campaign; DELETE FROM unmatched_delivery_report; DELETE FROM engagement;"
        " DELETE FROM contact"
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
    stack.sql("VACUUM ANALYZE")  # also the rows a previous measurement left dead


class Peaks:
    """Each process's peak resident memory (VmHWM, the kernel's own high-water mark) and CPU seconds
    used, read as it runs."""

    def __init__(self):
        self.mb: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def read(self, label: str, pids: list[int]) -> None:
        """Remember the peak of each of `pids` (named `label`, `label.2`, … for a server's children)."""
        for number, pid in enumerate(pids):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    name = label if number == 0 else f"{label}.{number + 1}"
                    self.mb[name] = max(self.mb.get(name, 0.0), int(line.split()[1]) / 1024)
            used = cpu_seconds([pid])
            name = label if number == 0 else f"{label}.{number + 1}"
            self.cpu[name] = max(self.cpu.get(name, 0.0), used)


def read_peaks(stack: CampaignStack, peaks: Peaks, backends: bool) -> None:
    """Peak memory of every process of the measurement (gunicorn's master and workers; each worker and
    its scheduler child) and, with `backends`, of the database's PostgreSQL backends."""
    for name in stack.processes:
        peaks.read(name, stack.pids(name))
    if backends:
        for pid in stack.backend_pids():
            peaks.read(f"postgres backend {pid}", [pid])


def create_campaign(stack: CampaignStack, name: str) -> None:
    """The campaign, through the CLI: two languages, a 10% holdout, any hour, capped at RATE a second."""
    stack.run([
        sys.executable, "-m", "flask", "campaigns", "create", name,
        "--message",
        "en=Offered a job abroad? Check the agency is licensed: dial *384*1234# free. STOP to end",
        "--message", "sw=Umepewa kazi ng'ambo? Hakiki wakala: piga *384*1234# bure. ACHA kusitisha",
        "--holdout", "10%", "--hours", "00:00-24:00", "--rate", str(RATE), "--seed", "2026",
    ])


def campaign_row(stack: CampaignStack, name: str) -> tuple[int, str]:
    """The campaign's id and state."""
    return stack.sql("SELECT id, state FROM campaign WHERE name = %s", name)[0]


def applied_count(stack: CampaignStack, campaign_id: int) -> int:
    """Recipients whose final delivery status the hotline has applied."""
    return stack.sql(
        "SELECT count(*) FROM campaign_recipient WHERE campaign_id = %s AND delivery_status = ANY(%s)",
        campaign_id, list(FINAL_STATUSES),
    )[0][0]


def measure(stack: CampaignStack, args, size: int, real: bool) -> dict:
    """One campaign of `size` contacts: the real send (`real`) or the old best case."""
    label = "real send" if real else "best case"
    print(f"\n{label}, {size:,} contacts: filling the database ...", flush=True)
    fill_contacts(stack, size)
    if real:
        stack.start_web()
    stack.start_simulator(args.latency if real else 0.0, reports=real, report_threads=args.report_threads,
                          seed=2026)
    workers = stack.start_workers(args.workers if real else 1)
    stack.wait_until(workers[0], lambda: None if stack.workers_ready(len(workers)) else "not yet",
                     what="register with RQ")
    name = f"bench-{'real' if real else 'best'}-{size}"
    create_campaign(stack, name)
    peaks = Peaks()
    redis_before = cpu_seconds([stack.processes["redis"].pid])  # Redis lives through the whole run
    started_wall, started = time.time(), time.monotonic()
    output = stack.run([sys.executable, "-m", "flask", "campaigns", "send", name, "--yes", "--no-wait"],
                       timeout=600)
    drawn = time.monotonic() - started
    campaign_id, _ = campaign_row(stack, name)
    treated = stack.sql("SELECT count(*) FROM campaign_recipient WHERE campaign_id = %s AND NOT held_out",
                        campaign_id)[0][0]
    print(f"  {output.strip()}\n  sending {treated:,} ...", flush=True)
    give_up = started + max(600.0, 12 * MAX_SECONDS * size / 1_000_000)
    accepted_at = done_at = applied_at = None
    timeline = []  # (seconds since send, accepted at AT, final status applied)
    last_print = 0.0
    while True:
        for worker in workers:
            stack.alive(worker)
        now = time.monotonic()
        accepted = (stack.stats() or {}).get("accepted", 0)
        state = campaign_row(stack, name)[1]
        applied = applied_count(stack, campaign_id) if real else 0
        elapsed = time.monotonic() - started
        timeline.append((round(elapsed, 2), accepted, applied))
        read_peaks(stack, peaks, backends=True)
        if accepted_at is None and accepted >= treated:
            accepted_at = elapsed
        if done_at is None and state == "done":
            done_at = elapsed
        if real and applied_at is None and applied >= treated:
            applied_at = elapsed
        if done_at is not None and (applied_at is not None or not real):
            break
        if now - last_print > 15:
            print(f"  {elapsed:5.0f} s: {accepted:,} accepted, {applied:,} reports applied, campaign {state}",
                  flush=True)
            last_print = now
        if now > give_up:
            raise RuntimeError(f"gave up: {accepted:,} accepted, {applied:,} applied of {treated:,}; {state}")
        time.sleep(POLL_SECONDS if real else 0.25)
    read_peaks(stack, peaks, backends=True)
    result = {"mode": label, "contacts": size, "treated": treated, "draw_seconds": round(drawn, 2)}
    states = dict(stack.sql("SELECT state, count(*) FROM campaign_recipient WHERE campaign_id = %s"
                            " GROUP BY state", campaign_id))
    stats = stack.stats() or {}
    result.update(states=states, sent_twice=stats.get("accepted", 0) - stats.get("unique_numbers", 0),
                  requests=stats.get("requests"))
    if real:
        result.update(report_figures(stack, campaign_id, started_wall, done_at, applied_at, timeline))
        flushed = flush_reports(stack)
        result["delivery_reports"] = flushed
        result["access_log_lines"] = stack.log_text("web").count('"POST /sms/delivery"')
    else:
        result.update(send_seconds=round(accepted_at, 2), done_seconds=round(done_at, 2),
                      per_second=round(treated / accepted_at))
    result["peak_mb"] = {name: round(mb, 1) for name, mb in sorted(peaks.mb.items())}
    result["cpu_seconds"] = cpu_by_role(peaks.cpu)
    result["cpu_seconds"]["redis"] = round(result["cpu_seconds"].get("redis", 0.0) - redis_before, 1)
    result["worker_peak_mb"] = round(max(mb for name, mb in peaks.mb.items() if name.startswith("worker")), 1)
    result["problems"] = [line for name in [*workers, "simulator", "web"] if name in stack.processes
                          for line in stack.log_problems(name, ignore=("development server",))][:20]
    for process in [*workers, "simulator", "web"]:
        if process in stack.processes:
            stack.end(process)
    print_measurement(result)
    return result


def memory_by_role(peak_mb: dict[str, float]) -> dict[str, str]:
    """Peak memory per process, PostgreSQL's backends as their count and the largest one."""
    shown = {name: str(mb) for name, mb in peak_mb.items() if not name.startswith("postgres")}
    backends = [mb for name, mb in peak_mb.items() if name.startswith("postgres")]
    if backends:
        shown[f"postgres backends ({len(backends)}, largest)"] = str(max(backends))
    return shown


def cpu_by_role(cpu: dict[str, float]) -> dict[str, float]:
    """CPU seconds per kind of process: web (master and workers), worker1 (with its scheduler), …"""
    roles: dict[str, float] = {}
    for name, seconds in cpu.items():
        role = "postgres backends" if name.startswith("postgres") else name.split(".")[0]
        roles[role] = round(roles.get(role, 0.0) + seconds, 1)
    return dict(sorted(roles.items()))


def report_figures(stack, campaign_id: int, started_wall: float, done_at: float, applied_at: float,
                   timeline: list) -> dict:
    """Send time, report lag (last send to last report applied) and lags per report."""
    first_sent, last_sent, received = stack.sql(
        "SELECT extract(epoch FROM min(sent_at)), extract(epoch FROM max(sent_at)),"
        " percentile_cont(ARRAY[0.5, 0.99])"
        " WITHIN GROUP (ORDER BY extract(epoch FROM delivered_at - sent_at))"
        " FROM campaign_recipient WHERE campaign_id = %s AND state = 'sent'", campaign_id)[0]
    last_sent = float(last_sent) - started_wall
    treated = max(point[1] for point in timeline)
    return {
        "send_seconds": round(last_sent, 2),  # the last answer recorded
        "done_seconds": round(done_at, 2),
        "total_seconds": round(applied_at, 2),  # done and every final report applied
        "per_second": round(treated / last_sent),
        "report_lag_seconds": round(applied_at - last_sent, 2),
        "received_lag_p50_p99": [round(float(v), 2) for v in received or (0, 0)],
        "applied_lag_p50_p99": applied_lags(timeline),
        "timeline": timeline,
    }


def applied_lags(timeline: list) -> list[float]:
    """p50 and p99 of the time from a message's acceptance at AT to its final report applied.

    Taken from the two curves sampled every poll, matching the k-th message accepted with the k-th
    report applied (reports come back in roughly the order sent); as coarse as the poll (2 s)."""
    def first_time(column: int, count: int) -> float:
        return next(point[0] for point in timeline if point[column] >= count)

    total = timeline[-1][2]
    return [round(first_time(2, max(1, int(total * q))) - first_time(1, max(1, int(total * q))), 1)
            for q in (0.5, 0.99)]


def flush_reports(stack: CampaignStack) -> dict:
    """Wait for the simulator's last (late, duplicate) reports; their counts."""
    import urllib.request

    request = urllib.request.Request(stack.simulator_url + "/api/flush?timeout=120", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=130) as response:
            return json.load(response)
    except OSError as exc:
        return {"error": str(exc)}


def print_measurement(result: dict) -> None:
    """The figures of one measurement, as lines."""
    treated = result["treated"]
    if result["mode"] == "real send":
        print(f"  {treated:,} sent in {result['send_seconds']:.1f} s ({result['per_second']:,}/s), campaign"
              f" done at {result['done_seconds']:.1f} s, every final report applied at"
              f" {result['total_seconds']:.1f} s"
              f"\n  report lag {result['report_lag_seconds']:.1f} s after the last send; per report: received"
              f" p50/p99 {result['received_lag_p50_p99']} s after its send, applied p50/p99"
              f" {result['applied_lag_p50_p99']} s after acceptance", flush=True)
        print(f"  reports: {result['delivery_reports']}")
    else:
        print(f"  all {treated:,} accepted in {result['send_seconds']:.1f} s ({result['per_second']:,}/s);"
              f" campaign done at {result['done_seconds']:.1f} s", flush=True)
    print(f"  states {result['states']}; sent twice {result['sent_twice']}")
    memory = memory_by_role(result["peak_mb"])
    print("  peak memory (MB): " + ", ".join(f"{k} {v}" for k, v in memory.items()))
    print("  CPU seconds: " + ", ".join(f"{k} {v}" for k, v in result["cpu_seconds"].items()))
    if result["problems"]:
        print("  PROBLEMS in the logs:\n    " + "\n    ".join(result["problems"]))


def time_report(stack: CampaignStack, name: str, runs: int) -> dict:
    """Median and worst time of `campaigns.report.build` on campaign `name`."""
    # 1% of the contacts dialled, 0.3% sent an SMS, inside the attribution window; sealed as the
    # service seals them (hotline.core.engagement), so the report opens every one.
    from hotline.core.config import DEV_PHONE_HASH_KEY
    from hotline.core.privacy import seal_engagement

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
    from hotline.core.models import Campaign

    app = create_app()
    ext = app.extensions["hotline"]
    with ext.session_scope() as session:
        campaign_id = session.scalar(select(Campaign.id).where(Campaign.name == name))
    times = []
    for _ in range(runs + 1):  # the first warms the caches
        with ext.session_scope() as session:
            started = time.perf_counter()
            built = report.build(session, campaign_id)
            times.append(time.perf_counter() - started)
    times = times[1:]
    result = {"median_seconds": round(statistics.median(times), 3), "max_seconds": round(max(times), 3),
              "runs": runs, "reach": getattr(built, "reach", None)}
    print(f"\nreport of {name}: median {result['median_seconds']} s, worst {result['max_seconds']} s",
          flush=True)
    return result


def main(argv=None) -> int:
    """Run the benchmark; the exit status says whether the targets were met."""
    args = parse_args(argv)
    exit_on_termination()
    results: dict = {
        "commit": commit(), "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {"contacts": args.contacts, "latency": args.latency, "workers": args.workers,
                     "report_threads": args.report_threads, "rate": RATE, "cpus": os.cpu_count()},
    }
    try:
        with CampaignStack(args.pg, keep=args.keep) as stack:
            # The best case first, on a fresh database, as the old benchmark ran it.
            if args.best_case or args.only_best_case:
                results["best_case"] = measure(stack, args, args.contacts, real=False)
            if not args.only_best_case:
                results["real"] = measure(stack, args, args.contacts, real=True)
            if args.report_runs:
                last = "real" if "real" in results else "best"
                results["report"] = time_report(stack, f"bench-{last}-{args.contacts}", args.report_runs)
    except (RuntimeError, psycopg.Error, OSError) as exc:
        print(f"benchmark broke: {exc}", file=sys.stderr)
        return 1
    return verdict(results, args.contacts)


def verdict(results: dict, size: int) -> int:
    """Print the table of figures against targets and baseline; write the results; the exit status."""
    scale = 1_000_000 / size
    checks = {}
    real, best = results.get("real"), results.get("best_case")
    if real:
        checks["real send: send to every report applied, 1,000,000 (s)"] = (real["total_seconds"] * scale,
                                                                            MAX_SECONDS)
        checks["real send: send to done, 1,000,000 (s)"] = (real["done_seconds"] * scale, MAX_SECONDS)
    if best:
        checks["best case: send to accepted, 1,000,000 (s)"] = (best["send_seconds"] * scale, MAX_SECONDS)
    measured = [m for m in (real, best) if m]
    checks["worker peak (MB)"] = (max(m["worker_peak_mb"] for m in measured), MAX_WORKER_MB)
    if "report" in results:
        checks["report (s, median)"] = (results["report"]["median_seconds"], MAX_REPORT_SECONDS)
    checks["sent twice"] = (max(m["sent_twice"] for m in measured), 0)
    print("\n| figure | measured | target | ratio | result |\n|---|---|---|---|---|")
    missed = False
    for label, (value, target) in checks.items():
        ok = value <= target
        missed |= not ok
        ratio = f"{value / target:.2f}" if target else "-"
        print(f"| {label} | {value:,.1f} | {'<=' if target else '=='} {target} | {ratio} |"
              f" {'pass' if ok else 'MISS'} |")
    if size != 1_000_000:
        print(f"(times scaled linearly from {size:,} contacts)")
    if real and best:
        results["real_over_best"] = round(real["total_seconds"] / best["send_seconds"], 2)
        print(f"real send / best case: {results['real_over_best']}x the time"
              f" ({real['total_seconds']:.1f} s against {best['send_seconds']:.1f} s)")
    broken = bool(real and (real["delivery_reports"].get("failed") or real["problems"]))
    results["checks"] = {label: {"value": value, "target": target}
                         for label, (value, target) in checks.items()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str))
    if broken:
        print("BROKEN: delivery reports failed or errors in the logs (see above)", file=sys.stderr)
        return 1
    return 2 if missed else 0


if __name__ == "__main__":
    run_main(main)
