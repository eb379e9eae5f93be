"""The GSM-7 alphabet helpers (flows.gsm): cutting text to a number of septets."""

from __future__ import annotations

import pytest

from flows.gsm import fit, septets


@pytest.mark.parametrize(
    "text, limit, kept",
    [
        ("abc", 5, "abc"),
        ("abc", 3, "abc"),
        ("abc", 2, "ab"),
        ("a€b", 2, "a"),  # the euro sign takes two septets: it does not fit in one
        ("a€b", 3, "a€"),
        ("[]", 3, "["),
        ("abc", 0, ""),
    ],
)
def test_fit_keeps_the_longest_start_within_the_septets(text, limit, kept):
    assert fit(text, limit) == kept and septets(fit(text, limit)) <= limit
