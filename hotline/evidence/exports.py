"""What an export asks for, checked once for the command and the console alike: which table, which
format, which dates; then the table itself, how many rows to expect, and what the audit log keeps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from hotline.core.config import Config
from hotline.evidence import aggregates, dataset, formats
from hotline.evidence.errors import ExportError

TABLES = ("cases", "county-month", "annual")
FIRST_YEAR = 2000


@dataclass(frozen=True)
class Request:
    """One export: a table, a format, a year or dates, and free text (cases only)."""

    table: str
    fmt: str
    year: int | None = None
    since: date | None = None
    until: date | None = None
    free_text: bool = False

    @classmethod
    def checked(cls, table: str, fmt: str, *, year=None, since=None, until=None, free_text=False,
                today: date) -> Request:
        """The request, or an ExportError that says what does not fit."""
        if table not in TABLES:
            raise ExportError(f"Choose a table: {', '.join(TABLES)}.")
        if fmt not in formats.FORMATS:
            raise ExportError(f"Choose a format: {', '.join(formats.FORMATS)}.")
        if year is not None and not FIRST_YEAR <= year <= today.year:
            raise ExportError(f"The year must be from {FIRST_YEAR} to {today.year}.")
        if year is not None and (since or until):
            raise ExportError("Give a year or dates (--since/--until), not both.")
        if since and until and since > until:
            raise ExportError("The first day (since) is after the last (until).")
        if since and since > today:
            raise ExportError("The first day (since) is in the future.")
        if free_text and table != "cases":
            raise ExportError("Free text is only in the case-level table (cases).")
        if table == "annual":
            if since or until:
                raise ExportError("The annual table is for a calendar year: give --year, not dates.")
            year = year or today.year
        if year is not None and table != "annual":
            since, until = aggregates.year_bounds(year)
        return cls(table, fmt, year, since, until, free_text)

    def audit_detail(self, rows: int) -> dict:
        """What the audit log keeps of the export: table, format, rows, free text, filters."""
        filters = {"year": self.year, "since": self.since, "until": self.until}
        return {
            "table": self.table,
            "format": self.fmt,
            "rows": rows,
            "free_text": self.free_text,
            "filters": {name: str(value) for name, value in filters.items() if value is not None},
        }

    def filename(self) -> str:
        """A download's file name: `hotline-cases-2026.csv`, `hotline-annual-2025.json`."""
        if self.year is not None:
            span = str(self.year)
        else:
            span = "-".join(str(d) for d in (self.since, self.until) if d) or "all"
        return f"hotline-{self.table}-{span}.{self.fmt}"


def build(session: Session, config: Config, request: Request, now=None) -> formats.Table:
    """The table the request asks for (the case rows are read as it is written)."""
    if request.table == "cases":
        return dataset.table(session, config, request.free_text, request.since, request.until, now)
    if request.table == "county-month":
        return aggregates.county_month_kind(session, request.since, request.until, now)
    return aggregates.annual(session, config, request.year, now)


def prepare(session: Session, config: Config, request: Request, now=None) -> tuple[formats.Table | None, int]:
    """Before the audit entry: an aggregate table built now (it is small), or None for the case rows,
    which are read while they are written; and how many rows the export will write."""
    if request.table == "cases":
        return None, dataset.count(session, request.since, request.until)
    table = build(session, config, request, now)
    return table, len(table.rows)
