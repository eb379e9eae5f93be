"""Phone numbers become reporter keys; call-back numbers are encrypted."""

from __future__ import annotations

import pytest

from hotline.config import DEV_CONTACT_KEY
from hotline.errors import InvalidPhoneNumber
from hotline.privacy import decrypt_contact, encrypt_contact, mask_phone, normalise_phone, reporter_key


@pytest.mark.parametrize(
    "raw", ["+254712345678", "254712345678", "0712345678", "+254 712 345 678", " 0712-345-678 "]
)
def test_kenyan_numbers_in_every_usual_form_normalise_to_e164(raw):
    assert normalise_phone(raw) == "+254712345678"


@pytest.mark.parametrize("raw", ["", "abc", "+1", "12"])
def test_junk_is_not_a_number(raw):
    with pytest.raises(InvalidPhoneNumber):
        normalise_phone(raw)


def test_reporter_key_is_stable_per_key_and_reveals_nothing():
    key = reporter_key("+254712345678", "k1")
    assert key == reporter_key("+254712345678", "k1") != reporter_key("+254712345678", "k2")
    assert len(key) == 64 and "712345678" not in key


def test_call_back_numbers_are_encrypted():
    token = encrypt_contact("+254712345678", DEV_CONTACT_KEY)
    assert "712345678" not in token
    assert decrypt_contact(token, DEV_CONTACT_KEY) == "+254712345678"


def test_masked_numbers_for_logs():
    assert mask_phone("+254712345678") == "+254*******78"
