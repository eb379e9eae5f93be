"""What every benchmark's stack is made of: a temporary directory and the processes it starts.

`Processes` is a context manager. Subclasses start their servers in `_start`; leaving the block,
normally, on an error or on Ctrl-C, stops every process started (each runs in its own process
group, and gets SIGTERM if the benchmark is killed outright) and deletes the directory unless
`keep` is set. Shared by `bench/ussd` and `bench/routing`, which import it by path (the
benchmarks are scripts, not a package).
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
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
# Variables of the service (and of gunicorn) a developer's shell may carry; none may leak in.
SCRUBBED = (
    "DATABASE_URL", "REDIS_URL", "WEBHOOK_TOKEN", "SECRET_KEY", "PHONE_HASH_KEY", "CONTACT_KEY",
    "USSD_SERVICE_CODE", "AT_USERNAME", "AT_API_KEY", "AT_API_URL", "AT_SENDER_ID", "HOTLINE_ENV",
    "FLASK_APP", "FLASK_DEBUG", "GUNICORN_CMD_ARGS",
)
# Words of a log line that reports a problem (a benchmark's servers should print none).
PROBLEM_WORDS = ("Traceback", "ERROR", "CRITICAL", "WARNING")


def gunicorn_settings(workers: int) -> list[str]:
    """Settings every gunicorn server gets: quiet logs (logging is not what we measure), no access log."""
    return ["--workers", str(workers), "--log-level", "warning", "--no-control-socket"]


def free_port() -> int:
    """A TCP port nobody listens on right now: in `BENCH_PORTS` (e.g. `7300-7399`) when it is set.

    A shared machine gives each person a range; otherwise the kernel picks an ephemeral port.
    """
    low, _, high = os.environ.get("BENCH_PORTS", "").partition("-")
    candidates = range(int(low), int(high or low) + 1) if low else [0]
    for port in candidates:
        if port and port in _PORTS_TAKEN:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            _PORTS_TAKEN.add(sock.getsockname()[1])
            return sock.getsockname()[1]
    raise RuntimeError(f"no free port in BENCH_PORTS={os.environ['BENCH_PORTS']}")


_PORTS_TAKEN: set[int] = set()  # handed out already (the server may not listen on it yet)


def service_env(directory: Path, redis_url: str) -> dict[str, str]:
    """The hotline's environment: development keys, a SQLite file in `directory`, the given Redis."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update(
        HOTLINE_ENV="development",  # dev keys, no production secret checks
        DATABASE_URL=f"sqlite:///{directory / 'hotline.db'}",
        REDIS_URL=redis_url,
        SECRET_KEY="bench-not-secret",  # so the app writes no key file into instance/
        FLASK_SKIP_DOTENV="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def postgres_command(server_url: str, command: str, *args: str) -> None:
    """Run `createdb`/`dropdb` (`command`) on the PostgreSQL server of `server_url` (host, port, user)."""
    from sqlalchemy.engine import make_url

    url = make_url(server_url + "/postgres")
    argv = [command, "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
            "-U", url.username or "postgres", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()}")


