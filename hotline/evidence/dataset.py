"""The case-level dataset: one de-identified row per tip, its columns named after HTCDS where a
field fits, streamed from the database to CSV or JSON.

What a row never holds: the reporter key, any phone number, the call-back token, an e-mail, the
reference code, the tip's database id, a focal point's or organisation's name, phone or e-mail, or
an exact time (the Nairobi ISO week stands for the time). Place and description come only when asked
for (`free_text`), with every phone number and e-mail address redacted.

`row_id` lets the secretariat join exports made at different times (a tip exported open in March
and closed in June keeps its row id): HMAC-SHA256 of the tip's id under a key derived from
PHONE_HASH_KEY for this use only, its first 80 bits in base 32 (16 characters). Without the key
nobody can go from a row id to a tip, its reference or its id, or back; a per-export number could
not be joined at all. (Changing PHONE_HASH_KEY changes every row id.)

Speed: one query, read through a server-side cursor (`stream_results`, 5,000 rows a fetch) as Core
rows, the tip's first referral and its number of referrals joined from one window-function
subquery, so a million tips stream in flat memory.
"""

from __future__ import annotations

import base64
import hmac
from datetime import date, datetime, timedelta
from functools import cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from flows.menu import TIP_KINDS
from hotline.core.config import Config
from hotline.core.counties import by_code
from hotline.core.models import Referral, ReferralOrganisation, Tip
from hotline.core.time import NAIROBI, as_utc, kenya_midnight, utcnow
from hotline.evidence import formats
from hotline.evidence.fields import Field, ours, standard
from hotline.evidence.redaction import redact
from hotline.tips.casework import CLOSED_STATUSES, CLOSURE_REASONS
from hotline.tips.referrals import KINDS as ORGANISATION_KINDS

TITLE = "Kenya counter-trafficking hotline: case-level dataset (de-identified)"
YIELD_PER = 5_000
EXPLOITATION = {  # our tip kinds (flows/menu.py TIP_KINDS) -> HTCDS vic_TypeOfExploitation
    "forced_labour": "ForcedLabour",
    "sexual_exploitation": "SexualExploitation",
    "child_labour": "ChildLabour",
    "child_marriage": "ForcedMarriage",
    "forced_marriage": "ForcedMarriage",
    "servitude": "Servitude",
    "organ_removal": "OrganRemoval",
    "armed_conflict": "ForcedMilitaryByNonStateActors",
}
ORGANISATION_TYPES = {  # our referral organisation kinds -> HTCDS org_Type
    "police": "LawEnforcement",
    "dci_atu": "LawEnforcement",
    "health": "HealthServiceOrganisation",
    "ngo": "NGO",
    "shelter": "NGO",
    "children": "CentralGovernmentOrganisation",
    "labour": "CentralGovernmentOrganisation",
}
YES_NO = ("yes", "no")
OUTCOMES = ("open", "referred", *(reason for reason in CLOSURE_REASONS if reason != "referred"))


