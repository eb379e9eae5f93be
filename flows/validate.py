"""The flow validator: dangling links, orphans, missing texts, the glossary, screen length and alphabet.

Every screen is rendered in every language in its worst case (the longest hint, every
placeholder at its longest, every page of every list and of every one-letter filter) and must
fit 160 GSM-7 characters.
"""

from __future__ import annotations

import re
import string

from flows.engine import HINTS, SCREEN_LIMIT, Engine, State
from flows.glossary import violations
from flows.gsm import is_gsm7, offending, septets
from flows.model import KINDS, Flow, Screen
from flows.texts import LANGUAGES, TEXTS

_PLACEHOLDER = re.compile(r"{(\w+)}")


def problems(engine: Engine) -> list[str]:
    """Everything wrong with the engine's flow, as sentences; empty when it is sound."""
    found = _text_problems() + _structure_problems(engine)
    for screen in engine.flow.screens.values():
        for lang in LANGUAGES:
            found += screen_problems(engine, screen, lang)
    return found


def _text_problems() -> list[str]:
    found = []
    keys = {lang: set(table) for lang, table in TEXTS.items()}
    for lang in LANGUAGES:
        for other in LANGUAGES:
            for key in sorted(keys[lang] - keys[other]):
                found.append(f"text {key!r} exists in {lang} but not in {other}")
        for key, value in TEXTS[lang].items():
            if not is_gsm7(value):
                found.append(f"text {key!r} ({lang}) has non-GSM-7 {offending(value)!r}")
            found += violations(lang, key, value)
    return found


def _structure_problems(engine: Engine) -> list[str]:
    flow: Flow = engine.flow
    found = []
    for screen in flow.screens.values():
        where = f"screen {screen.id!r}"
        if screen.kind not in KINDS:
            found.append(f"{where} has unknown kind {screen.kind!r}")
        for target in screen.targets():
            if target not in flow.screens:
                found.append(f"{where} links to missing screen {target!r}")
        if screen.kind in ("list", "text") and not (screen.field and screen.next):
            found.append(f"{where} needs a field and a next screen")
        if screen.kind == "menu" and not screen.options:
            found.append(f"{where} is a menu without options")
        if screen.kind == "list" and screen.source not in flow.sources:
            found.append(f"{where} lists unknown source {screen.source!r}")
        if screen.kind == "end" and (screen.options or screen.next):
            found.append(f"{where} ends the session but has ways out")
        names = [screen.action] + [o.action for o in screen.options]
        for action in filter(None, names):
            if action not in engine.actions:
                found.append(f"{where} uses unknown action {action!r}")
        for option in screen.options:
            for condition, _ in option.next_if:
                if condition not in engine.conditions:
                    found.append(f"{where} uses unknown condition {condition!r}")
        declared = {name for name, _ in screen.params}
        for lang in LANGUAGES:
            used = set(_PLACEHOLDER.findall(TEXTS[lang].get(screen.prompt, "")))
            if used != declared:
                found.append(f"{where} ({lang}) uses {sorted(used)} but declares {sorted(declared)}")
    for target in flow.dynamic_targets:
        if target not in flow.screens:
            found.append(f"dynamic target {target!r} is not a screen")
    reachable = _reachable(flow)
    for screen_id in flow.screens:
        if screen_id not in reachable:
            found.append(f"screen {screen_id!r} cannot be reached")
    return found


def _reachable(flow: Flow) -> set[str]:
    seen: set[str] = set()
    todo = [flow.start, *flow.dynamic_targets]
    while todo:
        screen_id = todo.pop()
        if screen_id in seen or screen_id not in flow.screens:
            continue
        seen.add(screen_id)
        todo.extend(flow.screens[screen_id].targets())
    return seen


def screen_problems(engine: Engine, screen: Screen, lang: str) -> list[str]:
    """Every rendering of `screen` in `lang` that is too long or not GSM-7."""
    texts = [text_key for text_key in [screen.prompt, screen.skip] if text_key]
    missing = [key for key in texts if key not in TEXTS[lang]]
    if missing:
        return [f"screen {screen.id!r} ({lang}) misses texts {missing}"]
    found = []
    for rendered, label in worst_renderings(engine, screen, lang):
        where = f"screen {screen.id!r} ({lang}{label})"
        if septets(rendered) > SCREEN_LIMIT:
            found.append(f"{where} is {septets(rendered)} characters: {rendered!r}")
        if not is_gsm7(rendered):
            found.append(f"{where} has non-GSM-7 characters {offending(rendered)!r}")
    return found


def worst_renderings(engine: Engine, screen: Screen, lang: str):
    """Every worst-case rendering of `screen` in `lang` (text, label): the longest hint it can show,
    every placeholder at its longest, every page of every list and of every one-letter filter."""
    hints = (*HINTS[screen.kind], *screen.hints) or (None,)
    worst_hint = max(hints, key=lambda h: septets(TEXTS[lang][h]) if h else 0)
    yield from _renderings(engine, screen, lang, worst_hint)


def _renderings(engine: Engine, screen: Screen, lang: str, hint: str):
    params = {name: "W" * limit for name, limit in screen.params}
    base = State(lang=lang, screen=screen.id, hint=None if screen.kind == "end" else hint, params=params)
    if screen.kind != "list":
        yield engine.render(base).text, ""
        return
    filters = [""]
    if engine.flow.sources[screen.source].filterable:
        filters += list(string.ascii_lowercase)
    for typed in filters:
        for page in range(len(engine.pages(screen, lang, typed))):
            state = State(lang=lang, screen=screen.id, hint=hint, page=page, filter=typed)
            yield engine.render(state).text, f", filter {typed!r}, page {page + 1}"
