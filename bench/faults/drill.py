"""Fault drill: the outages of issue 9 replayed by hand against running processes.

Start the hotline as `make run` does, but each process on its own so one can be stopped or killed
without honcho stopping the rest (see bench/README.md, "Fault drill"), then:

    .venv/bin/python bench/faults/drill.py delay          # AT takes the send but answers too late
    .venv/bin/python bench/faults/drill.py outage --minutes 30
    .venv/bin/python bench/faults/drill.py redis-stop     # SIGSTOP on Redis while reporters dial
    .venv/bin/python bench/faults/drill.py redis-kill     # SIGKILL on Redis mid-session, then restart
    .venv/bin/python bench/faults/drill.py worker-kill    # SIGKILL on the worker mid-routing

Each plays whole anonymous tip sessions to Kakamega over HTTP, as AT does, and prints what the
issue asks: tips lost (an END with a reference but no such tip, or a tip no focal point was told
of), SMS sent twice (the same text to the same phone more than once at the simulator), screens over
1 s, and non-2xx answers.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
SERVICE_CODE = "*384*1234#"
KAKAMEGA_FOCAL_POINTS = ("+254700000101", "+254700000102")
# As bench/faults/start.sh starts it.
REDIS_RESTART = (f'redis-server --port 6380 --bind 127.0.0.1 --save "" --appendonly no --dir {REPO}/instance '
                 f"--daemonize yes --pidfile {REPO}/instance/redis.pid --logfile {REPO}/instance/redis.log")
REFERENCE = re.compile(r"Reference: ([0-9][0-9-]+[0-9])")


def inputs(urgent: bool, place: str) -> tuple[str, ...]:
    """What a reporter types, screen by screen ("" is the dial)."""
    return ("", "1", "1", "kakam", place, "99", "1" if urgent else "2", "2", "2", "1")


@dataclass
class Session:
    """One reporter's session and what came back."""

    number: int
    urgent: bool
    reference: str | None = None
    error: str | None = None
    replies_s: list[float] = field(default_factory=list)


def play(web: str, session: Session, run_id: str, pause: float = 0.0) -> Session:
    """Play one whole tip session; keeps each reply's time and the reference of the END."""
    phone = f"+25479{run_id[-3:]}{session.number:04d}"
    typed = inputs(session.urgent, f"Drill {run_id} market * stall {session.number}")
    form = {"sessionId": f"ATUid_drill{run_id}{session.number:05d}", "serviceCode": SERVICE_CODE,
            "phoneNumber": phone, "networkCode": "63902"}
    so_far: list[str] = []
    for answer in typed:
        if answer:
            so_far.append(answer)
        started = time.monotonic()
        try:
            reply = requests.post(f"{web}/ussd", data={**form, "text": "*".join(so_far)}, timeout=10)
        except requests.RequestException as exc:
            session.error = f"no answer: {type(exc).__name__}"
            return session
        session.replies_s.append(time.monotonic() - started)
        if reply.status_code != 200 or not reply.text.startswith(("CON ", "END ")):
            session.error = f"HTTP {reply.status_code}: {reply.text[:60]!r}"
            return session
        if reply.text.startswith("END "):
            found = REFERENCE.search(reply.text)
            session.reference = found.group(1) if found else None
            if not found:
                session.error = f"END without a reference: {reply.text[:80]!r}"
            return session
        if pause:
            time.sleep(pause)
    session.error = "no END"
    return session


def dial_many(web: str, count: int, run_id: str, concurrency: int = 8, urgent_every: int = 4,
              pause: float = 0.0) -> list[Session]:
    """Play `count` sessions, `concurrency` at once."""
    sessions = [Session(number=n, urgent=n % urgent_every == 0) for n in range(count)]
    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(lambda s: play(web, s, run_id, pause), sessions))


def sms_at_simulator(sim: str, since: str) -> list[dict]:
    """Every SMS the simulated focal points received since `since` (ISO time)."""
    found = []
    for phone in KAKAMEGA_FOCAL_POINTS:
        reply = requests.get(f"{sim}/api/messages", params={"phone": phone, "since": since}, timeout=30)
        reply.raise_for_status()
        found += reply.json()
    return found


