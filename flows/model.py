"""Flows as data: screens, options and item lists, checked by `flows.validate`.

A flow is a dict of screens by id. Screen kinds:
- `menu`: numbered options, each leading to a screen (optionally storing a value in `field`);
- `list`: a long list of items (counties, kinds), paginated to fit, numbered 1..N across
  pages, optionally filtered by typing the first letters of a name;
- `text`: free text stored in `field`, `99` skips it when `skip` is set;
- `info`: a screen to read, with only navigation;
- `end`: the last screen of the session (`END`).

Texts are ids looked up in `flows.texts` per language, so every screen exists in every language.
"""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("menu", "list", "text", "info", "end")


@dataclass(frozen=True)
class Option:
    """One numbered choice on a menu."""

    label: str
    next: str
    value: str | None = None
    # (condition name, screen id) pairs tried in order before `next`.
    next_if: tuple[tuple[str, str], ...] = ()
    action: str | None = None

    def targets(self) -> tuple[str, ...]:
        """Every screen this option can lead to."""
        return (self.next, *(target for _, target in self.next_if))


@dataclass(frozen=True)
class Item:
    """One entry of a list screen: a stored value and its label (a text id or a literal)."""

    value: str
    label: str


@dataclass(frozen=True)
class Source:
    """The items of a list screen. `translate` says whether labels are text ids."""

    items: tuple[Item, ...]
    translate: bool = True
    filterable: bool = False


@dataclass(frozen=True)
class Screen:
    """One USSD screen."""

    id: str
    kind: str
    prompt: str
    options: tuple[Option, ...] = ()
    field: str | None = None
    next: str | None = None
    source: str | None = None
    skip: str | None = None  # text id of the `99` choice; stores nothing and goes to `next`
    action: str | None = None  # run on entering the screen
    params: tuple[tuple[str, int], ...] = ()  # placeholders in the prompt and their max lengths
    draft: bool = False  # part of a report: saved for resume after every step
    max_length: int = 500  # longest free text kept
    hints: tuple[str, ...] = ()  # hints its actions may show, beyond the engine's for its kind

    def targets(self) -> tuple[str, ...]:
        """Every screen this screen can lead to."""
        found = [target for option in self.options for target in option.targets()]
        if self.next:
            found.append(self.next)
        return tuple(found)


@dataclass(frozen=True, eq=False)
class Flow:
    """A set of screens with a start screen, the sources of its lists and its action names."""

    start: str
    screens: dict[str, Screen]
    sources: dict[str, Source] = field(default_factory=dict)
    # Screens an action may jump to that no option names (e.g. resume).
    dynamic_targets: tuple[str, ...] = ()

    def __getitem__(self, screen_id: str) -> Screen:
        return self.screens[screen_id]

    def field_owner(self, name: str) -> Screen | None:
        """The screen that sets answer `name`, to turn a stored value back into its label."""
        for screen in self.screens.values():
            if screen.field == name:
                return screen
        return None


def flow_of(start: str, screens: list[Screen], **kwargs) -> Flow:
    """Build a Flow from a list of screens, refusing duplicate ids."""
    by_id: dict[str, Screen] = {}
    for screen in screens:
        if screen.id in by_id:
            raise ValueError(f"duplicate screen id {screen.id!r}")
        by_id[screen.id] = screen
    return Flow(start=start, screens=by_id, **kwargs)
