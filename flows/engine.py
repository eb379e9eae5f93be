"""The flow engine: applies one input to a session's state and renders the screen it leads to.

It knows nothing of Africa's Talking or Redis: the USSD service feeds it inputs and stores the
state between requests. Navigation keys on every screen where they apply: `0` back, `00` main
menu, `98` more, `99` skip (only where the screen offers it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from flows.gsm import septets, to_gsm7
from flows.model import Flow, Item, Screen
from flows.texts import TEXTS, text

SCREEN_LIMIT = 160
BACK, HOME, MORE, SKIP = "0", "00", "98", "99"
MAX_STACK = 40
# The hints the engine itself may show on each kind of screen; a screen names any its actions add.
HINTS = {
    "menu": ("hint.invalid",),
    "list": ("hint.invalid", "hint.no_more", "hint.no_match"),
    "text": ("hint.required",),
    "info": ("hint.invalid",),
    "end": (),
}

Action = Callable[["State", object], str | None]
Condition = Callable[["State"], bool]


@dataclass
class State:
    """Where a session is: screen, page, filter, answers so far, and the way back."""

    lang: str
    screen: str
    page: int = 0
    filter: str = ""
    answers: dict = field(default_factory=dict)
    stack: list = field(default_factory=list)
    hint: str | None = None
    params: dict = field(default_factory=dict)
    text: str = ""
    reply: str = ""
    ended: bool = False
    draft: dict | None = None  # an unfinished report, kept by the USSD layer for resume

    def to_dict(self) -> dict:
        """A JSON-ready view (shallow: it is serialised at once)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict) -> State:
        """Rebuild from `to_dict` output, ignoring unknown keys."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class Reply:
    """A rendered screen: its text and whether the session ends with it."""

    text: str
    end: bool


class Engine:
    """Runs one flow. Actions and conditions are looked up by the names the flow uses."""

    def __init__(self, flow: Flow, actions: dict[str, Action], conditions: dict[str, Condition]):
        self.flow = flow
        self.actions = actions
        self.conditions = conditions

    # -- state transitions -------------------------------------------------------------

    def start(self, lang: str, screen: str | None = None) -> State:
        """A new session's state on `screen` (the flow's start by default)."""
        return State(lang=lang, screen=screen or self.flow.start)

    def feed(self, state: State, raw: str, ctx: object, *, replay: bool = False) -> None:
        """Apply what the user typed. A `*` separates inputs, except inside free text.

        Live, the newest input is whole: a free-text screen keeps any `*` in it. When a lost
        session is rebuilt by replaying AT's `text` (many inputs joined by `*`), a free-text
        screen takes as many `*`-separated pieces as `free_text_span` finds are its own.
        """
        if not replay:
            rest: str | None = raw
            while rest is not None and not state.ended:
                if self.flow[state.screen].kind == "text":
                    value, rest = rest, None
                else:
                    value, sep, tail = rest.partition("*")
                    rest = tail if sep else None
                self.step(state, value, ctx)
            return
        pieces, at = raw.split("*"), 0
        while at < len(pieces) and not state.ended:
            screen = self.flow[state.screen]
            span = self.free_text_span(screen, pieces[at:]) if screen.kind == "text" else 1
            self.step(state, "*".join(pieces[at : at + span]), ctx)
            at += span

    def free_text_span(self, screen: Screen, pieces: list[str]) -> int:
        """How many of the `*`-separated pieces that follow belong to this free-text answer.

        The answers of a run of free-text screens (place, then what happened) end at the first
        piece the next screen after the run accepts (the danger question takes `1`-`3`), or at
        the end of the text (the session stopped in the run). The last free-text screen of the
        run takes the whole stretch left to it. An earlier one ends its answer at the first `*`
        without a space or nothing on either side (`market * stall 5` and `**` are typed inside
        the text; `Lurambi*He said` is two answers), else takes all it can, leaving one piece to
        each later free-text screen. Text like `Plot 5*B` followed by another answer is
        ambiguous; it is split.
        """
        run, after = self._free_text_run(screen)
        if after is None or after.kind == "end":
            return len(pieces)
        end = next(
            (i for i in range(len(run), len(pieces)) if self.accepts(after, pieces[i])), len(pieces)
        )
        if len(run) == 1:
            return end
        later = len(run) - 1 if end < len(pieces) else 0
        for boundary in range(1, end - later):
            left, right = pieces[boundary - 1], pieces[boundary]
            inside = not left or not right or left[-1].isspace() or right[0].isspace()
            if not inside:
                return boundary
        return max(1, end - later)

    def _free_text_run(self, screen: Screen) -> tuple[list[Screen], Screen | None]:
        run = [screen]
        while run[-1].next and self.flow[run[-1].next].kind == "text" and len(run) < len(self.flow.screens):
            run.append(self.flow[run[-1].next])
        return run, self.flow[run[-1].next] if run[-1].next else None

    def accepts(self, screen: Screen, raw: str) -> bool:
        """Would this screen take `raw` as an answer or a navigation key (without acting on it)?"""
        value = raw.strip()
        if value in (HOME, BACK) and screen.id != self.flow.start:
            return True
        if value == SKIP and screen.skip:
            return True
        index = _number(value)
        if screen.kind == "menu":
            return index is not None and 1 <= index <= len(screen.options)
        if screen.kind == "list":
            if value == MORE or (index is not None and 1 <= index <= len(self.items(screen))):
                return True
            filterable = self.flow.sources[screen.source].filterable
            return filterable and index is None and bool(self.items(screen, value))
        if screen.kind == "text":
            return bool(clean_text(value))
        return False

    def step(self, state: State, value: str, ctx: object) -> None:
        """Apply one input to the current screen."""
        screen = self.flow[state.screen]
        value = value.strip()
        state.hint = None
        if screen.kind == "end":
            return
        if value == HOME and screen.id != self.flow.start:
            state.stack.clear()
            self._set(state, self.flow.start)
            return
        if value == BACK and screen.id != self.flow.start:
            self._back(state)
            return
        if value == SKIP and screen.skip:
            state.answers.pop(screen.field, None)
            self._advance(state, screen.next, ctx)
            return
        handler = getattr(self, f"_on_{screen.kind}")
        handler(state, screen, value, ctx)

    def _on_menu(self, state: State, screen: Screen, value: str, ctx: object) -> None:
        index = _number(value)
        if index is None or not 1 <= index <= len(screen.options):
            state.hint = "hint.invalid"
            return
        option = screen.options[index - 1]
        if screen.field and option.value is not None:
            state.answers[screen.field] = option.value
        target = option.next
        for condition, alternative in option.next_if:
            if self.conditions[condition](state):
                target = alternative
                break
        if option.action:
            target = self.actions[option.action](state, ctx) or target
            if state.screen != screen.id:  # the action navigated itself (e.g. resume)
                state.ended = self.flow[state.screen].kind == "end"
                return
        self._advance(state, target, ctx)

    def _on_list(self, state: State, screen: Screen, value: str, ctx: object) -> None:
        source = self.flow.sources[screen.source]
        items = self.items(screen, state.filter)
        pages = self.pages(screen, state.lang, state.filter)
        if value == MORE:
            if state.page + 1 < len(pages):
                self._push(state)
                state.page += 1
            else:
                state.hint = "hint.no_more"
            return
        index = _number(value)
        if index is not None:
            if not 1 <= index <= len(items):
                state.hint = "hint.invalid"
                return
            state.answers[screen.field] = items[index - 1].value
            self._advance(state, screen.next, ctx)
            return
        if not source.filterable:
            state.hint = "hint.invalid"
            return
        matches = self.items(screen, value)
        if not matches:
            state.hint = "hint.no_match"
        elif len(matches) == 1:
            state.answers[screen.field] = matches[0].value
            self._advance(state, screen.next, ctx)
        else:
            self._push(state)
            state.filter, state.page = value, 0

    def _on_text(self, state: State, screen: Screen, value: str, ctx: object) -> None:
        cleaned = clean_text(value)[: screen.max_length]
        if not cleaned:
            state.hint = "hint.required"
            return
        state.answers[screen.field] = cleaned
        self._advance(state, screen.next, ctx)

    def _on_info(self, state: State, screen: Screen, value: str, ctx: object) -> None:
        state.hint = "hint.invalid"

    def _advance(self, state: State, target: str, ctx: object) -> None:
        self._push(state)
        self._set(state, target)
        screen = self.flow[target]
        if screen.action:
            jump = self.actions[screen.action](state, ctx)
            if jump and state.stack and state.stack[-1][0] == jump:
                state.stack.pop()  # sent back where it came from (e.g. with a hint): not a step forward
            if jump:
                self._set(state, jump)

    def _set(self, state: State, target: str) -> None:
        state.screen, state.page, state.filter = target, 0, ""
        state.ended = self.flow[target].kind == "end"

    def _push(self, state: State) -> None:
        state.stack.append([state.screen, state.page, state.filter])
        del state.stack[:-MAX_STACK]

    def _back(self, state: State) -> None:
        if not state.stack:
            self._set(state, self.flow.start)
            return
        screen, page, filter_ = state.stack.pop()
        self._set(state, screen)
        state.page, state.filter = page, filter_

    # -- lists and pages ---------------------------------------------------------------

    def items(self, screen: Screen, typed: str = "") -> tuple[Item, ...]:
        """The items of a list screen, narrowed to names starting with `typed` if given."""
        return _filtered(self.flow, screen.id, typed)

    def label(self, item: Item, lang: str, translate: bool) -> str:
        """An item's label in `lang`."""
        return text(lang, item.label) if translate else item.label

    def pages(self, screen: Screen, lang: str, typed: str = "") -> list[list[tuple[int, Item]]]:
        """The items of a list screen split into pages that fit one screen, with any hint."""
        return _pages(self, screen.id, lang, typed)

    # -- rendering ---------------------------------------------------------------------

    def render(self, state: State) -> Reply:
        """The screen for `state`, as text of at most 160 GSM-7 characters."""
        screen = self.flow[state.screen]
        lines = [text(state.lang, state.hint)] if state.hint else []
        prompt = self.prompt(screen, state)
        if prompt:
            lines.append(prompt)
        if screen.kind == "end":
            return Reply("\n".join(lines), end=True)
        more = False
        if screen.kind == "menu":
            lines += [f"{n}. {text(state.lang, o.label)}" for n, o in enumerate(screen.options, 1)]
        elif screen.kind == "list":
            pages = self.pages(screen, state.lang, state.filter)
            page = min(state.page, len(pages) - 1)
            translate = self.flow.sources[screen.source].translate
            lines += [f"{n}. {self.label(item, state.lang, translate)}" for n, item in pages[page]]
            more = page + 1 < len(pages)
        footer = self.footer(screen, state.lang, more)
        if footer:
            lines.append(footer)
        return Reply("\n".join(lines), end=False)

    def footer(self, screen: Screen, lang: str, more: bool) -> str:
        """The navigation line of a screen."""
        parts = [text(lang, "nav.more")] if more else []
        if screen.skip:
            parts.append(text(lang, screen.skip))
        if screen.id != self.flow.start:
            parts += [text(lang, "nav.back"), text(lang, "nav.home")]
        return " ".join(parts)

    def prompt(self, screen: Screen, state: State) -> str:
        """The screen's prompt with its placeholders filled, each cut to its declared length."""
        template = text(state.lang, screen.prompt)
        if not screen.params:
            return template
        values = {}
        for name, limit in screen.params:
            value = state.params.get(name) or self.answer_label(state, name)
            values[name] = _cut(to_gsm7(value), limit)
        return template.format(**values)

    def answer_label(self, state: State, name: str) -> str:
        """An answer as people read it: a choice's label, or the typed text."""
        value = state.answers.get(name)
        owner = self.flow.field_owner(name)
        if value is None:
            return text(state.lang, "county.unknown") if name == "county" else "-"
        if owner and owner.kind == "list":
            source = self.flow.sources[owner.source]
            for item in source.items:
                if item.value == value:
                    return self.label(item, state.lang, source.translate)
        if owner and owner.kind == "menu":
            for option in owner.options:
                if option.value == value:
                    return text(state.lang, option.label)
        return str(value)


