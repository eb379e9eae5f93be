"""The safety rule: nobody who has a tip open, or reported in the last 30 days, gets a campaign SMS.

An awareness SMS about trafficking on the phone of someone who has just reported could give them
away to whoever else reads that phone. So a contact whose number made a tip still open, or any tip
in the last 30 days, is left out of every campaign: out of its audience and out of its holdout (a
held-out row would be just as much a mark), counted as "suppressed for safety" on the campaign and
named nowhere.

How the two sides meet without a link anyone could read in the database (`hotline.core.privacy`):
a tip keeps its reporter's engagement key sealed (`Tip.safety_seal`: AES-GCM with a random nonce,
equal to nothing else stored), and a contact keeps the same engagement key in clear. Only a holder
of PHONE_HASH_KEY can open the seals, and does so here, in memory, for the tips that matter now:
`at_risk_contacts` at the draw and the estimate. At send time a recipient who reported since the
draw is found the other way, from the batch's numbers to their reporter keys (`reported`).

Nothing is written about who was left out: no recipient row, no flag on the contact, no log line
with an id. Only the count (`Campaign.safety_suppressed`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidTag
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hotline.core import bulk
from hotline.core.engagement import seal_key
from hotline.core.models import Contact, Tip
from hotline.core.privacy import open_engagement, reporter_key

log = logging.getLogger(__name__)

RECENT = timedelta(days=30)  # a tip this recent protects its reporter even once closed
OPEN_FOLDERS = ("new", "active", "followup")  # the inbox's folders of tips not closed (hotline.tips.inbox)
CHUNK = 1000  # engagement or reporter keys per query


def at_risk(now: datetime):
    """WHERE clause of the tips that protect their reporter at `now`: open, or made in the last 30 days."""
    return or_(Tip.folder.in_(OPEN_FOLDERS), Tip.created_at >= now - RECENT)


def at_risk_contacts(session: Session, now: datetime) -> set[int]:
    """The ids of the contacts to leave out of every campaign at `now` (see the module's docstring)."""
    key = seal_key(session)
    seals = session.scalars(select(Tip.safety_seal).where(at_risk(now), Tip.safety_seal.is_not(None)))
    keys, unreadable = set(), 0
    for sealed in seals:
        try:
            keys.add(open_engagement(sealed, key))
        except (InvalidTag, ValueError):  # sealed under another key (a restored copy), or altered
            unreadable += 1
    if unreadable:
        log.warning("safety: %d tip seals could not be opened with this PHONE_HASH_KEY", unreadable)
    found: set[int] = set()
    for chunk in chunks(sorted(keys)):
        query = select(Contact.id).where(bulk.one_of(session, Contact.engagement_key, chunk))
        found.update(session.scalars(query))
    return found


def reported(session: Session, phones: Iterable[str], phone_hash_key: str, now: datetime) -> set[str]:
    """Which of these E.164 numbers have a tip open or made in the last 30 days (by reporter key)."""
    by_key = {reporter_key(phone, phone_hash_key): phone for phone in phones}
    found: set[str] = set()
    for chunk in chunks(list(by_key)):
        query = select(Tip.reporter_key).where(bulk.one_of(session, Tip.reporter_key, chunk), at_risk(now))
        found.update(by_key[key] for key in session.scalars(query.distinct()))
    return found


def chunks(items: list) -> Iterable[list]:
    """`items` in lists of CHUNK."""
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