def tips_in_database(references: list[str]) -> set[str]:
    """The references, of those given, that the hotline's database holds."""
    env = {**os.environ, "HOTLINE_ENV": os.environ.get("HOTLINE_ENV", "development")}
    code = (
        "import sys\n"
        "from sqlalchemy import select\n"
        "from hotline import create_app\n"
        "from hotline.core.models import Tip\n"
        "app = create_app()\n"
        "with app.extensions['hotline'].session_scope() as s:\n"
        "    refs = s.scalars(select(Tip.reference)).all()\n"
        "print('\\n'.join(refs))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                         check=True).stdout
    held = {line.strip() for line in out.splitlines() if line.strip()}
    return {ref for ref in references if ref.replace("-", "") in {h.replace("-", "") for h in held}}


def summarise(sessions: list[Session], sms: list[dict], wait_for_sms: bool) -> dict:
    """Tips lost, SMS sent twice, screens over 1 s, failed sessions."""
    references = [s.reference for s in sessions if s.reference]
    saved = tips_in_database(references)
    texts = Counter((m.get("to") or m.get("phone"), m.get("message") or m.get("text")) for m in sms)
    twice = sum(n - 1 for n in texts.values() if n > 1)
    told = {ref for ref in references if any(ref in (m.get("message") or m.get("text") or "") for m in sms)}
    replies = sorted(t for s in sessions for t in s.replies_s)
    p = (lambda q: replies[min(len(replies) - 1, int(q * len(replies)))] * 1000) if replies else (lambda q: 0)
    result = {
        "sessions": len(sessions),
        "ended_with_reference": len(references),
        "failed_sessions": Counter(s.error for s in sessions if s.error),
        "tips_not_in_database": len(set(references) - saved),
        "tips_no_focal_point_told": len(set(references) - told) if wait_for_sms else "not checked",
        "sms_sent_twice": twice,
        "screens": len(replies),
        "screens_over_1s": sum(t > 1 for t in replies),
        "p50_ms": round(p(0.5), 1),
        "p99_ms": round(p(0.99), 1),
    }
    for key, value in result.items():
        print(f"  {key}: {value}")
    return result


def wait_until_told(sim: str, since: str, references: list[str], timeout: float) -> list[dict]:
    """Poll the simulator until every reference reached a focal point (or the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        sms = sms_at_simulator(sim, since)
        missing = [r for r in references if not any(r in (m.get("message") or "") for m in sms)]
        if not missing or time.monotonic() > deadline:
            return sms
        print(f"  waiting: {len(missing)} tips not yet at a focal point", flush=True)
        time.sleep(min(30, max(1, deadline - time.monotonic())))


def told_and_summarised(args, sessions: list[Session], since: str) -> dict:
    """Wait until every tip reached a focal point (or `--wait`), then `--settle` for late duplicates."""
    refs = [s.reference for s in sessions if s.reference]
    sms = wait_until_told(args.sim, since, refs, args.wait)
    time.sleep(args.settle)  # let a wrong second send happen, if one is coming
    return summarise(sessions, sms_at_simulator(args.sim, since), True) | {"sms": len(sms)}


def utc_now_iso() -> str:
    """Now, as the simulator's `since` takes it."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())


def pid_of(pattern: str) -> int:
    """The oldest process whose command line matches `pattern`."""
    out = subprocess.run(["pgrep", "-o", "-f", pattern], capture_output=True, text=True).stdout.split()
    if not out:
        sys.exit(f"no process matches {pattern!r}: start the hotline's processes first")
    return int(out[0])


def scenario_delay(args) -> dict:
    """AT takes each send but answers after the SDK's read timeout, twice."""
    since = utc_now_iso()
    fault = {"delay": 12, "count": args.faults}
    requests.post(f"{args.sim}/api/faults", json=fault, timeout=5).raise_for_status()
    sessions = dial_many(args.web, args.tips, args.run_id)
    return told_and_summarised(args, sessions, since)


def scenario_outage(args) -> dict:
    """AT answers 500 to every send for `--minutes`, then recovers."""
    since = utc_now_iso()
    fault = {"status": 500, "count": 1_000_000}
    requests.post(f"{args.sim}/api/faults", json=fault, timeout=5).raise_for_status()
    sessions = dial_many(args.web, args.tips, args.run_id)
    print(f"  AT down for {args.minutes} min from {since}", flush=True)
    time.sleep(args.minutes * 60)
    requests.delete(f"{args.sim}/api/faults", timeout=5).raise_for_status()
    print("  AT back", flush=True)
    return told_and_summarised(args, sessions, since)


def scenario_redis_stop(args) -> dict:
    """SIGSTOP on Redis while reporters dial; SIGCONT after."""
    pid = pid_of(args.redis_pattern)
    since = utc_now_iso()
    os.kill(pid, signal.SIGSTOP)
    try:
        sessions = dial_many(args.web, args.tips, args.run_id, concurrency=args.concurrency)
    finally:
        os.kill(pid, signal.SIGCONT)
    print("  Redis continued", flush=True)
    return told_and_summarised(args, sessions, since)


def scenario_redis_kill(args) -> dict:
    """SIGKILL on Redis while sessions are half-way; restart it on the same port after."""
    pid = pid_of(args.redis_pattern)
    since = utc_now_iso()
    killer = threading.Timer(1.0, os.kill, (pid, signal.SIGKILL))
    killer.start()
    sessions = dial_many(args.web, args.tips, args.run_id, concurrency=args.concurrency, pause=0.2)
    killer.join()
    subprocess.run(args.redis_restart, shell=True, check=True, cwd=REPO)
    print("  Redis restarted", flush=True)
    return told_and_summarised(args, sessions, since)


def scenario_worker_kill(args) -> dict:
    """SIGKILL on the worker while tips arrive; its scheduler child must go too, and a new worker
    must route every tip, once."""
    pidfile = REPO / "instance" / "drill" / "worker.pid"
    pid = int(pidfile.read_text())
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    since = utc_now_iso()
    os.kill(pid, signal.SIGKILL)
    sessions = dial_many(args.web, args.tips, args.run_id)
    time.sleep(2)
    alive = [c for c in children if Path(f"/proc/{c}").exists()
             and Path(f"/proc/{c}/stat").read_text().split()[2] != "Z"]
    print(f"  worker {pid} killed; its children {children}, still running 2 s later: {alive}", flush=True)
    log = open(REPO / "instance" / "drill" / "worker.log", "a")  # noqa: SIM115 (the worker keeps it)
    worker = subprocess.Popen([str(REPO / ".venv" / "bin" / "flask"), "worker"], cwd=REPO, stdout=log,
                              stderr=log, start_new_session=True)
    pidfile.write_text(str(worker.pid))
    print(f"  new worker {worker.pid}", flush=True)
    return told_and_summarised(args, sessions, since) | {"orphans": len(alive)}


SCENARIOS = {"delay": scenario_delay, "outage": scenario_outage, "redis-stop": scenario_redis_stop,
             "redis-kill": scenario_redis_kill, "worker-kill": scenario_worker_kill}


def main(argv=None) -> int:
    """The command line."""
    parser = argparse.ArgumentParser(description="Replay issue 9's outages against running processes.")
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--web", default="http://127.0.0.1:5000")
    parser.add_argument("--sim", default="http://127.0.0.1:5001")
    parser.add_argument("--tips", type=int, default=20, help="tip sessions to play (20)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--minutes", type=float, default=30, help="AT outage length (outage)")
    parser.add_argument("--faults", type=int, default=2, help="sends that get the delay (delay)")
    parser.add_argument("--wait", type=float, default=900, help="seconds to wait for every tip's SMS")
    parser.add_argument("--settle", type=float, default=5, help="seconds to wait for late duplicates")
    parser.add_argument("--redis-pattern", default="redis-server .*:6380")
    parser.add_argument("--redis-restart", default=REDIS_RESTART, help="how redis-kill starts Redis again")
    parser.add_argument("--run-id", default=time.strftime("%H%M%S"))
    args = parser.parse_args(argv)
    print(f"scenario {args.scenario} (run {args.run_id})", flush=True)
    SCENARIOS[args.scenario](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
