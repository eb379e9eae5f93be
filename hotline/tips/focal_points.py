"""Focal points: the county NRM officials (and, as county 0, the national CTiP secretariat) that
tips are sent to. The directory comes from `focal_points.csv` through `flask focal-points import`, or
one entry at a time from the console (`add`, `edit`, `deactivate`, with the same checks).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from hotline.core import audit
from hotline.core.counties import NATIONAL, by_code, name_of
from hotline.core.csv_import import (
    Counts,
    CsvSpec,
    FieldErrors,
    cli_import,
    import_options,
    mobile_phone,
    parse_fields,
    parse_row,
    text_column,
)
from hotline.core.extensions import current
from hotline.core.models import FocalPoint, User

DEMO_FILE = Path(__file__).parent / "data" / "demo_focal_points.csv"
MAX_PRIORITY = 99  # keeps a typo like 10000000000 out of an INTEGER column
TRUE, FALSE = ("true", "yes", "1"), ("false", "no", "0")


@dataclass(frozen=True)
class FocalPointRow:
    """One checked row of `focal_points.csv`, in the database's terms."""

    county_code: int
    name: str
    organisation: str
    phone: str
    priority: int
    active: bool


COLUMNS = tuple(f.name for f in fields(FocalPointRow))


def _county_code(text: str) -> int:
    codes = "1-47, or 0 for the national secretariat"
    if not text:
        raise ValueError(f"county_code is empty ({codes})")
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"county_code {text!r} is not a number ({codes})")
    code = int(text)
    if code != NATIONAL and code not in by_code():
        raise ValueError(f"county_code {code} is not a Kenyan county ({codes})")
    return code


def _phone(text: str) -> str:
    return mobile_phone(text, "focal points are reached by SMS")


def _priority(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_PRIORITY):
        raise ValueError(f"priority {text!r} is not a whole number from 1 (notified first) to {MAX_PRIORITY}")
    return int(text)


def _active(text: str) -> bool:
    if text.lower() not in TRUE + FALSE:
        raise ValueError(f"active {text!r} is not true or false (yes/no and 1/0 work too)")
    return text.lower() in TRUE


PARSERS = {
    "county_code": _county_code,
    "name": text_column("name", 120, required=True),
    "organisation": text_column("organisation", 160, required=False),
    "phone": _phone,
    "priority": _priority,
    "active": _active,
}


def validate_row(row: dict[str, str]) -> FocalPointRow:
    """A clean focal point from one CSV row, or RowError naming every problem in it."""
    return parse_row(row, PARSERS, FocalPointRow)


def upsert(session, rows: Iterable[FocalPointRow]) -> Counts:
    """Add new focal points and update changed ones, keyed by (county_code, phone); count each kind."""
    # The directory is a few hundred rows: one query for all of it beats one per row.
    existing = {(fp.county_code, fp.phone): fp for fp in session.scalars(select(FocalPoint))}
    counts = Counts()
    for row in rows:
        focal_point = existing.get((row.county_code, row.phone))
        if focal_point is None:
            existing[row.county_code, row.phone] = FocalPoint(**asdict(row))
            session.add(existing[row.county_code, row.phone])
            counts.added += 1
        elif FocalPointRow(**{column: getattr(focal_point, column) for column in COLUMNS}) != row:
            for column, value in asdict(row).items():
                setattr(focal_point, column, value)
            counts.updated += 1
        else:
            counts.unchanged += 1
    return counts


def for_county(session, county_code: int) -> list[FocalPoint]:
    """The active focal points of a county (0: the national secretariat), in the order to notify them."""
    query = (
        select(FocalPoint)
        .where(FocalPoint.county_code == county_code, FocalPoint.active.is_(True))
        .order_by(FocalPoint.priority, FocalPoint.id)
    )
    return list(session.scalars(query))


# The directory kept in the console: one entry at a time, through the very checks the CSV import makes.
# Routing reads the table each time it notifies (`routing.focal_points`), so a change counts at once.


def directory(session, county_code: int | None = None) -> list[FocalPoint]:
    """The directory (or one county's part of it): by county, then in the order tips are sent."""
    query = select(FocalPoint).order_by(FocalPoint.county_code, FocalPoint.priority, FocalPoint.id)
    if county_code is not None:
        query = query.where(FocalPoint.county_code == county_code)
    return list(session.scalars(query))


