"""Where a USSD tip session's time goes, server-side, without gunicorn or a network in the way.

    .venv/bin/python bench/ussd/session_profile.py                    # CPU per request, hotline and bare
    .venv/bin/python bench/ussd/session_profile.py --top 30           # and cProfile's top functions
    .venv/bin/python bench/ussd/session_profile.py --pg postgresql+psycopg://postgres@127.0.0.1:5432

It starts a private Redis and migrates and seeds a database as `run.py` does (SQLite, or a scratch
PostgreSQL database with `--pg`), then calls both apps' WSGI callables in this process with the
requests `sessions.lua` sends: `--sessions` whole tip sessions each (new sessionId and phone number
every time). It prints the CPU milliseconds per request of each app (the median of `--repeat`
passes; CPU time, so other people's work on the machine matters less than to wall time), their
ratio, and with `--top` the functions where a session's CPU time goes (cProfile with a CPU clock).
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import os
import pstats
import sys
import time
from urllib.parse import quote

from stack import BENCH, REPO, Stack, run_main

INPUTS = ("", "1", "1", "2", "Market street", "99", "2", "2", "2", "1")


class Database(Stack):
    """Redis and the seeded database of `run.py`'s stack, without the servers."""

    def _start(self) -> None:
        super()._start_services()


def environ(body: bytes) -> dict:
    """A WSGI environ of AT's form POST to /ussd."""
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/ussd", "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1", "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True,
        "wsgi.run_once": False, "wsgi.version": (1, 0),
    }


def session_bodies(number: int) -> list[bytes]:
    """The ten form bodies of tip session `number`, as `sessions.lua` sends them."""
    head = (f"sessionId=ATUid_prof{number:012d}&serviceCode=%2A384%2A1234%23"
            f"&phoneNumber=%2B2547{number % 10**8:08d}&networkCode=63902&text=")
    return [(head + quote("*".join(INPUTS[1 : step + 1]), safe="")).encode() for step in range(len(INPUTS))]


def play(app, first: int, sessions: int, flow: bool) -> None:
    """Play whole sessions through `app`."""
    for number in range(first, first + sessions):
        for step, body in enumerate(session_bodies(number)):
            play_one(app, body, number, step, flow)


def play_one(app, body: bytes, number: int, step: int, flow: bool) -> None:
    """One request through `app`; its answer is checked as `sessions.lua` does."""
    status: list[str] = []
    chunks = app(environ(body), lambda s, _h: status.append(s))
    answer = b"".join(chunks).decode()
    getattr(chunks, "close", lambda: None)()
    last = flow and step == len(INPUTS) - 1
    if not status[0].startswith("200") or not answer.startswith("END " if last else "CON "):
        raise RuntimeError(f"session {number} screen {step + 1}: {status[0]} {answer[:80]!r}")


# The hotline's parts timed by `--parts`: (module, class or "", function, label).
PARTS = (
    ("hotline.ussd.views", "", "form_of", "AT's form: read and parse"),
    ("hotline.ussd.views", "", "parse_ussd", "AT's form: check (parse_ussd)"),
    ("hotline.ussd.service", "", "reporter_key", "reporter key (HMAC)"),
    ("hotline.ussd.sessions", "SessionStore", "load", "state: Redis GET + JSON decode"),
    ("hotline.ussd.sessions", "SessionStore", "save", "state: JSON encode + Redis SET"),
    ("hotline.ussd.sessions", "SessionStore", "_load_backup", "first screen: backup + language query"),
    ("flows.engine", "Engine", "feed", "flow engine: feed (with the actions)"),
    ("hotline.tips.submission", "", "submit_tip", "  of which the last screen's tip insert + commit"),
    ("hotline.tips.submission", "", "queue_routing", "  of which the last screen's routing job (one call)"),
    ("flows.engine", "Engine", "render", "flow engine: render"),
)


def time_parts(totals: dict[str, list[float]]) -> None:
    """Wrap each of PARTS so that its wall time adds up in `totals` (for measuring only)."""
    for module, class_name, function, label in PARTS:
        owner = importlib.import_module(module)
        owner = getattr(owner, class_name) if class_name else owner
        original = getattr(owner, function)
        totals[label] = [0.0, 0]

        def timed(*args, _original=original, _label=label, **kwargs):
            started = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                totals[_label][0] += time.perf_counter() - started
                totals[_label][1] += 1

        setattr(owner, function, timed)


