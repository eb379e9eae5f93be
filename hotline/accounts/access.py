"""Who may open a console page: `roles_required` on every view, `current_viewer()` for the services.

A user counts as signed in once the password was right and, for the roles that see tip content,
the authenticator code too (`ConsoleUser.signed_in`). Anyone else is sent to sign in (a page) or
refused with 401 (an htmx fragment, whose caller then reloads to the sign-in page).
"""

from __future__ import annotations

from functools import wraps

from flask import abort, redirect, request, url_for
from flask_login import current_user

from hotline.core.viewer import Viewer


def current_viewer() -> Viewer:
    """The signed-in user as the services see them."""
    return current_user.viewer


def roles_required(*roles: str):
    """View decorator: signed in (with the second factor where the role needs it) with one of `roles`."""

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if not (current_user.is_authenticated and current_user.signed_in):
                if request.headers.get("HX-Request"):
                    return ("Signed out: reload the page to sign in again.", 401, {"HX-Refresh": "true"})
                return redirect(url_for("accounts.sign_in", next=request.full_path.rstrip("?")))
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        guarded.roles = roles  # read by the test that checks every console view is guarded
        return guarded

    return decorate
