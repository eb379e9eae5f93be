"""CSV and JSON, streamed: a table's rows are written one batch at a time as they come from the
database, never gathered into a list, so a million rows cost what a thousand do in memory.

The JSON is one object: the dataset's name, when it was made, the HTCDS attribution, the filters,
each field described, then `rows`, one object per row. The CSV is the header and the rows; its
fields are described by `--describe` (the same `fields` list as JSON).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from hotline.evidence.fields import ATTRIBUTION, Field

FORMATS = ("csv", "json")
BATCH = 2_000  # rows per write: big enough to keep the writer's calls few, small enough to stream


@dataclass
class Table:
    """A table to export: its name, fields, rows (an iterable read once), and what it was cut by."""

    name: str
    title: str
    fields: list[Field]
    rows: Iterable[list]
    generated_at: datetime
    filters: dict = field(default_factory=dict)
    written: int = 0

    def header(self) -> dict:
        """Everything the JSON says before its rows."""
        return {
            "dataset": self.title,
            "table": self.name,
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "attribution": ATTRIBUTION,
            "filters": {name: str(value) for name, value in self.filters.items() if value is not None},
            "fields": [f.describe() for f in self.fields],
        }


def _batches(table: Table, progress: Callable[[int], None] | None) -> Iterator[list[list]]:
    batch = []
    for row in table.rows:
        batch.append(row)
        if len(batch) == BATCH:
            table.written += len(batch)
            yield batch
            if progress:
                progress(len(batch))
            batch = []
    table.written += len(batch)
    yield batch
    if progress and batch:
        progress(len(batch))


def csv_chunks(table: Table, progress=None) -> Iterator[str]:
    """The table as CSV text, one chunk per batch of rows (the header first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([f.name for f in table.fields])
    for batch in _batches(table, progress):
        writer.writerows(batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def json_chunks(table: Table, progress=None) -> Iterator[str]:
    """The table as one JSON object, its rows written one batch at a time."""
    names = [f.name for f in table.fields]
    head = orjson.dumps(table.header(), option=orjson.OPT_INDENT_2).decode()
    yield head[: head.rindex("}")].rstrip() + ',\n  "rows": ['
    first = True
    for batch in _batches(table, progress):
        if not batch:
            continue
        lines = [orjson.dumps(dict(zip(names, row, strict=True))).decode() for row in batch]
        yield ("\n    " if first else ",\n    ") + ",\n    ".join(lines)
        first = False
    yield "\n  ]\n}\n"


def chunks(table: Table, fmt: str, progress=None) -> Iterator[str]:
    """The table in `fmt` (csv or json), as text chunks to write or stream."""
    return (json_chunks if fmt == "json" else csv_chunks)(table, progress)


def write(table: Table, out, fmt: str, progress=None) -> int:
    """Write the table to the text stream `out` in `fmt`; the number of rows written."""
    for chunk in chunks(table, fmt, progress):
        out.write(chunk)
    return table.written


def describe(table: Table) -> str:
    """The table's header and field descriptions as JSON (the CSV's companion)."""
    return orjson.dumps(table.header(), option=orjson.OPT_INDENT_2).decode() + "\n"