def clean_text(value: str) -> str:
    """Free text made safe to store: no control characters, single spaces."""
    printable = "".join(ch if ch.isprintable() else " " for ch in value)
    return " ".join(printable.split())


def _number(value: str) -> int | None:
    # ASCII only: '²'.isdigit() is true and int('²') fails; '٣' is no key on a phone.
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 3 else None


def _cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 2] + ".."


@lru_cache(maxsize=2048)
def _filtered(flow: Flow, screen_id: str, typed: str) -> tuple[Item, ...]:
    items = flow.sources[flow[screen_id].source].items
    if not typed:
        return items
    return tuple(item for item in items if name_matches(item.label, typed))


@lru_cache(maxsize=2048)
def _pages(engine: Engine, screen_id: str, lang: str, typed: str) -> list[list[tuple[int, Item]]]:
    screen = engine.flow[screen_id]
    translate = engine.flow.sources[screen.source].translate
    worst_hint = max(septets(TEXTS[lang][h]) for h in HINTS["list"])
    prompt = septets(text(lang, screen.prompt))
    numbered = list(enumerate(engine.items(screen, typed), 1))
    pages: list[list[tuple[int, Item]]] = []
    while numbered:
        page: list[tuple[int, Item]] = []
        while numbered:
            candidate = page + [numbered[0]]
            last = len(numbered) == 1
            body = sum(septets(f"{n}. {engine.label(item, lang, translate)}") + 1 for n, item in candidate)
            footer = septets(engine.footer(screen, lang, more=not last))
            if worst_hint + 1 + prompt + 1 + body + footer > SCREEN_LIMIT and page:
                break
            page.append(numbered.pop(0))
        pages.append(page)
    return pages or [[]]


def fold(text: str) -> str:
    """A name reduced to lowercase letters, for matching what people type on a keypad."""
    return re.sub(r"[^a-z]", "", text.lower())


def name_matches(name: str, typed: str) -> bool:
    """True when `typed` starts a list item's name or any word of it (a county: `taveta`, `nithi`)."""
    query = fold(typed)
    if not query:
        return False
    words = [fold(word) for word in re.split(r"[^A-Za-z']+", name) if word]
    return fold(name).startswith(query) or any(word.startswith(query) for word in words)
