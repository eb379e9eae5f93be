"""Reporter safety: phone numbers become keyed pseudonyms; call-back numbers are encrypted.

A reporter's number is never stored in plaintext, logged, or sent to a focal point. What is kept
is the reporter key, HMAC-SHA256(PHONE_HASH_KEY, E.164 number), and, only with consent, a
Fernet token of the number under CONTACT_KEY.

Campaign contacts are different: their number is stored, SMS need it. So nothing stored about a
contact may equal anything stored about a tip, a dial, an agency check or an inbound SMS, or one
join would put a number on a report. Each use of a number gets its own pseudonym, under its own
key derived from PHONE_HASH_KEY with HKDF-SHA256 and a label (the keys live in the environment,
never in the database):

- `reporter_key`: on tips, follow-up limits, a reporter's remembered language (tip side);
- `engagement_key`: on contacts only; the day-level engagement events that campaign effect
  counts (`hotline.engagement`) store it sealed (`seal_engagement`: AES-GCM under a key derived
  with the label "engagement-seal", a random nonce each time), so no engagement row equals a
  contact's value or another engagement row's; never on a tip, dial, check or inbound SMS row;
- `delivery_key`: on delivery reports kept for reconciliation, computed from a number only when
  matching (never stored next to a number);
- `suppression_key`: an opt-out from a number that never joined, so no import subscribes it.

A database reader without PHONE_HASH_KEY cannot compute any of them from a number, and no two of
them are equal for the same number.
"""

from __future__ import annotations

import base64
import hmac
import os
import re
from functools import lru_cache

import phonenumbers
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hotline.core.errors import InvalidPhoneNumber

DEFAULT_REGION = "KE"


# What AT sends for a Kenyan mobile: already E.164, so the common case skips full parsing.
_KENYAN_MOBILE_E164 = re.compile(r"\+254[17][0-9]{8}")  # ASCII: `\d` matches any script's digits


def normalise_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """The E.164 form of `raw` (`0712…`, `254712…`, `+254 712 …`), or InvalidPhoneNumber."""
    text = (raw or "").strip()
    if _KENYAN_MOBILE_E164.fullmatch(text):
        return text
    if text.startswith("254"):
        text = "+" + text  # AT examples sometimes drop the plus
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber("not a phone number") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhoneNumber("not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def reporter_key(phone_e164: str, key: str) -> str:
    """The pseudonymous reporter key of an E.164 number (tips and what else the reporter does)."""
    # One-shot HMAC (OpenSSL in one call): every USSD screen computes it.
    return hmac.digest(key.encode(), phone_e164.encode(), "sha256").hex()


@lru_cache(maxsize=16)
def _derived(key: str, label: str) -> bytes:
    """A key of its own for one use of numbers, from PHONE_HASH_KEY (HKDF-SHA256, info = label)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"hotline/{label}/v1".encode())
    return hkdf.derive(key.encode())


def _keyed(phone_e164: str, key: str, label: str) -> str:
    return hmac.digest(_derived(key, label), phone_e164.encode(), "sha256").hex()


def engagement_key(phone_e164: str, key: str) -> str:
    """The pseudonym a campaign contact and their engagement events share; never a reporter key."""
    return _keyed(phone_e164, key, "engagement")


def delivery_key(phone_e164: str, key: str) -> str:
    """The `phone_key` of a delivery report: matches reports to the numbers of a batch or service SMS."""
    return _keyed(phone_e164, key, "delivery")


def suppression_key(phone_e164: str, key: str) -> str:
    """What is kept of a number that opted out without ever joining (no import may subscribe it)."""
    return _keyed(phone_e164, key, "suppression")


@lru_cache(maxsize=4)
def _engagement_seal(key: str) -> AESGCM:
    # Built once per process and key: HKDF and the cipher's key schedule cost more than a seal.
    return AESGCM(_derived(key, "engagement-seal"))


def seal_engagement(engagement_key: str, key: str) -> str:
    """`engagement_key` encrypted for an engagement row: AES-256-GCM with a random 96-bit nonce, so
    the same key sealed twice gives two unrelated values (base64 of nonce + ciphertext + tag)."""
    nonce = os.urandom(12)
    sealed = nonce + _engagement_seal(key).encrypt(nonce, engagement_key.encode(), None)
    return base64.b64encode(sealed).decode()


def open_engagement(sealed: str, key: str) -> str:
    """The engagement key inside a sealed value; cryptography's InvalidTag if it was not sealed under
    `key` or was altered."""
    raw = base64.b64decode(sealed)
    return _engagement_seal(key).decrypt(raw[:12], raw[12:], None).decode()


def encrypt_contact(phone_e164: str, key: str) -> str:
    """A Fernet token of a call-back number the reporter consented to give."""
    return Fernet(key.encode()).encrypt(phone_e164.encode()).decode()


def decrypt_contact(token: str, key: str) -> str:
    """The number inside a call-back token; callers must record the access."""
    return Fernet(key.encode()).decrypt(token.encode()).decode()


def mask_phone(phone: str) -> str:
    """A number safe for logs: country code and last two digits only."""
    return phone[:4] + "*" * (len(phone) - 6) + phone[-2:] if len(phone) > 6 else "***"
