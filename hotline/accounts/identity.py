"""Who is signed in: Flask-Login's user, made for each request from the `User` row.

The session cookie holds the account's `session_token`, not its id: the loader finds the active
account with that token, so deactivating an account (or resetting its second factor) replaces the
token and ends every session of it at its next request. Signing in takes two steps in one session,
the password and then the authenticator code (or a recovery code): `signed_in` is true only after
both. Every role needs the second step (README: The console).
"""

from __future__ import annotations

from flask import session
from flask_login import UserMixin
from sqlalchemy import select

from hotline.core.extensions import current
from hotline.core.models import User
from hotline.core.viewer import ROLE_LABELS, TIP_ROLES, Viewer

# Session keys: the second step was done; when the user was last active (seconds since the epoch).
SECOND_FACTOR = "second_factor"
SEEN = "seen"


class ConsoleUser(UserMixin):
    """The signed-in console user of this request (a snapshot of their `User` row)."""

    def __init__(self, user: User):
        self.user_id = user.id
        self.email = user.email
        self.role = user.role
        self.county_code = user.county_code
        self.focal_point_id = user.focal_point_id
        self.session_token = user.session_token
        self.enrolled = user.totp_confirmed_at is not None

    def get_id(self) -> str:
        """What Flask-Login keeps in the session: the account's current session token."""
        return self.session_token

    @property
    def role_label(self) -> str:
        """The role in words."""
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def sees_tips(self) -> bool:
        """True for the roles that work tips."""
        return self.role in TIP_ROLES

    @property
    def signed_in(self) -> bool:
        """True once the password and the second factor were both given in this session."""
        return bool(session.get(SECOND_FACTOR))

    @property
    def viewer(self) -> Viewer:
        """The user as the services see them."""
        return Viewer(self.user_id, self.email, self.role, self.county_code, self.focal_point_id)

    def row(self) -> User:
        """This user's `User` row in the request's database session."""
        return current().sessions().get(User, self.user_id)


def load_user(session_token: str) -> ConsoleUser | None:
    """Flask-Login's user loader: the active account holding this session token, or nobody."""
    user = current().sessions().scalar(
        select(User).where(User.session_token == session_token, User.active.is_(True))
    )
    return ConsoleUser(user) if user is not None else None
