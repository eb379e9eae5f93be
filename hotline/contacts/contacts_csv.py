"""`contacts.csv` (README.md, Commands): `phone,county_code,language,consent_source,consented_at`.

Rows are keyed by the phone's E.164 form. An import adds new contacts and updates changed ones, but
never clears an opt-out (only the person can join again: those rows, and numbers that opted out
before ever joining, found by their suppression key, are counted as "kept opted out") and never
overrides the consent or language a person gave themselves by SMS or USSD (an unknown county is
filled in). It looks existing phones up in chunks and inserts in bulk, for files of 100,000+ rows.

`spec_for` is the file's spec for `hotline.core.csv_import`: `flask contacts import` and the
console's upload page (hotline.studio) both check and import through it, with the same words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time
from pathlib import Path

from sqlalchemy import select, text, update
from sqlalchemy.dialects import sqlite

from hotline.contacts import service as contacts
from hotline.core.counties import by_code
from hotline.core.csv_import import Counts, CsvSpec, mobile_phone, parse_row, text_column
from hotline.core.models import Contact, utcnow
from hotline.core.privacy import engagement_key, suppression_key
from hotline.core.time import NAIROBI, as_utc

DEMO_FILE = Path(__file__).parent / "data" / "demo_contacts.csv"
LANGUAGE_NAMES = {"en": "en", "english": "en", "sw": "sw", "kiswahili": "sw", "swahili": "sw"}
_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?)?", re.ASCII
)


@dataclass(frozen=True)
class ContactRow:
    """One checked row of `contacts.csv`, in the database's terms (consented_at aware UTC)."""

    phone: str
    county_code: int | None
    language: str
    consent_source: str
    consented_at: datetime


COLUMNS = tuple(f.name for f in fields(ContactRow))


@dataclass
class ContactCounts(Counts):
    """What a contacts upsert did, with the rows left alone because the person opted out."""

    kept_opted_out: int = 0

    def __str__(self) -> str:
        return f"{super().__str__()}, kept opted out {self.kept_opted_out}"


def _county_code(text: str) -> int | None:
    if not text:
        return None  # county not known: the contact is in every campaign that is not by county
    if not (text.isascii() and text.isdigit() and int(text) in by_code()):
        raise ValueError(f"county_code {text!r} is not a Kenyan county (1-47, or empty when not known)")
    return int(text)


def _language(text: str) -> str:
    language = LANGUAGE_NAMES.get(text.lower())
    if language is None:
        raise ValueError(f"language {text!r} is not en or sw (English or Kiswahili)")
    return language


def _consented_at(text: str) -> datetime:
    if not text:
        raise ValueError("consented_at is empty")
    try:
        if not _ISO.fullmatch(text):
            raise ValueError
        moment = (
            datetime.fromisoformat(text)
            if len(text) > 10
            else datetime.combine(date.fromisoformat(text), time())
        )
    except ValueError:
        raise ValueError(
            f"consented_at {text!r} is not a date (YYYY-MM-DD) or date and time (YYYY-MM-DD HH:MM)"
        ) from None
    moment = (moment.replace(tzinfo=NAIROBI) if moment.tzinfo is None else moment).astimezone(UTC)
    if moment > utcnow():
        raise ValueError(f"consented_at {text!r} is in the future")
    return moment


PARSERS = {
    "phone": mobile_phone,
    "county_code": _county_code,
    "language": _language,
    "consent_source": text_column("consent_source", 40),
    "consented_at": _consented_at,
}


def validate_row(row: dict[str, str]) -> ContactRow:
    """A clean contact from one CSV row, or RowError naming every problem in it."""
    return parse_row(row, PARSERS, ContactRow)


