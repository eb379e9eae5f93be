"""`flask users`: create, list and deactivate console accounts, reset a lost authenticator, and (in
development only) print a demo account's current code."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from hotline.accounts import two_factor, users
from hotline.accounts.users import UserError
from hotline.core.counties import name_of
from hotline.core.extensions import current
from hotline.core.models import User
from hotline.core.time import kenya_time, utcnow
from hotline.core.viewer import ROLES

# Who the audit log names for changes made here: whoever has a shell on the server.
CLI_ACTOR = "cli"


@click.group("users")
def users_group():
    """Console accounts: create, list, deactivate, reset two-factor."""


def _read_password(from_stdin: bool) -> str:
    """The new account's password: one line of stdin, or typed twice at a prompt."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        users.check_password_rules(password)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    return password


@users_group.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the account may do.")
@click.option("--county", "county_code", type=click.IntRange(1, 47),
              help="County code, 1 to 47 (a focal point's county).")
@click.option("--phone", help="E.164 number, +2547…: a focal point's SMS directory entry.")
@click.option("--name", help="The focal point's name, when no directory entry has that phone yet.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@with_appcontext
def create_command(email, role, county_code, phone, name, password_stdin):
    """Create a console account; they set up two-factor sign-in at their first sign-in.

    A focal point needs --county and --phone: the account is linked to the county's focal point
    with that phone (the one SMS notify), or that entry is added to the directory with --name.
    """
    ext = current()
    try:
        with ext.session_scope() as session:
            # Everything but the password first: a typo in --phone should not cost typing it twice.
            users.check_new(session, email, role, county_code, phone, name)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    password = _read_password(password_stdin)
    try:
        with ext.session_scope() as session:
            user = users.create(session, email, role, password, county_code=county_code, phone=phone,
                                name=name, actor=CLI_ACTOR)
            linked = f", focal point #{user.focal_point_id}" if user.focal_point_id else ""
            click.echo(f"Created {user.email} ({role}{linked}).")
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"They sign in at {ext.config.console_url}/sign-in and set up their authenticator app there.")


@users_group.command("list")
@with_appcontext
def list_command():
    """Every account: e-mail, role, county, active, two-factor set up, last sign-in (no secrets)."""
    with current().session_scope() as session:
        rows = session.scalars(select(User).order_by(User.role, User.email)).all()
        if not rows:
            click.echo("No console accounts yet: flask users create EMAIL --role ROLE")
            return
        click.echo(f"{'e-mail':32} {'role':16} {'county':16} {'active':6} {'2FA':4} last sign-in (EAT)")
        for user in rows:
            county = name_of(user.county_code) or ""
            last = kenya_time(user.last_sign_in_at, missing="never")
            click.echo(f"{user.email:32} {user.role:16} {county:16} {'yes' if user.active else 'no':6} "
                       f"{'yes' if users.enrolled(user) else 'no':4} {last}")


def _account(session, email: str) -> User:
    user = users.find(session, email)
    if user is None:
        raise click.ClickException(f"No account for {users.normal_email(email)} (see flask users list).")
    return user


@users_group.command("deactivate")
@click.argument("email")
@with_appcontext
def deactivate_command(email):
    """Close an account: it can no longer sign in, and its open sessions end at once."""
    with current().session_scope() as session:
        user = _account(session, email)
        users.deactivate(session, user, actor=CLI_ACTOR)
    click.echo(f"Deactivated {users.normal_email(email)}: signed out everywhere, cannot sign in.")


@users_group.command("reset-two-factor")
@click.argument("email")
@with_appcontext
def reset_two_factor_command(email):
    """Forget an account's authenticator and recovery codes (a lost phone): set up again at next sign-in."""
    with current().session_scope() as session:
        users.reset_two_factor(session, _account(session, email), actor=CLI_ACTOR)
    click.echo(f"Two-factor sign-in of {users.normal_email(email)} reset: they set it up again at their "
               "next sign-in (their sessions ended).")


@users_group.command("code")
@click.argument("email")
@with_appcontext
def code_command(email):
    """Development only: the current authenticator code of a (demo) account."""
    ext = current()
    if not ext.config.development:
        raise click.ClickException(
            "flask users code works in development only (HOTLINE_ENV=development): elsewhere the code "
            "is on the user's own phone, and nobody else should be able to make it."
        )
    with ext.session_scope() as session:
        user = _account(session, email)
        if not users.enrolled(user):
            raise click.ClickException(f"{user.email} has not set up two-factor sign-in yet.")
        secret = two_factor.unseal(user.totp_secret, ext.config.contact_key)
    click.echo(two_factor.current_code(secret, utcnow()))
