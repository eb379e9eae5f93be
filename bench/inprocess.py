"""Timing console pages in process, as `bench/desk` and `bench/campaign/console.py` do: the app built with
`create_app`, its WSGI callable wrapped to time each request from entering the app to the last byte of
its body (server time: no network, no browser), users signed in through the console's own sign-in
pages with Flask's test client, percentiles by nearest rank, and how busy the rest of the machine was.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from processes import Processes

PASSWORD = "a bench password, not a secret"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


class RedisOnly(Processes):
    """A private redis-server in a temporary directory (the app's sign-in limits and sessions use it)."""

    def _start(self) -> None:
        self.start_redis()


class ServerTime:
    """WSGI middleware: the time from a request entering the app to its body's last byte, per request."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.last_ms = 0.0

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        response = self.wsgi_app(environ, start_response)
        try:
            body = b"".join(response)
        finally:
            if hasattr(response, "close"):
                response.close()
        self.last_ms = (time.perf_counter() - started) * 1000
        return [body]


def percentile(samples: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of samples."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, int(round(pct / 100 * len(ordered) + 0.5)) - 1))]


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    hertz = os.sysconf("SC_CLK_TCK")
    idle = ticks[3] + ticks[4]  # idle and iowait
    return (sum(ticks) - idle) / hertz, sum(ticks) / hertz


def timed(timer: ServerTime, requests: list[Callable], warmup: int, check: Callable
          ) -> tuple[list[float], list[str], float]:
    """Send each request (a callable returning the test client's response), the first `warmup` untimed;
    the server milliseconds of the others, what went wrong (`check(response)` false, or not a 200), and
    how busy the machine was meanwhile beyond this process and its database backend (percent, a guide)."""
    problems = []
    for request in requests[:warmup]:
        request()
    samples = []
    busy_before, total_before = machine_cpu()
    for request in requests[warmup:]:
        response = request()
        samples.append(timer.last_ms)
        if response.status_code != 200 or not check(response.get_data(as_text=True)):
            asked = response.request
            problems.append(f"{asked.method} {asked.full_path.rstrip('?')}: {response.status_code}")
    busy, total = machine_cpu()
    wall = sum(samples) / 1000
    # One request at a time: this process or its PostgreSQL backend keeps about one core busy while
    # it runs; what the machine did beyond that is other people's work.
    other = max(0.0, (busy - busy_before) - wall)
    return samples, problems, round(100 * other / max(total - total_before, 1e-9), 1)


def form_token(client, path: str) -> str:
    """The CSRF token of the form on `path`."""
    found = TOKEN.search(client.get(path).get_data(as_text=True))
    if not found:
        raise RuntimeError(f"no CSRF token on {path}")
    return found.group(1) or found.group(2)


def post_form(client, path: str, data: dict) -> None:
    """GET a form, POST it back with its CSRF token; RuntimeError unless it redirects onwards."""
    response = client.post(path, data={"csrf_token": form_token(client, path), **data})
    if response.status_code != 302:
        raise RuntimeError(f"{path} answered {response.status_code}, not a redirect: signing in failed")


def sign_in(ext, client, email: str, role: str, **fields) -> None:
    """Make (or find) the account through the accounts service, its authenticator set up as `flask seed
    --demo` does for demo accounts, and sign `client` in through the console's sign-in pages."""
    import pyotp

    from hotline.accounts import two_factor, users
    from hotline.core.time import utcnow

    secret = two_factor.new_secret()
    with ext.session_scope() as session:
        user = users.find(session, email) or users.create(session, email, role, PASSWORD, **fields)
        users.enrol(user, two_factor.seal(secret, ext.config.contact_key), utcnow())
    post_form(client, "/console/sign-in", {"email": email, "password": PASSWORD})
    post_form(client, "/console/two-factor", {"code": pyotp.TOTP(secret).now()})
