"""The service's random source: the system's, unless the test suite seeds it."""

from __future__ import annotations

import random

from hotline.contacts.service import SALT_MODULUS, new_salt
from hotline.core import randomness
from hotline.tips.reference import new_reference


def test_a_seed_makes_salts_and_references_the_same_draws_every_time():
    randomness.seed(3)
    first = [new_salt(), new_reference(), randomness.randbelow(2**62)]
    randomness.seed(3)
    assert [new_salt(), new_reference(), randomness.randbelow(2**62)] == first
    expected = random.Random(3)
    assert first[0] == expected.randrange(SALT_MODULUS)
    assert first[1][:11] == f"{expected.randrange(10**11):011d}"


def test_without_a_seed_draws_come_from_the_systems_secure_source():
    randomness.seed(None)
    assert type(randomness._source) is random.SystemRandom
    assert 0 <= randomness.randbelow(10) < 10
