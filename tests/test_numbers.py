"""Numbers from outside: ASCII digits only, within bounds; and the AT answers read with them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from campaigns.dispatch import parse_cost
from hotline.africastalking.gateway import parse_response
from hotline.core.config import from_env
from hotline.core.errors import ConfigError
from hotline.core.numbers import ascii_digits, bounded_decimal, bounded_int
from hotline.core.privacy import normalise_phone


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", True), ("0712", True), ("²", False), ("٣", False), ("１２", False), ("", False), ("1 2", False),
     ("-1", False), ("1.0", False)],
)
def test_only_ascii_digits_are_digits(text, expected):
    assert ascii_digits(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("41230", 41230), (" 4 ", 4), ("+12", 12), ("180000.0", 180000), ("12.9", 12), ("-0", 0),
     ("1e400", None), ("inf", None), ("-inf", None), ("nan", None), ("9" * 20, None), ("²²", None),
     ("٣", None), ("１２", None), ("0x1F", None), ("1_000", None), ("", None), (None, None), ("-5", None),
     ("86400001", None)],
)
def test_a_bounded_int_is_ascii_and_within_its_bounds_or_none(text, expected):
    assert bounded_int(text, 0, 86_400_000) == expected


def test_a_bounded_decimal_refuses_special_and_huge_values():
    low, high = Decimal(0), Decimal("999999.9999")
    assert bounded_decimal("0.8000", low, high) == Decimal("0.8")
    assert [bounded_decimal(text, low, high) for text in ("NaN", "Infinity", "1e400", "1E3", "٣", "-1")] == [
        None
    ] * 6


def test_a_cost_from_at_that_is_no_price_is_unknown():
    assert parse_cost("KES 0.8000") == Decimal("0.8")
    assert [parse_cost(text) for text in ("KES inf", "KES NaN", "KES 1e400", "KES ", "", None)] == [None] * 6


@pytest.mark.parametrize("code", [1e400, "1e400", "²", "１０１", None, True, 10**30])
def test_a_junk_status_code_from_at_is_a_failure_not_a_crash(code):
    response = {"SMSMessageData": {"Recipients": [{"statusCode": code, "number": "+254711000001"}]}}
    [result] = parse_response(response)
    assert result.status_code == 500 and not result.accepted


def test_a_kenyan_number_in_other_digits_comes_out_as_ascii_e164():
    assert normalise_phone("+254711٠٠٠٠٠١") == "+254711000001"


@pytest.mark.parametrize("setting", ["urgent=²", "default=１５"])
def test_escalation_minutes_in_other_digits_are_a_config_error(setting):
    with pytest.raises(ConfigError):
        from_env(Path("/nonexistent"), {"HOTLINE_ENV": "development", "ESCALATION_MINUTES": setting,
                                        "SECRET_KEY": "x"})
