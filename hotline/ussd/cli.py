"""`flask ussd dial` (a phone in the terminal, over HTTP in AT's format) and `flask ussd funnel` (where
callers give up, screen by screen: hotline.ussd.funnel)."""

from __future__ import annotations

import re
import sys
import uuid
from datetime import date

import click
import requests
from flask.cli import with_appcontext

from hotline.africastalking.forms import session_ended_form, ussd_form
from hotline.africastalking.statuses import SESSION_FAILED, SESSION_INCOMPLETE, SESSION_SUCCESS
from hotline.core.errors import InvalidPhoneNumber
from hotline.core.extensions import current
from hotline.core.privacy import normalise_phone
from hotline.core.time import kenya_today
from hotline.ussd import funnel
from hotline.ussd.service import engine

DEMO_PHONE = "+254700000001"


@click.group("ussd")
def ussd_group():
    """The USSD channel: a terminal phone, and the drop-off funnel."""


@ussd_group.command("dial")
@click.option("--phone", default=DEMO_PHONE, show_default=True, help="The number you dial from.")
@click.option(
    "--url",
    envvar="HOTLINE_URL",
    default="http://127.0.0.1:5000",
    show_default=True,
    help="Base URL of the running service (env HOTLINE_URL).",
)
@click.option("--token", default=None, help="WEBHOOK_TOKEN (default: the configured one).")
@click.option("--network", default="63902", show_default=True, help="Mobile network code (63902 Safaricom).")
@click.option(
    "--input",
    "-i",
    "inputs",
    multiple=True,
    help="Answer to send, in order, instead of typing (repeat the option).",
)
@with_appcontext
def dial_command(phone, url, token, network, inputs):
    """Play a phone: dial the service code and answer each screen, over HTTP in AT's format."""
    config = current().config
    try:
        phone = normalise_phone(phone)
    except InvalidPhoneNumber as exc:
        raise click.BadParameter(str(exc), param_hint="--phone") from None
    token = token if token is not None else config.webhook_token
    query = f"?token={token}" if token else ""
    endpoint, events = url.rstrip("/") + "/ussd" + query, url.rstrip("/") + "/ussd/events" + query
    session_id = f"ATUid_{uuid.uuid4().hex}"
    scripted = list(inputs)
    typed: list[str] = []
    click.echo(f"Dialling {config.ussd_service_code} from {phone}. Ctrl-D hangs up.\n")
    status = SESSION_INCOMPLETE
    try:
        status = _dial(endpoint, config, session_id, phone, network, scripted, inputs, typed, url)
    finally:
        # As AT does when a session ends: the end-of-session notification (dials count for campaigns).
        event = session_ended_form(session_id, config.ussd_service_code, phone, network, status, typed)
        try:
            requests.post(events, data=event, timeout=15)
        except requests.RequestException:
            pass


def _dial(endpoint, config, session_id, phone, network, scripted, inputs, typed, url) -> str:
    """The screens of one session; returns AT's end status (Success when the service ended it)."""
    while True:
        form = ussd_form(session_id, config.ussd_service_code, phone, network, typed)
        try:
            response = requests.post(endpoint, data=form, timeout=15)
        except requests.RequestException as exc:
            raise click.ClickException(f"cannot reach {url}: is the service running? ({exc})") from None
        body = response.text
        if response.status_code != 200:
            click.echo(f"[HTTP {response.status_code}]")
        _show(body[4:] if body[:4] in ("CON ", "END ") else body)
        if not body.startswith("CON "):
            click.echo("[session ended]")
            return SESSION_SUCCESS if response.status_code == 200 else SESSION_FAILED
        if scripted:
            answer = scripted.pop(0)
            click.echo(f"> {answer}")
        elif inputs:
            click.echo("[no more scripted answers: hanging up]")
            return SESSION_INCOMPLETE
        else:
            try:
                answer = click.prompt(">", default="", show_default=False, prompt_suffix=" ")
            except click.Abort:
                click.echo("\n[hung up]")
                return SESSION_INCOMPLETE
            if not sys.stdin.isatty():
                click.echo(answer)  # piped answers: show them as if typed
        typed.append(answer)


def _show(screen: str) -> None:
    width = max([len(line) for line in screen.splitlines()] + [20])
    click.echo("+" + "-" * (width + 2) + "+")
    for line in screen.splitlines():
        click.echo(f"| {line.ljust(width)} |")
    click.echo("+" + "-" * (width + 2) + "+")


class Day(click.ParamType):
    """A day written YYYY-MM-DD, refused in words a reader understands."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            self.fail(f"{value!r} is not a date written YYYY-MM-DD (e.g. 2026-11-28)", param, ctx)
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r}: there is no such day", param, ctx)


@ussd_group.command("funnel")
@click.option("--since", type=Day(), help="First day (Nairobi time); alone, up to today.")
@click.option("--until", type=Day(), help=f"Last day; alone, the {funnel.DEFAULT_DAYS} days up to it.")
@click.option(
    "--days",
    type=click.IntRange(1, 3660),
    help=f"The last N days up to today (default {funnel.DEFAULT_DAYS}); not with --since or --until.",
)
@with_appcontext
def funnel_command(since, until, days):
    """Where callers give up: the USSD sessions that ended in a date range, screen by screen.

    For each screen, in the order of the menu: the sessions that ended there, how many of them
    finished (the service closed them) and how many dropped (the caller hung up or timed out, or the
    network failed), and the dropped ones as a share of every session in the range.
    """
    if days is not None and (since or until):
        raise click.BadParameter("give --days or --since/--until, not both", param_hint="--days")
    first_day, last_day = funnel.date_range(since, until, days, kenya_today())
    if first_day > last_day:
        first, last = funnel.day_text(first_day), funnel.day_text(last_day)
        if until:
            raise click.BadParameter(f"{last} is before --since ({first})", param_hint="--until")
        raise click.BadParameter(f"{first} is after today ({last})", param_hint="--since")
    with current().session_scope() as session:
        found = funnel.ended_by_screen(session, engine().flow, first_day, last_day)
    click.echo("\n".join(funnel.report(found)))
