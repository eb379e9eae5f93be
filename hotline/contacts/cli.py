"""`flask contacts import FILE`, `flask contacts stats`: the consented audience of awareness SMS; and
`flask contacts show PHONE` / `forget PHONE`: a person's rights over it (`hotline.contacts.erasure`).

What a contacts file holds and how it is checked and imported: `hotline.contacts.contacts_csv`.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from hotline.contacts import erasure
from hotline.contacts import service as contacts
from hotline.contacts.contacts_csv import spec_for
from hotline.core import audit
from hotline.core.counties import name_of
from hotline.core.csv_import import cli_import, import_options
from hotline.core.errors import InvalidPhoneNumber
from hotline.core.extensions import current
from hotline.core.privacy import normalise_phone
from hotline.core.time import kenya_time


@click.group("contacts")
def contacts_group():
    """People who consented to awareness SMS: import them, count them."""


@contacts_group.command("import")
@import_options
@with_appcontext
def import_command(file, skip_invalid):
    """Add or update contacts from FILE, a CSV with the header
    phone,county_code,language,consent_source,consented_at.

    county_code is 1-47 or empty (not known); language en or sw; consent_source says where consent
    was given (up to 40 characters); consented_at is YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS], East
    Africa Time unless an offset is given. Every row is checked first and each bad one is listed by
    line; a file with a bad row imports nothing (exit status 1) unless --skip-invalid is given.
    Rows are matched on the phone number, so importing the same file again changes nothing. An
    import never re-subscribes someone who opted out: only they can, by SMS or USSD.
    """
    ext = current()
    cli_import(file, spec_for(ext.config.phone_hash_key), ext.session_scope, skip_invalid)


@contacts_group.command("stats")
@with_appcontext
def stats_command():
    """Contacts subscribed, opted out and unreachable: in all, by county, language and source; and
    numbers that opted out without ever joining (kept only as a keyed hash)."""
    with current().session_scope() as session:
        tables = contacts.stats(session)
    suppressed = tables["suppressed"]
    if suppressed:
        total = sum(n for _, n in suppressed)
        by_source = ", ".join(f"{source} {n}" for source, n in suppressed)
        click.echo(f"opted out without joining (no number kept): {total} ({by_source})")
    if sum(tables["total"][0][1:]) == 0:
        click.echo("no contacts yet: add them with `flask contacts import FILE`")
        return
    for number, name in enumerate(("total", "county", "language", "consent source", "opt-out source")):
        rows = tables[name]
        if not rows:
            continue  # nobody opted out yet
        if number:
            click.echo()
        shown = [(_label(name, value), *map(str, counts)) for value, *counts in rows]
        _table([(name, "subscribed", "opted out", "unreachable"), *shown])


def _phone(parts: tuple[str, ...]) -> str:
    """The E.164 form of a number typed as one or several words (`0700 003 001` needs no quotes)."""
    typed = " ".join(parts)
    try:
        return normalise_phone(typed)
    except InvalidPhoneNumber:
        raise click.BadParameter(
            f"{typed!r} is not a phone number: type it as 0712345678, 254712345678 or +254712345678",
            param_hint="PHONE",
        ) from None


@contacts_group.command("show")
@click.argument("phone", nargs=-1, required=True)
@with_appcontext
def show_command(phone):
    """Everything held about PHONE as a campaign contact: consent, opt-out, county, language, the
    campaigns it was sent or held out of, its engagement by signal and day, and whether a keyed
    hash stops imports. Written to the audit log (the contact's id, never the number)."""
    number = _phone(phone)
    ext = current()
    with ext.session_scope() as session:
        held = erasure.held_about(session, number, ext.config, actor=audit.cli_actor())
    _show(held)


def _show(held: dict) -> None:
    contact = held["contact"]
    if contact is None:
        click.echo(f"{held['phone']}: not a contact")
    else:
        click.echo(f"{held['phone']}: contact {contact['id']}")
        click.echo(f"  consent       {contact['consent_source']}, {kenya_time(contact['consented_at'])} EAT")
        opted = contact["opted_out_at"]
        state = f"{kenya_time(opted)} EAT ({contact['opt_out_source']})" if opted else "no: subscribed"
        click.echo(f"  opted out     {state}")
        if contact["unreachable_reason"]:
            click.echo(f"  unreachable   {contact['unreachable_reason']}")
        county = contact["county_code"]
        click.echo(f"  county        {f'{county} {name_of(county)}' if county else 'not known'}")
        click.echo(f"  language      {contact['language']}")
        click.echo(f"  added         {kenya_time(contact['created_at'])} EAT")
        for row in held["campaigns"]:
            report = row["delivery_status"] or "no report"
            what = "held out" if row["held_out"] else f"{row['state']}, {report}"
            when = kenya_time(row["sent_at"] or row["started_at"])
            click.echo(f"  campaign      {row['name']}: {what} ({when} EAT)")
        if not held["campaigns"]:
            click.echo("  campaigns     none")
    for (signal, day), n in held["engagement"]:
        click.echo(f"  engagement    {day} {signal}: {n}")
    if not held["engagement"]:
        click.echo("  engagement    none")
    click.echo(f"  delivery reports kept for reconciliation: {held['delivery_reports']}")
    click.echo(f"  keyed hash that stops imports: {'yes' if held['suppressed'] else 'no'}")


@contacts_group.command("forget")
@click.argument("phone", nargs=-1, required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def forget_command(phone, yes):
    """Erase PHONE at the person's request: its number and engagement key on the contact row (the
    row stays, so past campaign counts hold), its engagement rows, delivery reports and AT message
    ids. Only a keyed hash stays, so no import subscribes it again; they can join again by SMS or
    USSD themselves. Asks first unless --yes. Written to the audit log (the contact's id only)."""
    number = _phone(phone)
    if not yes:
        click.confirm(f"Forget {number}? This cannot be undone.", abort=True)
    ext = current()
    with ext.session_scope() as session:
        done = erasure.forget(session, number, ext.config, actor=audit.cli_actor())
    if done["contact_id"] is None:
        click.echo(f"{number} was not a contact.")
    else:
        click.echo(f"Forgot contact {done['contact_id']}: its number and engagement key are erased.")
    rows, reports = done["engagement_rows"], done["delivery_reports"]
    click.echo(f"Removed {rows} engagement rows and {reports} delivery reports.")
    if done["suppressed"]:
        click.echo("Kept a keyed hash of the number, so no import subscribes it again.")


def _label(dimension: str, value) -> str:
    if value is None:
        return "(not known)"
    if dimension == "county":
        return f"{value} {name_of(value)}"
    return str(value)


def _table(rows: list[tuple]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        click.echo("  ".join(cells).rstrip())
