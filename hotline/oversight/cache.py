"""The dashboard's figures kept in Redis for two minutes, per scope and arguments.

The national page over 365 days reads some 450,000 tips (a million over three years): about a
second of PostgreSQL's time on two shared cores, cold. Kept for `CACHE_SECONDS`, the page then
costs a Redis read and the template, and says how old its figures are ("figures as of 14:05").
A CSV download takes its table from the page's figures when they are kept, so it matches what the
page showed; otherwise it computes its own chart, fresh. Kept as JSON (the tables' cells and the
charts' SVG), never pickled: a Redis reader can change nothing but figures. Redis down: computed.

The default views, national over 30, 90 and 365 days of every kind (what the secretariat and the
auditor open), are kept warm by the worker: its sweep (workers/sweeper.py, every minute) calls
`warm`, which computes them again when they are missing or older than `WARM_AFTER` seconds, so no
viewer waits for them; when they are fresh it costs one Redis read. Their page still says how old
they are. Other views (a focal point's county, one kind) are computed by the first viewer.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import datetime

import redis
from markupsafe import Markup
from sqlalchemy.orm import Session

from hotline.core.config import Config
from hotline.core.time import NAIROBI
from hotline.oversight.dashboard import Dashboard, Section, build
from hotline.oversight.scope import DAYS, Scope, Window
from hotline.oversight.tables import Column, Row, Table

# Two sweeps' time: a sweep that starts late in its minute still finds the warm views kept.
CACHE_SECONDS = 120
VERSION = 1  # bump when what is kept changes shape
# The sweep runs every minute: at 45 s it computes again what would expire before the next sweep.
WARM_AFTER = 45
log = logging.getLogger(__name__)


def key(config: Config, scope: Scope, window: Window) -> str:
    """The Redis key of a page's figures: scope, days, kind, the day, and the deadlines they used."""
    deadlines = hashlib.sha256(json.dumps(config.escalation_minutes, sort_keys=True).encode()).hexdigest()[:8]
    who = "none" if scope.nothing else "all" if scope.county is None else str(scope.county)
    return f"dashboard:v{VERSION}:{who}:{window.days}:{window.kind or 'all'}:{window.today}:{deadlines}"


def kept(client: redis.Redis, config: Config, scope: Scope, window: Window,
         now: datetime) -> Dashboard | None:
    """The page's figures as kept, if they are younger than CACHE_SECONDS."""
    try:
        text = client.get(key(config, scope, window))
    except redis.RedisError as error:
        log.warning("dashboard cache unreadable: %s", error)
        return None
    if text is None:
        return None
    board = load(text, scope, window)
    return board if 0 <= (now - board.as_of).total_seconds() < CACHE_SECONDS else None


def cached(client: redis.Redis, config: Config, scope: Scope, window: Window, now: datetime,
           compute: Callable[[], Dashboard]) -> Dashboard:
    """The page's figures: kept ones if fresh, else computed (and kept)."""
    board = kept(client, config, scope, window, now)
    if board is not None:
        return board
    board = compute()
    keep(client, config, board)
    return board


def keep(client: redis.Redis, config: Config, board: Dashboard) -> None:
    """Keep a dashboard's figures for CACHE_SECONDS (nothing when Redis is down)."""
    try:
        client.set(key(config, board.scope, board.window), dump(board), ex=CACHE_SECONDS)
    except redis.RedisError as error:
        log.warning("dashboard cache not written: %s", error)


def warm(session: Session, client: redis.Redis, config: Config, now: datetime) -> list[int]:
    """Compute and keep the national figures of every window of every kind whose kept ones are
    missing or older than WARM_AFTER seconds; the days of the windows computed (none when all were
    fresh: one Redis read)."""
    today = now.astimezone(NAIROBI).date()
    windows = [Window(days, today) for days in DAYS]
    try:
        texts = client.mget([key(config, Scope(), window) for window in windows])
    except redis.RedisError as error:
        log.warning("dashboard cache unreadable, not warmed: %s", error)
        return []
    done = []
    for window, text in zip(windows, texts, strict=True):
        if text is not None and 0 <= (now - _as_of(text)).total_seconds() < WARM_AFTER:
            continue
        keep(client, config, build(session, config, Scope(), window, now))
        done.append(window.days)
    return done


def _as_of(text: str | bytes) -> datetime:
    return datetime.fromisoformat(json.loads(text)["as_of"])


def dump(board: Dashboard) -> str:
    """A dashboard as JSON."""
    sections = {
        name: {
            "title": s.title, "chart": str(s.chart), "legend": str(s.legend), "note": s.note,
            "columns": [[c.label, c.kind, c.csv_label] for c in s.table.columns],
            "rows": [[list(r.values), r.county, r.no_county] for r in s.table.rows],
            "total": list(s.table.total) if s.table.total else None,
        }
        for name, s in board.sections.items()
    }
    return json.dumps({"as_of": board.as_of.isoformat(), "map": list(board.map_values.items()),
                       "sections": sections})


def load(text: str | bytes, scope: Scope, window: Window) -> Dashboard:
    """A dashboard from its JSON."""
    data = json.loads(text)
    board = Dashboard(scope, window, as_of=datetime.fromisoformat(data["as_of"]),
                      map_values={code: n for code, n in data["map"]})
    for name, s in data["sections"].items():
        table = Table(name, s["title"], tuple(Column(*c) for c in s["columns"]),
                      [Row(tuple(values), county, no_county) for values, county, no_county in s["rows"]],
                      tuple(s["total"]) if s["total"] else None)
        board.sections[name] = Section(name, s["title"], table, Markup(s["chart"]), Markup(s["legend"]),
                                       s["note"])
    return board
