"""The dataset's fields: HTCDS's own where one fits (name, label, type and picklist read from the
copied `data/htcds_fields.csv`), ours otherwise, each described the same way in the JSON export,
the CSV's `--describe` and the README's mapping table."""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

HTCDS_CSV = Path(__file__).parent / "data" / "htcds_fields.csv"
ATTRIBUTION = (
    "Field names from the Human Trafficking Case Data Standard (HTCDS) by IOM, CC BY 4.0. "
    "IOM does not endorse this service."
)


@dataclass(frozen=True)
class Field:
    """One column: its name, whether HTCDS defines it, a label, a type, its values, a description."""

    name: str
    htcds: bool
    label: str
    type: str
    values: tuple[str, ...]
    description: str

    def describe(self) -> dict:
        """The field as the JSON export describes it."""
        described = asdict(self)
        described["values"] = list(self.values)
        return described


@cache
def htcds() -> dict[str, dict[str, str]]:
    """HTCDS's fields by name (`cas_Status`, ...), as the standard's field list gives them."""
    with HTCDS_CSV.open(encoding="utf-8", newline="") as handle:
        return {row["Field Name including Prefix"].strip(): row for row in csv.DictReader(handle)}


def standard(name: str, how: str, values: tuple[str, ...] | None = None, kind: str | None = None) -> Field:
    """An HTCDS field, its label, type and picklist from the standard (unless given); `how` says how
    we derive it."""
    row = htcds()[name]
    picklist = tuple(v.strip() for v in row["Value Names (if picklist)"].splitlines() if v.strip())
    own = row["Description"].strip()
    return Field(
        name=name,
        htcds=True,
        label=row["Field Label"].strip(),
        type=kind or row["Field Type"].strip(),
        values=picklist if values is None else values,
        description=f"{own} {how}".strip() if own else how,
    )


def ours(name: str, label: str, kind: str, description: str, values: tuple[str, ...] = ()) -> Field:
    """A field of our own (HTCDS has none that fits)."""
    return Field(name=name, htcds=False, label=label, type=kind, values=values, description=description)
