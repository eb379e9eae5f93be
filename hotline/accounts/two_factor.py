"""The second factor: a TOTP key per user (an authenticator app), set up with a QR code, and ten
recovery codes for a lost phone.

The key is kept encrypted with CONTACT_KEY (a database reader cannot make codes). A code is accepted
for the current 30-second step and one either side (a phone's clock drifts), and each step once:
`User.totp_last_step` only moves forward, in one conditional UPDATE, so two requests racing with the
same code cannot both pass. Recovery codes carry 60 random bits each and are kept only as SHA-256
hashes (with that much entropy a slow hash adds nothing); each one works once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from cryptography.fernet import Fernet
from sqlalchemy import or_, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from hotline.core.extensions import current
from hotline.core.models import User

ISSUER = "CTiP hotline"
# Steps either side of now that still count: 30 s of drift each way.
VALID_WINDOW = 1
RECOVERY_CODES = 10
# Crockford's base32 without look-alikes: 12 characters, 60 bits, written as three groups of four.
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
RECOVERY_LENGTH = 12


def new_secret() -> str:
    """A fresh TOTP key (base32, 160 bits)."""
    return pyotp.random_base32(32)


def seal(secret: str, contact_key: str) -> str:
    """The key as stored: a Fernet token under CONTACT_KEY."""
    return Fernet(contact_key.encode()).encrypt(secret.encode()).decode()


def unseal(token: str, contact_key: str) -> str:
    """The key back from its stored form."""
    return Fernet(contact_key.encode()).decrypt(token.encode()).decode()


def grouped(secret: str) -> str:
    """The key in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_code(uri: str) -> str:
    """The QR code of `uri` as an SVG data: URI (the CSP allows data: images, nothing inline else)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, dark="#12344d")


def current_code(secret: str, now: datetime) -> str:
    """The code an authenticator app shows at `now` (demo accounts and tests only)."""
    return pyotp.TOTP(secret).at(now)


def is_code(text: str) -> bool:
    """True for something shaped like an authenticator code: six ASCII digits."""
    return len(text) == 6 and text.isascii() and text.isdigit()


def verify(session: Session, user: User, code: str, now: datetime, contact_key: str | None = None) -> bool:
    """True when `code` is the user's current code (one step either side) and its step was not used
    yet; the step is then used up. The caller commits."""
    code = "".join(code.split())
    if not (user.totp_secret and is_code(code)):
        return False
    totp = pyotp.TOTP(unseal(user.totp_secret, contact_key or current().config.contact_key))
    now_step = totp.timecode(now)
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return _use_step(session, user, step)
    return False


def _use_step(session: Session, user: User, step: int) -> bool:
    """Move the user's last used step to `step` unless it is there or beyond already (atomic)."""
    moved = session.execute(
        update(User)
        .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved:
        set_committed_value(user, "totp_last_step", step)  # what the row now holds, without a second UPDATE
    return bool(moved)


def new_recovery_codes(user: User) -> list[str]:
    """Ten fresh recovery codes for `user` (replacing any left): returned once, kept as hashes."""
    codes = [
        "-".join(code[i : i + 4] for i in range(0, RECOVERY_LENGTH, 4))
        for code in ("".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
                     for _ in range(RECOVERY_CODES))
    ]
    user.recovery_codes = [_recovery_hash(code) for code in codes]
    return codes


def use_recovery_code(session: Session, user: User, code: str) -> bool:
    """True when `code` is one of the user's unused recovery codes, which is then crossed out."""
    if not user.recovery_codes:
        return False
    session.refresh(user, with_for_update=True)  # two requests with one code: the second waits, then fails
    digest = _recovery_hash(code)
    left = [kept for kept in user.recovery_codes or [] if not hmac.compare_digest(kept, digest)]
    if len(left) == len(user.recovery_codes or []):
        return False
    user.recovery_codes = left
    return True


def recovery_codes_left(user: User) -> int:
    """How many recovery codes the user has not used."""
    return len(user.recovery_codes or [])


def _recovery_hash(code: str) -> str:
    """Hash of a recovery code as typed: case, spaces and dashes do not matter."""
    plain = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(plain.encode()).hexdigest()
