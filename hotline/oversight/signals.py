"""The dashboard's figures from beyond the tips: referrals by organisation type, checks of
unlicensed agencies, and campaign reach, per county where the data has one.

Referrals are those of the window's tips (what became of the cases received), whatever day they
were made. An agency check counts when its verdict was anything but licensed (not in the register
included), on the Nairobi days of the window; checks carry no kind, so the kind filter leaves them
be. Reach counts as `campaigns.report` does: a contact reached is one with a Success delivery
report, each contact once however many campaigns reached them, here by the day it was delivered
and the county the contact had when drawn for the campaign.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import distinct, false, func, select
from sqlalchemy.orm import Session

from hotline.africastalking.statuses import DELIVERED
from hotline.core.models import AgencyLookup, CampaignRecipient, Referral, ReferralOrganisation, Tip
from hotline.oversight.scope import Scope, Window
from hotline.oversight.stats import tip_conditions
from hotline.tips.referrals import KINDS as ORGANISATION_KINDS

LICENSED = "licensed"


@dataclass
class Referrals:
    """Per organisation type: referrals made, and tips referred (a tip referred twice counts once)."""

    referrals: Counter
    tips: Counter
    tips_total: int


def referrals(session: Session, scope: Scope, window: Window) -> Referrals:
    """Referrals of the window's tips, by organisation type (ReferralOrganisation.kind)."""
    joined = (
        select(ReferralOrganisation.kind, Referral.tip_id)
        .join(Referral, Referral.organisation_id == ReferralOrganisation.id)
        .join(Tip, Tip.id == Referral.tip_id)
        .where(*tip_conditions(scope, window))
        .subquery()
    )
    query = select(joined.c.kind, func.count(), func.count(distinct(joined.c.tip_id))).group_by(joined.c.kind)
    made, tips = Counter(), Counter()
    for kind, n, referred in session.execute(query):
        made[kind] += n
        tips[kind] += referred
    # A tip referred to two kinds of organisation is one tip referred: counted apart, from the kinds'.
    total = session.scalar(select(func.count(distinct(joined.c.tip_id)))) if made else 0
    order = list(ORGANISATION_KINDS)
    made = Counter(dict(sorted(made.items(), key=lambda i: order.index(i[0]) if i[0] in order else 99)))
    return Referrals(made, tips, total)


def _county_condition(column, scope: Scope) -> list:
    if scope.nothing:
        return [false()]
    return [column == scope.county] if scope.county is not None else []


def unlicensed_checks(session: Session, scope: Scope, window: Window) -> Counter:
    """Checks of agencies that are not licensed (or not in the register), per county of the check."""
    query = (
        select(AgencyLookup.county_code, func.count())
        .where(
            AgencyLookup.day >= window.first_day,
            AgencyLookup.day <= window.today,
            AgencyLookup.verdict != LICENSED,
            *_county_condition(AgencyLookup.county_code, scope),
        )
        .group_by(AgencyLookup.county_code)
    )
    return Counter(dict(session.execute(query).all()))


@dataclass
class Reach:
    """Contacts with a delivered campaign SMS in the window: per county, and in all (each once)."""

    counties: Counter
    total: int


def reach(session: Session, scope: Scope, window: Window) -> Reach:
    """Unique contacts reached by any campaign in the window, per county (`ix_campaign_reach`)."""
    where = [
        CampaignRecipient.delivery_status == DELIVERED,
        CampaignRecipient.delivered_at >= window.start,
        *_county_condition(CampaignRecipient.county_code, scope),
    ]
    per_county = (
        select(CampaignRecipient.county_code, func.count(distinct(CampaignRecipient.contact_id)))
        .where(*where)
        .group_by(CampaignRecipient.county_code)
    )
    counties = Counter(dict(session.execute(per_county).all()))
    # A contact reached in two counties' campaigns (moved between draws) is one contact in all.
    total = session.scalar(select(func.count(distinct(CampaignRecipient.contact_id))).where(*where)) \
        if counties else 0
    return Reach(counties, total)
