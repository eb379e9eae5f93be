"""The builder's live estimate (`audience.expected`) against the exact draw (`audience.estimate`)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from campaigns import audience, service
from campaigns.service import NewCampaign
from hotline.contacts.service import new_salt
from hotline.core.models import Contact
from hotline.core.privacy import engagement_key


def test_the_live_estimate_counts_the_same_audience_and_splits_it_as_the_draw_does_on_average(ext):
    key = ext.config.phone_hash_key
    with ext.session_scope() as session:
        for n in range(3000):
            number = f"+2547{n:08d}"
            session.add(Contact(
                phone=number, engagement_key=engagement_key(number, key), county_code=47 if n % 4 else 37,
                language="sw" if n % 3 == 0 else "en", consent_source="survey" if n % 5 else "ussd",
                consented_at=datetime(2026, 1, 1, tzinfo=UTC), salt=new_salt(),
                opted_out_at=datetime(2026, 2, 1, tzinfo=UTC) if n % 50 == 0 else None,
            ))
    messages = {(v, lang): f"Safe work abroad: check the agency ({v})" for v in "AB" for lang in ("en", "sw")}
    with ext.session_scope() as session:
        campaign = service.create(session, NewCampaign("national", messages, county_codes=[47],
                                                       sources=["survey"], holdout_share=0.2, seed=11))
        exact = audience.estimate(session, campaign, Decimal("0.80"))
        live = audience.expected(session, campaign, Decimal("0.80"))

    assert live.audience == exact.audience > 1500
    assert live.held_out == round(exact.audience * 0.2) or live.held_out == int(exact.audience * 0.2)
    assert abs(live.held_out - exact.held_out) < 4 * (exact.audience * 0.2 * 0.8) ** 0.5  # the draw's chance
    assert sum(live.recipients.values()) == live.treated
    for language in ("en", "sw"):
        a, b = live.recipients[("A", language)], live.recipients[("B", language)]
        assert abs(a - b) <= 1
    assert live.segments == live.treated and live.cost == live.treated * Decimal("0.80")
    assert exact.exact and not live.exact
