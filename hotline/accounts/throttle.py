"""Failed sign-ins, counted in Redis per account and per client address.

After `signin_attempts` failures within `signin_window_seconds` (wrong password or wrong code), the
account, or the address, is refused without checking anything until the window ends. Counters live
in Redis so every web process sees them; the window starts at the first failure (a fixed window).
A right password and code clear the account's counter, not the address's: one office's shared
address is not punished for long by one person's typos, and a guesser from one address stays slow.
"""

from __future__ import annotations

import hashlib
import math

from hotline.core.extensions import current

PREFIX = "signin:failed:"


def _keys(email: str, address: str | None) -> list[str]:
    # Hashed: the e-mail typed may be anything, and Redis keys should not carry it in clear.
    keys = [PREFIX + "account:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]]
    if address:
        keys.append(PREFIX + "address:" + address)
    return keys


def locked_for(email: str, address: str | None) -> int:
    """Seconds until sign-in is allowed again for this e-mail or address; 0 when it is allowed now."""
    ext = current()
    limit = ext.config.signin_attempts
    waits = []
    for key in _keys(email, address):
        count = ext.redis.get(key)
        if count is not None and int(count) >= limit:
            waits.append(max(ext.redis.ttl(key), 1))
    return max(waits, default=0)


def note_failure(email: str, address: str | None) -> None:
    """Count one failed sign-in for this e-mail and address."""
    ext = current()
    pipe = ext.redis.pipeline()
    for key in _keys(email, address):
        pipe.incr(key)
        pipe.expire(key, ext.config.signin_window_seconds, nx=True)
    pipe.execute()


def clear(email: str) -> None:
    """Forget the account's failures after a complete sign-in."""
    current().redis.delete(*_keys(email, None))


def minutes(seconds: int) -> int:
    """Whole minutes to wait, rounded up (at least one)."""
    return max(1, math.ceil(seconds / 60))
