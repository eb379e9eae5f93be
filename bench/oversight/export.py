"""The oversight benchmark's export timing: `flask tips export` run as a secretariat would run it, a
subprocess of its own, writing the case-level dataset of every tip to a file.

Its wall time; its peak memory (the kernel's maximum resident set size of the process, as GNU time's
`%M` reports it; without /usr/bin/time, its high-water mark VmHWM as last sampled) and its resident
memory sampled every 0.1 s, to show whether it stays flat while the rows
stream; its CPU and its PostgreSQL backend's (found by `application_name`), and the machine's CPU beyond
both (other people's work on a shared machine).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
from inprocess import machine_cpu
from processes import REPO, cpu_seconds

TARGET_SECONDS, TARGET_MB = 60.0, 200.0
APPLICATION = "bench-oversight-export"
TIMEOUT = 900  # seconds: an export still running then is stopped and reported
GNU_TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else None


class Watch(threading.Thread):
    """Samples a process's resident memory (and its high-water mark) and the CPU of its database
    backends until it exits. With `through_time`, the process watched is /usr/bin/time's child."""

    def __init__(self, pid: int, database_url: str, through_time: bool):
        super().__init__(daemon=True)
        self.pid, self.database_url, self.through_time = pid, database_url, through_time
        self.rss_mb: list[tuple[float, float]] = []  # (seconds since start, MB)
        self.hwm_mb = 0.0
        self.backend_cpu: dict[int, float] = {}
        self.done = threading.Event()

    def watched(self) -> int | None:
        """The export's process id (time's child, once it has one)."""
        if not self.through_time:
            return self.pid
        try:
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        except OSError:
            return None
        return int(children[0]) if children else None

    def run(self) -> None:
        started, asked, pid = time.perf_counter(), 0.0, None
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            while not self.done.is_set():
                now = time.perf_counter() - started
                pid = pid or self.watched()
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                    kb = int(status.split("VmRSS:", 1)[1].split()[0])
                    self.hwm_mb = max(self.hwm_mb, int(status.split("VmHWM:", 1)[1].split()[0]) / 1024)
                    self.rss_mb.append((round(now, 2), round(kb / 1024, 1)))
                except (OSError, IndexError, TypeError):
                    pass
                if now - asked >= 0.5:
                    asked = now
                    for (backend,) in connection.execute(
                            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (APPLICATION,)):
                        seen = self.backend_cpu.get(backend, 0.0)
                        self.backend_cpu[backend] = max(seen, cpu_seconds([backend]))
                self.done.wait(0.1)


def run_export(env: dict, admin_url: str, arguments: list[str], output: Path) -> dict:
    """Run `flask tips export ARGUMENTS --output OUTPUT`; its figures."""
    argv = [sys.executable, "-m", "flask", "tips", "export", *arguments, "--output", str(output)]
    peak_file = output.with_suffix(".peak")
    if GNU_TIME:
        # The peak is time's report of its child, forked from time's own small image: a child spawned
        # from this process (vfork) would carry this process's peak in its ru_maxrss.
        argv = [GNU_TIME, "-f", "%M", "-o", str(peak_file), *argv]
    busy_before, total_before = machine_cpu()
    started = time.perf_counter()
    with open(output.with_suffix(".log"), "wb") as log:
        child = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)
    watch = Watch(child.pid, admin_url, through_time=bool(GNU_TIME))
    watch.start()
    timer = threading.Timer(TIMEOUT, child.kill)
    timer.start()
    # wait4: the CPU of the child (and of time's child, reaped by it) comes with its status.
    _pid, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    timer.cancel()
    child.returncode = os.waitstatus_to_exitcode(status)
    watch.done.set()
    watch.join()
    busy, total = machine_cpu()
    own_cpu = usage.ru_utime + usage.ru_stime
    backend_cpu = sum(watch.backend_cpu.values())
    other = max(0.0, busy - busy_before - own_cpu - backend_cpu)
    try:
        peak_mb = int(peak_file.read_text().split()[-1]) / 1024
        peak_file.unlink()
    except (OSError, ValueError, IndexError):
        peak_mb = watch.hwm_mb  # no GNU time: the high-water mark last seen, 0.1 s before the end at worst
    result = {
        "argv": " ".join(["flask tips export", *arguments]), "exit": child.returncode,
        "seconds": round(seconds, 1), "ratio_seconds": round(seconds / TARGET_SECONDS, 2),
        "peak_mb": round(peak_mb, 1), "ratio_mb": round(peak_mb / TARGET_MB, 2),
        "rss_mb_by_decile": deciles(watch.rss_mb), "cpu_s": round(own_cpu, 1),
        "database_cpu_s": round(backend_cpu, 1),
        "other_work_pct": round(100 * other / max(total - total_before, 1e-9), 1),
        "file_mb": round(output.stat().st_size / 2**20, 1) if output.exists() else None,
    }
    if child.returncode != 0:
        result["error"] = output.with_suffix(".log").read_text(errors="replace")[-2000:]
    return result


