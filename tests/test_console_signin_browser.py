"""The console's sign-in in a real browser (Debian's chromium through Playwright): the first sign-in
sets up the authenticator from the QR code or the key, the recovery codes are shown once, a form
without its token is refused, an idle session ends (and the `page` fixture checks that no page broke
the Content-Security-Policy)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import time_machine

from hotline.accounts import users
from tests.console import PASSWORD, make_user, sign_in

NOON = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def test_first_sign_in_sets_up_two_factor_and_shows_the_recovery_codes(console, page):
    with console.ext.session_scope() as session:
        users.create(session, "officer@example.org", "focal_point", PASSWORD, county_code=37,
                     phone="+254700000101", name="Officer A")
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


def test_the_admin_makes_an_account_on_a_phone(console, page):
    admin = make_user(console.ext, "admin")
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, console.url, admin)
    page.click("nav >> text=Users")
    page.fill("input[name=email]", "officer@example.org")
    page.select_option("select[name=role]", "focal_point")
    page.select_option("select[name=county]", "37")
    page.fill("input[name=phone]", "+254711222333")
    page.fill("input[name=name]", "Jane Wanjiru")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/console/users'] button[type=submit]")
    assert "Account officer@example.org made" in page.text_content("main")
    page.once("dialog", lambda dialog: dialog.accept())  # console.js asks before deactivating
    page.click("tr:has-text('officer@example.org') >> text=Deactivate")
    assert "officer@example.org is deactivated" in page.text_content("main")
    # On a 390 px screen nothing makes the page scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
