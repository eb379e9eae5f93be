"""`flask agencies`: import NEA's register, list it with its snapshot date, and count the checks."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from flows.texts import date_words
from hotline.agencies import signals
from hotline.agencies.register import STALE_AFTER_DAYS, UNLISTED_MIN_CHECKS, spec_for, stats
from hotline.agencies.register import snapshot_date as register_snapshot
from hotline.core.csv_import import cli_import, import_options
from hotline.core.extensions import current
from hotline.core.models import Agency
from hotline.core.time import kenya_today


@click.group("agencies")
def agencies_group():
    """NEA's register of private employment agencies, and how often job seekers check them."""


@agencies_group.command("import")
@import_options
@click.option(
    "--snapshot-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The date NEA's register was taken (YYYY-MM-DD; default today).",
)
@with_appcontext
def import_command(file, skip_invalid, snapshot_date):
    """Add or update agencies from FILE, a CSV with the header
    name,registration_number,status,expiry_date,licence_type,phone,email.

    Every row is checked first and each bad one is listed by line. A file with a bad row imports
    nothing (exit status 1) unless --skip-invalid is given. Agencies are matched on their
    registration number (case, spaces and slashes ignored); every status change is kept.
    """
    day = snapshot_date.date() if snapshot_date else kenya_today()
    cli_import(file, spec_for(day), current().session_scope, skip_invalid)


@agencies_group.command("stats")
@click.option("--days", type=click.IntRange(1, 3660), default=30, show_default=True, help="Up to today.")
@with_appcontext
def stats_command(days):
    """Agency checks: per agency and verdict, per day and county, most checked while unlicensed; the
    names checked 5 times or more that are not in NEA's register; and the agencies the case desk
    flagged on reports (signals for NEA)."""
    with current().session_scope() as session:
        tables = stats(session, days, kenya_today())
        flagged = signals.flagged(session, days, kenya_today())
    window = f"last {days} day{'' if days == 1 else 's'}"
    titles = {
        "per_agency": ("agency", "verdict", "checks"),
        "per_day": ("day", "county", "checks"),
        "unlicensed": ("checked while not licensed", "registration", "checks"),
    }
    for name, header in titles.items():
        click.echo(f"\n{' / '.join(header[:-1])} ({window})")
        missing = "(not found)" if name == "per_agency" else "-"
        rows = [tuple(missing if c is None else _cell(c) for c in row) for row in tables[name]]
        _table([header, *rows] if rows else [header, ("no checks yet", "", "")])
    click.echo(
        f"\nnames checked but not in NEA's register ({UNLISTED_MIN_CHECKS} or more checks, {window}):"
        " for NEA to look into"
    )
    header = ("name", "checks", "days", "first checked", "last checked")
    rows = [(key.title(), *map(_cell, rest)) for key, *rest in tables["unlisted"]]
    empty = (f"none with {UNLISTED_MIN_CHECKS} or more checks", "", "", "", "")
    _table([header, *(rows or [empty])])
    click.echo(f"\nflagged by the case desk on reports ({window})")
    header = ("agency", "registration", "reports", "last flagged")
    rows = [(name, number, str(count), _cell(last)) for name, number, count, last in flagged]
    _table([header, *rows] if rows else [header, ("none flagged", "", "", "")])


@agencies_group.command("list")
@with_appcontext
def list_command():
    """Print the register as last imported, and the date of the snapshot."""
    with current().session_scope() as session:
        agencies = list(session.scalars(select(Agency).order_by(Agency.name_key, Agency.id)))
        taken = register_snapshot(session)
    if not agencies:
        click.echo("no agencies yet: add them with `flask agencies import FILE`")
        return
    click.echo(f"register snapshot: {describe_snapshot(taken, kenya_today())}")
    _table(
        [("registration", "status", "expiry", "type", "name")]
        + [
            (a.registration_number, a.status, str(a.expiry_date or "-"), a.licence_type, a.name)
            for a in agencies
        ]
    )


def describe_snapshot(taken: date | None, today: date) -> str:
    """The register's date and age as `flask agencies list` shows it, flagged when stale."""
    if taken is None:
        return "no date recorded: import the register with --snapshot-date"
    age = (today - taken).days
    if age < 0:
        return f"{taken.isoformat()} (in the future: check the --snapshot-date it was imported with)"
    days = "today" if age == 0 else f"{age} day{'' if age == 1 else 's'} old"
    if age > STALE_AFTER_DAYS:
        days += f", older than {STALE_AFTER_DAYS} days: import a fresh register"
    return f"{taken.isoformat()} ({days})"


def _cell(value) -> str:
    """A table cell: a date as people read it ("28 Nov 2026"), anything else as text."""
    return date_words("en", value) if isinstance(value, date) else str(value)


def _table(rows: list[tuple]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
