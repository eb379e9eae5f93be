"""Importing a directory CSV (focal points, agencies, contacts): check every row, then upsert.

A file is UTF-8 (a BOM is fine) with a header row naming exactly the spec's columns, in any order.
Every row goes through the file's validator; each bad one is reported as `line N: reason`, with
line numbers as an editor shows them (the header is line 1). By default one bad row rejects the
whole file, so a directory is never left half-updated; `skip_invalid` imports the good rows.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import phonenumbers

from hotline.core.errors import HotlineError, InvalidPhoneNumber
from hotline.core.privacy import normalise_phone


class RowError(HotlineError):
    """A row its file's validator rejects; the message is the reason."""


class FieldErrors(HotlineError):
    """An entry typed in a console form that its checks refuse: `problems` maps each bad field to why."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(problems.values()))
        self.problems = problems


class FileRejected(HotlineError):
    """A file that cannot be read as this kind of CSV at all (encoding, header)."""


@dataclass
class Counts:
    """What an upsert did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}"


@dataclass(frozen=True)
class CsvSpec:
    """One kind of file: its columns, its row validator, its natural key and its upsert."""

    name: str  # what the rows are, for messages: "focal points"
    columns: tuple[str, ...]
    validate: Callable[[dict[str, str]], Any]  # clean row, or RowError
    key: Callable[[Any], Hashable]  # natural key of a clean row: twice in one file is an error
    key_columns: tuple[str, ...]  # the columns the key is made of, for messages
    upsert: Callable[[Any, Iterable[Any]], Counts]  # (session, clean rows) -> Counts


@dataclass
class Checked:
    """A checked file: its good rows and, sorted by line, what is wrong with the others."""

    rows: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Report:
    """The outcome of an import; `counts` is None when the file was rejected."""

    checked: Checked
    counts: Counts | None


def text_column(column: str, limit: int, required: bool = True):
    """A parser for a free-text column: spaces folded, length checked, empty refused if required."""

    def parse(text: str) -> str:
        text = " ".join(text.split())
        if required and not text:
            raise ValueError(f"{column} is empty")
        if len(text) > limit:
            raise ValueError(f"{column} is longer than {limit} characters ({len(text)})")
        return text

    return parse


SMS_CAPABLE = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
# Kenyan mobiles as files usually write them, checked against phonenumbers' own pattern for them:
# a few microseconds instead of two full parses per row, which matters at 100,000 rows.
_KENYAN_MOBILE = re.compile(r"(?:\+?254|0)(\d{9})", re.ASCII)
_MOBILE_PATTERN = re.compile(
    phonenumbers.PhoneMetadata.metadata_for_region("KE").mobile.national_number_pattern
)


def mobile_phone(text: str, why: str = "") -> str:
    """A Kenyan mobile number in E.164, or ValueError naming what is wrong (`why`: who needs SMS)."""
    if not text:
        raise ValueError("phone is empty")
    quick = _KENYAN_MOBILE.fullmatch(text.replace(" ", "").replace("-", ""))
    if quick and _MOBILE_PATTERN.fullmatch(quick[1]):
        return "+254" + quick[1]
    try:
        phone = normalise_phone(text)
    except InvalidPhoneNumber:
        raise ValueError(f"phone {text!r} is not a phone number") from None
    number = phonenumbers.parse(phone)
    if number.country_code != 254 or not phonenumbers.is_valid_number(number):
        raise ValueError(f"phone {text!r} is not a valid Kenyan number")
    if phonenumbers.number_type(number) not in SMS_CAPABLE:
        raise ValueError(f"phone {text!r} is not a mobile number" + (f" ({why})" if why else ""))
    return phone


def parse_fields(row: dict[str, str], parsers: dict) -> tuple[dict[str, Any], dict[str, str]]:
    """Each column of `row` through its parser: (the clean values, the problem of each bad column).

    A console form shows each problem beside its field; a CSV import joins them on the row's line.
    """
    values, problems = {}, {}
    for column, parse in parsers.items():
        try:
            values[column] = parse(row.get(column, "").strip())
        except ValueError as exc:
            problems[column] = str(exc)
    return values, problems


def parse_row(row: dict[str, str], parsers: dict, make):
    """`make(**values)` from a CSV row, each column through its parser; RowError names every problem."""
    values, problems = parse_fields(row, parsers)
    if problems:
        raise RowError("; ".join(problems.values()))
    return make(**values)


def decode(data: bytes) -> str:
    """The text of a UTF-8 file (BOM dropped), or FileRejected naming the first bad line."""
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileRejected(
            f"line {line}: byte 0x{data[exc.start]:02x} is not UTF-8; the file must be saved as "
            "UTF-8 (in Excel: Save As, 'CSV UTF-8')"
        ) from None


