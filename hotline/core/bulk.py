"""Set-based statements for thousands of rows at once: one statement on PostgreSQL, portable elsewhere.

Campaign batches and delivery reports change up to a few thousand rows per transaction, each with
its own values. An executemany sends one UPDATE per row (PostgreSQL pipelines them, but still plans
and runs each), and an `IN (…)` of thousands of ids is rendered anew every time. On PostgreSQL we
send the values as arrays instead: `UPDATE t SET … FROM unnest(…) AS v(…) WHERE t.id = v.id`, and
`col = ANY(:array)`. SQLite (development, tests) gets the plain forms.
"""

from __future__ import annotations

from sqlalchemy import ARRAY, Table, any_, bindparam, literal, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

_PG = postgresql.dialect()


def _postgres(session: Session) -> bool:
    return session.bind.dialect.name == "postgresql"


def one_of(session: Session, column, values: list):
    """`column IN values` as the dialect likes it best (one array parameter on PostgreSQL)."""
    if _postgres(session):
        return column == any_(literal(list(values), ARRAY(column.type)))
    return column.in_(list(values))


def update_rows(
    session: Session,
    table: Table,
    rows: list[dict],
    guard: str = "",
    key: str = "id",
    same: dict | None = None,
) -> None:
    """Set each row's columns to its own values, matched by `key`; `guard` is extra SQL on `table`.

    Every dict in `rows` has the same keys: `key` and the columns to set. `same` holds columns set
    to one value for every row (cheaper than an array of copies). `guard` is a fixed SQL condition
    written with the bare table name (e.g. "campaign_recipient.state = 'sending'"): rows it
    excludes are left alone.
    """
    if not rows:
        return
    same = same or {}
    columns = [name for name in rows[0] if name != key]
    if _postgres(session):
        names = [key, *columns]
        arrays = ", ".join(
            f"CAST(:{name}_values AS {table.c[name].type.compile(dialect=_PG)}[])" for name in names
        )
        sets = [f"{name} = v.{name}" for name in columns] + [f"{name} = :{name}_same" for name in same]
        sql = (
            f"UPDATE {table.name} SET {', '.join(sets)} FROM unnest({arrays}) AS v({', '.join(names)}) "
            f"WHERE {table.name}.{key} = v.{key}" + (f" AND {guard}" if guard else "")
        )
        values = {f"{name}_values": [row[name] for row in rows] for name in names}
        values |= {f"{name}_same": value for name, value in same.items()}
        session.execute(text(sql).bindparams(*_typed(table, same)), values)
        return
    statement = update(table).where(table.c[key] == bindparam(f"_{key}"))
    if guard:
        statement = statement.where(text(guard))
    statement = statement.values(
        {name: bindparam(f"_{name}") for name in columns} | {name: literal(v) for name, v in same.items()}
    )
    session.execute(statement, [{f"_{name}": value for name, value in row.items()} for row in rows])


def _typed(table: Table, same: dict) -> list:
    """Bound parameters for the `same` values, typed like their columns (dates, decimals)."""
    return [bindparam(f"{name}_same", type_=table.c[name].type) for name in same]
