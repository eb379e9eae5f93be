"""The oversight benchmark's purge timing, on a copy of the loaded database so the load stays for the
next run: `CREATE DATABASE bench_oversight_purge TEMPLATE bench_oversight` (PostgreSQL copies the files;
it needs nobody else connected to the original for that moment, so it waits for them), then
`hotline.retention.purge.purge(session, config, now)` in process, each run in its own session and
committed: first at the end of the data (the backlog: everything expired since the hotline began, as
on the day the purge is deployed), then a year later (`--purge-days`), which is a year's expired data
(the target): its dry run (rolled back), the real run, and a second run (which should remove nothing).
Each with its wall time, what it reports per kind, the SQL statements that took the most time
(statements.py) and the machine's other work. The copy is dropped at the end.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta

import psycopg
from inprocess import machine_cpu
from psycopg import sql
from statements import Statements, explain

TARGET_SECONDS = 60.0
COPY_WAIT = 600  # seconds to wait for others to leave the original database


def copy_database(admin_url: str, source: str, name: str) -> float:
    """Make `name` a copy of `source` (dropping an older copy); the seconds it took, waiting included."""
    started, told = time.perf_counter(), False
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        while True:
            try:
                connection.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(source)))
                return round(time.perf_counter() - started, 1)
            except psycopg.errors.ObjectInUse:
                # Someone is connected to the original (another helper timing a query): wait for them.
                if time.perf_counter() - started > COPY_WAIT:
                    raise RuntimeError(f"could not copy {source}: still in use after {COPY_WAIT} s") from None
                if not told:
                    print(f"  {source} is in use; waiting to copy it ...", file=sys.stderr, flush=True)
                    told = True
                time.sleep(2)


def drop_database(admin_url: str, name: str) -> None:
    """Drop the copy."""
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def measure(database_url: str, end: datetime, days_ahead: int) -> dict:
    """Time the purges on the copy at `database_url`: the backlog at the data's end, then a year's
    expired data `days_ahead` later (dry run, real run, second run)."""
    from sqlalchemy import create_engine

    from hotline.core.config import Config

    config = Config(env="development", database_url=database_url, secret_key="bench")
    engine = create_engine(database_url)
    later = end + timedelta(days=days_ahead)
    steps = (("backlog", end, False), ("dry run", later, True), ("purge", later, False),
             ("second purge", later, False))
    runs = {}
    try:
        for label, now, dry_run in steps:
            runs[label] = timed_purge(engine, config, label, now, dry_run)
        slowest = max(runs, key=lambda label: runs[label]["seconds"])
        selects = [entry for entry in runs[slowest].pop("_top") if entry["sql"].startswith("SELECT")]
        if runs[slowest]["ratio"] > 1 and selects and not isinstance(selects[0]["parameters"], list | tuple):
            # After the commit, as the purge's last chunks saw it: whatever it scans past is still there.
            runs[slowest]["plan"] = explain(engine, selects[0]["statement"], selects[0]["parameters"],
                                            runs[slowest]["_settings"])
        for run in runs.values():
            run.pop("_top", None)
            run.pop("_settings", None)
    finally:
        engine.dispose()
    return {"end": end.isoformat(), "later": later.isoformat(), "days_after_the_data": days_ahead,
            "runs": runs, "passed": runs["purge"]["ratio"] <= 1, "problems": []}


def timed_purge(engine, config, label: str, now: datetime, dry_run: bool) -> dict:
    """One purge at `now` in its own session, committed (or, dry, rolled back); its figures."""
    from sqlalchemy.orm import Session

    from hotline.retention.purge import purge

    print(f"  purge: {label} at {now.isoformat()} ...", file=sys.stderr, flush=True)
    busy_before, total_before = machine_cpu()
    with Statements(engine) as statements, Session(engine) as session:
        started = time.perf_counter()
        report = purge(session, config, now, dry_run=dry_run)
        if dry_run:
            session.rollback()
        else:
            session.commit()
        seconds = time.perf_counter() - started
    busy, total = machine_cpu()
    other = max(0.0, (busy - busy_before) - seconds)  # this process or its backend: about one core
    top = statements.top(6)
    return {"now": now.isoformat(), "seconds": round(seconds, 2), "ratio": round(seconds / TARGET_SECONDS, 2),
            "report": report.detail(), "sql_ms": statements.total_ms(),
            "other_work_pct": round(100 * other / max(total - total_before, 1e-9), 1), "_top": top,
            "_settings": statements.settings,
            "top": [{k: v for k, v in entry.items() if k not in ("statement", "parameters")}
                    for entry in top]}


def report(result: dict) -> list[str]:
    """The purge's lines of the printout."""
    lines = [f"purge on a copy made in {result.get('copy_seconds', '?')} s: the backlog at the data's end"
             f" ({result['end']}), then a year's expired data {result['days_after_the_data']} days later"
             f" ({result['later']})"]
    lines.append(f"{'run':<14} {'seconds':>8} {'s/60':>6} {'SQL s':>7} {'rows':>10} {'other work':>10}")
    for label, run in result["runs"].items():
        verdict = ("PASS" if run["ratio"] <= 1 else "MISS") + ("" if label == "purge" else " (information)")
        rows = sum(value["count"] for value in run["report"].values())
        lines.append(f"{label:<14} {run['seconds']:>8.2f} {run['ratio']:>6.2f} {run['sql_ms'] / 1000:>7.2f}"
                     f" {rows:>10,} {run['other_work_pct']:>9.0f}%  {verdict}")
    for label, run in result["runs"].items():
        said = ", ".join(f"{kind} {value['count']:,}" for kind, value in run["report"].items()
                         if value["count"])
        lines.append(f"  {label}: {said or 'nothing'}")
    for label in ("backlog", "purge"):
        run = result["runs"].get(label, {})
        lines.append(f"  {label}'s costliest statements (s in all, runs, ms of the first / last / slowest"
                     " run):")
        lines += [f"  {entry['ms'] / 1000:8.2f} s  x{entry['runs']:<4} {entry['first_ms']:.0f} /"
                  f" {entry['last_ms']:.0f} / {entry['max_ms']:.0f} ms  {entry['sql'][:120]}"
                  for entry in run.get("top", [])[:5]]
        if "plan" in run:
            lines.append("  the costliest SELECT's plan after the commit (EXPLAIN ANALYZE, rolled back):")
            lines += [f"    {line}" for line in run["plan"][:30]]
    return lines
