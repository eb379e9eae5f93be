"""The console's sign-in in a real browser (Debian's chromium through Playwright): the first sign-in
sets up the authenticator from the QR code or the key, the recovery codes are shown once, a form
without its token is refused, an idle session ends, and no page breaks the Content-Security-Policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import time_machine

from hotline.accounts import users
from tests.console import PASSWORD, make_user, sign_in

NOON = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def csp_violations(page) -> list[str]:
    """Collects what the browser refused under the CSP (inline script or style, outside fetches)."""
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text) if "Content Security Policy" in message.text
            else None)
    return seen


def test_first_sign_in_sets_up_two_factor_and_shows_the_recovery_codes(console, page):
    with console.ext.session_scope() as session:
        users.create(session, "officer@example.org", "focal_point", PASSWORD, county_code=37,
                     phone="+254700000101", name="Officer A")
    refused = csp_violations(page)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(f"{console.url}/console/sign-in")
    page.fill("input[name=email]", "officer@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/two-factor/setup")
    qr = page.locator(".qr img")
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")  # the CSP let it draw
    key = page.text_content("#totp-key")
    assert len(key.split()) == 8
    totp = pyotp.TOTP(key.replace(" ", ""))
    page.fill("input[name=code]", "000000" if totp.now() != "000000" else "111111")
    page.click("form[action='/console/two-factor/setup'] button[type=submit]")
    assert "That code is not right" in page.text_content("main")
    page.fill("input[name=code]", totp.now())
    page.click("form[action='/console/two-factor/setup'] button[type=submit]")
    codes = page.locator(".recovery-codes li").all_text_contents()
    assert len(codes) == 10 and "shown only this once" in page.text_content("main")
    page.click("text=I have kept them: continue")
    assert "/console/" in page.url and "officer@example.org" in page.text_content("header")
    assert refused == []


def test_a_signed_in_user_signs_out_and_a_form_without_its_token_is_refused(console, page):
    user = make_user(console.ext, "auditor")
    sign_in(page, console.url, user)
    assert page.url.endswith("/console/home")
    # A form another site would post: no token. The browser sends the session cookie (same site here).
    page.evaluate("""() => {
        const form = document.querySelector('form.signout');
        form.querySelector('input[name=csrf_token]').remove();
        form.submit();
    }""")
    page.wait_for_load_state()
    assert "security token is missing" in page.text_content("main")
    page.goto(f"{console.url}/console/home")
    page.click("form.signout button")
    page.wait_for_url("**/console/sign-in")
    assert "You are signed out." in page.text_content("main")


def test_an_idle_session_expires(console, page):
    user = make_user(console.ext, "secretariat")
    with time_machine.travel(NOON, tick=True) as traveller:
        sign_in(page, console.url, user)
        page.goto(f"{console.url}/console/account")
        assert "My account" in page.text_content("h1")
        traveller.shift(timedelta(minutes=31))
        page.reload()
        page.wait_for_url("**/console/sign-in?next=/console/account")
        assert "You were signed out after 30 minutes without activity." in page.text_content("main")
