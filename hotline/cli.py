"""Command-line interface: `flask seed`, `flask ussd dial`, `flask ussd funnel` (and `flask db`)."""

from __future__ import annotations

import sys
import uuid

import click
import requests
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from campaigns.cli import campaigns_group
from hotline.agencies import register as agencies
from hotline.contacts import cli as contacts_cli
from hotline.core.counties import all_counties
from hotline.core.csv_import import import_file
from hotline.core.db import db_group
from hotline.core.errors import InvalidPhoneNumber
from hotline.core.models import County, UssdSessionEnd
from hotline.core.privacy import normalise_phone, reporter_key
from hotline.tips import cli as tips_cli
from hotline.tips import focal_points
from hotline.tips import submission as tips

DEMO_PHONE = "+254700000001"


def register(app) -> None:
    """Attach the CLI groups to `app`."""
    app.cli.add_command(db_group)
    app.cli.add_command(seed_command)
    app.cli.add_command(ussd_group)
    app.cli.add_command(focal_points.focal_points_group)
    app.cli.add_command(agencies.agencies_group)
    app.cli.add_command(contacts_cli.contacts_group)
    app.cli.add_command(campaigns_group)
    app.cli.add_command(tips_cli.tips_group)


def _ext():
    return current_app.extensions["hotline"]


def seed_counties(session) -> int:
    """Insert or correct the 47 counties; returns how many changed."""
    changed = 0
    for info in all_counties():
        county = session.get(County, info.code)
        if county is None:
            session.add(County(code=info.code, name=info.name, former_province=info.former_province))
            changed += 1
        elif (county.name, county.former_province) != (info.name, info.former_province):
            county.name, county.former_province = info.name, info.former_province
            changed += 1
    return changed


DEMO_TIPS = (
    dict(
        kind="recruitment_fraud",
        county_code=47,
        place="Agency office, Moi Avenue",
        description="Agency asks KES 80,000 for a job in the Gulf; keeps passports.",
        danger="no",
    ),
    dict(
        kind="child_labour",
        county_code=3,
        place="Sand harvesting site near the river",
        description="Children of about 12 years carrying sand during school hours.",
        children="yes",
    ),
    dict(
        kind="servitude",
        county_code=1,
        place="House in Nyali",
        danger="yes",
        description="Housemaid locked in, not paid for months.",
    ),
)


@click.command("seed")
@click.option("--demo", is_flag=True, help="Also add fictitious demo tips, focal points, agencies, contacts.")
@with_appcontext
def seed_command(demo):
    """Load the 47 counties (and demo data with --demo). Safe to run again."""
    ext = _ext()
    if demo and ext.config.production:
        # Fictitious tips would reach real focal points, demo contacts would get campaigns.
        raise click.UsageError("--demo adds fictitious tips, focal points and contacts: not in production")
    with ext.session_scope() as session:
        changed = seed_counties(session)
    click.echo(f"counties: 47 present, {changed} added or corrected")
    if demo:
        key = reporter_key(DEMO_PHONE, ext.config.phone_hash_key)
        for number, fields in enumerate(DEMO_TIPS, 1):
            new = tips.NewTip(channel="ussd", source_id=f"demo:{number}", reporter_key=key, **fields)
            tip = tips.submit_tip(ext.session_scope, new)
            click.echo(f"demo tip {tip.reference} ({new.kind})")
        report = import_file(focal_points.DEMO_FILE, focal_points.SPEC, ext.session_scope)
        click.echo(f"demo focal points: {report.counts}")
        report = import_file(agencies.DEMO_FILE, agencies.SPEC, ext.session_scope)
        click.echo(f"demo agencies: {len(report.checked.rows)} in the register (`flask agencies list`)")
        spec = contacts_cli.spec_for(ext.config.phone_hash_key)
        report = import_file(contacts_cli.DEMO_FILE, spec, ext.session_scope)
        click.echo(f"demo contacts: {report.counts}")


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
@click.option("--network", default="63902", show_default=True, help="networkCode (63902 Safaricom).")
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
    config = _ext().config
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
    status = "Incomplete"
    try:
        status = _dial(endpoint, config, session_id, phone, network, scripted, inputs, typed, url)
    finally:
        # As AT does when a session ends: the end-of-session notification (dials count for campaigns).
        event = {
            "sessionId": session_id,
            "serviceCode": config.ussd_service_code,
            "networkCode": network,
            "phoneNumber": phone,
            "status": status,
            "input": "*".join(typed),
            "hopsCount": str(len(typed) + 1),
        }
        try:
            requests.post(events, data=event, timeout=15)
        except requests.RequestException:
            pass


def _dial(endpoint, config, session_id, phone, network, scripted, inputs, typed, url) -> str:
    """The screens of one session; returns AT's end status (Success when the service ended it)."""
    while True:
        form = {
            "sessionId": session_id,
            "serviceCode": config.ussd_service_code,
            "phoneNumber": phone,
            "networkCode": network,
            "text": "*".join(typed),
        }
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
            return "Success" if response.status_code == 200 else "Failed"
        if scripted:
            answer = scripted.pop(0)
            click.echo(f"> {answer}")
        elif inputs:
            click.echo("[no more scripted answers: hanging up]")
            return "Incomplete"
        else:
            try:
                answer = click.prompt(">", default="", show_default=False, prompt_suffix=" ")
            except click.Abort:
                click.echo("\n[hung up]")
                return "Incomplete"
            if not sys.stdin.isatty():
                click.echo(answer)  # piped answers: show them as if typed
        typed.append(answer)


def _show(screen: str) -> None:
    width = max([len(line) for line in screen.splitlines()] + [20])
    click.echo("+" + "-" * (width + 2) + "+")
    for line in screen.splitlines():
        click.echo(f"| {line.ljust(width)} |")
    click.echo("+" + "-" * (width + 2) + "+")


@ussd_group.command("funnel")
@with_appcontext
def funnel_command():
    """Where USSD sessions ended, by screen and status (from AT's end-of-session notifications)."""
    with _ext().session_scope() as session:
        rows = session.execute(
            select(UssdSessionEnd.last_screen, UssdSessionEnd.status, func.count())
            .group_by(UssdSessionEnd.last_screen, UssdSessionEnd.status)
            .order_by(func.count().desc())
        ).all()
    if not rows:
        click.echo("no finished sessions recorded yet")
        return
    click.echo(f"{'last screen':<20} {'status':<12} {'sessions':>8}")
    for screen, status, count in rows:
        click.echo(f"{screen or '(unknown)':<20} {status:<12} {count:>8}")
