"""`make run` (scripts/run-dev) in a scratch copy of the checkout, on ports of its own: the demo tips
reach the simulator the worker was started with at once, the "how to dial" banner comes after the
processes' start-up logs, and Ctrl-C stops everything, the private Redis included."""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.conftest import ROOT, free_port

# What the script needs of the checkout; linked, not copied (the script itself is copied, so that
# `cd "$(dirname "$0")/.."` lands in the scratch tree and its .env and instance/ stay there).
# pyproject.toml too: inside `make mutation`, mutmut's code in the flask processes reads its settings there.
LINKED = (
    ".flaskenv", "Procfile.dev", "pyproject.toml", "hotline", "simulator", "workers", "campaigns", "flows",
    "migrations",
)
DEADLINE = 60  # seconds for the stack to come up on a busy machine; it takes about 3
NAIROBI_FOCAL_POINT = "+254700000111"  # the demo focal point of the demo tip in Nairobi City


@pytest.fixture
def checkout(tmp_path):
    for name in LINKED:
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / ".venv").symlink_to(sys.prefix)  # the virtualenv running the tests (mutmut's copy has none)
    (tmp_path / "scripts").mkdir()
    shutil.copy2(ROOT / "scripts" / "run-dev", tmp_path / "scripts" / "run-dev")
    yield tmp_path
    pid_file = tmp_path / "instance" / "redis.pid"  # a failed test must not leave its Redis running
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)


def answers(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_make_run_routes_the_demo_tips_at_once_then_says_how_to_dial_and_stops_on_ctrl_c(checkout):
    web, sim, redis_port = free_port(), free_port(), free_port()
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("AT_", "REDIS_", "DATABASE_", "HOTLINE_", "FLASK_"))
    }
    env |= {
        "WEB_PORT": str(web), "SIM_PORT": str(sim), "REDIS_PORT": str(redis_port),
        # The worker finds its instance folder through the real package: keep the database here.
        "DATABASE_URL": f"sqlite:///{checkout / 'hotline.db'}", "SECRET_KEY": "run-dev-test",
    }
    process = subprocess.Popen(
        ["scripts/run-dev"], cwd=checkout, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches it
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + DEADLINE
        while not any("Ctrl-C stops everything" in line for line in seen):  # the banner's last line
            assert time.monotonic() < deadline, "".join(seen)
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                assert process.poll() is None, "".join(seen)
        log = "".join(seen)
        banner = log.index("The hotline is up on")
        # After the processes said they listen, never before.
        assert log.index(f"Listening at: http://127.0.0.1:{web}") < banner
        assert log.index(f"Running on http://127.0.0.1:{sim}") < banner
        assert log.index("demo tips: 6 queued for routing") < banner
        assert "make dial" in log[banner:] and f"http://127.0.0.1:{sim}/phone" in log[banner:]
        # The console: where to sign in, the demo accounts and their password, how to get a code.
        assert f"http://127.0.0.1:{web}/console/sign-in" in log[banner:]
        assert "kakamega@demo.hotline.ke" in log[banner:] and "demo-hotline-2026" in log[banner:]
        assert "manager@demo.hotline.ke" in log[banner:] and "campaign_manager" in log[banner:]
        assert "flask users code EMAIL" in log[banner:]
        page = requests.get(f"http://127.0.0.1:{web}/", timeout=5)
        assert page.status_code == 200 and f"http://127.0.0.1:{web}/ussd" in page.text
        # The worker sends to this simulator, and routes the demo tips without waiting for a sweep
        # (the first would come 30 s after the tips were saved).
        inbox: list = []
        routed_by = time.monotonic() + 20
        while not inbox and time.monotonic() < routed_by:
            inbox = requests.get(
                f"http://127.0.0.1:{sim}/api/messages", params={"phone": NAIROBI_FOCAL_POINT}, timeout=5
            ).json()
            time.sleep(0.2)
        assert len(inbox) == 1 and "ACK" in inbox[0]["message"]
        dotenv = (checkout / ".env").read_text()
        assert f"HOTLINE_URL=http://127.0.0.1:{web}\n" in dotenv
        assert f"CONSOLE_URL=http://127.0.0.1:{web}/console\n" in dotenv
        assert f"REDIS_URL=redis://127.0.0.1:{redis_port}/0\n" in dotenv
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C
        process.wait(timeout=30)
        process.stdout.close()
    for port in (web, sim, redis_port):
        stopped_by = time.monotonic() + 10
        while answers(port) and time.monotonic() < stopped_by:
            time.sleep(0.1)
        assert not answers(port), f"port {port} still answers after Ctrl-C"
