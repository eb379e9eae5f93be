"""Small-cell suppression: no published count from 1 to 4, and none that arithmetic on the
published totals could give back.

A table is a dict of named counts and its `lines`: each line a total and the figures that sum to
it (a row and its row total, a column and its column total, the row totals and the grand total,
the column totals and the grand total, the closure reasons and the number closed). Then:

1. primary: every count from 1 to 4 is suppressed (shown as "<5");
2. complementary, repeated until nothing changes: a line with a suppressed figure has its total
   suppressed too; a line with exactly one suppressed entry (then its total, which the rule above
   makes the only case) gets its smallest other figure suppressed, so no line ever has a single
   unknown to subtract for. These are shown as "x": they may be any number, so they say nothing
   of their size.

The test (`tests/test_evidence_suppression.py`) tries to undo it with linear programming over
every published equality, and checks each suppressed count can still take at least two values.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

SMALL = range(1, 5)
SMALL_MARK = "<5"  # a count from 1 to 4
HIDDEN_MARK = "x"  # a count hidden so that no "<5" can be worked out (any number, 0 included)
TOTAL = "total"  # a two-way table's totals: (row, TOTAL), (TOTAL, column), (TOTAL, TOTAL)


@dataclass(frozen=True)
class Line:
    """A published total and the figures that sum to it."""

    total: Hashable
    parts: tuple[Hashable, ...]


@dataclass(frozen=True)
class Suppressed:
    """What to hide: the small counts themselves (`primary`), and what was hidden to protect them."""

    primary: frozenset
    complementary: frozenset

    @property
    def hidden(self) -> frozenset:
        """Every count not to publish."""
        return self.primary | self.complementary


def suppress(values: dict[Hashable, int], lines: Iterable[Line]) -> Suppressed:
    """The counts to hide in `values` so that none from 1 to 4 is shown or can be worked out."""
    lines = list(lines)
    primary = frozenset(name for name, value in values.items() if value in SMALL)
    hidden = set(primary)
    changed = True
    while changed:
        changed = False
        for line in lines:
            if line.total not in hidden and any(part in hidden for part in line.parts):
                hidden.add(line.total)
                changed = True
            entries = (line.total, *line.parts)
            if sum(entry in hidden for entry in entries) == 1:
                # Only the total is hidden: one figure more, the smallest, costs the reader least.
                shown = [part for part in line.parts if part not in hidden]
                if shown:
                    hidden.add(min(shown, key=lambda part: (values[part] == 0, values[part])))
                    changed = True
    return Suppressed(primary, frozenset(hidden - primary))


def shown(value: int, name: Hashable, suppressed: Suppressed) -> int | str:
    """The count as published: the number, "<5" for a small one, "x" for one hidden to protect it."""
    if name in suppressed.primary:
        return SMALL_MARK
    return HIDDEN_MARK if name in suppressed.complementary else value


def grid_lines(rows: Iterable[Hashable], columns: Iterable[Hashable]) -> list[Line]:
    """The lines of a two-way table with row totals, column totals and a grand total, its cells
    named (row, column), the row totals (row, TOTAL), column totals (TOTAL, column), the grand
    total (TOTAL, TOTAL)."""
    rows, columns = list(rows), list(columns)
    lines = [Line((row, TOTAL), tuple((row, column) for column in columns)) for row in rows]
    lines += [Line((TOTAL, column), tuple((row, column) for row in rows)) for column in columns]
    lines.append(Line((TOTAL, TOTAL), tuple((row, TOTAL) for row in rows)))
    lines.append(Line((TOTAL, TOTAL), tuple((TOTAL, column) for column in columns)))
    return lines


def grid(cells: Mapping, rows: list, columns: list) -> dict:
    """A two-way table's cells with row totals, column totals and the grand total, named as
    `grid_lines` names them."""
    values = {(r, c): cells.get((r, c), 0) for r in rows for c in columns}
    for r in rows:
        values[r, TOTAL] = sum(values[r, c] for c in columns)
    for c in columns:
        values[TOTAL, c] = sum(values[r, c] for r in rows)
    values[TOTAL, TOTAL] = sum(values[r, TOTAL] for r in rows)
    return values
