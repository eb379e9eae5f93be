"""Reporter safety: phone numbers become pseudonymous reporter keys; call-back numbers are encrypted.

A reporter's number is never stored in plaintext, logged, or sent to a focal point. What is kept
is the reporter key, HMAC-SHA256(PHONE_HASH_KEY, E.164 number), and, only with consent, a
Fernet token of the number under CONTACT_KEY.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import phonenumbers
from cryptography.fernet import Fernet

from hotline.errors import InvalidPhoneNumber

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
    """The pseudonymous reporter key of an E.164 number."""
    return hmac.new(key.encode(), phone_e164.encode(), hashlib.sha256).hexdigest()


def encrypt_contact(phone_e164: str, key: str) -> str:
    """A Fernet token of a call-back number the reporter consented to give."""
    return Fernet(key.encode()).encrypt(phone_e164.encode()).decode()


def decrypt_contact(token: str, key: str) -> str:
    """The number inside a call-back token; callers must record the access."""
    return Fernet(key.encode()).decrypt(token.encode()).decode()


def mask_phone(phone: str) -> str:
    """A number safe for logs: country code and last two digits only."""
    return phone[:4] + "*" * max(len(phone) - 6, 0) + phone[-2:] if len(phone) > 6 else "***"
