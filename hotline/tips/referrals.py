"""The referral organisations the secretariat keeps: the police, DCI's anti-trafficking unit, children's
services, labour offices, shelters, NGOs and others that a case can be referred to, per county or national.

A focal point's referral form offers `organisations_for(session, county)`: the active ones of the
tip's county and the national ones. Entries are added, changed and deactivated one at a time from the
console, each change written to the audit log; nothing is ever deleted (past referrals point at them).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import phonenumbers
from sqlalchemy import func, or_, select

from hotline.core import audit
from hotline.core.counties import by_code, name_of
from hotline.core.csv_import import FieldErrors, parse_fields, text_column
from hotline.core.models import ReferralOrganisation, User
from hotline.tips.focal_points import PARSERS as FOCAL_POINT_PARSERS

KINDS = {
    "police": "Police (gender and children's desk)",
    "dci_atu": "DCI anti-trafficking unit",
    "children": "Children's services",
    "labour": "Labour office",
    "shelter": "Shelter",
    "ngo": "NGO",
    "health": "Health",
    "other": "Other",
}
NATIONAL = "national"  # what a form sends for an organisation that serves every county
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+", re.ASCII)


@dataclass(frozen=True)
class OrganisationEntry:
    """One checked directory entry, in the database's terms (county_code None: national)."""

    county_code: int | None
    name: str
    kind: str
    phone: str | None
    email: str | None
    active: bool


def _county(text: str) -> int | None:
    if text in ("", "0", NATIONAL):
        return None
    if not (text.isascii() and text.isdigit() and int(text) in by_code()):
        raise ValueError(f"county {text!r} is not a Kenyan county (1-47, or national)")
    return int(text)


def _kind(text: str) -> str:
    if text not in KINDS:
        raise ValueError(f"kind {text!r} is not one of {', '.join(KINDS)}")
    return text


