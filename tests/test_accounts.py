"""Console sign-in through Flask's test client: password then authenticator code, codes used once,
recovery codes, CSRF, the idle timeout, the rate limit, deactivation, headers, and the audit log."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import time_machine
from sqlalchemy import select

from hotline.accounts import two_factor, users
from hotline.accounts.views import safe_next
from hotline.core.models import AuditEvent, User
from tests.conftest import ussd_form
from tests.console import PASSWORD, csrf_token, make_user, sign_in_client

RECOVERY_CODE = re.compile(r"<li>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})</li>")
NOON = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def actions(ext, **where) -> list[tuple[str, str]]:
    """(action, actor) of the audit log, oldest first, but the accounts the test made."""
    with ext.session_scope() as session:
        query = select(AuditEvent).where(AuditEvent.action != "user_created").order_by(AuditEvent.id)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return [(event.action, event.actor) for event in session.scalars(query)]


def post_password(client, email: str, password: str, query: str = ""):
    token = csrf_token(client, "/console/sign-in" + query)
    form = {"csrf_token": token, "email": email, "password": password}
    return client.post("/console/sign-in" + query, data=form)


def post_code(client, code: str, path: str = "/console/two-factor"):
    return client.post(path, data={"csrf_token": csrf_token(client, path), "code": code})


def test_password_then_code_signs_in_and_both_land_in_the_audit_log(ext, client):
    user = make_user(ext, "auditor")
    assert client.get("/console/home").location.startswith("/console/sign-in?next=/console/home")
    response = post_password(client, user.email.upper(), user.password)  # e-mails are not case-sensitive
    assert response.location == "/console/two-factor"
    assert client.get("/console/home").status_code == 302  # the password alone is not enough
    response = post_code(client, user.code())
    assert response.location == "/console/home"
    page = client.get("/console/home").get_data(as_text=True)
    assert user.email in page and "Auditor" in page and 'action="/console/sign-out"' in page
    assert actions(ext) == [("sign_in", user.email)]
    with ext.session_scope() as session:
        assert session.get(User, user.user_id).last_sign_in_at is not None


def test_a_wrong_password_is_refused_and_recorded_under_the_typed_email_without_the_password(ext, client):
    user = make_user(ext, "secretariat")
    page = post_password(client, user.email, "not the password at all").get_data(as_text=True)
    assert "Wrong e-mail or password." in page
    post_password(client, "nobody@example.org", "guessing-a-password")
    with ext.session_scope() as session:
        failed = select(AuditEvent).where(AuditEvent.action == "sign_in_failed").order_by(AuditEvent.id)
        events = session.scalars(failed).all()
        assert [(e.action, e.actor, e.user_id) for e in events] == [
            ("sign_in_failed", user.email, None), ("sign_in_failed", "nobody@example.org", None)]
        assert all("password" not in repr(e.detail).replace("'step': 'password'", "") for e in events)
        assert all(e.ip == "127.0.0.1" for e in events)


def test_a_wrong_code_is_refused_and_audited(ext, client):
    user = make_user(ext, "focal_point")
    post_password(client, user.email, user.password)
    page = post_code(client, "000000" if user.code() != "000000" else "111111").get_data(as_text=True)
    assert "That code is not right" in page
    assert client.get("/console/home").status_code == 302
    assert actions(ext) == [("two_factor_failed", user.email)]


def test_a_code_is_good_once_even_from_a_new_session(ext, app):
    user = make_user(ext, "secretariat")
    with time_machine.travel(NOON, tick=False):
        code = pyotp.TOTP(user.totp_secret).at(NOON)
        first, second = app.test_client(), app.test_client()
        post_password(first, user.email, user.password)
        assert post_code(first, code).status_code == 302
        post_password(second, user.email, user.password)
        assert "was used already" in post_code(second, code).get_data(as_text=True)
        # The code of 30 seconds ago is older than the one used: refused too.
        earlier = pyotp.TOTP(user.totp_secret).at(NOON - timedelta(seconds=30))
        assert post_code(second, earlier).status_code == 200
        later = pyotp.TOTP(user.totp_secret).at(NOON + timedelta(seconds=30))  # clock drift: accepted
        assert post_code(second, later).status_code == 302


def test_verify_spends_the_step_in_the_database(ext):
    user = make_user(ext, "focal_point")
    with time_machine.travel(NOON, tick=False), ext.session_scope() as session:
        row = session.get(User, user.user_id)
        code = pyotp.TOTP(user.totp_secret).at(NOON)
        assert two_factor.verify(session, row, code, NOON, ext.config.contact_key)
        assert not two_factor.verify(session, row, code, NOON, ext.config.contact_key)
        assert not two_factor.verify(session, row, "12345x", NOON, ext.config.contact_key)
        assert row.totp_last_step == pyotp.TOTP(user.totp_secret).timecode(NOON)


def test_first_sign_in_sets_up_the_authenticator_and_shows_ten_recovery_codes_once(ext, client):
    with ext.session_scope() as session:
        users.create(session, "new@example.org", "admin", PASSWORD)
    assert post_password(client, "new@example.org", PASSWORD).location == "/console/two-factor/setup"
    page = client.get("/console/two-factor/setup").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page
    key = page.split('id="totp-key">')[1].split("<")[0]
    assert len(key.split()) == 8 and all(len(group) == 4 for group in key.split())
    reloaded = client.get("/console/two-factor/setup").get_data(as_text=True)
    assert reloaded.count(key) == 1  # the same key: a code scanned before a reload stays good
    assert "not right" in post_code(client, "123456", "/console/two-factor/setup").get_data(as_text=True)
    code = pyotp.TOTP(key.replace(" ", "")).now()
    page = post_code(client, code, "/console/two-factor/setup").get_data(as_text=True)
    codes = RECOVERY_CODE.findall(page)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/console/home").status_code == 200
    with ext.session_scope() as session:
        row = users.find(session, "new@example.org")
        assert row.totp_confirmed_at and len(row.recovery_codes) == 10
        assert not any(code in repr(row.recovery_codes) for code in codes)  # only hashes kept
        assert key.replace(" ", "") not in row.totp_secret  # the key is kept encrypted
    assert [a for a, _ in actions(ext)] == ["two_factor_failed", "two_factor_enrolled", "sign_in"]


def test_a_recovery_code_signs_in_once(ext, client, app):
    user = make_user(ext, "focal_point")
    with ext.session_scope() as session:
        codes = two_factor.new_recovery_codes(session.get(User, user.user_id))
    post_password(client, user.email, user.password)
    response = post_code(client, codes[3].upper().replace("-", " "))  # as typed from paper
    assert response.status_code == 302
    assert "9 left" in client.get(response.location).get_data(as_text=True)
    other = app.test_client()
    post_password(other, user.email, user.password)
    assert "not right" in post_code(other, codes[3]).get_data(as_text=True)
    assert [a for a, _ in actions(ext)] == ["recovery_code_used", "sign_in", "two_factor_failed"]


def test_new_recovery_codes_need_a_fresh_code(ext, client):
    user = make_user(ext, "auditor")
    sign_in_client(client, user)
    assert "Recovery codes left" in client.get("/console/account").get_data(as_text=True)
    refused = post_code(client, "000000", "/console/account/recovery-codes")
    assert refused.status_code == 400
    page = post_code(client, user.code(), "/console/account/recovery-codes").get_data(as_text=True)
    assert len(RECOVERY_CODE.findall(page)) == 10 and "shown only this once" in page


def test_a_post_without_its_csrf_token_is_refused_but_africas_talking_still_posts(ext, client):
    user = make_user(ext, "auditor")
    sign_in_client(client, user)
    response = client.post("/console/sign-out")
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "security token is missing" in response.get_data(as_text=True)
    assert client.post("/console/sign-out", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/console/home").status_code == 200  # still signed in
    ussd = client.post("/ussd", data=ussd_form())
    assert ussd.status_code == 200 and ussd.get_data(as_text=True).startswith("CON ")
    assert client.post("/sms/delivery", data={"id": "ATXid_x", "status": "Success"}).status_code == 200


def test_an_idle_session_ends_after_the_configured_minutes(ext, client):
    user = make_user(ext, "secretariat")
    with time_machine.travel(NOON, tick=False) as traveller:
        sign_in_client(client, user)
        traveller.shift(timedelta(minutes=29))
        assert client.get("/console/account").status_code == 200  # activity: the clock starts again
        traveller.shift(timedelta(minutes=29))
        assert client.get("/console/account").status_code == 200
        traveller.shift(timedelta(minutes=31))
        response = client.get("/console/account")
        assert response.location == "/console/sign-in?next=/console/account"
        page = client.get(response.location).get_data(as_text=True)
        assert "You were signed out after 30 minutes without activity." in page
        assert client.get("/console/account").status_code == 302
    assert [a for a, _ in actions(ext)] == ["sign_in", "idle_timeout"]


def test_background_requests_do_not_keep_a_session_alive(ext, client):
    user = make_user(ext, "secretariat")
    with time_machine.travel(NOON, tick=False) as traveller:
        sign_in_client(client, user)
        for _ in range(4):
            traveller.shift(timedelta(minutes=10))
            client.get("/console/account", headers={"X-Console-Background": "1"})
        assert client.get("/console/account").status_code == 302


@pytest.mark.parametrize("stack_settings", [{"signin_attempts": 3}])
def test_failed_sign_ins_are_rate_limited_per_account_and_per_address(make_app, stack_settings):
    app = make_app(**stack_settings)
    ext = app.extensions["hotline"]
    user = make_user(ext, "focal_point")
    client = app.test_client()
    for _ in range(3):
        post_password(client, user.email, "wrong password, again")
    response = post_password(client, user.email, user.password)  # right, but not even checked now
    assert response.status_code == 429
    assert "Too many attempts: try again in 15 minutes." in response.get_data(as_text=True)
    # Another address may still try this account? No: the account is locked for everyone.
    other = app.test_client()
    other_env = {"REMOTE_ADDR": "10.0.0.9"}
    token = csrf_token(other, "/console/sign-in")
    locked = other.post("/console/sign-in", data={"csrf_token": token, "email": user.email,
                                                  "password": user.password}, environ_base=other_env)
    assert locked.status_code == 429
    # And the address is locked for every account.
    second = make_user(ext, "auditor")
    assert post_password(client, second.email, second.password).status_code == 429
    assert [a for a, _ in actions(ext)][-3:] == ["sign_in_locked"] * 3


def test_deactivation_ends_a_live_session(ext, client):
    user = make_user(ext, "focal_point")
    sign_in_client(client, user)
    assert client.get("/console/account").status_code == 200
    with ext.session_scope() as session:
        users.deactivate(session, session.get(User, user.user_id))
    assert client.get("/console/account").status_code == 302
    page = post_password(client, user.email, user.password).get_data(as_text=True)
    assert "Wrong e-mail or password." in page


def test_sign_out_ends_the_session(ext, client):
    user = make_user(ext, "admin")
    sign_in_client(client, user)
    token = csrf_token(client, "/console/account")
    assert client.post("/console/sign-out", data={"csrf_token": token}).location == "/console/sign-in"
    assert client.get("/console/account").status_code == 302
    assert [a for a, _ in actions(ext)] == ["sign_in", "sign_out"]


def test_after_sign_in_the_page_asked_for_opens_if_it_is_a_console_page(ext, client):
    user = make_user(ext, "admin")
    response = sign_in_client(client, user, next_path="/console/account")
    assert response.location == "/console/account"


@pytest.mark.parametrize("target", [
    "//evil.example/console", "https://evil.example/console/x", "/consolex", "/ussd", "/console\\..\\x",
    "javascript:alert(1)", "/console/\nSet-Cookie: x",
])
def test_next_only_goes_to_console_pages(target):
    assert safe_next(target) is None


def test_console_pages_carry_the_security_headers_and_are_not_cached(client):
    response = client.get("/console/sign-in")
    headers = response.headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Cache-Control"] == "no-store"
    assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Lax" in headers["Set-Cookie"]
    page = response.get_data(as_text=True)
    assert "<style" not in page and " style=" not in page


def test_in_production_the_session_cookie_is_secure(make_app):
    app = make_app(env="production", webhook_token="t" * 40, phone_hash_key="p" * 32,
                   contact_key="a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleXg=")
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_roles_are_enforced_with_a_readable_page(ext, client):
    user = make_user(ext, "auditor")
    sign_in_client(client, user)
    response = client.get("/console/no-such-page")
    assert response.status_code == 404 and "Not found" in response.get_data(as_text=True)
    assert client.post("/ussd/nowhere").mimetype == "text/plain"  # AT's callbacks keep plain answers


# The sign-in pages themselves: open before sign-in (each checks the step it needs).
SIGN_IN_PAGES = {"accounts.sign_in", "accounts.two_factor_step", "accounts.setup", "accounts.sign_out"}


def test_every_console_page_but_the_sign_in_pages_is_guarded_by_roles(app):
    console_rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/console")]
    assert {rule.endpoint for rule in console_rules} >= SIGN_IN_PAGES
    views = app.view_functions
    unguarded = [rule.rule for rule in console_rules
                 if rule.endpoint not in SIGN_IN_PAGES and not getattr(views[rule.endpoint], "roles", None)]
    assert unguarded == []


@pytest.mark.parametrize("hops, recorded", [(0, "127.0.0.1"), (1, "10.9.9.9")])
def test_the_client_address_is_taken_from_our_proxy_only_when_there_is_one(make_app, hops, recorded):
    app = make_app(proxy_hops=hops)
    client = app.test_client()
    token = csrf_token(client, "/console/sign-in")
    client.post("/console/sign-in", data={"csrf_token": token, "email": "x@example.org", "password": "wrong"},
                headers={"X-Forwarded-For": "10.9.9.9"})
    with app.extensions["hotline"].session_scope() as session:
        assert session.scalar(select(AuditEvent.ip)) == recorded


def test_passwords_are_argon2id_with_the_librarys_default_outside_the_test_suite(make_app):
    make_app(env="development")
    try:
        stored = users.hash_password("a long enough password")
        assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")  # RFC 9106, low-memory profile
    finally:
        make_app()  # the test suite's own app: the cheapest profile again
    assert users.hash_password("a long enough password").startswith("$argon2id$v=19$m=8,t=1,p=1$")
