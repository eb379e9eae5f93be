"""Rows many tests build, from defaults plus overrides (vumi's `mk_request`): a tip and a
recruitment agency, each added and flushed so its id is set."""

from __future__ import annotations

from datetime import datetime

from hotline.core.models import Agency, Tip
from hotline.tips.reference import new_reference

KAKAMEGA = 37


def add_tip(session, created: datetime, **overrides) -> Tip:
    """A forced-labour tip by USSD from Kakamega received at `created`, with a plain place and
    description; defaults plus overrides."""
    values = {
        "reference": new_reference(),
        "channel": "ussd",
        "kind": "forced_labour",
        "county_code": KAKAMEGA,
        "place": "Lurambi market",
        "description": "Men locked in a yard",
        "reporter_key": "k" * 64,
        "created_at": created,
    }
    tip = Tip(**{**values, **overrides})
    session.add(tip)
    session.flush()
    return tip


def add_agency(session, **overrides) -> Agency:
    """A local recruitment agency whose licence was revoked; defaults plus overrides."""
    values = {
        "name": "Fly Ltd",
        "registration_number": "R1",
        "registration_key": "r1",
        "name_key": "fly",
        "status": "revoked",
        "licence_type": "local",
    }
    agency = Agency(**{**values, **overrides})
    session.add(agency)
    session.flush()
    return agency
