"""`flask users`: create (password prompted twice or from stdin), list without secrets, deactivate
(sessions end at once), reset-two-factor, and the development-only `code`; clear errors for bad input."""

from __future__ import annotations

import time

import pyotp
import pytest
from sqlalchemy import select

from hotline.accounts import two_factor, users
from hotline.core.models import AuditEvent, FocalPoint, User
from tests.console import PASSWORD, csrf_token, make_user, sign_in_client


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()

    def invoke(*args, input=None):
        return runner.invoke(args=["users", *args], input=input)

    return invoke


def audit_actions(ext) -> list[tuple[str, str, str]]:
    with ext.session_scope() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(event.action, event.actor, event.target) for event in events]


def test_create_prompts_for_the_password_twice(run, ext):
    result = run("create", "Sec@Example.org", "--role", "secretariat", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Created sec@example.org (secretariat)." in result.output and "/console/sign-in" in result.output
    assert PASSWORD not in result.output
    with ext.session_scope() as session:
        user = users.find(session, "sec@example.org")
        assert user.role == "secretariat" and user.active and not users.enrolled(user)
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert audit_actions(ext) == [("user_created", "cli", "sec@example.org")]


def test_create_refuses_passwords_that_differ_or_are_short(run, ext):
    mismatch = run("create", "a@example.org", "--role", "admin",
                   input=f"{PASSWORD}\nsomething else entirely\n{PASSWORD}\n{PASSWORD}\n")
    assert "do not match" in mismatch.output and mismatch.exit_code == 0  # asked again, then made
    short = run("create", "b@example.org", "--role", "admin", "--password-stdin", input="short\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output


def test_a_focal_point_is_linked_to_the_directory_entry_with_that_phone(run, ext):
    with ext.session_scope() as session:
        session.add(FocalPoint(county_code=37, name="Officer A", organisation="CCO", phone="+254700000101"))
    result = run("create", "fp@example.org", "--role", "focal_point", "--county", "37",
                 "--phone", "0700 000101", "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    with ext.session_scope() as session:
        user = users.find(session, "fp@example.org")
        assert user.focal_point.name == "Officer A" and user.phone == "+254700000101"
        assert session.scalars(select(FocalPoint.id)).all() == [user.focal_point_id]  # no second entry


def test_a_focal_point_without_a_directory_entry_gets_one_with_name(run, ext):
    new_focal_point = ("create", "fp@example.org", "--role", "focal_point", "--county", "47",
                       "--phone", "+254711222333", "--password-stdin")
    refused = run(*new_focal_point, input=PASSWORD + "\n")
    assert refused.exit_code == 1 and "give --name" in refused.output
    made = run(*new_focal_point, "--name", "Jane Wanjiru", input=PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    with ext.session_scope() as session:
        entry = session.scalars(select(FocalPoint)).one()
        assert (entry.county_code, entry.name, entry.phone) == (47, "Jane Wanjiru", "+254711222333")
        assert entry.active


@pytest.mark.parametrize("args, message", [
    (["x@example.org", "--role", "boss"], "Invalid value for '--role'"),
    (["x@example.org", "--role", "focal_point", "--county", "48", "--phone", "+254711222333"],
     "Invalid value for '--county'"),
    (["x@example.org", "--role", "focal_point", "--county", "Kisumu"], "Invalid value for '--county'"),
    (["x@example.org", "--role", "focal_point", "--phone", "+254711222333"], "needs --county"),
    (["x@example.org", "--role", "focal_point", "--county", "37"], "needs --county (1 to 47) and --phone"),
    (["x@example.org", "--role", "focal_point", "--county", "37", "--phone", "12345"],
     "is not a phone number"),
    (["not-an-email", "--role", "admin"], "is not an e-mail address"),
    (["--role", "admin"], "Missing argument 'EMAIL'"),
])
def test_create_says_what_is_wrong(run, ext, args, message):
    result = run("create", *args, "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code != 0 and message in result.output, result.output
    assert "Traceback" not in result.output
    with ext.session_scope() as session:
        assert session.scalar(select(User)) is None


def test_a_duplicate_email_is_refused_before_the_password_is_asked(run, ext):
    make_user(ext, "admin", email="dup@example.org")
    result = run("create", "DUP@example.org", "--role", "auditor")  # no input: would hang on a prompt
    assert result.exit_code == 1 and "There is already an account for dup@example.org." in result.output


def test_list_shows_accounts_without_secrets(run, ext):
    user = make_user(ext, "focal_point", county_code=37)
    result = run("list")
    assert result.exit_code == 0
    assert user.email in result.output and "Kakamega" in result.output and "yes" in result.output
    with ext.session_scope() as session:
        row = session.get(User, user.user_id)
        for secret in (row.password_hash, row.totp_secret, row.session_token, user.totp_secret):
            assert secret not in result.output


def test_deactivate_ends_a_live_session_at_once(run, app, ext):
    user = make_user(ext, "auditor")
    client = app.test_client()
    sign_in_client(client, user)
    assert client.get("/console/account").status_code == 200
    result = run("deactivate", user.email)
    assert result.exit_code == 0 and "signed out everywhere" in result.output
    assert client.get("/console/account").status_code == 302
    assert ("user_deactivated", "cli", user.email) in audit_actions(ext)
    assert run("deactivate", "nobody@example.org").output.strip().endswith("(see flask users list).")


def test_reset_two_factor_makes_the_user_set_it_up_again(run, app, ext):
    user = make_user(ext, "secretariat")
    with ext.session_scope() as session:
        two_factor.new_recovery_codes(session.get(User, user.user_id))
    assert run("reset-two-factor", user.email).exit_code == 0
    with ext.session_scope() as session:
        row = session.get(User, user.user_id)
        assert row.totp_secret is None and row.recovery_codes is None and not users.enrolled(row)
    client = app.test_client()
    token = csrf_token(client, "/console/sign-in")
    form = {"csrf_token": token, "email": user.email, "password": user.password}
    response = client.post("/console/sign-in", data=form)
    assert response.location == "/console/two-factor/setup"
    assert ("two_factor_reset", "cli", user.email) in audit_actions(ext)


def test_code_prints_the_current_code_in_development_only(make_app, run, ext):
    user = make_user(ext, "admin")
    refused = run("code", user.email)
    assert refused.exit_code == 1 and "development only" in refused.output
    development = make_app(env="development").test_cli_runner()
    result = development.invoke(args=["users", "code", user.email])
    totp = pyotp.TOTP(user.totp_secret)
    assert result.exit_code == 0
    assert result.output.strip() in {totp.at(time.time() + offset) for offset in (-30, 0, 30)}


def test_every_command_has_help(run):
    for command in ("create", "list", "deactivate", "reset-two-factor", "code"):
        result = run(command, "--help")
        assert result.exit_code == 0 and "Usage: " in result.output
    assert "create" in run("--help").output
