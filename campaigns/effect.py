"""A campaign's effect: the difference of two proportions, treated minus held out, with a 95% CI.

The interval is the unpooled Wald interval for a difference of independent proportions:

    p1 = x1 / n1 (treated),  p0 = x0 / n0 (held out),  d = p1 - p0
    SE = sqrt(p1 (1 - p1) / n1 + p0 (1 - p0) / n0)
    CI = d ± z · SE,  z = 1.959963984540054 (the 97.5th percentile of the standard normal)

clipped to [-1, 1], the range a difference of proportions can take. The effect is significant when
the interval excludes 0. Edge cases: with nobody in either group (no holdout, or nobody treated)
nothing is measurable; when both rates are 0 or 1 the SE is 0 and the interval is a point, which
proves nothing, so it is never called significant. The normal approximation is rough when a group
has fewer than 5 events or 5 non-events (`small_sample`): renderings say so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054
SMALL = 5  # events (and non-events) per group below which the normal approximation is rough


@dataclass(frozen=True)
class Effect:
    """Treated versus held out for one outcome: counts, rates, difference and its 95% CI."""

    treated_n: int
    treated_x: int
    held_out_n: int
    held_out_x: int
    treated_rate: float | None
    held_out_rate: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    significant: bool
    measurable: bool
    small_sample: bool
    note: str = ""


def _rate(x: int, n: int) -> float | None:
    return x / n if n else None


def _check(x: int, n: int, group: str) -> None:
    if n < 0 or x < 0 or x > n:
        raise ValueError(f"{group}: need 0 <= x <= n, got x={x}, n={n}")


def difference(treated_x: int, treated_n: int, held_out_x: int, held_out_n: int, z: float = Z95) -> Effect:
    """The treated rate minus the held-out rate, with its unpooled Wald interval (see the module)."""
    _check(treated_x, treated_n, "treated")
    _check(held_out_x, held_out_n, "held out")
    p1, p0 = _rate(treated_x, treated_n), _rate(held_out_x, held_out_n)
    counts = dict(treated_n=treated_n, treated_x=treated_x, held_out_n=held_out_n, held_out_x=held_out_x)
    if p1 is None or p0 is None:
        note = "no holdout" if not held_out_n else "nobody treated"
        return Effect(
            **counts,
            treated_rate=p1,
            held_out_rate=p0,
            difference=None,
            ci_low=None,
            ci_high=None,
            significant=False,
            measurable=False,
            small_sample=True,
            note=note,
        )
    d = p1 - p0
    se = math.sqrt(p1 * (1 - p1) / treated_n + p0 * (1 - p0) / held_out_n)
    low, high = max(-1.0, d - z * se), min(1.0, d + z * se)
    small = min(treated_x, treated_n - treated_x, held_out_x, held_out_n - held_out_x) < SMALL
    note = "no variation in either group: the interval is a point" if se == 0 else ""
    return Effect(
        **counts,
        treated_rate=p1,
        held_out_rate=p0,
        difference=d,
        ci_low=low,
        ci_high=high,
        significant=se > 0 and (low > 0 or high < 0),
        measurable=True,
        small_sample=small,
        note=note,
    )
