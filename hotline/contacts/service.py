"""Campaign contacts: who consented to awareness SMS, who left, who cannot be reached.

Plain functions taking a session; the caller commits. Consent comes from an import
(`consent_source` is the file's text), an SMS keyword (`sms`) or USSD menu 5 (`ussd`). Opting out
comes from a keyword (`sms`), menu 5 (`ussd`), AT's bulk opt-out callback (`at_opt_out`), a
delivery report saying the number blacklisted us (`blacklist`), or a campaign manager acting on the
person's request in the console (`console`, with who did it).

Only the person can undo an opt-out, by joining again by SMS or USSD: an import never does. A
number that opts out before it ever joined is not a contact and its number is not stored: only its
suppression key (`privacy.suppression_key`) is kept, in `suppression`, so that a later import
cannot subscribe it. A contact carries its engagement key, never its reporter key (see
`hotline.privacy`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session

from flows.texts import DEFAULT_LANGUAGE, LANGUAGES
from hotline.core import audit, randomness
from hotline.core.engagement import day_of
from hotline.core.models import Contact, Suppression, User, utcnow
from hotline.core.privacy import engagement_key, suppression_key
from hotline.core.time import as_utc

SALT_MODULUS = 2**31 - 1
OPT_OUT_SOURCES = ("sms", "ussd", "at_opt_out", "blacklist", "console")
SELF_SERVICE = ("sms", "ussd")  # consent the person gave themselves: an import does not override it
CHUNK = 500  # ids or phones per IN (...) query: well under SQLite's bound-parameter limit


def new_salt() -> int:
    """A contact's own random draw, fixed for life (holdout and variant with a campaign's seed)."""
    return randomness.randbelow(SALT_MODULUS)


def find(session: Session, phone_e164: str) -> Contact | None:
    """The contact with this E.164 number, if any."""
    return session.scalar(select(Contact).where(Contact.phone == phone_e164))


def is_subscribed(contact: Contact | None) -> bool:
    """True when awareness SMS may go to this contact."""
    return contact is not None and contact.opted_out_at is None and contact.unreachable_reason is None


def subscribe(
    session: Session,
    phone_e164: str,
    *,
    source: str,
    language: str,
    phone_hash_key: str,
    county_code: int | None = None,
    at: datetime | None = None,
) -> Contact:
    """Join awareness SMS: a new contact, or one who left joins again (their consent is new).

    An already subscribed contact keeps its original consent; the language and a given county
    are updated, since the person just chose them. A number that had opted out before joining is
    no longer suppressed: the person asked to join.
    """
    at = as_utc(at or utcnow())
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    contact = find(session, phone_e164)
    if contact is None:
        session.execute(
            delete(Suppression).where(
                Suppression.suppression_key == suppression_key(phone_e164, phone_hash_key)
            )
        )
        contact = Contact(
            phone=phone_e164,
            engagement_key=engagement_key(phone_e164, phone_hash_key),
            county_code=county_code,
            language=language,
            consent_source=source[:40],
            consented_at=at,
            salt=new_salt(),
        )
        session.add(contact)
        session.flush()
        return contact
    if contact.opted_out_at is not None:
        contact.opted_out_at, contact.opt_out_source = None, None
        contact.consent_source, contact.consented_at = source[:40], at
    if source in SELF_SERVICE:
        contact.unreachable_reason = None  # they just reached us from this number
    contact.language = language
    if county_code is not None:
        contact.county_code = county_code
    return contact


def opt_out(
    session: Session,
    phone_e164: str,
    *,
    source: str,
    phone_hash_key: str,
    at: datetime | None = None,
) -> bool:
    """Leave awareness SMS; True when something changed. An unknown number is suppressed: only its
    suppression key is kept, never the number."""
    at = as_utc(at or utcnow())
    contact = find(session, phone_e164)
    if contact is not None:
        if contact.opted_out_at is not None:
            return False
        contact.opted_out_at, contact.opt_out_source = at, source
        return True
    key = suppression_key(phone_e164, phone_hash_key)
    if session.get(Suppression, key) is not None:
        return False
    session.add(Suppression(suppression_key=key, source=source[:20], day=day_of(at)))
    session.flush()
    return True


def look_up(
    session: Session, phone_e164: str, user: User, phone_hash_key: str, ip: str | None = None
) -> tuple[Contact | None, bool]:
    """The contact with this number for a console user, or None; whether the number opted out before
    ever joining. Every lookup is written to the audit log (the contact's id, never the number)."""
    contact = find(session, phone_e164)
    key = suppression_key(phone_e164, phone_hash_key)
    suppressed = contact is None and bool(suppressed_keys(session, [key]))
    found = contact is not None
    target = f"contact {contact.id}" if found else None
    audit.record(session, user, "contact_looked_up", target=target, detail={"found": found}, ip=ip)
    return contact, suppressed


def opt_out_by_hand(
    session: Session, contact: Contact, user: User, ip: str | None = None, at: datetime | None = None
) -> bool:
    """Opt a contact out at their request, by a console user (source `console`, who is recorded);
    True when it changed, False when they had opted out already. Audited either way."""
    changed = contact.opted_out_at is None
    if changed:
        at = as_utc(at or utcnow())
        contact.opted_out_at, contact.opt_out_source, contact.opted_out_by_id = at, "console", user.id
        contact.updated_at = at
    audit.record(session, user, "contact_opted_out", target=f"contact {contact.id}",
                 detail={"changed": changed}, ip=ip)
    return changed


def suppressed_keys(session: Session, keys: list[str]) -> set[str]:
    """Which of these suppression keys belong to numbers that opted out before joining."""
    found: set[str] = set()
    for chunk in chunks(keys):
        found.update(
            session.scalars(select(Suppression.suppression_key).where(Suppression.suppression_key.in_(chunk)))
        )
    return found


def opt_out_ids(
    session: Session, contact_ids: Iterable[int], *, source: str, at: datetime | None = None
) -> int:
    """Opt these contacts out (blacklisted, AT status 406); returns how many were subscribed till now."""
    at = as_utc(at or utcnow())
    changed = 0
    for chunk in chunks(sorted(set(contact_ids))):
        result = session.execute(
            update(Contact)
            .where(Contact.id.in_(chunk), Contact.opted_out_at.is_(None))
            .values(opted_out_at=at, opt_out_source=source, updated_at=at)
            .execution_options(synchronize_session=False)
        )
        changed += result.rowcount
    return changed


def mark_unreachable(session: Session, contact_ids: Iterable[int], reason: str) -> int:
    """Mark numbers AT can never reach (403, 404); returns how many were not marked before."""
    changed, now = 0, utcnow()
    for chunk in chunks(sorted(set(contact_ids))):
        result = session.execute(
            update(Contact)
            .where(Contact.id.in_(chunk), Contact.unreachable_reason.is_(None))
            .values(unreachable_reason=reason[:40], updated_at=now)
            .execution_options(synchronize_session=False)
        )
        changed += result.rowcount
    return changed


def chunks(items: list) -> Iterable[list]:
    """`items` CHUNK at a time, for IN (...) lists."""
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def stats(session: Session) -> dict[str, list[tuple]]:
    """Contacts by county, language, consent source and opt-out source: (value, subscribed, opted out,
    unreachable) rows, plus a `total` row of the same shape."""
    opted_out = Contact.opted_out_at.is_not(None)
    unreachable = Contact.unreachable_reason.is_not(None) & Contact.opted_out_at.is_(None)
    counts = (
        func.count(Contact.id) - func.sum(case((opted_out | unreachable, 1), else_=0)),
        func.sum(case((opted_out, 1), else_=0)),
        func.sum(case((unreachable, 1), else_=0)),
    )
    tables = {}
    dimensions = {
        "county": Contact.county_code,
        "language": Contact.language,
        "consent source": Contact.consent_source,
        "opt-out source": Contact.opt_out_source,
    }
    for name, column in dimensions.items():
        query = select(column, *counts).group_by(column).order_by(column)
        if name == "opt-out source":
            query = query.where(opted_out)
        tables[name] = [(value, *(int(n or 0) for n in row)) for value, *row in session.execute(query)]
    total = session.execute(select(*counts)).one()
    tables["total"] = [("all", *(int(n or 0) for n in total))]
    # Numbers that opted out without joining: not contacts, counted by source, no number kept.
    tables["suppressed"] = [
        (source, int(n))
        for source, n in session.execute(
            select(Suppression.source, func.count()).group_by(Suppression.source).order_by(Suppression.source)
        )
    ]
    return tables