def deciles(samples: list[tuple[float, float]]) -> list[float]:
    """The resident memory at each tenth of the run (MB): flat when the export streams."""
    if not samples:
        return []
    return [samples[min(len(samples) - 1, len(samples) * n // 10)][1] for n in range(1, 10)]


def csv_rows(path: Path) -> tuple[int, list[str]]:
    """The rows of a CSV file (its header apart) and its header."""
    with open(path, newline="", encoding="utf-8") as file:
        reader = csv.reader(file)
        header = next(reader, [])
        return sum(1 for _ in reader), header


def measure(env: dict, admin_url: str, directory: Path) -> dict:
    """The full case-level export as CSV (the target), then as JSON, then CSV with the free text."""
    runs = {
        "cases csv": ["--table", "cases", "--format", "csv"],
        "cases json": ["--table", "cases", "--format", "json"],
        "cases csv --free-text": ["--table", "cases", "--format", "csv", "--free-text"],
    }
    figures, problems = {}, []
    for label, arguments in runs.items():
        print(f"  export {label} ...", file=sys.stderr, flush=True)
        output = directory / f"{label.replace(' ', '-').replace('--', '')}.{arguments[3]}"
        figures[label] = run_export(env, admin_url, arguments, output)
        if figures[label]["exit"] != 0:
            failed = figures[label]
            problems.append(f"{failed['argv']} exited {failed['exit']}:\n{failed['error']}")
        elif arguments[3] == "csv":
            figures[label]["rows"], figures[label]["columns"] = csv_rows(output)
        output.unlink(missing_ok=True)
    target = figures["cases csv"]
    passed = target["exit"] == 0 and target["ratio_seconds"] <= 1 and target["ratio_mb"] <= 1
    return {"runs": figures, "problems": problems, "passed": passed and not problems}


def report(result: dict) -> list[str]:
    """The export's lines of the printout."""
    lines = [f"{'export':<24} {'seconds':>8} {'s/60':>6} {'peak MB':>8} {'MB/200':>7} {'file MB':>8}"
             f" {'rows':>10} {'CPU s':>6} {'db CPU s':>8} {'other work':>10}"]
    for label, f in result["runs"].items():
        verdict = "PASS" if f["exit"] == 0 and f["ratio_seconds"] <= 1 and f["ratio_mb"] <= 1 else "MISS"
        if f["exit"] != 0:
            verdict = f"FAILED (exit {f['exit']})"
        rows = f"{f['rows']:,}" if "rows" in f else "-"
        lines.append(f"{label:<24} {f['seconds']:>8.1f} {f['ratio_seconds']:>6.2f} {f['peak_mb']:>8.1f}"
                     f" {f['ratio_mb']:>7.2f} {f['file_mb'] or 0:>8.1f} {rows:>10} {f['cpu_s']:>6.1f}"
                     f" {f['database_cpu_s']:>8.1f} {f['other_work_pct']:>9.0f}%  {verdict}")
    for label, f in result["runs"].items():
        if f["rss_mb_by_decile"]:
            lines.append(f"  {label}: resident MB at each tenth of the run: "
                         + " ".join(f"{mb:.0f}" for mb in f["rss_mb_by_decile"]))
    return lines