def trimmed_mean(values: list[float], cut: float = 0.1) -> float:
    """The mean without the slowest `cut` share (preemption by other work on a shared machine)."""
    ordered = sorted(values)[: max(1, int(len(values) * (1 - cut)))]
    return sum(ordered) / len(ordered)


def main(argv: list[str] | None = None) -> int:
    """Measure both apps, print the CPU per screen and per session, the parts and the profile."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=600,
                        help="tip sessions per app, hotline and bare taking turns session by session (600)")
    parser.add_argument("--parts", action="store_true",
                        help="also time the hotline's parts (wall time, in a separate pass)")
    parser.add_argument("--top", type=int, default=0, help="print cProfile's top N functions (cumulative "
                        "and own time) of one more pass through --app")
    parser.add_argument("--app", choices=("hotline", "bare"), default="hotline",
                        help="with --top: which app to profile (hotline)")
    parser.add_argument("--only", action="append", default=[], metavar="REGEX",
                        help="with --top: only functions whose file:line(name) matches (repeatable)")
    parser.add_argument("--pg", metavar="URL", default=None,
                        help="a scratch PostgreSQL database on this server instead of SQLite")
    args = parser.parse_args(argv)
    with Database(keep=False, pg=args.pg) as stack:
        os.environ.update(stack.env)
        sys.path[:0] = [str(REPO), str(BENCH)]
        import bare

        from hotline import create_app

        apps = {"hotline": create_app(), "bare": bare.create_app()}
        first = 1
        for name, app in apps.items():  # warm up: imports, connections, caches
            play(app, first, 30, name == "hotline")
            first += 30
        # CPU per screen, the two apps taking turns session by session so drifts hit both alike.
        cpu = {name: [[] for _ in INPUTS] for name in apps}
        for number in range(args.sessions):
            order = list(apps) if number % 2 else list(apps)[::-1]
            for name in order:
                for step, body in enumerate(session_bodies(first)):
                    started = time.process_time()
                    play_one(apps[name], body, first, step, name == "hotline")
                    cpu[name][step].append(time.process_time() - started)
                first += 1
        database = "PostgreSQL" if args.pg else "SQLite"
        steps = {name: [trimmed_mean(values) * 1e6 for values in cpu[name]] for name in apps}
        print(f"CPU microseconds per screen, in-process WSGI, {database}, {args.sessions} sessions each "
              "(mean of the fastest 90%)")
        numbers = " ".join(f"{n + 1:>6}" for n in range(len(INPUTS)))
        print(f"{'screen':>8} {numbers}   session  per request")
        for name in apps:
            total = sum(steps[name])
            print(f"{name:>8} " + " ".join(f"{v:6.0f}" for v in steps[name])
                  + f"   {total:7.0f}  {total / len(INPUTS):7.0f}")
        ratio = sum(steps["bare"]) / sum(steps["hotline"])
        print(f"bare/hotline CPU per session: {ratio:.3f}")
        if args.parts:
            totals: dict[str, list[float]] = {}
            time_parts(totals)
            sessions = min(args.sessions, 300)
            play(apps["hotline"], first, sessions, True)
            first += sessions
            print(f"\nthe hotline's parts, wall microseconds per session ({sessions} sessions; the rest is "
                  "gunicorn-free Flask, Werkzeug and the webhook itself):")
            for label, (seconds, calls) in totals.items():
                print(f"  {label:<52} {seconds * 1e6 / sessions:7.0f}   ({calls / sessions:.1f} calls)")
        if args.top:
            profile = cProfile.Profile(time.process_time)  # CPU, as throughput on a busy machine
            profile.enable()
            play(apps[args.app], first, min(args.sessions, 300), args.app == "hotline")
            profile.disable()
            for order in ("cumulative", "tottime"):
                stats = pstats.Stats(profile, stream=sys.stdout)
                stats.sort_stats(order).print_stats(*args.only, args.top)
    return 0


if __name__ == "__main__":
    run_main(main)
