"""Console accounts as the CLI, the admin's page and sign-in use them: create, find, check a
password, deactivate, reset the second factor.

Passwords are hashed with argon2id (argon2-cffi's defaults, rehashed when they change). A focal
point's account is linked to their SMS directory entry by phone in their county: one person.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from functools import cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.core import audit
from hotline.core.counties import NATIONAL, by_code
from hotline.core.errors import HotlineError, InvalidPhoneNumber
from hotline.core.models import FocalPoint, User
from hotline.core.privacy import normalise_phone
from hotline.core.viewer import ROLES

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1000  # argon2 takes anything; a megabyte "password" would only cost CPU
# argon2-cffi's default, RFC 9106's low-memory profile (64 MiB, three passes: about 0.3 s on one core).
# The test suite signs in a thousand times a run, so under `Config.testing` the app factory switches
# to the library's cheapest profile (`use_cheapest_profile`); every other mode keeps the default.
_hasher = PasswordHasher()


def use_cheapest_profile(cheapest: bool) -> None:
    """Hash with argon2-cffi's cheapest parameters (the test suite only), or with its default."""
    global _hasher
    profile = profiles.CHEAPEST if cheapest else profiles.get_default_parameters()
    if _hasher.time_cost != profile.time_cost or _hasher.memory_cost != profile.memory_cost:
        _hasher = PasswordHasher.from_parameters(profile)
        _unknown_user_hash.cache_clear()


class UserError(HotlineError):
    """A console account that cannot be made or changed as asked; the message says why."""


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def check_password_rules(password: str) -> None:
    """Refuse a password that is too short (or absurdly long)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"The password must have at most {MAX_PASSWORD_LENGTH} characters.")


def normal_email(email: str) -> str:
    """An e-mail address as stored and looked up: trimmed, lower case."""
    return email.strip().lower()


def find(session: Session, email: str) -> User | None:
    """The account with this e-mail address, active or not."""
    return session.scalar(select(User).where(User.email == normal_email(email)))


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active account whose e-mail and password these are, else None (same effort either way)."""
    user = find(session, email) if len(password) <= MAX_PASSWORD_LENGTH else None
    stored = user.password_hash if user is not None and user.active else _unknown_user_hash()
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


@cache
def _unknown_user_hash() -> str:
    """Checked against when the e-mail is unknown, so a wrong e-mail takes as long as a wrong password."""
    return _hasher.hash(secrets.token_hex(16))


def new_session_token() -> str:
    """A fresh `session_token`: signed-in sessions carry it, so replacing it ends them all."""
    return secrets.token_urlsafe(32)


def check_new(
    session: Session, email: str, role: str, county_code: int | None = None, phone: str | None = None,
    name: str | None = None,
) -> tuple[str, str | None]:
    """Refuse a new account that cannot be made (all but the password); its e-mail and phone as kept."""
    email = normal_email(email)
    if "@" not in email or len(email) > 254 or any(ch.isspace() for ch in email):
        raise UserError(f"{email!r} is not an e-mail address.")
    if role not in ROLES:
        raise UserError(f"Unknown role {role!r}: choose one of {', '.join(ROLES)}.")
    if find(session, email) is not None:
        raise UserError(f"There is already an account for {email}.")
    if county_code is not None and county_code not in by_code():
        raise UserError(f"{county_code} is not a county code (1 to 47).")
    if phone is not None:
        try:
            phone = normalise_phone(phone)
        except InvalidPhoneNumber:
            raise UserError(f"{phone!r} is not a phone number (write it as +2547…).") from None
    if role == "focal_point":
        if county_code is None or county_code == NATIONAL or phone is None:
            raise UserError(
                "A focal point needs --county (1 to 47) and --phone: the county's SMS directory entry."
            )
        if not name and _find_entry(session, county_code, phone) is None:
            raise UserError(f"No focal point with {phone} in county {county_code}: "
                            "give --name to add one to the directory.")
    return email, phone


def create(
    session: Session,
    email: str,
    role: str,
    password: str,
    *,
    county_code: int | None = None,
    phone: str | None = None,
    name: str | None = None,
    by: User | None = None,
    actor: str | None = None,
) -> User:
    """Make a console account (not yet enrolled in two-factor); audited as user_created."""
    email, phone = check_new(session, email, role, county_code, phone, name)
    check_password_rules(password)
    user = User(
        email=email,
        role=role,
        password_hash=hash_password(password),
        county_code=county_code,
        phone=phone,
        session_token=new_session_token(),
        active=True,
    )
    if role == "focal_point":
        entry = _find_entry(session, county_code, phone)
        user.focal_point = entry or _new_entry(session, county_code, phone, name)
    session.add(user)
    session.flush()
    audit.record(session, by, "user_created", actor=actor, target=email,
                 detail={"role": role, "county_code": county_code, "focal_point_id": user.focal_point_id})
    return user


def _find_entry(session: Session, county_code: int, phone: str) -> FocalPoint | None:
    """The county's focal point with this phone (the SMS directory entry)."""
    return session.scalar(
        select(FocalPoint).where(FocalPoint.county_code == county_code, FocalPoint.phone == phone)
    )


def _new_entry(session: Session, county_code: int, phone: str, name: str) -> FocalPoint:
    """A directory entry for a new focal point, notified after the county's others."""
    in_county = FocalPoint.county_code == county_code
    last = select(func.coalesce(func.max(FocalPoint.priority), 0)).where(in_county)
    entry = FocalPoint(county_code=county_code, name=name, organisation="", phone=phone,
                       priority=session.scalar(last) + 1)
    session.add(entry)
    return entry


def deactivate(session: Session, user: User, by: User | None = None, actor: str | None = None) -> None:
    """Close the account: it cannot sign in, and its open sessions end at their next request."""
    user.active = False
    user.session_token = new_session_token()
    audit.record(session, by, "user_deactivated", actor=actor, target=user.email)


def reset_two_factor(session: Session, user: User, by: User | None = None, actor: str | None = None) -> None:
    """Forget the authenticator key and recovery codes (a lost phone): set up again at next sign-in."""
    user.totp_secret = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    user.recovery_codes = None
    user.session_token = new_session_token()
    audit.record(session, by, "two_factor_reset", actor=actor, target=user.email)


def enrol(user: User, sealed_secret: str, now: datetime) -> None:
    """Set the user's authenticator key (sealed) as confirmed: demo accounts and tests, which know the key."""
    user.totp_secret = sealed_secret
    user.totp_confirmed_at = now
    user.totp_last_step = None


def enrolled(user: User) -> bool:
    """True once the user confirmed an authenticator app."""
    return user.totp_secret is not None and user.totp_confirmed_at is not None
