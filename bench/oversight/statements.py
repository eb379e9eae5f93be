"""Which SQL statements a piece of work spent its time in: every statement an engine runs while a
`Statements` block is open is timed (SQLAlchemy's cursor events), grouped by its text; `explain` shows
PostgreSQL's plan of one, as it ran (EXPLAIN ANALYZE, inside a transaction that is rolled back)."""

from __future__ import annotations

import re
import time

from sqlalchemy import event

SPACES = re.compile(r"\s+")


class Statements:
    """Times each statement `engine` runs inside the block: `top(n)` the costliest, by total time."""

    def __init__(self, engine):
        self.engine = engine
        # statement -> [runs, seconds in all, parameters of the slowest run, its seconds, first's, last's]
        self.totals: dict[str, list] = {}
        self._started: list[float] = []
        # Settings the work made for its transaction (SELECT set_config(...)): an explanation replays them.
        self.settings: list[tuple[str, object]] = []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, _conn, _cursor, _statement, _parameters, _context, _many) -> None:
        self._started.append(time.perf_counter())

    def _after(self, _conn, _cursor, statement, parameters, _context, _many) -> None:
        seconds = time.perf_counter() - self._started.pop()
        if "set_config(" in statement and (statement, parameters) not in self.settings:
            self.settings.append((statement, parameters))
        entry = self.totals.setdefault(statement, [0, 0.0, parameters, 0.0, seconds, 0.0])
        entry[0] += 1
        entry[1] += seconds
        entry[5] = seconds
        if seconds >= entry[3]:
            entry[2], entry[3] = parameters, seconds

    def top(self, count: int = 5) -> list[dict]:
        """The `count` statements that took the most time in all: text (shortened), runs, milliseconds in
        all, of the first, the last and the slowest run (a statement run in chunks that slows as it goes
        shows it here)."""
        ranked = sorted(self.totals.items(), key=lambda item: -item[1][1])[:count]
        return [{"sql": SPACES.sub(" ", statement).strip()[:300], "runs": runs,
                 "ms": round(seconds * 1000, 1), "first_ms": round(first * 1000, 1),
                 "last_ms": round(last * 1000, 1), "max_ms": round(slowest * 1000, 1),
                 "statement": statement, "parameters": parameters}
                for statement, (runs, seconds, parameters, slowest, first, last) in ranked]

    def total_ms(self) -> float:
        """Milliseconds spent in every statement."""
        return round(sum(entry[1] for entry in self.totals.values()) * 1000, 1)


def explain(engine, statement: str, parameters, settings=()) -> list[str]:
    """PostgreSQL's plan of `statement` as it ran (EXPLAIN (ANALYZE, BUFFERS)), after the `settings`
    the work made (Statements.settings: work_mem and the like); rolled back afterwards, so a DELETE or
    UPDATE explained changes nothing."""
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        try:
            with raw.cursor() as cursor:
                for setting, values in settings:
                    cursor.execute(setting, values or None)
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters or None)
                lines = [row[0] for row in cursor.fetchall()]
        finally:
            raw.rollback()
    return lines
