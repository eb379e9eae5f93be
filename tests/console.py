"""Fixtures and helpers for the console's tests (loaded by tests/conftest.py as a pytest plugin).

- `console`: the hotline (and the AT simulator it sends SMS to) on real ports; `console.url` is the
  base URL, `console.work()` runs the worker until the queues are empty.
- `browser` (one per test session) and `page` (a fresh browser context per test): Playwright driving
  Debian's /usr/bin/chromium, never a browser Playwright downloads.
- `make_user(ext, role, ...)`: a console account made through the accounts service, its
  authenticator already set up; returns a `DemoUser` with the password and TOTP key.
- `sign_in(page, base_url, user)`: the real sign-in in the browser; `sign_in_client(client, user)`
  the same through Flask's test client; `csrf_token(client, path)` a form's token for a test POST.

Codes come from `DemoUser.code()`, at `utcnow()` (so time_machine travels with them), and never
reuse a time step the user already spent: the server refuses a code whose step was used.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import func, select

import simulator
from hotline.accounts import two_factor, users
from hotline.core.models import User
from hotline.core.time import utcnow
from tests.conftest import AT_TIMEOUT, listening_socket, serve, stop

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery staple"
TOKEN_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                         r'type="hidden" name="csrf_token" value="([^"]+)"')


@dataclass
class DemoUser:
    """A console account a test made: what its owner would know."""

    email: str
    password: str
    totp_secret: str
    user_id: int = 0
    last_step: int = field(default=-1, repr=False)

    def code(self) -> str:
        """A code the server accepts now: the current step's, or the next one's if that was spent."""
        totp = pyotp.TOTP(self.totp_secret)
        now_step = totp.timecode(utcnow())
        step = next((s for s in (now_step, now_step + 1) if s > self.last_step), None)
        assert step is not None, "three codes within 30 seconds: travel on (time_machine) between them"
        self.last_step = step
        return totp.generate_otp(step)


def make_user(ext, role: str, county_code: int | None = None, phone: str | None = None,
              email: str | None = None, name: str | None = None) -> DemoUser:
    """A console account with its authenticator set up (a focal point gets a directory entry)."""
    with ext.session_scope() as session:
        count = session.scalar(select(func.count()).select_from(User))
        email = email or f"{role.replace('_', '-')}{count + 1}@example.org"
        if role == "focal_point":
            county_code = county_code or 37
            phone = phone or f"+2547009{county_code:02d}{count + 1:03d}"
            name = name or f"Officer {count + 1}"
        user = users.create(session, email, role, PASSWORD, county_code=county_code, phone=phone, name=name)
        secret = two_factor.new_secret()
        users.enrol(user, two_factor.seal(secret, ext.config.contact_key), utcnow())
        session.flush()
        return DemoUser(user.email, PASSWORD, secret, user.id)


def csrf_token(client, path: str) -> str:
    """The CSRF token of the form on `path` (a GET with the client's session)."""
    page = client.get(path).get_data(as_text=True)
    found = TOKEN_INPUT.search(page)
    assert found, f"no CSRF token on {path}"
    return found.group(1) or found.group(2)


def sign_in_client(client, user: DemoUser, next_path: str | None = None):
    """Sign `user` in through the pages with Flask's test client; returns the last response."""
    query = f"?next={next_path}" if next_path else ""
    token = csrf_token(client, "/console/sign-in" + query)
    response = client.post("/console/sign-in" + query,
                           data={"csrf_token": token, "email": user.email, "password": user.password})
    assert response.status_code == 302 and response.location.endswith("/console/two-factor"), response.text
    token = csrf_token(client, "/console/two-factor")
    response = client.post("/console/two-factor", data={"csrf_token": token, "code": user.code()})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def sign_in(page, base_url: str, user: DemoUser, next_path: str = "") -> None:
    """Sign `user` in through the browser: e-mail, password, then the authenticator code."""
    page.goto(f"{base_url}/console/sign-in" + (f"?next={next_path}" if next_path else ""))
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", user.password)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/two-factor")
    page.fill("input[name=code]", user.code())
    page.click("form[action='/console/two-factor'] button[type=submit]")
    page.wait_for_url(lambda url: "/console/two-factor" not in url and "/console/sign-in" not in url)


class Console:
    """The hotline and the simulator on real ports."""

    def __init__(self, app, url: str, sim_url: str):
        self.app, self.url, self.sim_url = app, url, sim_url
        self.ext = app.extensions["hotline"]

    def work(self) -> None:
        """Run the worker until the queues are empty (RQ's real worker)."""
        result = self.app.test_cli_runner().invoke(args=["worker", "--burst"])
        assert result.exit_code == 0, result.output


@pytest.fixture
def console(make_app, stack_settings):
    """The hotline and the AT simulator, each on a real port (override config with `stack_settings`)."""
    web, sim_socket = listening_socket(), listening_socket()
    url = f"http://127.0.0.1:{web.getsockname()[1]}"
    sim_url = f"http://127.0.0.1:{sim_socket.getsockname()[1]}"
    sim = simulator.create_app({
        "HOTLINE_URL": url, "SIM_DELIVERY_DELAY": "0.02", "SIM_SEED": "7", "SIM_DUPLICATE_RATE": "0",
        "SIM_REORDER_RATE": "0", "SIM_INTERMEDIATE_RATE": "0",
    })
    app = make_app(at_api_url=sim_url, at_timeout=AT_TIMEOUT, **stack_settings)
    servers = [serve(sim, sim_socket), serve(app, web)]
    yield Console(app, url, sim_url)
    for server, thread in servers:
        stop(server, thread)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, headless, driven by Playwright; one for the whole test session."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test`, which installs Debian's chromium "
                    "(scripts/ensure-chromium)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []  # chromium refuses its sandbox as root
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (no cookies) and page for one test; a phone-sized window is one
    `page.set_viewport_size({"width": 390, "height": 844})` away. Whatever the browser refused under
    the Content-Security-Policy (an inline script or style, say) fails the test at its end."""
    context = browser.new_context()
    context.set_default_timeout(15_000)
    tab = context.new_page()
    refused: list[str] = []
    tab.on("console", lambda message: refused.append(message.text)
           if "Content Security Policy" in message.text else None)
    yield tab
    context.close()
    assert not refused, f"the page broke the Content-Security-Policy: {refused}"
