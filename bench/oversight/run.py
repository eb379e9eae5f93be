"""Oversight benchmark: the secretariat's dashboard, the full de-identified export and a year's purge at
1,000,000 tips over three years on PostgreSQL (issue 14's targets).

Run it from the repository root with the project's virtualenv:

    make bench-oversight                                   # everything: about 6 minutes once loaded
    .venv/bin/python bench/oversight/run.py --only dashboard --requests 20    # one part, a quick look
    .venv/bin/python bench/oversight/run.py --help         # every option

The data lives in an existing database, `bench_oversight` (`--database-url`), loaded by data.py the
first time (about 3 minutes; later runs find it loaded and only migrate it to the newest revision).
Then, each part measured in this run against its target:

- dashboard (dashboard.py): GET /console/dashboard?days=365, 90 and 30 as the secretariat and the
  Nairobi focal point's county view, served in process (server time), signed in through the console's
  own pages: p50, p95 and p95 / 500 ms; each chart's CSV download once;
- export (export.py): `flask tips export --table cases --format csv --output FILE` as a subprocess:
  seconds / 60 s and peak resident memory / 200 MB; JSON and `--free-text` once too;
- purge (purge.py): on a copy of the database (`bench_oversight_purge`, made from it as a template and
  dropped at the end), `hotline.retention.purge.purge` at the end of the data (the backlog, as on the
  day it is deployed), then a year later (`--purge-days`): a year's expired data, the target: the dry
  run, the real run and a second run, seconds / 60 s, and what each removed per kind.

Results go to bench/results/oversight.json. Exit status: 0 every target met, 1 a request or command
failed or the setup broke, 2 a target missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(REPO), str(REPO / "bench"), str(HERE)]

import dashboard  # noqa: E402
import data  # noqa: E402
import export  # noqa: E402
import purge  # noqa: E402
from inprocess import RedisOnly  # noqa: E402
from processes import commit, exit_on_termination, service_env  # noqa: E402

PARTS = ("dashboard", "export", "purge")
RESULTS = REPO / "bench" / "results" / "oversight.json"
PURGE_COPY = "bench_oversight_purge"
NOISY_PCT = 10.0


def parse_args(argv=None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Exit status: 0 targets met, 1 errors, 2 a target missed.")
    parser.add_argument("--database-url", default=data.DEFAULT_URL,
                        help=f"the loaded (or to be loaded) database ({data.DEFAULT_URL})")
    parser.add_argument("--tips", type=int, default=1_000_000, help="tips to load (1000000)")
    parser.add_argument("--seed", type=int, default=14, help="random seed of the data (14)")
    parser.add_argument("--fresh", action="store_true", help="load the data again first")
    parser.add_argument("--only", choices=PARTS, action="append", help="measure only this part (repeatable)")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per dashboard view (50)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per view first (5)")
    parser.add_argument("--computed", type=int, default=20,
                        help="timed requests per view with the kept figures dropped before each (20)")
    parser.add_argument("--purge-days", type=int, default=365,
                        help="purge as if this many days after the data ends (365)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON results")
    return parser.parse_args(argv)


def urls(database_url: str) -> dict[str, str]:
    """The libpq and SQLAlchemy URLs of the database, of its purge copy, and of the server's `postgres`."""
    from sqlalchemy.engine import make_url

    from hotline.core.config import normalise_database_url

    plain = make_url(database_url.replace("postgresql+psycopg://", "postgresql://"))
    render = plain.render_as_string(hide_password=False)
    copy = plain.set(database=PURGE_COPY).render_as_string(hide_password=False)
    return {"libpq": render, "sqlalchemy": normalise_database_url(render), "name": plain.database,
            "copy": normalise_database_url(copy),
            "admin": plain.set(database="postgres").render_as_string(hide_password=False)}


def main(argv=None) -> int:
    """Run the benchmark; 0 targets met, 1 errors, 2 a target missed."""
    exit_on_termination()
    args = parse_args(argv)
    parts = args.only or list(PARTS)
    where = urls(args.database_url)
    loaded = data.ensure(where["libpq"], args.tips, args.seed, args.fresh,
                         lambda line: print(line, file=sys.stderr, flush=True))
    end = datetime.fromisoformat(loaded["end"])
    results: dict[str, dict] = {}
    copied = False
    try:
        if "purge" in parts:  # copied first: nothing of ours is connected to the original yet
            print(f"copying {where['name']} to {PURGE_COPY} for the purge ...", file=sys.stderr, flush=True)
            copy_seconds = purge.copy_database(where["admin"], where["name"], PURGE_COPY)
            copied = True
        with RedisOnly("bench-oversight-") as stack:
            if "dashboard" in parts:
                results["dashboard"] = measure_dashboard(args, where["sqlalchemy"], stack.redis_url)
            if "export" in parts:
                env = service_env(stack.dir, stack.redis_url)
                env.update(DATABASE_URL=f"{where['sqlalchemy']}?application_name={export.APPLICATION}",
                           FLASK_APP="hotline:create_app")
                results["export"] = export.measure(env, where["libpq"], stack.dir)
        if copied:
            results["purge"] = purge.measure(where["copy"], end, args.purge_days)
            results["purge"]["copy_seconds"] = copy_seconds
    finally:
        if copied:
            purge.drop_database(where["admin"], PURGE_COPY)
    return conclude(args, loaded, results)


def measure_dashboard(args, database_url: str, redis_url: str) -> dict:
    """Build the app against the database and time the dashboard in it."""
    from hotline import create_app
    from hotline.core.config import Config

    app = create_app(Config(env="development", database_url=database_url, redis_url=redis_url,
                            secret_key="bench"))
    try:
        return dashboard.measure(app, args)
    finally:
        app.extensions["hotline"].engine.dispose()


def conclude(args, loaded: dict, results: dict) -> int:
    """Print every part's figures and the verdict, write the JSON; the exit status."""
    print(f"\nat {loaded['tips']:,} tips (seed {loaded['seed']}), data ending {loaded['end']}; PostgreSQL, "
          f"{os.cpu_count()} cores shared with whoever else runs")
    for part in PARTS:
        if part in results:
            print()
            module = {"dashboard": dashboard, "export": export, "purge": purge}[part]
            print("\n".join(module.report(results[part])))
    problems = [problem for result in results.values() for problem in result.get("problems", [])]
    missed = [part for part, result in results.items() if not result["passed"]]
    noisy = max((figure.get("other_work_pct", 0) for result in results.values()
                 for group in ("views", "runs") for figure in result.get(group, {}).values()), default=0)
    print()
    if noisy > NOISY_PCT:
        print(f"WARNING: other processes took up to {noisy:.0f}% of the machine while measuring: the times"
              " say more about the machine than about the code; run again on a quiet machine")
    if problems:
        print("PROBLEMS (the figures of this run do not count):", *problems[:10], sep="\n  ")
    print("verdict:", "; ".join(f"{part} MISSED" for part in missed) or "every target met")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({
        "benchmark": "oversight", "loaded": loaded, "parts": results,
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": platform.platform(),
        "python": platform.python_version(), "cpus": os.cpu_count(), "commit": commit(),
    }, indent=2, default=str) + "\n")
    if problems:
        return 1
    return 2 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
