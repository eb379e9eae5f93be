"""Small-cell suppression (hotline.evidence.suppression) tried as an attacker would: from every
published count and every published equality (a line's total equals the sum of its figures), linear
programming bounds each hidden count. A "<5" count lies in [1, 4], an "x" is any count >= 0; each
hidden count must still have more than one possible value. No database."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from scipy.optimize import linprog

from hotline.evidence.aggregates import ANNUAL_LINES
from hotline.evidence.suppression import (
    HIDDEN_MARK,
    SMALL_MARK,
    TOTAL,
    Line,
    grid,
    grid_lines,
    shown,
    suppress,
)


def ranges(values: dict, lines: list[Line], suppressed) -> dict:
    """The [min, max] each hidden count can take given everything published (None: unbounded)."""
    hidden = sorted(suppressed.hidden, key=repr)
    index = {name: i for i, name in enumerate(hidden)}
    a_eq, b_eq = [], []
    for line in lines:
        row, known = [0.0] * len(hidden), 0.0
        for name, sign in [(line.total, 1), *((part, -1) for part in line.parts)]:
            if name in index:
                row[index[name]] += sign
            else:
                known += sign * values[name]
        if any(row):
            a_eq.append(row)
            b_eq.append(-known)
        else:
            assert known == 0, "a line whose published figures do not add up"
    bounds = [(1, 4) if name in suppressed.primary else (0, None) for name in hidden]
    found = {}
    for name, i in index.items():
        cost = [0.0] * len(hidden)
        cost[i] = 1.0
        low = linprog(cost, A_eq=a_eq or None, b_eq=b_eq or None, bounds=bounds, method="highs")
        cost[i] = -1.0
        high = linprog(cost, A_eq=a_eq or None, b_eq=b_eq or None, bounds=bounds, method="highs")
        assert low.status == 0, low.message
        found[name] = (low.fun, None if high.status == 3 else -high.fun)
    return found


def assert_not_recoverable(values: dict, lines: list[Line]):
    suppressed = suppress(values, lines)
    published = {name: shown(value, name, suppressed) for name, value in values.items()}
    assert not any(value in range(1, 5) for value in published.values() if isinstance(value, int))
    assert all(values[name] in range(1, 5) for name, mark in published.items() if mark == SMALL_MARK)
    for name, (low, high) in ranges(values, lines, suppressed).items():
        assert low <= values[name] + 1e-6 and (high is None or values[name] <= high + 1e-6)
        assert high is None or low < high - 0.5, f"{name} = {values[name]} is recoverable: [{low}, {high}]"
    return suppressed


def table(rows: list[list[int]]):
    cells = Counter({(r, c): value for r, row in enumerate(rows) for c, value in enumerate(row)})
    names = list(range(len(rows))), list(range(len(rows[0])))
    return grid(cells, *names), grid_lines(*names)


ADVERSARIAL = {
    "one small cell in a row": [[2, 10, 12], [9, 11, 30], [15, 7, 8]],
    "two small cells summing to 2": [[1, 1, 20], [9, 11, 30], [15, 7, 8]],
    "a single small county": [[0, 3, 0], [40, 11, 30], [15, 7, 8]],
    "a county of one tip": [[1, 0, 0], [40, 11, 30], [15, 7, 8]],
    "a small column": [[2, 10], [1, 11], [3, 30]],
    "one county in the month": [[2, 9, 0, 30]],
    "one kind in the month": [[2], [30], [9]],
    "small diagonal": [[1, 20, 20], [20, 2, 20], [20, 20, 3]],
    "everything small": [[1, 2], [3, 4]],
    "zeros around a small cell": [[0, 0, 0], [0, 4, 0], [0, 0, 50]],
}


@pytest.mark.parametrize("rows", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_no_small_cell_can_be_worked_out_of_a_two_way_table(rows):
    values, lines = table(rows)
    suppressed = assert_not_recoverable(values, lines)
    assert suppressed.primary  # every fixture has a small cell to protect


def test_one_small_cell_hides_its_row_and_column_totals_and_the_grand_total():
    values, lines = table(ADVERSARIAL["one small cell in a row"])
    suppressed = suppress(values, lines)
    assert suppressed.primary == {(0, 0)}
    assert suppressed.complementary == {(0, TOTAL), (TOTAL, 0), (TOTAL, TOTAL)}
    published = [
        [shown(values[r, c], (r, c), suppressed) for c in (0, 1, 2, TOTAL)] for r in (0, 1, 2, TOTAL)
    ]
    assert published == [
        [SMALL_MARK, 10, 12, HIDDEN_MARK],
        [9, 11, 30, 50],
        [15, 7, 8, 30],
        [HIDDEN_MARK, 28, 50, HIDDEN_MARK],
    ]


def test_random_sparse_tables_are_safe():
    rng = random.Random(14)
    for _ in range(25):
        n_rows, n_columns = rng.randint(1, 6), rng.randint(1, 5)
        rows = [[rng.choice((0, 0, 1, 2, 3, 5, 8, 20)) for _ in range(n_columns)] for _ in range(n_rows)]
        values, lines = table(rows)
        assert_not_recoverable(values, lines)


ANNUAL_FIXTURES = {
    "few acknowledged late": {
        "tips_received": 60,
        "acknowledged_within_deadline": 55,
        "acknowledged_late": 3,
        "not_acknowledged": 2,
    },
    "one closure reason small": {
        "closed": 30,
        "closed_resolved": 26,
        "closed_referred": 4,
        "closed_not_trafficking": 0,
        "closed_duplicate": 0,
        "closed_insufficient_information": 0,
    },
    "few lookups in all": {
        "lookups_all": 3,
        "lookups_licensed": 0,
        "lookups_unlicensed": 3,
        "lookups_not_found": 0,
    },
}


@pytest.mark.parametrize("figures", ANNUAL_FIXTURES.values(), ids=ANNUAL_FIXTURES.keys())
def test_no_small_annual_figure_can_be_worked_out(figures):
    lines = [line for line in ANNUAL_LINES if line.total in figures]
    suppressed = assert_not_recoverable(figures, lines)
    assert suppressed.primary


def test_the_attack_finds_a_small_cell_that_only_primary_suppression_hides():
    """The check has teeth: hiding the small cell alone leaves it to subtraction from its row total."""
    from hotline.evidence.suppression import Suppressed

    values, lines = table(ADVERSARIAL["one small cell in a row"])
    naive = Suppressed(frozenset({(0, 0)}), frozenset())
    assert ranges(values, lines, naive) == {(0, 0): (2.0, 2.0)}
