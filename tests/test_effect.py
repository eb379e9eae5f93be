"""The difference of two proportions with Newcombe's hybrid score interval, checked against
statsmodels; the too-few rule at its edges; the minimum detectable effect against statsmodels' power
solver; the sentence a campaign manager reads."""

import math

import pytest
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep

from campaigns.effect import (
    MIN_EVENTS,
    MIN_PEOPLE,
    detectable_rise,
    difference,
    mde_sentence,
    percent,
    wilson,
)

# (treated_x, treated_n, held_out_x, held_out_n): 0 and all events in either group, tiny and large n.
CASES = [
    (0, 1, 0, 1),
    (1, 1, 0, 1),
    (0, 1, 1, 1),
    (1, 1, 1, 1),
    (0, 10, 0, 10),
    (10, 10, 0, 10),
    (0, 10, 10, 10),
    (10, 10, 10, 10),
    (5, 5, 0, 5),
    (0, 200, 0, 50),
    (3, 8, 1, 2),
    (0, 4, 1, 2),
    (40, 200, 5, 50),
    (30, 200, 5, 50),
    (10, 1000, 30, 1000),
    (10, 100, 0, 100),
    (0, 100, 10, 100),
    (100, 100, 99, 100),
    (56, 70, 48, 80),  # Newcombe 1998's own example
    (9, 10, 3, 10),
    (6, 7, 2, 7),
    (5, 56, 0, 29),
    (0, 29, 5, 56),
    (20_000, 900_000, 1_900, 100_000),
    (900_000, 900_000, 100_000, 100_000),
    (0, 900_000, 0, 100_000),
    (1, 1_000_000, 0, 3),
    (17, 18, 0, 1),  # the report that showed "+0.00% [+0.00%, +0.00%]": one held-out person
]


@pytest.mark.parametrize("case", CASES, ids=[f"{a}/{b}-vs-{c}/{d}" for a, b, c, d in CASES])
def test_interval_matches_statsmodels_newcombe(case):
    treated_x, treated_n, held_out_x, held_out_n = case
    low, high = confint_proportions_2indep(
        treated_x, treated_n, held_out_x, held_out_n, method="newcomb", compare="diff"
    )
    e = difference(*case)
    assert e.measurable
    assert e.ci_low == pytest.approx(float(low), abs=1e-12)
    assert e.ci_high == pytest.approx(float(high), abs=1e-12)
    assert -1 <= e.ci_low <= e.difference <= e.ci_high <= 1
    assert e.ci_high - e.ci_low > 0  # never a zero-width interval, even at 0 or all events


def test_newcombes_published_example():
    # Newcombe (1998), table II, example (a): 56/70 - 48/80 = 0.2000, method 10: 0.0524 to 0.3339
    e = difference(56, 70, 48, 80)
    assert (round(e.ci_low, 4), round(e.ci_high, 4)) == (0.0524, 0.3339)
    assert e.significant and not e.too_few
    assert e.verdict == "rise of 20.0 percentage points [5.2, 33.4]"


def test_wilson_at_zero_and_all_events_has_width():
    low, high = wilson(0, 10)
    assert low == 0 and high == pytest.approx(0.2775327998628892)
    assert wilson(10, 10) == pytest.approx((1 - high, 1))


def test_a_fall_and_no_effect_in_plain_words():
    fall = difference(100, 10_000, 200, 10_000)  # 1% vs 2%
    assert fall.significant and fall.difference < 0
    assert fall.verdict.startswith("fall of 1.0 percentage points [-")
    none = difference(200, 10_000, 200, 10_000)
    assert not none.significant and none.verdict == "no measurable effect"
    small = difference(1_300, 100_000, 1_000, 100_000)  # under one point: two decimals
    assert small.verdict == "rise of 0.30 percentage points [0.21, 0.39]"


def test_no_holdout_is_not_measurable():
    e = difference(10, 100, 0, 0)
    assert not e.measurable and not e.significant and e.too_few
    assert e.difference is None and e.ci_low is None and e.held_out_rate is None
    assert e.treated_rate == 0.1
    assert e.note == "no holdout" and e.verdict == "no holdout: nothing to compare with"


def test_nobody_treated_is_not_measurable():
    e = difference(0, 0, 1, 10)
    assert not e.measurable and e.note == "nobody treated"


def test_the_one_held_out_person_of_the_issue_is_too_few_not_precise():
    e = difference(17, 18, 0, 1)
    assert e.too_few and e.verdict == "too few held out to say"
    assert e.ci_high - e.ci_low > 0.5