def check_entry(session, values: dict[str, str], editing: FocalPoint | None = None) -> FocalPointRow:
    """A focal point typed in the console through the CSV import's checks, and unique by (county, phone);
    FieldErrors names each bad field in the import's words."""
    clean, problems = parse_fields(values, PARSERS)
    if not problems:
        row = FocalPointRow(**clean)
        same = session.scalar(select(FocalPoint).where(
            FocalPoint.county_code == row.county_code, FocalPoint.phone == row.phone
        ))
        if same is not None and same is not editing:
            where = name_of(row.county_code) or "the national secretariat"
            problems["phone"] = f"phone {row.phone} is already in the directory for {where} ({same.name})"
    if problems:
        raise FieldErrors(problems)
    return row


def add(session, values: dict[str, str], by: User | None, ip: str | None = None) -> FocalPoint:
    """Add one focal point to the directory (audited); FieldErrors when a field is refused."""
    row = check_entry(session, values)
    focal_point = FocalPoint(**asdict(row))
    session.add(focal_point)
    session.flush()
    _audit(session, by, "focal_point.added", focal_point, asdict(row), ip)
    return focal_point


def edit(session, focal_point: FocalPoint, values: dict[str, str], by: User | None, ip: str | None = None
         ) -> dict[str, list]:
    """Change one entry (audited); returns what changed as {column: [old, new]}, FieldErrors when refused."""
    row = check_entry(session, values, editing=focal_point)
    changes = {
        column: [getattr(focal_point, column), value]
        for column, value in asdict(row).items()
        if getattr(focal_point, column) != value
    }
    for column, (_old, value) in changes.items():
        setattr(focal_point, column, value)
    if changes:
        session.flush()
        _audit(session, by, "focal_point.changed", focal_point, changes, ip)
    return changes


def deactivate(session, focal_point: FocalPoint, by: User | None, ip: str | None = None) -> bool:
    """Stop notifying this focal point (audited); False when it was inactive already."""
    if not focal_point.active:
        return False
    focal_point.active = False
    session.flush()
    _audit(session, by, "focal_point.deactivated", focal_point, {"active": [True, False]}, ip)
    return True


def entry_label(focal_point: FocalPoint) -> str:
    """How the audit log names a directory entry: id, name and county."""
    where = name_of(focal_point.county_code) or "National secretariat"
    return f"focal_point:{focal_point.id} {focal_point.name} ({where})"[:254]


def _audit(session, by: User | None, action: str, focal_point: FocalPoint, detail: dict, ip: str | None):
    audit.record(session, by, action, target=entry_label(focal_point), detail=detail, ip=ip)


SPEC = CsvSpec(
    name="focal points",
    columns=COLUMNS,
    validate=validate_row,
    key=lambda row: (row.county_code, row.phone),
    key_columns=("county_code", "phone"),
    upsert=upsert,
)


@click.group("focal-points")
def focal_points_group():
    """The directory of county NRM focal points (county 0: the national CTiP secretariat)."""


@focal_points_group.command("import")
@import_options
@with_appcontext
def import_command(file, skip_invalid):
    """Add or update focal points from FILE, a CSV with the header
    county_code,name,organisation,phone,priority,active.

    Every row is checked first and each bad one is listed by line. A file with a bad row imports
    nothing (exit status 1) unless --skip-invalid is given. Rows are matched on county_code and
    phone, so importing the same file again changes nothing; to retire someone, set active to false.
    """
    cli_import(file, SPEC, current().session_scope, skip_invalid)


@focal_points_group.command("list")
@click.option("--county", type=click.IntRange(0, 47), help="Only this county code (0: national secretariat).")
@with_appcontext
def list_command(county):
    """Print the directory as a table: by county, then in the order tips are sent."""
    with current().session_scope() as session:
        focal_points = directory(session, county)
    if not focal_points:
        click.echo("no focal points yet: add them with `flask focal-points import FILE`")
        return
    table = [("county", "priority", "active", "name", "organisation", "phone")] + [
        (
            f"{fp.county_code} {name_of(fp.county_code) or 'National secretariat'}",
            str(fp.priority),
            "yes" if fp.active else "no",
            fp.name,
            fp.organisation,
            fp.phone,
        )
        for fp in focal_points
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
