"""A campaign's effect: the difference of two proportions, treated minus held out, with a 95% CI,
and before sending, the smallest rise a holdout could detect.

The interval is Newcombe's hybrid score interval (Newcombe 1998, method 10), built from the Wilson
score interval of each proportion:

    p1 = x1 / n1 (treated),  p0 = x0 / n0 (held out),  d = p1 - p0
    Wilson (l, u) of x/n:  (x + z²/2) / (n + z²)  ±  z / (n + z²) · sqrt(x (n - x) / n + z² / 4)
    CI = [d - sqrt((p1 - l1)² + (u0 - p0)²),  d + sqrt((u1 - p1)² + (p0 - l0)²)]

with z the 97.5th percentile of the standard normal. Unlike the Wald interval it keeps close to 95%
coverage at small counts and is never zero-width: with 0 or all events in a group the Wilson
interval still has width, so the difference does too. It stays inside [-1, 1]. The effect is
`significant` when the interval excludes 0.

Too few to say (`too_few`): when either group has fewer than 30 people, or fewer than 5 events (the
outcome happening: contacts who engaged) in either group, the report says "too few held out to say"
(or "too few treated to say" when only the treated side, a small variant, is short) whatever the
interval: counts that small tell a campaign manager nothing they should act on. Non-events are not
counted: the outcomes here are rare, and the score interval needs no normal approximation anyway.

With nobody in either group (no holdout, nobody treated, not started) nothing is measurable.

The minimum detectable effect (`detectable_rise`) uses Cohen's h, the arcsine transformation: a
two-sided test at level alpha with power `power` detects h = (z_{1-alpha/2} + z_power) ·
sqrt(1/n1 + 1/n0), that is a treated rate p1 = sin²(asin √p0 + h/2) (capped at 1). The other tail's
tiny share of the power is left out, as is usual for this formula.

Standard library only: `statistics.NormalDist` gives the normal quantiles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from statistics import NormalDist

Z95 = NormalDist().inv_cdf(0.975)  # 1.959963984540054
MIN_PEOPLE = 30  # per group: fewer and the report says "too few ... to say"
MIN_EVENTS = 5  # per group: contacts who engaged


@dataclass(frozen=True)
class Effect:
    """Treated versus held out for one outcome: counts, rates, difference, its 95% CI and a verdict."""

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
    too_few: bool
    note: str = ""  # why nothing is measurable: "no holdout", "nobody treated", "not started"

    @property
    def verdict(self) -> str:
        """The effect in plain words: what a campaign manager may conclude, and no more."""
        if not self.measurable:
            return {
                "no holdout": "no holdout: nothing to compare with",
                "nobody treated": "nobody treated: nothing to compare",
            }.get(self.note, self.note or "not measurable")
        if self.too_few:
            short_held_out = _short(self.held_out_x, self.held_out_n)
            return "too few held out to say" if short_held_out else "too few treated to say"
        if not self.significant:
            return "no measurable effect"
        word = "rise" if self.difference > 0 else "fall"
        size, low, high = points(abs(self.difference), self.ci_low, self.ci_high)
        return f"{word} of {size} percentage points [{low}, {high}]"


def points(*values: float) -> list[str]:
    """Differences of proportions as numbers of percentage points, one precision for all: 0.0123 ->
    '1.2'; two decimals when every value is under one point."""
    digits = 1 if any(abs(v) >= 0.01 for v in values) else 2
    return [f"{v * 100:.{digits}f}" for v in values]


def _short(x: int, n: int) -> bool:
    return n < MIN_PEOPLE or x < MIN_EVENTS


def _rate(x: int, n: int) -> float | None:
    return x / n if n else None


def _check(x: int, n: int, group: str) -> None:
    if n < 0 or x < 0 or x > n:
        raise ValueError(f"{group}: need 0 <= x <= n, got x={x}, n={n}")


def wilson(x: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of the proportion x/n (n > 0), without continuity correction."""
    centre = (x + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * math.sqrt(x * (n - x) / n + z * z / 4)
    # At 0 or all events the bound is exactly 0 or 1: say so, not 2.8e-17 from rounding.
    return (0.0 if x == 0 else centre - half), (1.0 if x == n else centre + half)


def unmeasured(treated_n: int, held_out_n: int, note: str) -> Effect:
    """An effect with nothing to measure (`note` says why): counts only, no rates compared."""
    return Effect(
        treated_n,
        0,
        held_out_n,
        0,
        None,
        None,
        None,
        None,
        None,
        significant=False,
        measurable=False,
        too_few=True,
        note=note,
    )


def difference(treated_x: int, treated_n: int, held_out_x: int, held_out_n: int, z: float = Z95) -> Effect:
    """The treated rate minus the held-out rate, with Newcombe's hybrid score interval (see the module)."""
    _check(treated_x, treated_n, "treated")
    _check(held_out_x, held_out_n, "held out")
    if not treated_n or not held_out_n:
        effect = unmeasured(treated_n, held_out_n, "no holdout" if not held_out_n else "nobody treated")
        return replace(
            effect,
            treated_x=treated_x,
            held_out_x=held_out_x,
            treated_rate=_rate(treated_x, treated_n),
            held_out_rate=_rate(held_out_x, held_out_n),
        )
    p1, p0 = treated_x / treated_n, held_out_x / held_out_n
    l1, u1 = wilson(treated_x, treated_n, z)
    l0, u0 = wilson(held_out_x, held_out_n, z)
    d = p1 - p0
    low = d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return Effect(
        treated_n=treated_n,
        treated_x=treated_x,
        held_out_n=held_out_n,
        held_out_x=held_out_x,
        treated_rate=p1,
        held_out_rate=p0,
        difference=d,
        ci_low=max(-1.0, low),  # rounding can step past the bounds by an ulp
        ci_high=min(1.0, high),
        significant=low > 0 or high < 0,
        measurable=True,
        too_few=_short(treated_x, treated_n) or _short(held_out_x, held_out_n),
    )


def detectable_rise(
    baseline: float, treated_n: int, held_out_n: int, alpha: float = 0.05, power: float = 0.8
) -> float | None:
    """The smallest treated rate a two-sided test at `alpha` detects with `power` against `baseline`
    (Cohen's h, see the module); 1.0 when even that cannot be told; None if a group is empty."""
    if treated_n <= 0 or held_out_n <= 0:
        return None
    if not 0 <= baseline <= 1:
        raise ValueError(f"baseline must be a proportion, got {baseline}")
    normal = NormalDist()
    h = (normal.inv_cdf(1 - alpha / 2) + normal.inv_cdf(power)) * math.sqrt(1 / treated_n + 1 / held_out_n)
    angle = math.asin(math.sqrt(baseline)) + h / 2
    return 1.0 if angle >= math.pi / 2 else math.sin(angle) ** 2


def percent(rate: float) -> str:
    """A rate as a percentage a person reads: 0.02 -> '2.0%', 0.0035 -> '0.35%'."""
    digits = 1 if rate >= 0.01 or rate == 0 else 2
    return f"{rate * 100:.{digits}f}%"


def mde_sentence(
    baseline: float, rise: float | None, holdout_share: float, held_out_n: int | None = None
) -> str:
    """What the holdout can show, in a sentence: "with 10% held out you can detect a rise from 2.0%
    to 2.6% or more" (`rise` from `detectable_rise`); with `held_out_n`, a warning when the
    held-out group would likely have fewer than `MIN_EVENTS` events or `MIN_PEOPLE` people."""
    share = f"{round(holdout_share * 100, 1):g}%"
    if holdout_share <= 0:
        return "with nobody held out the campaign's effect cannot be measured, only its reach"
    if rise is None:
        return f"with {share} held out the audience is too small to measure any effect"
    if rise >= 1:
        sentence = (
            f"with {share} held out even a rise from {percent(baseline)} to 100% could be missed: "
            "hold out more or widen the audience"
        )
    else:
        sentence = (
            f"with {share} held out you can detect a rise from {percent(baseline)} to {percent(rise)} or more"
        )
    if held_out_n is not None:
        expected = baseline * held_out_n
        if held_out_n < MIN_PEOPLE or expected < MIN_EVENTS:
            sentence += (
                f"; but about {expected:.0f} of the {held_out_n:,} held out would engage anyway, "
                f"and with fewer than {MIN_PEOPLE} people or {MIN_EVENTS} events the report will say "
                '"too few held out to say"'
            )
    return sentence
