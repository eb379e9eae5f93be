"""Where the service's random draws come from: the system's secure source, unless tests seed it.

Reference codes (`hotline.reference`), contact salts (`hotline.contacts`) and campaign seeds
(`campaigns.service`) are drawn here. In the service they come from `random.SystemRandom`, the
operating system's source that `secrets` uses too, so none can be guessed. The test suite calls
`seed()` before every test (tests/conftest.py) so that each run draws the same; nothing else may.
A forked process keeps the source it was forked with: with a seeded source, parent and children
draw the same sequence (the service's system source has no state to share).
"""

from __future__ import annotations

import random

_source: random.Random = random.SystemRandom()


def randbelow(n: int) -> int:
    """A random integer in [0, n)."""
    return _source.randrange(n)


def seed(value: int | None) -> None:
    """Draw from `random.Random(value)` from now on (tests only); None: the system's source again."""
    global _source
    _source = random.SystemRandom() if value is None else random.Random(value)
