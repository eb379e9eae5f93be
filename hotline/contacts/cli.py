"""`flask contacts import FILE` and `flask contacts stats`: the consented audience of awareness SMS.

What a contacts file holds and how it is checked and imported: `hotline.contacts.contacts_csv`.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from hotline.contacts import service as contacts
from hotline.contacts.contacts_csv import spec_for
from hotline.core.counties import name_of
from hotline.core.csv_import import cli_import, import_options
from hotline.core.extensions import current


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
