"""The oversight benchmark's purge timing, on a copy of the loaded database so the load stays for the
next run: `CREATE DATABASE bench_oversight_purge TEMPLATE bench_oversight` (PostgreSQL copies the files;
it needs nobody else connected to the original for that moment, so it waits for them), then
`hotline.retention.purge.purge(session, config, now)` in process with `now` a year after the data ends
(`--purge-days`): the dry run (rolled back), the real run and its commit, and a second run (which should
remove nothing). Each with its wall time, what it reports per kind, the SQL statements that took the
most time (statements.py) and the machine's other work. The copy is dropped at the end.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from datetime import datetime, timedelta

import psycopg
from inprocess import machine_cpu
from psycopg import sql
from statements import Statements, explain

TARGET_SECONDS = 60.0
COPY_WAIT = 600  # seconds to wait for others to leave the original database


def landed() -> str | None:
    """None when hotline.retention.purge.purge is on this checkout, else what is missing."""
    try:
        from hotline.retention.purge import purge  # noqa: F401
    except ImportError as error:
        return f"hotline.retention.purge is not on main yet ({error})"
    return None


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


def as_dict(report) -> dict:
    """What a purge Report says, as plain data (whatever shape the Report has)."""
    if dataclasses.is_dataclass(report):
        return dataclasses.asdict(report)
    for name in ("as_dict", "to_dict", "counts"):
        value = getattr(report, name, None)
        if value is not None:
            return value() if callable(value) else dict(value)
    if isinstance(report, dict):
        return report
    return {"report": str(report)}


def measure(database_url: str, end: datetime, days_ahead: int, fresh_copy) -> dict:
    """Time the dry run, the real run and a second run of the purge on the copy at `database_url`; when
    the real run misses the target, `fresh_copy()` makes the copy again to show its costliest
    statement's plan on the data it ran on."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from hotline.core.config import Config
    from hotline.retention.purge import purge

    config = Config(env="development", database_url=database_url, secret_key="bench")
    engine = create_engine(database_url)
    now = end + timedelta(days=days_ahead)
    runs, costliest = {}, None
    try:
        for label, dry_run in (("dry run", True), ("purge", False), ("second purge", False)):
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
            runs[label] = {"seconds": round(seconds, 2), "ratio": round(seconds / TARGET_SECONDS, 2),
                           "report": as_dict(report), "sql_ms": statements.total_ms(),
                           "other_work_pct": round(100 * other / max(total - total_before, 1e-9), 1),
                           "top": [{k: v for k, v in entry.items() if k not in ("statement", "parameters")}
                                   for entry in top]}
            if label == "purge" and seconds > TARGET_SECONDS and top:
                costliest = top[0]
    finally:
        engine.dispose()
    if costliest is not None and not isinstance(costliest["parameters"], list | tuple):
        print("  purge missed its target: copying again to explain its costliest statement ...",
              file=sys.stderr, flush=True)
        fresh_copy()
        engine = create_engine(database_url)
        try:
            runs["purge"]["plan"] = explain(engine, costliest["statement"], costliest["parameters"])
        finally:
            engine.dispose()
    passed = all(run["ratio"] <= 1 for run in runs.values())
    return {"now": now.isoformat(), "days_after_the_data": days_ahead, "runs": runs, "passed": passed,
            "problems": []}


def report(result: dict) -> list[str]:
    """The purge's lines of the printout."""
    if "missing" in result:
        return [f"purge: NOT MEASURED: {result['missing']}"]
    lines = [f"purge at {result['now']} ({result['days_after_the_data']} days after the data ends), "
             f"on a copy made in {result.get('copy_seconds', '?')} s"]
    lines.append(f"{'run':<14} {'seconds':>8} {'s/60':>6} {'SQL s':>7} {'other work':>10}")
    for label, run in result["runs"].items():
        verdict = "PASS" if run["ratio"] <= 1 else "MISS"
        lines.append(f"{label:<14} {run['seconds']:>8.2f} {run['ratio']:>6.2f} {run['sql_ms'] / 1000:>7.2f}"
                     f" {run['other_work_pct']:>9.0f}%  {verdict}")
    for label, run in result["runs"].items():
        lines.append(f"  {label} reported: {run['report']}")
    lines.append("  the purge's costliest statements:")
    lines += [f"  {entry['ms'] / 1000:8.2f} s  x{entry['runs']:<4} {entry['sql'][:150]}"
              for entry in result["runs"].get("purge", {}).get("top", [])[:5]]
    if "plan" in result["runs"].get("purge", {}):
        lines.append("  its plan (EXPLAIN ANALYZE, rolled back):")
        lines += [f"    {line}" for line in result["runs"]["purge"]["plan"][:40]]
    return lines