@pytest.mark.parametrize(
    ("case", "too_few", "verdict"),
    [
        ((50, 100, MIN_EVENTS, MIN_PEOPLE), False, None),  # both groups exactly at the edges
        ((50, 100, MIN_EVENTS, MIN_PEOPLE - 1), True, "too few held out to say"),  # 29 held out
        ((50, 100, MIN_EVENTS - 1, 1000), True, "too few held out to say"),  # 4 events held out
        ((MIN_EVENTS, MIN_PEOPLE, 50, 100), False, None),
        ((MIN_EVENTS, MIN_PEOPLE - 1, 50, 100), True, "too few treated to say"),  # a small variant
        ((MIN_EVENTS - 1, 1000, 50, 100), True, "too few treated to say"),
        ((0, 10, 0, 10), True, "too few held out to say"),  # both short: the holdout is named
        ((0, 100_000, 0, 100_000), True, "too few held out to say"),  # nobody engaged at all
    ],
)
def test_too_few_at_its_edges(case, too_few, verdict):
    e = difference(*case)
    assert e.too_few is too_few
    if verdict:
        assert e.verdict == verdict
    else:
        assert "too few" not in e.verdict


def test_too_few_wins_over_significance():
    e = difference(29, 29, 0, 29)  # significant, but 29 people and no events held out
    assert e.significant and e.too_few and e.verdict == "too few held out to say"


@pytest.mark.parametrize("args", [(5, 4, 1, 10), (-1, 4, 1, 10), (1, 4, 11, 10)])
def test_impossible_counts_are_refused(args):
    with pytest.raises(ValueError):
        difference(*args)


POWER_CASES = [
    (0.02, 9_000, 1_000, 0.05, 0.8),
    (0.02, 900_000, 100_000, 0.05, 0.8),
    (0.001, 500, 500, 0.05, 0.8),
    (0.3, 50, 50, 0.05, 0.9),
    (0.0, 1_000, 100, 0.05, 0.8),
    (0.5, 10_000, 10_000, 0.01, 0.8),
    (0.1, 100, 10, 0.10, 0.8),
]


@pytest.mark.parametrize("case", POWER_CASES)
def test_detectable_rise_matches_statsmodels_power(case):
    baseline, treated_n, held_out_n, alpha, power = case
    h = NormalIndPower().solve_power(
        effect_size=None, nobs1=treated_n, ratio=held_out_n / treated_n, alpha=alpha, power=power
    )
    expected = math.sin(math.asin(math.sqrt(baseline)) + float(h) / 2) ** 2
    rise = detectable_rise(baseline, treated_n, held_out_n, alpha, power)
    # statsmodels also counts the other tail's (tiny) power; the closed form leaves it out.
    assert rise == pytest.approx(expected, rel=1e-4, abs=1e-9)
    assert rise > baseline


def test_detectable_rise_edges():
    assert detectable_rise(0.02, 0, 100) is None and detectable_rise(0.02, 100, 0) is None
    assert detectable_rise(0.9, 3, 1) == 1.0  # capped: nothing short of everyone could be told
    assert detectable_rise(0.02, 9_000, 1_000) < detectable_rise(0.02, 900, 100)
    with pytest.raises(ValueError):
        detectable_rise(1.5, 10, 10)


def test_the_issues_sentence():
    rise = detectable_rise(0.02, 900_000, 100_000)
    assert (
        mde_sentence(0.02, 0.026, 0.1) == "with 10% held out you can detect a rise from 2.0% to 2.6% or more"
    )
    assert mde_sentence(0.02, rise, 0.1).startswith(
        "with 10% held out you can detect a rise from 2.0% to 2.1% or more"
    )
    assert mde_sentence(0.002, 0.0035, 0.05) == (
        "with 5% held out you can detect a rise from 0.20% to 0.35% or more"
    )
    assert mde_sentence(0.02, 0.03, 0.125).startswith("with 12.5% held out")


def test_sentences_when_nothing_can_be_detected():
    assert mde_sentence(0.02, None, 0) == (
        "with nobody held out the campaign's effect cannot be measured, only its reach"
    )
    assert (
        mde_sentence(0.02, None, 0.1) == "with 10% held out the audience is too small to measure any effect"
    )
    assert mde_sentence(0.02, 1.0, 0.1) == (
        "with 10% held out even a rise from 2.0% to 100% could be missed: hold out more or widen the audience"
    )


def test_sentence_warns_when_the_holdout_will_be_too_few():
    warned = mde_sentence(0.02, 0.2, 0.1, held_out_n=100)
    assert warned.endswith('the report will say "too few held out to say"') and "about 2 of the 100" in warned
    assert "too few" not in mde_sentence(0.02, 0.03, 0.1, held_out_n=1_000)


def test_percent():
    assert (percent(0.02), percent(0.0035), percent(0), percent(1)) == ("2.0%", "0.35%", "0.0%", "100.0%")
