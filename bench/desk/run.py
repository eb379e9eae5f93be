"""Case desk benchmark: the console's inbox, search and case page at 200,000 tips on PostgreSQL.

Run it from the repository root with the project's virtualenv:

    .venv/bin/python bench/desk/run.py                    # 200,000 tips, 200 requests a page: a few minutes
    .venv/bin/python bench/desk/run.py --tips 20000       # a quick look
    .venv/bin/python bench/desk/run.py --help             # every option

It creates a scratch database `bench_desk_<pid>` on the PostgreSQL server (`--pg`), migrates it, loads
the tips with `load.py` (COPY), starts a private Redis, builds the app with `create_app` against them,
creates a focal point of Nairobi City and a secretariat user through the accounts service, signs them
in through the console's own sign-in (password and authenticator code), and then times, in process,
each page's requests through the app's WSGI callable: server time only (see README.md). It prints
p50/p95 against the targets and each page's weight (HTML, CSS and JS), writes bench/results/desk.json
and drops the database (`--keep` keeps it; `--database-url` reuses a loaded one).
Exit status: 0 every target met, 1 a request failed or the setup broke, 2 a target missed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import click

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from inprocess import RedisOnly, ServerTime, percentile, sign_in, timed  # noqa: E402
from load import load  # noqa: E402
from processes import postgres_command  # noqa: E402
from sqlalchemy import create_engine, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

# The folder each search looks in, in turn: closed (most tips) half the time.
SEARCH_FOLDERS = ("closed", "active", "closed", "new", "closed", "followup")
RESULTS = REPO / "bench" / "results" / "desk.json"
TARGET_P95_MS = {"inbox": 100.0, "search": 250.0, "case page": 100.0}
MAX_PAGE_KB = 150.0
NOISY_PCT = 10.0
NAIROBI = 47
NAIROBI_PHONE = "+254700047001"  # the first of load.py's two Nairobi focal points: the account is theirs
# Words people search for, each with a filter the same person would set (the secretariat: any county).
SEARCHES = (("passport", {"kind": "recruitment_fraud"}), ("Gulf", {"county": "47"}),
            ("sand", {"children": "yes"}), ("quarry", {"county": "22"}), ("housemaid", {"danger": "yes"}),
            ("Eastleigh", {"channel": "sms"}), ("locked in", {"kind": "servitude"}),
            ("visa", {"county": "1"}))


def parse_args(argv=None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Exit status: 0 targets met, 1 errors, 2 a target missed.")
    parser.add_argument("--tips", type=int, default=200_000, help="tips to load (200000)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page (200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per page first (20)")
    parser.add_argument("--seed", type=int, default=12, help="random seed of the data and the requests (12)")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432",
                        help="the PostgreSQL server to make the scratch database on "
                        "(postgresql://postgres@127.0.0.1:5432)")
    parser.add_argument("--database-url", help="an already loaded database to use as is (not dropped)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (its URL is printed)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON results")
    return parser.parse_args(argv)


def prepare_database(args) -> tuple[str, str | None, dict]:
    """(SQLAlchemy URL, scratch database name or None, rows loaded): made, migrated, seeded and loaded."""
    from hotline.core.config import normalise_database_url
    from hotline.core.db import upgrade
    from hotline.seed import seed_counties

    if args.database_url:  # loaded before; brought to the newest migration (an index may have come)
        upgrade(normalise_database_url(args.database_url))
        return normalise_database_url(args.database_url), None, {}
    name = f"bench_desk_{os.getpid()}"
    postgres_command(args.pg, "createdb", name)
    url = normalise_database_url(f"{args.pg}/{name}")
    started = time.perf_counter()
    upgrade(url)
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        seed_counties(session)
    engine.dispose()
    with click.progressbar(length=args.tips, label=f"loading {args.tips:,} tips", file=sys.stderr) as bar:
        written = load(f"{args.pg}/{name}", args.tips, args.seed, bar.update)
    written["seconds"] = round(time.perf_counter() - started, 1)
    return url, name, written


def page_weight(client, html: bytes) -> dict:
    """The bytes of a page: its HTML and every stylesheet and script it loads (as sent, and gzipped)."""
    assets = re.findall(rb'<(?:link[^>]+rel="stylesheet"[^>]+href|script[^>]+src)="([^"]+)"', html)
    sizes = {"html": len(html)}
    gzipped = len(gzip.compress(html))
    for asset in dict.fromkeys(assets):
        body = client.get(asset.decode()).get_data()
        sizes[asset.decode().rsplit("/", 1)[-1]] = len(body)
        gzipped += len(gzip.compress(body))
    total_kb = round(sum(sizes.values()) / 1024, 1)
    return {"bytes": sizes, "total_kb": total_kb, "gzipped_kb": round(gzipped / 1024, 1)}


def main(argv=None) -> int:
    """Run the benchmark; 0 targets met, 1 errors, 2 a target missed."""
    args = parse_args(argv)
    rng = random.Random(args.seed)
    url, scratch, written = prepare_database(args)
    if written:
        rows = ", ".join(f"{table} {count:,}" for table, count in written.items() if table != "seconds")
        print(f"loaded in {written['seconds']} s (migrations, counties, COPY, VACUUM ANALYZE): {rows}")
    try:
        with RedisOnly("bench-desk-") as redis_stack:
            result = run(args, rng, url, redis_stack.redis_url)
    finally:
        if scratch and not args.keep:
            postgres_command(args.pg, "dropdb", "--if-exists", scratch)
        elif scratch:
            print(f"database kept: {url}")
    result.update(loaded=written, tips=args.tips, when=datetime.now(UTC).isoformat(timespec="seconds"),
                  machine=platform.platform(), python=platform.python_version(), commit=commit())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    if result["problems"]:
        print("PROBLEMS (the figures of this run do not count):", *result["problems"][:10], sep="\n  ")
        return 1
    return 0 if result["passed"] else 2


def commit() -> str:
    """The commit measured (with + when the tree has changes)."""
    argv = ["git", "describe", "--always", "--dirty=+"]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def run(args, rng: random.Random, url: str, redis_url: str) -> dict:
    """Build the app, sign the two users in, time every page; the results."""
    from hotline import create_app
    from hotline.core.config import Config
    from hotline.core.models import CaseEvent, Tip

    app = create_app(Config(env="development", database_url=url, redis_url=redis_url, secret_key="bench"))
    timer = ServerTime(app.wsgi_app)
    app.wsgi_app = timer
    ext = app.extensions["hotline"]
    focal_point, secretariat = app.test_client(), app.test_client()
    sign_in_users(ext, focal_point, secretariat)
    with ext.session_scope() as session:
        county = select(Tip.reference).where(Tip.county_code == NAIROBI)
        with_timeline = county.where(Tip.id.in_(select(CaseEvent.tip_id)))
        plain = list(session.scalars(county.order_by(Tip.id).limit(5000)))
        rich = list(session.scalars(with_timeline.order_by(Tip.id).limit(5000)))
    total = args.warmup + args.requests
    cases = [f"/console/t/{rng.choice(rich if n % 2 else plain)}" for n in range(total)]
    searches = []
    for n in range(total):
        word, narrowed = SEARCHES[n % len(SEARCHES)]
        query = "&".join(f"{key}={value}" for key, value in narrowed.items())
        folder = SEARCH_FOLDERS[n % len(SEARCH_FOLDERS)]
        searches.append(f"/console/?folder={folder}&text={word.replace(' ', '+')}&{query}")
    pages = {
        "inbox (focal point)": (focal_point, ["/console/?folder=new"] * total, "inbox"),
        "inbox (secretariat)": (secretariat, ["/console/?folder=new"] * total, "inbox"),
        "search (secretariat)": (secretariat, searches, "search"),
        "case page (focal point)": (focal_point, cases, "case page"),
    }
    figures, problems = {}, []
    for label, (client, urls, kind) in pages.items():
        requests = [lambda client=client, url=url: client.get(url) for url in urls]
        samples, failed, other = timed(timer, requests, args.warmup, lambda body: "<html" in body)
        problems += failed
        html = client.get(urls[-1]).get_data()
        p95 = percentile(samples, 95)
        figures[label] = {
            "requests": len(samples), "p50_ms": round(percentile(samples, 50), 1), "p95_ms": round(p95, 1),
            "max_ms": round(max(samples), 1), "target_p95_ms": TARGET_P95_MS[kind],
            "ratio": round(p95 / TARGET_P95_MS[kind], 2), "weight": page_weight(client, html),
            "other_work_pct": other,
        }
    print_figures(figures)
    passed = all(f["ratio"] <= 1 and f["weight"]["total_kb"] < MAX_PAGE_KB for f in figures.values())
    ext.engine.dispose()
    return {"benchmark": "desk", "pages": figures, "problems": problems, "passed": passed}


def print_figures(figures: dict) -> None:
    """The table and the verdicts."""
    print(f"{'page':<26} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'target':>8} {'p95/target':>10}"
          f" {'weight kB':>10} {'gzipped':>8} {'other work':>10}")
    for label, f in figures.items():
        verdict = "PASS" if f["ratio"] <= 1 and f["weight"]["total_kb"] < MAX_PAGE_KB else "FAIL"
        times = f"{f['p50_ms']:>8.1f} {f['p95_ms']:>8.1f} {f['target_p95_ms']:>8.0f} {f['ratio']:>10.2f}"
        weight = f"{f['weight']['total_kb']:>10.1f} {f['weight']['gzipped_kb']:>8.1f}"
        print(f"{label:<26} {f['requests']:>8} {times} {weight} {f['other_work_pct']:>9.0f}%  {verdict}")
    print(f"(server time in process, p95 targets: inbox and case page 100 ms, search 250 ms; "
          f"weight = HTML + CSS + JS, target < {MAX_PAGE_KB:g} kB; other work: the machine's CPU beyond "
          "this benchmark's one request at a time)")
    if max(f["other_work_pct"] for f in figures.values()) > NOISY_PCT:
        print(f"WARNING: other processes took more than {NOISY_PCT:g}% of the machine while measuring: "
              "the times say more about the machine than about the pages; run again on a quiet machine")


def sign_in_users(ext, focal_point, secretariat) -> None:
    """The two accounts, each client signed in through the console's sign-in pages."""
    sign_in(ext, focal_point, "focal.nairobi@bench.example", "focal_point", county_code=NAIROBI,
            phone=NAIROBI_PHONE)
    sign_in(ext, secretariat, "secretariat@bench.example", "secretariat")


if __name__ == "__main__":
    sys.exit(main())
