"""Delivery-report benchmark: the webhook against a bare Flask + Redis handler, then the applying job.

Run it from the repository root with the project's virtualenv (PostgreSQL on 127.0.0.1:5432):

    .venv/bin/python bench/delivery/run.py                                  # about 2 minutes
    .venv/bin/python bench/delivery/run.py --rounds 1 --recipients 20000    # a quick look

1. Webhook: the hotline's `/sms/delivery` and the bare handler (`bare.py`) under the same gunicorn
   settings, AT's report form posts from a closed loop, in alternating rounds; the ratio of their
   throughputs (median of the rounds' ratios). No worker runs: afterwards the buffer must hold
   exactly the reports answered with 200.
2. Applying: recipients in PostgreSQL, a realistic mix of reports in the buffer, and
   `workers.delivery.apply_delivery_reports` run in this process until the buffer is empty;
   reports per second, then every recipient's final status and the unmatched ids are checked.

Prints the figures and writes `bench/results/delivery.json`. Exit status: 0 both targets met, 1 a
request failed, a report was lost or misapplied, or the setup broke, 2 a target missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

# The shared bench/processes.py, the USSD benchmark's driver (bench/ussd), and the hotline itself.
HERE = Path(__file__).resolve().parent
sys.path[1:1] = [str(HERE.parent), str(HERE.parent / "ussd"), str(HERE.parents[1])]

from driver import Target  # noqa: E402
from processes import (  # noqa: E402
    REPO,
    commit,
    cpu_seconds,
    exit_on_termination,
    gunicorn_settings,
    machine_cpu,
    run_main,
)
from reports import Posts, check_applied, closed_loop, make_mix, seed_recipients  # noqa: E402
from stack import TOKEN, Stack  # noqa: E402

RESULTS = REPO / "bench" / "results" / "delivery.json"
MIN_RATIO = 0.8  # hotline webhook throughput / bare throughput
MIN_APPLY_RATE = 10_000  # reports applied per second
TARGETS = ("bare", "hotline")  # the order of the first round; the next round reverses it


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description="Benchmark the delivery-report webhook against a bare Flask handler doing one Redis "
        "RPUSH, then the job applying buffered reports to PostgreSQL. Writes "
        f"{RESULTS.relative_to(REPO)}.",
        epilog="Exit status: 0 targets met, 1 errors, lost reports or setup failure, 2 a target missed.",
    )
    parser.add_argument("--duration", type=float, default=8, help="seconds measured per target and round (8)")
    parser.add_argument("--rounds", type=int, default=5, help="webhook rounds; targets alternate (5)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of load before each round (2)")
    parser.add_argument("--concurrency", type=int, default=8, help="reports in flight at once (8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of each server (2)")
    parser.add_argument("--recipients", type=int, default=160_000,
                        help="campaign recipients in the database; about 1.3 reports each (160000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the report mix (1)")
    parser.add_argument("--database-url", help="an existing, empty PostgreSQL database to use instead of "
                        "a scratch one (it is migrated and left in place)")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432",
                        help="where to create the scratch database (postgresql+psycopg://postgres@127.0.0.1:5432)")
    parser.add_argument("--profile", action="store_true", help="profile the applying job (cProfile)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON results")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and its logs")
    return parser.parse_args(argv)


async def webhook_phase(stack: Stack, args: argparse.Namespace) -> dict:
    """Alternating rounds of both targets; throughput per round, errors, and every 200 answered."""
    path = f"/sms/delivery?token={TOKEN}"
    targets = {name: Target(name, stack.ports[name], flow=False) for name in TARGETS}
    posts = {name: Posts(targets[name], path, args.seed) for name in TARGETS}  # the same bodies
    figures = {name: {"rps_by_round": [], "errors": 0, "error_samples": [], "ok": 0, "cpu_ms": []}
               for name in TARGETS}
    for number in range(args.rounds):
        for name in TARGETS if number % 2 == 0 else TARGETS[::-1]:
            pids = stack.pids(name) + stack.pids("redis")
            cpu, driver, machine = cpu_seconds(pids), time.process_time(), machine_cpu()
            tally, ok = await closed_loop(targets[name], posts[name], args.concurrency, args.warmup,
                                          args.duration)
            used = cpu_seconds(pids) - cpu
            driver = time.process_time() - driver
            busy, _stolen, total = (a - b for a, b in zip(machine_cpu(), machine, strict=True))
            summary = tally.summary()
            mine = figures[name]
            mine["rps_by_round"].append(summary["rps"])
            mine["errors"] += summary["errors"]
            mine["error_samples"] = (mine["error_samples"] + summary["error_samples"])[:5]
            mine["ok"] += ok
            mine["cpu_ms"].append(round(used * 1000 / ok, 3) if ok else 0)
            mine.setdefault("p50_ms", []).append(summary["p50_ms"])
            mine.setdefault("p99_ms", []).append(summary["p99_ms"])
            others = max(busy - used - driver, 0) / total * 100 if total else 0
            print(f"  round {number + 1}  {name:<8} {summary['rps']:8.1f} reports/s  "
                  f"p50 {summary['p50_ms']:6.2f} ms  p99 {summary['p99_ms']:6.2f} ms  "
                  f"server+redis CPU {mine['cpu_ms'][-1]:5.3f} ms/report  errors {summary['errors']}  "
                  f"(other work: {others:.0f}% of the machine)", flush=True)
    for mine in figures.values():
        mine["rps"] = statistics.median(mine["rps_by_round"])
    by_round = zip(figures["hotline"]["rps_by_round"], figures["bare"]["rps_by_round"], strict=True)
    ratios = [h / b if b else 0.0 for h, b in by_round]
    figures["ratio_by_round"] = [round(r, 3) for r in ratios]
    figures["ratio"] = round(statistics.median(ratios), 3)
    return figures


def apply_phase(stack: Stack, args: argparse.Namespace) -> dict:
    """Seed recipients, buffer the mix, run the applying job to the end; its rate and what it got wrong."""
    os.environ.update(stack.env)  # the app in this process reads its configuration from there
    from hotline import create_app
    from hotline.messaging import delivery_reports
    from workers.delivery import apply_delivery_reports

    app = create_app()
    logging.getLogger("workers.delivery").setLevel(logging.WARNING)  # a line per batch otherwise
    ext = app.extensions["hotline"]
    started = time.perf_counter()
    with ext.session_scope() as session:
        message_ids = seed_recipients(session, args.recipients)
    seeded = time.perf_counter() - started
    mix = make_mix(message_ids, args.seed)
    client = ext.redis
    client.flushdb()  # the webhook phase's reports and the job it queued
    for start in range(0, len(mix.lines), 10_000):
        client.rpush(delivery_reports.BUFFER, *mix.lines[start:start + 10_000])
    print(f"  {len(message_ids)} recipients seeded in {seeded:.1f} s; {len(mix.lines)} reports buffered "
          f"({', '.join(f'{k} {v}' for k, v in mix.counts.items())})", flush=True)
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    slices = applied = 0
    with app.app_context():
        cpu = time.process_time()
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        while delivery_reports.pending(client):
            applied += apply_delivery_reports()
            slices += 1
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
    pg_note = ""
    if profiler:
        import pstats

        print("  profile of the applying job (top 20 by cumulative time):")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(20)
        pg_note = " (profiled: slower than unprofiled)"
    problems = []
    if applied != len(mix.lines):
        problems.append(f"the job applied {applied} reports of {len(mix.lines)} buffered")
    left = delivery_reports.pending(client), client.zcard(delivery_reports.APPLYING)
    if any(left):
        problems.append(f"{left[0]} reports left in the buffer, {left[1]} applying lists left")
    with ext.session_scope() as session:
        problems += check_applied(session, mix)
    rate = len(mix.lines) / seconds if seconds else 0.0
    print(f"  applied {len(mix.lines)} reports in {seconds:.2f} s ({slices} job slices): "
          f"{rate:,.0f} reports/s{pg_note}; job CPU {cpu:.2f} s in this process", flush=True)
    return {"recipients": len(message_ids), "reports": len(mix.lines), "mix": mix.counts,
            "seconds": round(seconds, 3), "job_cpu_s": round(cpu, 3), "slices": slices,
            "reports_per_s": round(rate, 1), "problems": problems, "profiled": bool(profiler)}


def main(argv: list[str] | None = None) -> int:
    """Set up, measure, report; the exit status says whether the targets are met."""
    args = parse_args(argv)
    exit_on_termination()
    settings = gunicorn_settings(args.workers)
    print(f"Delivery-report benchmark: gunicorn {' '.join(settings)} (sync workers), {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, commit {commit()}", flush=True)
    with Stack(args.workers, args.database_url, args.pg, keep=args.keep) as stack:
        from redis import Redis

        from hotline.messaging.delivery_reports import BUFFER

        redis = Redis.from_url(stack.redis_url)
        redis.flushdb()  # the start-up probes
        print(f"webhook: {args.rounds} rounds, {args.warmup:g} s warm-up + {args.duration:g} s per target, "
              f"{args.concurrency} reports in flight", flush=True)
        webhook = asyncio.run(webhook_phase(stack, args))
        buffered = {"hotline": redis.llen(BUFFER), "bare": redis.llen("bench:bare:delivery")}
        lost = {name: webhook[name]["ok"] - buffered[name] for name in TARGETS}
        print(f"  buffered: hotline {buffered['hotline']} of {webhook['hotline']['ok']} answered 200, "
              f"bare {buffered['bare']} of {webhook['bare']['ok']}", flush=True)
        print(f"applying: {args.recipients} recipients in PostgreSQL, job in this process", flush=True)
        applying = apply_phase(stack, args)
        log_problems = {name: stack.log_problems(name) for name in ("hotline", "bare")}
    ratio, rate = webhook["ratio"], applying["reports_per_s"]
    checks = {"webhook_ratio": ratio, "webhook_ratio_target": MIN_RATIO, "webhook_pass": ratio >= MIN_RATIO,
              "apply_rate": rate, "apply_rate_target": MIN_APPLY_RATE, "apply_pass": rate >= MIN_APPLY_RATE}
    mark = {True: "PASS", False: "FAIL"}
    print()
    for name in TARGETS:
        mine = webhook[name]
        print(f"{name:8} {mine['rps']:8.1f} reports/s (median of {args.rounds}), server+redis CPU "
              f"{statistics.median(mine['cpu_ms']):.3f} ms/report")
    print(f"webhook hotline/bare   {ratio:.3f}   (target >= {MIN_RATIO})   {mark[checks['webhook_pass']]}   "
          f"rounds: {', '.join(f'{r:.2f}' for r in webhook['ratio_by_round'])}")
    print(f"applying               {rate:,.0f} reports/s   (target >= {MIN_APPLY_RATE:,})   "
          f"{mark[checks['apply_pass']]}")
    errors = sum(webhook[name]["errors"] for name in TARGETS)
    problems = [f"{name}: {n} reports answered 200 are not in the buffer" for name, n in lost.items() if n]
    problems += applying["problems"]
    problems += [f"{name} log: {line}" for name, lines in log_problems.items() for line in lines[:10]]
    report = {
        "benchmark": "delivery",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "settings": {"gunicorn": settings, **{k: v for k, v in vars(args).items() if k != "output"}},
        "webhook": webhook, "buffered": buffered, "applying": applying, "checks": checks,
        "errors": errors, "problems": problems,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"results written to {args.output}")
    if errors or problems:
        print("\n" + "!" * 72, file=sys.stderr)
        print(f"!!! THE RUN HAD {errors} FAILED REQUESTS AND {len(problems)} PROBLEMS; its figures do not "
              "count.", file=sys.stderr)
        for name in TARGETS:
            for sample in webhook[name]["error_samples"]:
                print(f"!!!   {name}: {sample}", file=sys.stderr)
        for problem in problems:
            print(f"!!!   {problem}", file=sys.stderr)
        print("!" * 72, file=sys.stderr)
        return 1
    return 0 if checks["webhook_pass"] and checks["apply_pass"] else 2


if __name__ == "__main__":
    run_main(main)