def check(data: bytes, spec: CsvSpec) -> Checked:
    """Validate every row of `data`; FileRejected when the encoding or the header is wrong."""
    records = _records(csv.reader(io.StringIO(decode(data), newline="")))
    header = [name.strip() for name in next(records, (1, []))[1]]
    _check_header(header, spec.columns)
    checked, errors, first_line = Checked(), [], {}
    for start, record in records:
        values = [value.strip() for value in record]
        if not any(values):
            continue  # blank lines, and the `,,,,,` rows spreadsheets leave at the end
        if len(values) != len(header):
            errors.append((start, f"expected {len(header)} fields, found {len(values)}"))
            continue
        try:
            row = spec.validate(dict(zip(header, values, strict=True)))
        except RowError as exc:
            errors.append((start, str(exc)))
            continue
        key = spec.key(row)
        if key in first_line:  # the first line has no error of its own, so drop its row here
            same = " and ".join(spec.key_columns)
            first = first_line[key][0]
            errors.append((start, f"duplicate of line {first} (same {same}); neither is imported"))
            first_line[key] = (first, None)
        else:
            first_line[key] = (start, row)
    checked.rows = [row for _line, row in first_line.values() if row is not None]
    checked.errors = [f"line {n}: {reason}" for n, reason in sorted(errors, key=lambda e: e[0])]
    return checked


def _records(reader) -> Iterator[tuple[int, list[str]]]:
    """Each record with the line it starts on (a quoted field may span lines)."""
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FileRejected(f"line {start}: not readable as CSV ({exc})") from None
        yield start, record


def _check_header(header: list[str], columns: Sequence[str]) -> None:
    expected = ",".join(columns)
    if not any(header):
        raise FileRejected(f"line 1: no header row; the header must be {expected}")
    missing = [name for name in columns if name not in header]
    unknown = [name or "(empty)" for name in header if name not in columns]
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    found = {"missing column": missing, "unknown column": unknown, "repeated column": repeated}
    problems = [f"{label} {', '.join(names)}" for label, names in found.items() if names]
    if problems:
        raise FileRejected(f"line 1: {'; '.join(problems)}; the header must be {expected}")


def import_file(
    source: Path | bytes,
    spec: CsvSpec,
    session_scope: Callable[[], AbstractContextManager[Any]],
    *,
    skip_invalid: bool = False,
    progress: Callable[[list[Any]], AbstractContextManager[Iterable[Any]]] = nullcontext,
) -> Report:
    """Check a file and, unless a bad row rejects it, upsert its good rows in one transaction.

    `progress` wraps the rows for the upsert (the CLI passes `click.progressbar`).
    """
    data = source.read_bytes() if isinstance(source, Path) else source
    checked = check(data, spec)
    if checked.errors and not skip_invalid:
        return Report(checked, None)
    with session_scope() as session, progress(checked.rows) as rows:
        counts = spec.upsert(session, rows)
    return Report(checked, counts)


def import_options(command):
    """What every `flask … import` takes: FILE (a CSV that exists) and `--skip-invalid`."""
    skip = click.option("--skip-invalid", is_flag=True, help="Import the good rows even if some are bad.")
    return click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))(skip(command))


def cli_import(path: Path, spec: CsvSpec, session_scope, skip_invalid: bool) -> None:
    """`flask … import FILE`: a progress bar, bad rows line by line, exit 1 when nothing was imported."""

    def progress(rows):
        return click.progressbar(rows, label=f"importing {spec.name}", file=sys.stderr)

    try:
        report = import_file(path, spec, session_scope, skip_invalid=skip_invalid, progress=progress)
    except FileRejected as exc:
        raise click.ClickException(f"{path.name}: {exc}; nothing imported") from None
    errors, good = report.checked.errors, len(report.checked.rows)
    for error in errors:
        click.echo(f"{path.name}: {error}", err=True)
    if report.counts is None:
        fix = "Fix it" if len(errors) == 1 else "Fix them"
        rest = f", or use --skip-invalid to import the {_rows(good, 'good')}" if good else " (none is valid)"
        click.echo(f"{path.name}: {_rows(len(errors), 'bad')}, nothing imported. {fix}{rest}.", err=True)
        raise click.exceptions.Exit(1)
    if errors:
        click.echo(f"{path.name}: skipped {_rows(len(errors), 'bad')}", err=True)
    click.echo(f"{spec.name}: {report.counts}")


def _rows(count: int, kind: str) -> str:
    return f"{count} {kind} row{'' if count == 1 else 's'}"
