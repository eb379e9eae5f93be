"""Recruitment agencies: NEA's register (NEAIMS) imported from a CSV, licence verdicts, and the count
of checks (`flask agencies` is in `cli`). Finding an agency from what a user typed is in `lookup`.

Re-importing a file changes nothing: agencies are keyed by their normalised registration number,
a status change is recorded only when the status differs (and on first sight, from None), and a
RegisterSnapshot row is added only for a snapshot date not yet recorded, so importing the same
register again with a later --snapshot-date records that the register was confirmed on that date.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import islice
from pathlib import Path

from sqlalchemy import func, select

from hotline.agencies.lookup import (
    Candidate,
    LookupResult,
    current_index,
    lookup,
    name_key,
    registration_key,
    typed_name_key,
)
from hotline.core import engagement
from hotline.core.csv_import import Counts, CsvSpec, parse_row, text_column
from hotline.core.errors import InvalidPhoneNumber
from hotline.core.models import Agency, AgencyLookup, AgencyStatusChange, RegisterSnapshot, utcnow
from hotline.core.privacy import normalise_phone
from hotline.core.time import kenya_today

__all__ = [
    "Candidate",
    "LookupResult",
    "lookup",
    "name_key",
    "registration_key",
    "verdict",
    "Verdict",
    "verdict_of",
    "record_lookup",
    "snapshot_date",
    "snapshot_age_days",
    "upsert",
    "validate_row",
    "SPEC",
    "spec_for",
]

DEMO_FILE = Path(__file__).parent / "data" / "demo_agencies.csv"
STATUSES = ("licensed", "expired", "suspended", "revoked", "deregistered", "pending")
NEAIMS_STATUSES = {
    "license_paid": "licensed",
    "license_expired": "expired",
    "license_deregistered": "deregistered",
    "license_pending": "pending",
}
LICENCE_TYPES = ("local", "international", "both")
STALE_AFTER_DAYS = 30  # an older register earns a warning with every verdict
# A name not in the register is listed for NEA once checked this often in the window: fewer could be
# anything one person typed.
UNLISTED_MIN_CHECKS = 5
UNLISTED_TOP = 20
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class AgencyRow:
    """One checked row of `agencies.csv`, in the database's terms."""

    name: str
    registration_number: str
    status: str
    expiry_date: date | None
    licence_type: str
    phone: str | None
    email: str | None


COLUMNS = ("name", "registration_number", "status", "expiry_date", "licence_type", "phone", "email")


def _registration_number(text: str) -> str:
    text = text_column("registration_number", 80)(text)
    if not registration_key(text):
        raise ValueError(f"registration_number {text!r} has no letters or digits")
    return text


def _status(text: str) -> str:
    status = NEAIMS_STATUSES.get(text.lower(), text.lower())
    if status not in STATUSES:
        raise ValueError(f"status {text!r} is not one of {', '.join(STATUSES)} (or a NEAIMS LICENSE_ value)")
    return status


def _expiry(text: str) -> date | None:
    if not text:
        return None
    try:
        if len(text) != 10:  # fromisoformat also takes 20240101 and week dates
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expiry_date {text!r} is not a date as YYYY-MM-DD") from None


def _licence_type(text: str) -> str:
    if text.lower() not in LICENCE_TYPES:
        raise ValueError(f"licence_type {text!r} is not local, international or both")
    return text.lower()


def _phone(text: str) -> str | None:
    if not text:
        return None
    try:
        return normalise_phone(text)
    except InvalidPhoneNumber:
        raise ValueError(f"phone {text!r} is not a phone number") from None


def _email(text: str) -> str | None:
    if not text:
        return None
    if len(text) > 200 or not _EMAIL.fullmatch(text):
        raise ValueError(f"email {text!r} is not an e-mail address")
    return text


PARSERS = {
    "name": text_column("name", 200),
    "registration_number": _registration_number,
    "status": _status,
    "expiry_date": _expiry,
    "licence_type": _licence_type,
    "phone": _phone,
    "email": _email,
}


def validate_row(row: dict[str, str]) -> AgencyRow:
    """A clean agency from one CSV row, or RowError naming every problem in it."""
    return parse_row(row, PARSERS, AgencyRow)


def upsert(session, rows: Iterable[AgencyRow], snapshot_date: date) -> Counts:
    """Add or update agencies keyed by registration_key, recording each status change and the snapshot."""
    existing = {agency.registration_key: agency for agency in session.scalars(select(Agency))}
    counts, seen = Counts(), 0
    for row in rows:
        seen += 1
        key = registration_key(row.registration_number)
        values = {**row.__dict__, "registration_key": key, "name_key": name_key(row.name)}
        agency = existing.get(key)
        if agency is None:
            agency = existing[key] = Agency(**values)
            session.add(agency)
            session.flush()  # its id, for the status change
            session.add(
                AgencyStatusChange(
                    agency_id=agency.id, old_status=None, new_status=row.status, snapshot_date=snapshot_date
                )
            )
            counts.added += 1
            continue
        changed = {column: value for column, value in values.items() if getattr(agency, column) != value}
        if not changed:
            counts.unchanged += 1
            continue
        if "status" in changed:
            session.add(
                AgencyStatusChange(
                    agency_id=agency.id,
                    old_status=agency.status,
                    new_status=row.status,
                    snapshot_date=snapshot_date,
                )
            )
        for column, value in changed.items():
            setattr(agency, column, value)
        counts.updated += 1
    snapshot = session.scalar(select(RegisterSnapshot).where(RegisterSnapshot.snapshot_date == snapshot_date))
    if snapshot is None:
        session.add(RegisterSnapshot(snapshot_date=snapshot_date, rows=seen))
    elif counts.added or counts.updated:  # a corrected register of the same date: lookups must see it
        snapshot.rows, snapshot.imported_at = seen, utcnow()
    return counts


