"""What the USSD benchmark runs against, set up from nothing in a temporary directory.

A private `redis-server` (no persistence) on a free port, a SQLite database migrated and seeded
with the project's own CLI, and two gunicorn servers with identical settings: the hotline and
the bare baseline (`bare.py`). `Stack` is a context manager: leaving it, normally, on an error or
on Ctrl-C, stops every process it started (each runs in its own process group) and deletes the
directory.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH = Path(__file__).resolve().parent
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
# Variables of the service (and of gunicorn) a developer's shell may carry; none may leak in.
SCRUBBED = (
    "DATABASE_URL", "REDIS_URL", "WEBHOOK_TOKEN", "SECRET_KEY", "PHONE_HASH_KEY", "CONTACT_KEY",
    "USSD_SERVICE_CODE", "AT_USERNAME", "AT_API_KEY", "AT_API_URL", "AT_SENDER_ID", "HOTLINE_ENV",
    "FLASK_APP", "FLASK_DEBUG", "GUNICORN_CMD_ARGS",
)
PROBE = (
    b"sessionId=ATUid_probe&serviceCode=%2A384%2A1234%23&phoneNumber=%2B254799999999"
    b"&networkCode=63902&text="
)


def gunicorn_settings(workers: int) -> list[str]:
    """The settings both servers get: quiet logs (logging is not what we measure), no access log."""
    return ["--workers", str(workers), "--log-level", "warning", "--no-control-socket"]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    # If the benchmark is killed outright, its servers get SIGTERM instead of living on.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Stack:
    """Redis, the database and both servers; use as `with Stack(workers) as stack:`."""

    def __init__(self, workers: int = 2, keep: bool = False):
        self.workers, self.keep = workers, keep
        self.dir = Path(tempfile.mkdtemp(prefix="bench-ussd-"))
        self.processes: dict[str, subprocess.Popen] = {}
        self.ports: dict[str, int] = {}
        self.redis_url = ""
        self.env: dict[str, str] = {}

    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    def _start(self) -> None:
        self.ports["redis"] = free_port()
        self._spawn("redis", [
            REDIS_SERVER, "--port", str(self.ports["redis"]), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(self.dir), "--daemonize", "no",
        ])
        self._wait_for_redis()
        self.redis_url = f"redis://127.0.0.1:{self.ports['redis']}/0"
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
        env.update(
            HOTLINE_ENV="development",  # dev keys, no production secret checks
            DATABASE_URL=f"sqlite:///{self.dir / 'hotline.db'}",
            REDIS_URL=self.redis_url,
            SECRET_KEY="bench-not-secret",  # so the app writes no key file into instance/
            FLASK_SKIP_DOTENV="1",
            PYTHONDONTWRITEBYTECODE="1",
        )
        self.env = env
        for command in (["db", "upgrade"], ["seed"]):
            self._run([sys.executable, "-m", "flask", "--app", "hotline:create_app", *command])
        # cwd is the temporary directory so no gunicorn.conf.py is picked up by accident.
        for name, path, app in (("hotline", REPO, "hotline:create_app()"),
                                ("bare", BENCH, "bare:create_app()")):
            self.ports[name] = free_port()
            self._spawn(name, [
                sys.executable, "-m", "gunicorn", *gunicorn_settings(self.workers),
                "--bind", f"127.0.0.1:{self.ports[name]}", "--pythonpath", str(path), app,
            ], env=env)
        for name in ("hotline", "bare"):
            self._wait_for_http(name)

    def _spawn(self, name: str, argv: list[str], env: dict | None = None) -> None:
        with open(self.dir / f"{name}.log", "wb") as log:  # the child keeps its own descriptor
            self.processes[name] = subprocess.Popen(
                argv, cwd=self.dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent,
            )

    def _run(self, argv: list[str]) -> None:
        done = subprocess.run(argv, cwd=REPO, env=self.env, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[2:])} failed:\n{done.stdout}{done.stderr}")

    def _alive(self, name: str) -> None:
        if self.processes[name].poll() is not None:
            raise RuntimeError(f"{name} exited at start:\n{self.log_tail(name)}")

    def _wait_for_redis(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._alive("redis")
            try:
                with socket.create_connection(("127.0.0.1", self.ports["redis"]), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer PING")

    def _wait_for_http(self, name: str, timeout: float = 30) -> None:
        """Wait until the server answers a first USSD screen with `CON `."""
        url = f"http://127.0.0.1:{self.ports[name]}/ussd"
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            self._alive(name)
            try:
                with urllib.request.urlopen(url, data=PROBE, timeout=2) as reply:
                    body = reply.read()
                if body.startswith(b"CON "):
                    return
                last = f"answered {body[:80]!r}"
            except (OSError, urllib.error.URLError) as exc:
                last = str(exc)
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not answer POST /ussd with CON ({last}):\n{self.log_tail(name)}")

    def pids(self, name: str) -> list[int]:
        """The processes of a server: for gunicorn the master and its workers."""
        root = self.processes[name].pid
        pids = [root]
        try:
            for task in Path(f"/proc/{root}/task").iterdir():
                pids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
        return pids

    def log_tail(self, name: str, lines: int = 30) -> str:
        """The end of a process's output."""
        try:
            text = (self.dir / f"{name}.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def log_problems(self, name: str) -> list[str]:
        """Lines of a server's output that report an error (there should be none)."""
        try:
            text = (self.dir / f"{name}.log").read_text(errors="replace")
        except OSError:
            return []
        words = ("Traceback", "ERROR", "CRITICAL", "WARNING")
        return [line for line in text.splitlines() if any(word in line for word in words)]

    def stop(self) -> None:
        """Stop every process this stack started, then delete its directory (unless kept)."""
        for name in reversed(list(self.processes)):
            if self.processes[name].returncode is None:
                _signal_group(self.processes[name], signal.SIGTERM if name == "redis" else signal.SIGINT)
        deadline = time.monotonic() + 10
        for process in self.processes.values():
            if process.returncode is None:
                while not _exited(process.pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
                # The leader is not reaped yet, so its group id is still ours: end any stragglers.
                _signal_group(process, signal.SIGKILL)
            process.wait()
        self.processes.clear()
        if self.keep:
            print(f"kept {self.dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _exited(pid: int) -> bool:
    """True once the process has exited (it stays a zombie, unreaped, so its pid stays ours)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True
