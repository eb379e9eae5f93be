"""Whole USSD tip sessions over HTTP while Redis is frozen with SIGSTOP: how long do screens take?

    .venv/bin/python bench/ussd_redis_stall.py [--sessions 200] [--rate 100] [--port 7200]

Starts a private redis-server and the hotline under gunicorn (the Procfile's gthread workers)
on a SQLite file in a temporary directory, plays `--sessions` whole tip sessions with Redis
healthy, then sends SIGSTOP to Redis and plays as many again, starting requests at `--rate` per
second (open loop: a slow screen does not slow the offered load). Prints p50/p99/max latency,
screens over 1 s, sessions finished and tips saved. Redis always gets SIGCONT at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = REPO / ".venv" / "bin"
# One whole tip: kind, county by letters, a place with a `*` in it, story skipped, the three
# questions, send. The first request (text "") is the dial.
INPUTS = ["1", "1", "kak", "Shauri Moyo market * stall 5", "99", "2", "2", "2", "1"]


def start(argv, env, log: Path, cwd: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def session(base: str, number: int, latencies: list[float], lock: threading.Lock, pace) -> bool:
    """One phone's whole tip; True when it ended with the reference screen."""
    http = requests.Session()
    session_id = f"ATUid_{uuid.uuid4().hex}"
    phone = f"+2547{number:08d}"
    typed: list[str] = []
    body = ""
    for value in [None, *INPUTS]:
        if value is not None:
            typed.append(value)
        pace()
        form = {"sessionId": session_id, "serviceCode": "*384*1234#", "phoneNumber": phone,
                "networkCode": "63902", "text": "*".join(typed)}
        began = time.perf_counter()
        try:
            body = http.post(f"{base}/ussd", data=form, timeout=10).text  # AT gives up after 10 s
        except requests.RequestException:
            body = ""
        with lock:
            latencies.append(time.perf_counter() - began)
        if not body.startswith("CON "):
            break
    return body.startswith("END Report sent")


def play(base: str, sessions: int, rate: float, first_number: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    lock = threading.Lock()
    ticket = iter(range(10**9))
    started = time.monotonic()

    def pace():  # request n may start at started + n/rate, whichever phone sends it
        with lock:
            n = next(ticket)
        delay = started + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    with ThreadPoolExecutor(max_workers=min(sessions, 64)) as pool:
        phones = range(first_number, first_number + sessions)
        done = list(pool.map(lambda number: session(base, number, latencies, lock, pace), phones))
    return latencies, sum(done)


def report(name: str, latencies: list[float], finished: int, sessions: int) -> None:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(f"{name}: {len(ordered)} screens, p50 {statistics.median(ordered) * 1000:.1f} ms, "
          f"p99 {p99 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms, "
          f"over 1 s: {sum(t > 1 for t in ordered)}, sessions finished {finished}/{sessions}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second offered")
    parser.add_argument("--port", type=int, default=7200, help="gunicorn; Redis gets port + 1")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="ussd-stall-"))
    redis_port = args.port + 1
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "WEBHOOK_"))}
    env.update(HOTLINE_ENV="development", DATABASE_URL=f"sqlite:///{directory / 'hotline.db'}",
               REDIS_URL=f"redis://127.0.0.1:{redis_port}/0", SECRET_KEY="bench", FLASK_SKIP_DOTENV="1",
               FLASK_APP="hotline:create_app()")
    processes: list[subprocess.Popen] = []
    redis_server = None
    try:
        redis_server = start([shutil.which("redis-server") or "redis-server", "--port", str(redis_port),
                              "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                             env, directory / "redis.log", directory)
        processes.append(redis_server)
        for command in (["db", "upgrade"], ["seed"]):
            subprocess.run([str(VENV_BIN / "flask"), *command], env=env, cwd=REPO, check=True,
                           capture_output=True)
        gunicorn = [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{args.port}", "--workers", "2",
                    "--worker-class", "gthread", "--threads", "8", "--log-level", "warning",
                    "hotline:create_app()"]
        processes.append(start(gunicorn, env, directory / "gunicorn.log", REPO))
        base = f"http://127.0.0.1:{args.port}"
        wait_for(f"{base}/healthz")
        latencies, finished = play(base, args.sessions, args.rate, 0)
        report("redis healthy", latencies, finished, args.sessions)
        os.kill(redis_server.pid, signal.SIGSTOP)
        try:
            latencies, finished = play(base, args.sessions, args.rate, 100_000)
        finally:
            os.kill(redis_server.pid, signal.SIGCONT)
        report("redis stopped (SIGSTOP)", latencies, finished, args.sessions)
        with sqlite3.connect(directory / "hotline.db") as db:
            whole = "SELECT count(*) FROM tip WHERE place = 'Shauri Moyo market * stall 5'"
            saved, = db.execute(whole).fetchone()
            total, = db.execute("SELECT count(*) FROM tip").fetchone()
        print(f"tips saved: {total} ({saved} with the place whole), expected {2 * args.sessions}")
        return 0
    finally:
        for process in reversed(processes):
            try:
                os.killpg(process.pid, signal.SIGCONT)
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