def _die_with_parent() -> None:
    # If the benchmark is killed outright, its servers get SIGTERM instead of living on.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Processes:
    """A temporary directory and the processes started in it; use as `with Subclass(...) as stack:`."""

    def __init__(self, prefix: str, keep: bool = False):
        self.keep = keep
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.processes: dict[str, subprocess.Popen] = {}
        self.ports: dict[str, int] = {}
        self.redis_url = ""
        self.env: dict[str, str] = {}

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    def _start(self) -> None:
        raise NotImplementedError

    def start_redis(self) -> str:
        """A private redis-server without persistence on a free port; returns its URL."""
        self.ports["redis"] = free_port()
        self.spawn("redis", [
            REDIS_SERVER, "--port", str(self.ports["redis"]), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(self.dir), "--daemonize", "no",
        ])
        self._wait_for_redis()
        self.redis_url = f"redis://127.0.0.1:{self.ports['redis']}/0"
        return self.redis_url

    def spawn(self, name: str, argv: list[str], env: dict | None = None, cwd: Path | None = None) -> None:
        """Start `name` in its own process group, output to `<dir>/<name>.log`."""
        with open(self.dir / f"{name}.log", "wb") as log:  # the child keeps its own descriptor
            self.processes[name] = subprocess.Popen(
                argv, cwd=cwd or self.dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent,
            )

    def run(self, argv: list[str], timeout: float = 120) -> str:
        """Run a command to its end from the repository with `self.env`; its output, or RuntimeError."""
        done = subprocess.run(argv, cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[2:])} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def spawn_gunicorn_pair(self, bare_dir: Path, workers: int, env: dict) -> None:
        """The hotline and the benchmark's bare baseline (`bare_dir/bare.py`), under the same gunicorn.

        cwd is the temporary directory so no gunicorn.conf.py is picked up by accident.
        """
        servers = (("hotline", REPO, "hotline:create_app()"), ("bare", bare_dir, "bare:create_app()"))
        for name, path, app in servers:
            self.ports[name] = free_port()
            self.spawn(name, [
                sys.executable, "-m", "gunicorn", *gunicorn_settings(workers),
                "--bind", f"127.0.0.1:{self.ports[name]}", "--pythonpath", str(path), app,
            ], env=env)

    def alive(self, name: str) -> None:
        """RuntimeError, with the end of its log, when `name` has exited."""
        if self.processes[name].poll() is not None:
            raise RuntimeError(f"{name} exited:\n{self.log_tail(name)}")

    def wait_until(self, name: str, ready: Callable[[], str | None], timeout: float = 30,
                   what: str = "get ready") -> None:
        """Poll `ready` (None when ready, else why not) while `name` lives, up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            self.alive(name)
            last = ready() or ""
            if not last:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not {what} ({last}):\n{self.log_tail(name)}")

    def _wait_for_redis(self, timeout: float = 10) -> None:
        def pong() -> str | None:
            try:
                with socket.create_connection(("127.0.0.1", self.ports["redis"]), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    return None if sock.recv(64).startswith(b"+PONG") else "no PONG"
            except OSError as exc:
                return str(exc)

        self.wait_until("redis", pong, timeout, what="answer PING")

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

    def log_text(self, name: str) -> str:
        """Everything a process printed so far."""
        try:
            return (self.dir / f"{name}.log").read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, name: str, lines: int = 30) -> str:
        """The end of a process's output."""
        return "\n".join(self.log_text(name).splitlines()[-lines:])

    def log_problems(self, name: str, ignore: tuple[str, ...] = ()) -> list[str]:
        """Lines of a server's output that report an error (there should be none), but `ignore`d ones."""
        return [line for line in self.log_text(name).splitlines()
                if any(word in line for word in PROBLEM_WORDS) and not any(i in line for i in ignore)]

    def stop(self) -> None:
        """Stop every process started, Redis last, then delete the directory (unless kept)."""
        # Redis goes once the others have exited, so none logs a lost connection while stopping.
        servers = [name for name in reversed(list(self.processes)) if name != "redis"]
        for wave in (servers, ["redis"] if "redis" in self.processes else []):
            for name in wave:
                if self.processes[name].returncode is None:
                    _signal_group(self.processes[name], signal.SIGTERM if name == "redis" else signal.SIGINT)
            deadline = time.monotonic() + 10
            for name in wave:
                process = self.processes[name]
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


def commit() -> str:
    """The commit being measured (`+changes` when the work tree differs), for the results file."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def exit_on_termination() -> None:
    """Turn SIGTERM and SIGHUP into SystemExit(143), so `with` blocks stop every process we started."""

    def _exit(_signum, _frame):
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGHUP, _exit)


def run_main(main: Callable[[], int]) -> None:
    """Exit with `main()`'s status; Ctrl-C says every process is stopped (the `with` blocks did it)."""
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; every process the benchmark started is stopped", file=sys.stderr)
        sys.exit(130)


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU seconds used so far by these processes (gone ones count nothing)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def machine_cpu() -> tuple[float, float, float]:
    """Seconds of CPU since boot over all CPUs: busy (steal included), stolen, and in all."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / TICK, values[7] / TICK, sum(values) / TICK