def fields(free_text: bool = False) -> list[Field]:
    """The case-level columns, in order (place and description only with `free_text`)."""
    found = [
        ours("row_id", "Row id", "Text", "Stable across exports (a keyed hash of the tip): join "
             "exports made at different times on it. Not the reference code, not the database id."),
        ours("week", "Week received", "Text", "ISO year-week of receipt, Nairobi time (2026-W45)."),
        ours("county_code", "County code", "Number", "Constitutional county code 1-47; empty: not known."),
        ours("county_name", "County", "Text", "The county's official name."),
        ours("channel", "Channel", "Picklist", "How the tip came.", ("ussd", "sms")),
        ours("kind", "Kind of tip", "Picklist", "The kind the reporter chose on the hotline's menu.",
             TIP_KINDS),
        standard("vic_TypeOfExploitation", "Mapped from the tip's kind (see the README's mapping); "
                 "kinds with no HTCDS type are Other."),
        ours("urgent", "Urgent", "Checkbox", "The reporter said someone is in danger now.", YES_NO),
        ours("children", "Children involved", "Picklist", "As the reporter said.", ("yes", "no", "unsure")),
        ours("danger", "Danger", "Picklist", "As the reporter said.", ("yes", "no", "unsure")),
        ours("acknowledged_within_deadline", "Acknowledged within deadline", "Picklist",
             "A focal point acknowledged the tip before it was due to escalate (ESCALATION_MINUTES by "
             "kind, urgent ones sooner); pending: not yet, and the deadline has not passed.",
             ("yes", "no", "pending")),
        ours("escalated", "Escalated", "Checkbox", "The tip escalated at least once.", YES_NO),
        ours("agency_reported", "Agency reported", "Checkbox",
             "The tip reports a recruitment agency (which one is not given).", YES_NO),
        standard("cas_Status", "The case's status."),
        standard("cas_ReasonForCaseClosure", "The closure reason chosen in the console; empty while open."),
        ours("outcome", "Outcome", "Picklist", "open, or the closure reason (referred also when the "
             "status is ClosedReferred).", OUTCOMES),
        ours("referrals", "Referrals", "Number", "How many outgoing referrals the case has."),
        standard("cas_ReferredOrganisation", "Of the first referral: the organisation's TYPE (HTCDS "
                 "org_Type), never its name or contact; empty for an organisation of another type.",
                 tuple(sorted(set(ORGANISATION_TYPES.values()))), kind="Picklist (org_Type)"),
        ours("referred_organisation_kind", "Referred organisation kind", "Picklist",
             "Of the first referral: our kind of organisation.", tuple(ORGANISATION_KINDS)),
        standard("cas_OutgoingReferralDate", "Of the first referral."),
        standard("cas_ReasonForOutgoingReferral", "Of the first referral."),
    ]
    if free_text:
        found += [
            ours("place", "Place", "Text", "As the reporter wrote it, phone numbers and e-mail "
                 "addresses replaced by [phone] and [email]."),
            ours("description", "Description", "Long Text", "As the reporter wrote it, phone numbers and "
                 "e-mail addresses replaced by [phone] and [email]."),
        ]
    return found


@cache
def _row_key(phone_hash_key: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"hotline/dataset-row/v1")
    return hkdf.derive(phone_hash_key.encode())


def _row_id(key: bytes, tip_id: int) -> str:
    # Base 32 (a-z, 2-7), not hex: 16 characters that never read as a long number.
    return base64.b32encode(hmac.digest(key, str(tip_id).encode(), "sha256")[:10]).decode().lower()


def row_id(tip_id: int, config: Config) -> str:
    """The tip's row id in every export (see the module): a keyed hash, stable while the key is."""
    return _row_id(_row_key(config.phone_hash_key), tip_id)


def week_of(moment: datetime) -> str:
    """The ISO year-week of a moment in Nairobi: `2026-W05`."""
    year, week, _ = as_utc(moment).astimezone(NAIROBI).isocalendar()
    return f"{year}-W{week:02d}"


class Deadlines:
    """Whether tips were acknowledged within their deadline (`Config.escalation_after` minutes after
    receipt, by kind and urgency): the case rows and the annual figures both ask here."""

    def __init__(self, config: Config):
        self.config = config
        self.minutes: dict[tuple[str, bool], timedelta] = {}

    def verdict(self, kind: str, urgent: bool, created: datetime, acknowledged: datetime | None,
                now: datetime) -> str:
        """`yes` acknowledged in time, `no` late or never (deadline passed), `pending` not yet due."""
        deadline = self.minutes.get((kind, urgent))
        if deadline is None:
            minutes = self.config.escalation_after(kind, urgent)
            deadline = self.minutes[kind, urgent] = timedelta(minutes=minutes)
        created = as_utc(created)
        if acknowledged is not None:
            return "yes" if as_utc(acknowledged) - created <= deadline else "no"
        return "pending" if now < created + deadline else "no"


