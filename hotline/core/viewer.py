"""Who is looking: the signed-in console user as the services see them, whatever signed them in.

Every query of tips for a page takes a `Viewer` and is scoped by it before anything is rendered
(`hotline.tips.inbox`): a focal point sees their county's tips and those they were notified of by
escalation, the secretariat every tip, the other roles no tip content at all.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("focal_point", "secretariat", "campaign_manager", "admin", "auditor")
# Roles that see tip content: they must sign in with a second factor (TOTP).
TIP_ROLES = frozenset({"focal_point", "secretariat"})
ROLE_LABELS = {
    "focal_point": "County focal point",
    "secretariat": "CTiP secretariat",
    "campaign_manager": "Campaign manager",
    "admin": "Administrator",
    "auditor": "Auditor",
}


@dataclass(frozen=True)
class Viewer:
    """A signed-in console user: id, e-mail, role, county (focal points) and directory entry."""

    user_id: int
    email: str
    role: str
    county_code: int | None = None
    focal_point_id: int | None = None

    @property
    def sees_tips(self) -> bool:
        """True for the roles that work tips."""
        return self.role in TIP_ROLES

    @property
    def national(self) -> bool:
        """True for the secretariat: every county and the triage queue."""
        return self.role == "secretariat"