def upsert(session, rows: Iterable[ContactRow], phone_hash_key: str) -> ContactCounts:
    """Add new contacts and update changed ones in chunks; an opt-out is never cleared."""
    counts, chunk = ContactCounts(), []
    for row in rows:
        chunk.append(row)
        if len(chunk) == contacts.CHUNK:
            _upsert_chunk(session, chunk, phone_hash_key, counts)
            chunk = []
    if chunk:
        _upsert_chunk(session, chunk, phone_hash_key, counts)
    return counts


def _upsert_chunk(session, rows: list[ContactRow], phone_hash_key: str, counts: ContactCounts) -> None:
    columns = (
        Contact.id,
        Contact.phone,
        Contact.county_code,
        Contact.language,
        Contact.consent_source,
        Contact.consented_at,
        Contact.opted_out_at,
    )
    existing = {
        found.phone: found
        for found in session.execute(select(*columns).where(Contact.phone.in_([r.phone for r in rows])))
    }
    unknown = {
        row.phone: suppression_key(row.phone, phone_hash_key) for row in rows if row.phone not in existing
    }
    suppressed = contacts.suppressed_keys(session, list(unknown.values()))
    new, changed, now = [], [], utcnow()
    for row in rows:
        found = existing.get(row.phone)
        if found is None and unknown[row.phone] in suppressed:
            counts.kept_opted_out += 1  # they opted out before ever joining: only they can join
            continue
        if found is None:
            values = {column: getattr(row, column) for column in COLUMNS}
            new.append(
                {
                    **values,
                    "engagement_key": engagement_key(row.phone, phone_hash_key),
                    "salt": contacts.new_salt(),
                    "created_at": now,
                    "updated_at": now,
                }
            )
            continue
        if found.opted_out_at is not None:
            counts.kept_opted_out += 1
            continue
        if found.consent_source in contacts.SELF_SERVICE:  # the person's own choice stands
            wanted = {"county_code": found.county_code if found.county_code is not None else row.county_code}
        else:
            wanted = {column: getattr(row, column) for column in COLUMNS if column != "phone"}
        current = {column: getattr(found, column) for column in wanted}
        if current.get("consented_at") is not None:
            current["consented_at"] = as_utc(current["consented_at"])
        if current == wanted:
            counts.unchanged += 1
        else:
            changed.append({"id": found.id, **wanted, "updated_at": now})
            counts.updated += 1
    if new:
        counts.added += _insert(session, new)
    if changed:
        session.execute(update(Contact), changed)


_NEW_COLUMNS = {
    "phone": "varchar",
    "engagement_key": "varchar",
    "county_code": "integer",
    "language": "varchar",
    "consent_source": "varchar",
    "consented_at": "timestamptz",
    "salt": "bigint",
    "created_at": "timestamptz",
    "updated_at": "timestamptz",
}
_UNNEST_INSERT = text(
    f"INSERT INTO contact ({', '.join(_NEW_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _NEW_COLUMNS.items())
    + ") ON CONFLICT (phone) DO NOTHING RETURNING id"
)


def _insert(session, new: list[dict]) -> int:
    """Insert new contacts, skipping any phone added meanwhile (an opt-out by SMS keeps its row);
    returns how many went in."""
    if session.bind.dialect.name == "postgresql":
        # One statement of nine arrays per chunk: row-by-row parameters cost 100 us a row there.
        arrays = {name: [row[name] for row in new] for name in _NEW_COLUMNS}
        return len(session.execute(_UNNEST_INSERT, arrays).all())
    insert = sqlite.insert(Contact.__table__).on_conflict_do_nothing(index_elements=["phone"])
    return len(session.execute(insert.returning(Contact.__table__.c.id), new).all())


def spec_for(phone_hash_key: str) -> CsvSpec:
    """The contacts CSV spec; new contacts get engagement keys made with `phone_hash_key`."""
    return CsvSpec(
        name="contacts",
        columns=COLUMNS,
        validate=validate_row,
        key=lambda row: row.phone,
        key_columns=("phone",),
        upsert=lambda session, rows: upsert(session, rows, phone_hash_key),
    )
