"""A person's rights over what campaigns hold about them (Data Protection Act 2019, s.26 and s.40):
what is held about a number (`held_about`), and erasing it (`forget`, and retention's `erase`).

Erasing a contact removes its number and engagement key and keeps the row (`erased_at`), so past
campaigns' reach keeps its counts while nothing in the row leads to a person. What else links to the
number goes too: the engagement rows whose seal opens to its engagement key (only the application's
key opens them, so every row is opened), the delivery reports kept under its delivery key, and AT's
message ids on its campaign recipient rows (they lead to AT's logs of the number). What stays is the
number's suppression key (`privacy.suppression_key`, source `erased`): no import can subscribe it
again, and only the person can, by joining by SMS or USSD.

A tip's safety seal is not touched: it is tip-side data, kept while the tip is open so that a person
who joins again is still left out of campaigns (`campaigns.safety`); retention removes it with the
closed tip's other personal data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from cryptography.exceptions import InvalidTag
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session

from hotline.contacts.service import chunks, find, suppressed_keys
from hotline.core import audit
from hotline.core.config import Config
from hotline.core.engagement import day_of
from hotline.core.models import (
    Campaign,
    CampaignRecipient,
    Contact,
    Engagement,
    Suppression,
    UnmatchedDeliveryReport,
    User,
)
from hotline.core.privacy import delivery_key, engagement_key, open_engagement, suppression_key
from hotline.core.time import as_utc, utcnow

ERASED = "erased"  # the opt-out source and suppression source of an erased number
SEALS_PER_FETCH = 10_000  # engagement rows read at once while opening every seal


def erase(session: Session, contacts: Iterable[tuple[int, str]], phone_hash_key: str, now: datetime) -> int:
    """Erase these (contact id, E.164 number) contacts as the module says; returns how many.

    Their engagement rows are left to `forget` (it opens every seal) or to engagement's retention.
    """
    rows = [(contact_id, phone) for contact_id, phone in contacts if phone]
    now = as_utc(now)
    for chunk in chunks(rows):
        ids = [contact_id for contact_id, _ in chunk]
        keys = {suppression_key(phone, phone_hash_key) for _, phone in chunk}
        kept = suppressed_keys(session, list(keys))
        session.add_all(
            Suppression(suppression_key=key, source=ERASED, day=day_of(now)) for key in keys - kept
        )
        session.execute(
            update(Contact)
            .where(Contact.id.in_(ids))
            .values(
                phone=None,
                engagement_key=None,
                erased_at=now,
                updated_at=now,
                opt_out_source=case((Contact.opted_out_at.is_(None), ERASED), else_=Contact.opt_out_source),
                opted_out_at=case((Contact.opted_out_at.is_(None), now), else_=Contact.opted_out_at),
            )
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(CampaignRecipient)
            .where(CampaignRecipient.contact_id.in_(ids), CampaignRecipient.at_message_id.is_not(None))
            .values(at_message_id=None)
            .execution_options(synchronize_session=False)
        )
        session.flush()
    return len(rows)


def _engagement_rows(session: Session, key: str, phone_hash_key: str) -> list[tuple[int, object, str]]:
    """(id, day, signal) of the engagement rows sealed around `key`: every seal is opened."""
    found = []
    query = select(Engagement.id, Engagement.day, Engagement.signal, Engagement.sealed_key).order_by(
        Engagement.id
    )
    for row_id, day, signal, sealed in session.execute(query.execution_options(yield_per=SEALS_PER_FETCH)):
        try:
            if open_engagement(sealed, phone_hash_key) == key:
                found.append((row_id, day, signal))
        except (InvalidTag, ValueError):  # sealed under another key, or damaged: not theirs to tell
            continue
    return found


def held_about(
    session: Session,
    phone_e164: str,
    config: Config,
    user: User | None = None,
    actor: str | None = None,
    ip: str | None = None,
) -> dict:
    """Everything held about a campaign contact's number: the contact row, campaigns, engagement by
    signal and day, delivery reports kept for it, and whether its suppression key is kept. Audited
    as `contact_shown` with the contact's id, never the number."""
    key = config.phone_hash_key
    contact = find(session, phone_e164)
    held: dict = {"phone": phone_e164, "contact": None, "campaigns": []}
    if contact is not None:
        held["contact"] = {
            "id": contact.id,
            "phone": contact.phone,
            "county_code": contact.county_code,
            "language": contact.language,
            "consent_source": contact.consent_source,
            "consented_at": contact.consented_at,
            "opted_out_at": contact.opted_out_at,
            "opt_out_source": contact.opt_out_source,
            "unreachable_reason": contact.unreachable_reason,
            "created_at": contact.created_at,
        }
        r = CampaignRecipient
        rows = session.execute(
            select(
                Campaign.name,
                Campaign.started_at,
                r.held_out,
                r.state,
                r.sent_at,
                r.delivery_status,
                r.delivered_at,
            )
            .join(Campaign, Campaign.id == r.campaign_id)
            .where(r.contact_id == contact.id)
            .order_by(Campaign.id)
        )
        held["campaigns"] = [row._asdict() for row in rows]
    engaged = _engagement_rows(session, engagement_key(phone_e164, key), key)
    held["engagement"] = sorted(Counter((signal, day) for _, day, signal in engaged).items())
    reports = UnmatchedDeliveryReport.phone_key == delivery_key(phone_e164, key)
    held["delivery_reports"] = session.scalar(select(func.count(UnmatchedDeliveryReport.id)).where(reports))
    held["suppressed"] = session.get(Suppression, suppression_key(phone_e164, key)) is not None
    found = contact is not None
    target = f"contact {contact.id}" if found else None
    audit.record(session, user, "contact_shown", target=target, ip=ip, actor=actor, detail={"found": found})
    return held


def forget(
    session: Session,
    phone_e164: str,
    config: Config,
    user: User | None = None,
    actor: str | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> dict:
    """Erase a number at its owner's request: the contact (kept as a row with no number), its
    engagement rows, its kept delivery reports and AT's message ids; keeps its suppression key.
    Idempotent; audited as `contact_forgotten` with the contact's id, never the number."""
    key, now = config.phone_hash_key, as_utc(now or utcnow())
    contact = find(session, phone_e164)
    erased = erase(session, [(contact.id, phone_e164)], key, now) if contact is not None else 0
    engagement_ids = [
        row_id for row_id, _, _ in _engagement_rows(session, engagement_key(phone_e164, key), key)
    ]
    for chunk in chunks(engagement_ids):
        session.execute(delete(Engagement).where(Engagement.id.in_(chunk)))
    reports = session.execute(
        delete(UnmatchedDeliveryReport).where(
            UnmatchedDeliveryReport.phone_key == delivery_key(phone_e164, key)
        )
    ).rowcount
    done = {
        "contact_id": contact.id if contact is not None else None,
        "contacts_erased": erased,
        "engagement_rows": len(engagement_ids),
        "delivery_reports": reports,
        # `erase` has just made sure of the key, so only a number that was no contact is looked up.
        "suppressed": bool(erased) or session.get(Suppression, suppression_key(phone_e164, key)) is not None,
    }
    if contact is not None:
        session.expire(contact)
    target = f"contact {contact.id}" if contact is not None else None
    audit.record(
        session,
        user,
        "contact_forgotten",
        target=target,
        ip=ip,
        actor=actor,
        detail={k: v for k, v in done.items() if k != "contact_id"},
    )
    return done