def _phone(text: str) -> str | None:
    """Any Kenyan number (a desk's landline too), in E.164, or None when left empty."""
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, "KE")
    except phonenumbers.NumberParseException:
        raise ValueError(f"phone {text!r} is not a phone number") from None
    if number.country_code != 254 or not phonenumbers.is_valid_number(number):
        raise ValueError(f"phone {text!r} is not a valid Kenyan number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _email(text: str) -> str | None:
    if not text:
        return None
    if len(text) > 254 or not _EMAIL.fullmatch(text):
        raise ValueError(f"e-mail {text[:60]!r} is not an e-mail address (name@example.org)")
    return text.lower()


PARSERS = {
    "county_code": _county,
    "name": text_column("name", 160, required=True),
    "kind": _kind,
    "phone": _phone,
    "email": _email,
    "active": FOCAL_POINT_PARSERS["active"],
}


def kind_label(kind: str) -> str:
    """The words shown for a kind of organisation."""
    return KINDS.get(kind, kind)


def organisations_for(session, county_code: int | None) -> list[ReferralOrganisation]:
    """The active organisations a tip of this county can be referred to: the county's, then national."""
    query = select(ReferralOrganisation).where(ReferralOrganisation.active.is_(True))
    county = ReferralOrganisation.county_code
    if county_code is None:
        query = query.where(county.is_(None))
    else:
        query = query.where(or_(county == county_code, county.is_(None)))
    # nulls last on both databases: county ones first, then national
    return list(session.scalars(query.order_by(county.is_(None), ReferralOrganisation.kind,
                                               ReferralOrganisation.name)))


def directory(session, county: str | None = None) -> list[ReferralOrganisation]:
    """Every entry, active or not, national first, then by county, kind and name; `county` a code or
    'national' narrows it."""
    query = select(ReferralOrganisation)
    if county == NATIONAL:
        query = query.where(ReferralOrganisation.county_code.is_(None))
    elif county:
        query = query.where(ReferralOrganisation.county_code == int(county))
    order = (ReferralOrganisation.county_code.is_not(None), ReferralOrganisation.county_code,
             ReferralOrganisation.kind, ReferralOrganisation.name)
    return list(session.scalars(query.order_by(*order)))


def check_entry(session, values: dict[str, str], editing: ReferralOrganisation | None = None
                ) -> OrganisationEntry:
    """An entry typed in the console, checked field by field and unique by (county, name);
    FieldErrors names each bad field."""
    clean, problems = parse_fields({"active": "true", **values}, PARSERS)
    if not problems:
        entry = OrganisationEntry(**clean)
        same = session.scalar(select(ReferralOrganisation).where(
            ReferralOrganisation.county_code.is_(None) if entry.county_code is None
            else ReferralOrganisation.county_code == entry.county_code,
            func.lower(ReferralOrganisation.name) == entry.name.lower(),
        ).limit(1))
        if same is not None and same is not editing:
            problems["name"] = f"{same.name} is already in the directory for {where(entry.county_code)}"
    if problems:
        raise FieldErrors(problems)
    return entry


def add(session, values: dict[str, str], by: User | None, ip: str | None = None) -> ReferralOrganisation:
    """Add one organisation (audited); FieldErrors when a field is refused."""
    entry = check_entry(session, values)
    organisation = ReferralOrganisation(**asdict(entry))
    session.add(organisation)
    session.flush()
    _audit(session, by, "referral_organisation.added", organisation, asdict(entry), ip)
    return organisation


def edit(session, organisation: ReferralOrganisation, values: dict[str, str], by: User | None,
         ip: str | None = None) -> dict[str, list]:
    """Change one organisation (audited); returns {field: [old, new]}, FieldErrors when refused."""
    entry = check_entry(session, {"active": str(organisation.active), **values}, editing=organisation)
    changes = {
        column: [getattr(organisation, column), value]
        for column, value in asdict(entry).items()
        if getattr(organisation, column) != value
    }
    for column, (_old, value) in changes.items():
        setattr(organisation, column, value)
    if changes:
        session.flush()
        _audit(session, by, "referral_organisation.changed", organisation, changes, ip)
    return changes


def deactivate(session, organisation: ReferralOrganisation, by: User | None, ip: str | None = None) -> bool:
    """Offer this organisation no more (past referrals keep it; audited); False if inactive already."""
    if not organisation.active:
        return False
    organisation.active = False
    session.flush()
    _audit(session, by, "referral_organisation.deactivated", organisation, {"active": [True, False]}, ip)
    return True


def where(county_code: int | None) -> str:
    """The county's name, or 'every county (national)'."""
    return name_of(county_code) or "every county (national)"


def entry_label(organisation: ReferralOrganisation) -> str:
    """How the audit log names an organisation: id, name and county."""
    label = f"referral_organisation:{organisation.id} {organisation.name}"
    return f"{label} ({where(organisation.county_code)})"[:254]


def _audit(session, by, action: str, organisation: ReferralOrganisation, detail: dict, ip: str | None):
    audit.record(session, by, action, target=entry_label(organisation), detail=detail, ip=ip)


# Fictitious, for `flask seed --demo`: numbers in the ranges the demo data uses (+25420…, +2547000…).
DEMO_ORGANISATIONS = (
    dict(county_code="37", name="Demo Kakamega Police gender and children's desk", kind="police",
         phone="+254202000137", email=""),
    dict(county_code="47", name="Demo Nairobi Police gender and children's desk", kind="police",
         phone="+254202000147", email=""),
    dict(county_code=NATIONAL, name="Demo DCI Anti-Human Trafficking and Child Protection Unit",
         kind="dci_atu", phone="+254202000100", email="atu@example.org"),
    dict(county_code="37", name="Demo Kakamega County Children's Services", kind="children",
         phone="+254700000337", email="children.kakamega@example.org"),
    dict(county_code="47", name="Demo Nairobi County Labour Office", kind="labour",
         phone="+254202000247", email=""),
    dict(county_code="47", name="Demo Nairobi safe house for survivors", kind="shelter",
         phone="+254700000347", email="shelter@example.org"),
)


def seed_demo(session) -> int:
    """Add the demo organisations not there yet; returns how many were added."""
    added = 0
    for values in DEMO_ORGANISATIONS:
        try:
            add(session, values, by=None)
        except FieldErrors:
            continue  # seeded before: the name is taken in that county
        added += 1
    return added