SPEC = CsvSpec(
    name="agencies",
    columns=COLUMNS,
    validate=validate_row,
    key=lambda row: registration_key(row.registration_number),
    key_columns=("registration_number",),
    upsert=lambda session, rows: upsert(session, rows, kenya_today()),
)


def spec_for(snapshot_date: date) -> CsvSpec:
    """The agencies CSV spec recording `snapshot_date` as the date of the register."""
    return replace(SPEC, upsert=lambda session, rows: upsert(session, rows, snapshot_date))


@dataclass(frozen=True)
class Verdict:
    """What to tell a job seeker: kind (a status or not_found), until/since dates, abroad allowed."""

    kind: str
    until: date | None = None
    since: date | None = None
    abroad: bool = False


def verdict(agency, today: date) -> Verdict:
    """The verdict for an Agency or Candidate (None: not_found); a passed expiry date means expired."""
    if agency is None:
        return Verdict("not_found")
    abroad = agency.licence_type in ("international", "both")
    expiry = agency.expiry_date
    if agency.status == "licensed":
        if expiry is not None and expiry < today:
            return Verdict("expired", since=expiry, abroad=abroad)
        return Verdict("licensed", until=expiry, abroad=abroad)
    return Verdict(agency.status, since=expiry if agency.status == "expired" else None, abroad=abroad)


def verdict_of(candidate: dict | None, today: date) -> Verdict:
    """The verdict for a candidate kept as a dict (USSD state): keys status, expiry (ISO), licence_type."""
    if candidate is None:
        return verdict(None, today)
    expiry = candidate.get("expiry") or candidate.get("expiry_date")
    expiry = date.fromisoformat(expiry) if isinstance(expiry, str) else expiry
    return verdict(
        AgencyRow(
            candidate.get("name", ""),
            "",
            candidate["status"],
            expiry,
            candidate.get("licence_type", "local"),
            None,
            None,
        ),
        today,
    )


def snapshot_date(session) -> date | None:
    """The date of the newest register snapshot (None: never imported)."""
    return session.scalar(select(func.max(RegisterSnapshot.snapshot_date)))


def snapshot_age_days(session, today: date) -> int | None:
    """Days since the newest register snapshot (None: never imported); warn above STALE_AFTER_DAYS."""
    newest = snapshot_date(session)
    return None if newest is None else (today - newest).days


def record_lookup(
    session,
    agency_id: int | None,
    verdict_kind: str,
    channel: str,
    county_code: int | None = None,
    today: date | None = None,
    engagement_key: str | None = None,
    query: str | None = None,
) -> None:
    """Count one agency check; who checked is counted apart, by day, for campaign effect only. A check
    that found nothing keeps the key of the name typed (`query`), never a number (`typed_name_key`)."""
    if engagement_key is not None:
        engagement.record(session, engagement_key, "agency_check")
    session.add(
        AgencyLookup(
            agency_id=agency_id,
            verdict=verdict_kind,
            channel=channel[:8],
            county_code=county_code,
            day=today or kenya_today(),
            query_key=typed_name_key(query) if query and verdict_kind == "not_found" else None,
        )
    )


def stats(session, days: int, today: date) -> dict[str, list[tuple]]:
    """Lookups per agency and verdict, per day and county, agencies most checked while unlicensed, and
    names most checked that are not in the register (`unlisted`)."""
    since = today - timedelta(days=days - 1)
    recent = AgencyLookup.day >= since
    count = func.count(AgencyLookup.id)
    per_agency = session.execute(
        select(Agency.name, AgencyLookup.verdict, count)
        .join(Agency, isouter=True)
        .where(recent)
        .group_by(Agency.name, AgencyLookup.verdict)
        .order_by(count.desc(), Agency.name)
    ).all()
    day_county = (AgencyLookup.day, AgencyLookup.county_code)
    per_day = session.execute(
        select(*day_county, count).where(recent).group_by(*day_county).order_by(*day_county)
    ).all()
    unlicensed = session.execute(
        select(Agency.name, Agency.registration_number, count)
        .join(Agency)
        .where(recent, AgencyLookup.verdict != "licensed")
        .group_by(Agency.name, Agency.registration_number)
        .order_by(count.desc(), Agency.name)
        .limit(10)
    ).all()
    return {
        "per_agency": per_agency,
        "per_day": per_day,
        "unlicensed": unlicensed,
        "unlisted": unlisted(session, since),
    }


def unlisted(session, since: date) -> list[tuple[str, int, int, date, date]]:
    """The names checked UNLISTED_MIN_CHECKS times or more since `since` that found nothing, most
    checked first: (name key, checks, days with a check, first day, last day). A name the register
    matches today (NEA added it since) is left out."""
    checks = func.count()  # not of a column: the index alone answers
    rows = session.execute(
        select(
            AgencyLookup.query_key,
            checks,
            func.count(AgencyLookup.day.distinct()),
            func.min(AgencyLookup.day),
            func.max(AgencyLookup.day),
        )
        .where(AgencyLookup.day >= since, AgencyLookup.query_key.is_not(None))
        .group_by(AgencyLookup.query_key)
        .having(checks >= UNLISTED_MIN_CHECKS)
        .order_by(checks.desc(), AgencyLookup.query_key)
    ).all()
    index = current_index(session)  # the register's version checked once, not once a row
    not_matched = (tuple(row) for row in rows if not lookup(index, row[0]).candidates)
    return list(islice(not_matched, UNLISTED_TOP))