def period(since: date | None, until: date | None) -> list:
    """The SQL conditions of tips received from `since` to `until` (Kenyan days, both included)."""
    found = []
    if since is not None:
        found.append(Tip.created_at >= kenya_midnight(since))
    if until is not None:
        found.append(Tip.created_at < kenya_midnight(until + timedelta(days=1)))
    return found


def statement(free_text: bool = False, since: date | None = None, until: date | None = None):
    """The one query behind the rows: tips in id order with their first referral and referral count."""
    ranked = (
        select(
            Referral.tip_id,
            ReferralOrganisation.kind,
            Referral.referred_on,
            Referral.reason,
            func.count().over(partition_by=Referral.tip_id).label("referrals"),
            func.row_number()
            .over(partition_by=Referral.tip_id, order_by=(Referral.referred_on, Referral.id))
            .label("rank"),
        )
        .join(ReferralOrganisation, ReferralOrganisation.id == Referral.organisation_id)
        .subquery()
    )
    first = select(ranked).where(ranked.c.rank == 1).subquery()
    columns = [
        Tip.id, Tip.created_at, Tip.county_code, Tip.channel, Tip.kind, Tip.urgent, Tip.children,
        Tip.danger, Tip.acknowledged_at, Tip.escalation_level, Tip.agency_id, Tip.case_status,
        Tip.closure_reason, first.c.kind, first.c.referred_on, first.c.reason, first.c.referrals,
    ]
    if free_text:
        columns += [Tip.place, Tip.description]
    return (
        select(*columns)
        .outerjoin(first, first.c.tip_id == Tip.id)
        .where(*period(since, until))
        .order_by(Tip.id)
    )


def rows(session: Session, config: Config, free_text=False, since=None, until=None, now=None):
    """The rows, in `fields(free_text)` order, streamed from a server-side cursor."""
    now = as_utc(now) or utcnow()
    counties = {code: county.name for code, county in by_code().items()}
    deadlines = Deadlines(config)
    key = _row_key(config.phone_hash_key)
    stmt = statement(free_text, since, until).execution_options(stream_results=True, yield_per=YIELD_PER)
    for row in session.execute(stmt):
        (tip_id, created, county, channel, kind, urgent, children, danger, acknowledged, level, agency,
         status, reason, org_kind, referred_on, referral_reason, referrals, *text) = row
        created = as_utc(created)
        on_time = deadlines.verdict(kind, urgent, created, acknowledged, now)
        closed = status in CLOSED_STATUSES
        if not closed:
            outcome = "open"
        else:
            outcome = "referred" if status == "ClosedReferred" else (reason or "closed")
        found = [
            _row_id(key, tip_id),
            week_of(created),
            county,
            counties.get(county),
            channel,
            kind,
            EXPLOITATION.get(kind, "Other"),
            "yes" if urgent else "no",
            children,
            danger,
            on_time,
            "yes" if level else "no",
            "no" if agency is None else "yes",
            status,
            CLOSURE_REASONS.get(reason, reason) if closed and reason else None,
            outcome,
            referrals or 0,
            ORGANISATION_TYPES.get(org_kind),
            org_kind,
            referred_on.isoformat() if referred_on is not None else None,
            referral_reason,
        ]
        if free_text:
            found += [redact(text[0]), redact(text[1])]
        yield found


def table(session: Session, config: Config, free_text=False, since=None, until=None, now=None):
    """The case-level dataset as a `formats.Table` (its rows not read yet)."""
    now = as_utc(now) or utcnow()
    return formats.Table(
        name="cases",
        title=TITLE,
        fields=fields(free_text),
        rows=rows(session, config, free_text, since, until, now),
        generated_at=now,
        filters={"since": since, "until": until, "free_text": free_text},
    )


def count(session: Session, since: date | None = None, until: date | None = None) -> int:
    """How many rows the dataset has for these dates (for a progress bar and the audit log)."""
    return session.scalar(select(func.count(Tip.id)).where(*period(since, until)))

