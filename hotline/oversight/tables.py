"""The dashboard's tables: the figures each chart draws, as rows the page shows beneath the chart
and the CSV download writes (the same columns; counts as integers, shares as fractions and times in
minutes in the CSV, formatted for reading on the page).

County tables list the counties with something to show, most tips first, and "No county" last,
then a total row. A focal point's tables hold their county's row only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from hotline.core.counties import name_of
from hotline.core.time import duration

NO_COUNTY = "No county"


@dataclass(frozen=True)
class Column:
    """A column: its heading, how its values read (count, share, minutes, text) and, when the CSV
    needs a unit the page shows in its cells, the CSV's heading."""

    label: str
    kind: str = "count"
    csv_label: str | None = None

    def show(self, value) -> str:
        """A cell as the page shows it."""
        if value is None:
            return "–"
        if self.kind == "count":
            return f"{value:,}"
        if self.kind == "share":
            return f"{value:.0%}" if value in (0, 1) else f"{value:.1%}"
        if self.kind == "minutes":
            return duration(value * 60, days_after_hours=72)
        return str(value)

    def csv(self, value) -> str:
        """A cell as the CSV writes it."""
        if value is None:
            return ""
        if self.kind == "share":
            return f"{value:.4f}"
        if self.kind == "minutes":
            return f"{value:.1f}"
        return str(value)


@dataclass(frozen=True)
class Row:
    """A table row; `county` is its county code for a county row (links), None otherwise, and
    `no_county` marks the row of the tips with no county."""

    values: tuple
    county: int | None = None
    no_county: bool = False


@dataclass
class Table:
    """One chart's table."""

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: list[Row] = field(default_factory=list)
    total: tuple | None = None

    def csv(self) -> str:
        """The table as CSV text: a header row, the rows, then the total row if any."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([c.csv_label or c.label for c in self.columns])
        for values in [r.values for r in self.rows] + ([self.total] if self.total else []):
            writer.writerow([c.csv(v) for c, v in zip(self.columns, values, strict=True)])
        return out.getvalue()

    def shown(self, values: tuple) -> list[tuple[str, str]]:
        """(column label, cell text) pairs of a row, for the page."""
        return [(c.label, c.show(v)) for c, v in zip(self.columns, values, strict=True)]


def county_name(code: int | None) -> str:
    """A county's name, "No county" for None."""
    if code is None:
        return NO_COUNTY
    return name_of(code) or f"County {code}"


def county_row(code: int | None, *values) -> Row:
    """A county table's row: the county's name, then `values`."""
    return Row((county_name(code), *values), county=code, no_county=code is None)


def by_weight(weights: dict) -> list:
    """County keys, heaviest first (then by code), None last, leaving out those weighing nothing."""
    keys = [k for k, w in weights.items() if w]
    return sorted(keys, key=lambda k: (k is None, -weights[k], k or 0))


def minutes(seconds: float | None) -> float | None:
    """Seconds as minutes (None stays None)."""
    return None if seconds is None else seconds / 60


def counted(rows: Iterable[tuple[str, int]]) -> list[Row]:
    """Rows of (label, count) pairs with a count."""
    return [Row((label, n)) for label, n in rows if n]
