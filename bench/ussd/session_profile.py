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
import io
import os
import pstats
import statistics
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
    """Play whole sessions through `app`; every answer is checked as `sessions.lua` does."""
    for number in range(first, first + sessions):
        for step, body in enumerate(session_bodies(number)):
            status: list[str] = []
            chunks = app(environ(body), lambda s, _h, status=status: status.append(s))
            answer = b"".join(chunks).decode()
            getattr(chunks, "close", lambda: None)()
            last = flow and step == len(INPUTS) - 1
            if not status[0].startswith("200") or not answer.startswith("END " if last else "CON "):
                raise RuntimeError(f"session {number} screen {step + 1}: {status[0]} {answer[:80]!r}")


def main(argv: list[str] | None = None) -> int:
    """Measure both apps, print the CPU per request and the profile."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=300, help="tip sessions per pass (300)")
    parser.add_argument("--repeat", type=int, default=5, help="passes per app; the median counts (5)")
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
            play(app, first, 20, name == "hotline")
            first += 20
        cpu = {name: [] for name in apps}
        for _ in range(args.repeat):
            for name, app in apps.items():
                started = time.process_time()
                play(app, first, args.sessions, name == "hotline")
                first += args.sessions
                cpu[name].append((time.process_time() - started) * 1000 / (args.sessions * len(INPUTS)))
        median = {name: statistics.median(values) for name, values in cpu.items()}
        database = "PostgreSQL" if args.pg else "SQLite"
        for name in apps:
            print(f"{name:8} {median[name]:.3f} CPU ms per request (passes: "
                  f"{', '.join(f'{v:.3f}' for v in cpu[name])}; {database}, in-process WSGI)")
        print(f"bare/hotline CPU per request: {median['bare'] / median['hotline']:.3f}")
        if args.top:
            profile = cProfile.Profile(time.process_time)  # CPU, as throughput on a busy machine
            profile.enable()
            play(apps[args.app], first, args.sessions, args.app == "hotline")
            profile.disable()
            for order in ("cumulative", "tottime"):
                stats = pstats.Stats(profile, stream=sys.stdout)
                stats.sort_stats(order).print_stats(*args.only, args.top)
    return 0


if __name__ == "__main__":
    run_main(main)
