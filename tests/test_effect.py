"""The difference of two proportions and its unpooled Wald interval, checked by hand."""

import math

import pytest

from campaigns.effect import Z95, difference


def test_hand_checked_example():
    # treated 40/200 = 0.20, held out 5/50 = 0.10: difference 0.10
    # SE = sqrt(0.2*0.8/200 + 0.1*0.9/50) = sqrt(0.0008 + 0.0018) = sqrt(0.0026) = 0.0509902
    # z*SE = 1.959964 * 0.0509902 = 0.0999389
    # CI = [0.10 - 0.0999389, 0.10 + 0.0999389] = [0.0000611, 0.1999389]: excludes 0, just
    e = difference(40, 200, 5, 50)
    assert (e.treated_rate, e.held_out_rate) == (0.2, 0.1)
    assert e.difference == pytest.approx(0.10)
    assert e.ci_low == pytest.approx(0.0000611, abs=1e-7)
    assert e.ci_high == pytest.approx(0.1999389, abs=1e-7)
    assert e.significant and e.measurable and not e.small_sample


def test_interval_containing_zero_is_not_significant():
    # 30/200 = 0.15 vs 5/50 = 0.10: SE = sqrt(.15*.85/200 + .1*.9/50) = sqrt(.0006375 + .0018) = .049371
    # CI = 0.05 ± 0.096766 = [-0.046766, 0.146766]
    e = difference(30, 200, 5, 50)
    assert e.ci_low == pytest.approx(0.05 - Z95 * math.sqrt(0.0024375))
    assert e.ci_low < 0 < e.ci_high
    assert not e.significant


def test_negative_effect_is_significant():
    e = difference(10, 1000, 30, 1000)  # 1% vs 3%
    assert e.difference == pytest.approx(-0.02)
    assert e.ci_high < 0 and e.significant


def test_no_holdout_is_not_measurable():
    e = difference(10, 100, 0, 0)
    assert not e.measurable and not e.significant
    assert e.difference is None and e.ci_low is None and e.held_out_rate is None
    assert e.treated_rate == 0.1
    assert e.note == "no holdout"


def test_nobody_treated_is_not_measurable():
    e = difference(0, 0, 1, 10)
    assert not e.measurable and e.note == "nobody treated"


def test_no_variation_gives_a_point_that_proves_nothing():
    e = difference(0, 200, 0, 50)
    assert e.difference == 0 and e.ci_low == e.ci_high == 0
    assert not e.significant and e.small_sample
    all_vs_none = difference(5, 5, 0, 5)  # SE 0: Wald would claim certainty
    assert all_vs_none.difference == 1 and not all_vs_none.significant


def test_one_group_at_zero_uses_the_other_groups_variance():
    # 10/100 vs 0/100: SE = sqrt(.1*.9/100) = 0.03, CI = 0.1 ± 0.0588
    e = difference(10, 100, 0, 100)
    assert e.ci_low == pytest.approx(0.1 - Z95 * 0.03)
    assert e.significant and e.small_sample


def test_interval_is_clipped_to_possible_differences():
    e = difference(1, 2, 0, 1)
    assert -1 <= e.ci_low and e.ci_high <= 1


@pytest.mark.parametrize("args", [(5, 4, 1, 10), (-1, 4, 1, 10), (1, 4, 11, 10)])
def test_impossible_counts_are_refused(args):
    with pytest.raises(ValueError):
        difference(*args)
