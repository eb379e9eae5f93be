"""The console's navigation: the sections each role may open, for base.html's `console_nav()`.

A section shows only once its page exists (its endpoint is registered), so the features can land
in any order. A feature whose endpoint is not in SECTIONS adds itself from its `init_app` with
`add_section(app, endpoint, label, roles)`.
"""

from __future__ import annotations

from flask import current_app
from flask_login import current_user

from hotline.core.viewer import ROLES

SECRETARIAT_AND_ADMIN = ("secretariat", "admin")
# (endpoint, label, roles), in the order the bar shows them.
SECTIONS = (
    ("desk.inbox", "Inbox", ("focal_point", "secretariat")),
    ("directory.focal_points", "Directory", SECRETARIAT_AND_ADMIN),
    ("directory.index", "Directory", SECRETARIAT_AND_ADMIN),
    ("audit.log", "Audit log", ("auditor", "secretariat")),
    ("users.index", "Users", ("admin",)),
    ("accounts.account", "My account", ROLES),
)
EXTENSION_KEY = "console_sections"


def add_section(app, endpoint: str, label: str, roles: tuple[str, ...], before: str = "accounts.account"):
    """Show `endpoint` in the bar to `roles` (placed before `before`, the account page by default)."""
    sections = app.extensions.setdefault(EXTENSION_KEY, list(SECTIONS))
    at = next((i for i, (name, _, _) in enumerate(sections) if name == before), len(sections))
    sections.insert(at, (endpoint, label, tuple(roles)))


def console_nav() -> list[tuple[str, str]]:
    """(endpoint, label) of each section the signed-in user may open, one per label."""
    if not (current_user.is_authenticated and current_user.signed_in):
        return []
    shown, labels = [], set()
    for endpoint, label, roles in current_app.extensions.get(EXTENSION_KEY, SECTIONS):
        if current_user.role in roles and endpoint in current_app.view_functions and label not in labels:
            shown.append((endpoint, label))
            labels.add(label)
    return shown
