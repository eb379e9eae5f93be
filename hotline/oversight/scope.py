"""What a dashboard shows: whose tips (the viewer's scope) over which days and of which kind.

The scope is settled here, from the viewer, before any figure is computed: the secretariat and the
auditor see every county and the tips with none, a focal point their own county only (never the
tips of other counties they were sent by escalation: those are theirs to work, not their county's
figures). Query arguments are checked here too: a bad one falls back to the default with a message
the page shows, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flows.menu import TIP_KINDS
from flows.texts import text
from hotline.core.viewer import Viewer
from hotline.tips.inbox import kenya_midnight

DAYS = (30, 90, 365)
DEFAULT_DAYS = 90
NATIONAL_ROLES = ("secretariat", "auditor")


def kind_label(kind: str) -> str:
    """A tip kind in the console's words."""
    return text("en", "kind." + kind)


@dataclass(frozen=True)
class Scope:
    """Whose figures: `county` None for every county (and none), or one county code; `nothing` for
    a viewer who may see no county at all (a focal point account with no county)."""

    county: int | None = None
    nothing: bool = False

    @property
    def national(self) -> bool:
        """True when every county is in scope."""
        return self.county is None and not self.nothing


def scope_of(viewer: Viewer) -> Scope:
    """The dashboard scope of a signed-in viewer (ValueError for a role that has no dashboard)."""
    if viewer.role in NATIONAL_ROLES:
        return Scope()
    if viewer.role == "focal_point":
        return Scope(viewer.county_code) if viewer.county_code is not None else Scope(nothing=True)
    raise ValueError(f"the {viewer.role} role has no dashboard")


@dataclass(frozen=True)
class Window:
    """The last `days` Nairobi days up to `today` (included), and the tip kind asked for (None: all)."""

    days: int
    today: date
    kind: str | None = None

    @property
    def first_day(self) -> date:
        """The window's first Nairobi day."""
        return self.today - timedelta(days=self.days - 1)

    @property
    def start(self) -> datetime:
        """The window's first instant (Nairobi midnight of its first day), timezone-aware."""
        return kenya_midnight(self.first_day)

    def as_query(self) -> dict[str, str]:
        """The window as the page's query arguments (for links and the CSV downloads)."""
        return {"days": str(self.days), **({"kind": self.kind} if self.kind else {})}


def window_from(args, today: date) -> tuple[Window, list[str]]:
    """The window a request's query arguments ask for, and what was wrong with them (each wrong
    argument replaced by its default)."""
    problems = []
    days = DEFAULT_DAYS
    given = (args.get("days") or "").strip()
    if given:
        if given.isdigit() and int(given) in DAYS:
            days = int(given)
        else:
            problems.append(f"Days must be 30, 90 or 365; showing the last {DEFAULT_DAYS} days.")
    kind = (args.get("kind") or "").strip() or None
    if kind is not None and kind not in TIP_KINDS:
        problems.append("There is no such kind of tip; showing every kind.")
        kind = None
    return Window(days, today, kind), problems
