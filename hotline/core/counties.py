"""Kenya's 47 counties by constitutional code, shipped with the service (`data/counties.csv`)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "counties.csv"
NATIONAL = 0  # county code of the national CTiP secretariat in focal-point files


@dataclass(frozen=True)
class CountyInfo:
    """A county's constitutional code, official name and former province."""

    code: int
    name: str
    former_province: str


@cache
def all_counties() -> tuple[CountyInfo, ...]:
    """The 47 counties in constitutional-code order."""
    with DATA.open(encoding="utf-8", newline="") as handle:
        rows = [CountyInfo(int(r["code"]), r["name"], r["former_province"]) for r in csv.DictReader(handle)]
    return tuple(sorted(rows, key=lambda c: c.code))


@cache
def by_code() -> dict[int, CountyInfo]:
    """Counties keyed by constitutional code."""
    return {c.code: c for c in all_counties()}


def name_of(code: int | None) -> str | None:
    """The official name of a county code, or None."""
    county = by_code().get(code) if code is not None else None
    return county.name if county else None
