"""The inbox service: scope by viewer, folders, filters, order, keyset pages and counts."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from hotline.core.models import CaseEvent, FocalPoint, OutboundSms, Tip, User
from hotline.core.viewer import Viewer
from hotline.tips import inbox
from hotline.tips.inbox import Filters
from hotline.tips.reference import display
from tests import builders

KAKAMEGA, NAIROBI = 37, 47
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def add_tip(session, n: int, **overrides) -> Tip:
    """A tip made `n` minutes after START; defaults plus overrides."""
    return builders.add_tip(session, START + timedelta(minutes=n), **overrides)


def viewer_of(session, role: str, county_code=None, focal_point_id=None) -> Viewer:
    user = User(
        email=f"{role}{county_code}.{focal_point_id}@example.org",
        password_hash="-",
        role=role,
        county_code=county_code,
        focal_point_id=focal_point_id,
        session_token="t",
    )
    session.add(user)
    session.flush()
    return Viewer(user.id, user.email, role, county_code, focal_point_id)


@pytest.fixture
def session(ext):
    with ext.session_scope() as session:
        yield session


def refs(page) -> list[str]:
    return [tip.reference for tip in page.tips]


def test_a_focal_point_sees_their_county_and_tips_sent_to_them_only(session):
    officer = FocalPoint(county_code=KAKAMEGA, name="Officer A", phone="+254700000101")
    session.add(officer)
    session.flush()
    own = add_tip(session, 1)
    nairobi = add_tip(session, 2, county_code=NAIROBI)
    escalated = add_tip(session, 3, county_code=NAIROBI)
    nowhere = add_tip(session, 4, county_code=None)
    session.add(
        OutboundSms(
            dedupe_key="x", purpose="escalation", tip_id=escalated.id, focal_point_id=officer.id, message="m"
        )
    )
    session.add(
        OutboundSms(dedupe_key="y", purpose="ack", tip_id=nowhere.id, focal_point_id=officer.id, message="m")
    )
    kakamega = viewer_of(session, "focal_point", KAKAMEGA, officer.id)
    # Routing sends a Kakamega officer Kakamega's tips only: one of another county was moved since.
    assert refs(inbox.page(session, kakamega, "new")) == [own.reference]
    session.add(CaseEvent(tip_id=escalated.id, kind="moved", detail={"from_county": KAKAMEGA}))
    assert refs(inbox.page(session, kakamega, "new")) == [own.reference, escalated.reference]
    national = FocalPoint(county_code=0, name="Secretariat desk", phone="+254700000190")
    session.add(national)
    session.flush()
    session.add(
        OutboundSms(dedupe_key="z", purpose="tip", tip_id=nairobi.id, focal_point_id=national.id, message="m")
    )
    odd = viewer_of(session, "focal_point", KAKAMEGA, national.id)  # an account linked to a national entry
    assert refs(inbox.page(session, odd, "new")) == [own.reference, nairobi.reference]
    assert inbox.find(session, kakamega, display(escalated.reference)) is escalated
    assert inbox.find(session, kakamega, nairobi.reference) is None
    assert inbox.find(session, kakamega, nowhere.reference) is None  # an `ack` SMS is no notification
    secretariat = viewer_of(session, "secretariat")
    assert len(inbox.page(session, secretariat, "new").tips) == 4
    assert inbox.find(session, secretariat, nairobi.reference) is nairobi
    for role in ("admin", "auditor", "campaign_manager"):
        other = viewer_of(session, role)
        assert inbox.page(session, other, "new").tips == []
        assert inbox.find(session, other, own.reference) is None
        assert inbox.counts(session, other) == dict.fromkeys(inbox.FOLDERS, 0)


def test_find_refuses_malformed_references_without_a_lookup(session):
    secretariat = viewer_of(session, "secretariat")
    tip = add_tip(session, 1)
    for typed in (None, "", "abc", tip.reference[:-1], "1" * 12, "../" + tip.reference + "x"):
        assert inbox.find(session, secretariat, typed) is None


def test_folders_and_triage(session):
    new, active = add_tip(session, 1), add_tip(session, 2, folder="active")
    followup, closed = add_tip(session, 3, folder="followup"), add_tip(session, 4, folder="closed")
    untriaged = add_tip(session, 5, county_code=None)
    add_tip(session, 6, county_code=None, folder="closed")
    secretariat = viewer_of(session, "secretariat")
    assert refs(inbox.page(session, secretariat, "new")) == [new.reference, untriaged.reference]
    assert refs(inbox.page(session, secretariat, "active")) == [active.reference]
    assert refs(inbox.page(session, secretariat, "followup")) == [followup.reference]
    assert refs(inbox.page(session, secretariat, "closed"))[0] == closed.reference
    assert refs(inbox.page(session, secretariat, "triage")) == [untriaged.reference]
    assert inbox.counts(session, secretariat) == {
        "new": 2,
        "active": 1,
        "followup": 1,
        "closed": 2,
        "triage": 1,
    }
    focal = viewer_of(session, "focal_point", KAKAMEGA)
    assert inbox.page(session, focal, "triage").tips == []  # not a folder of theirs
    assert inbox.counts(session, focal) == {"new": 1, "active": 1, "followup": 1, "closed": 1}
    assert inbox.page(session, focal, "nonsense").tips == []


def test_urgent_and_child_cases_come_first_then_the_oldest(session):
    old, urgent = add_tip(session, 1), add_tip(session, 5, priority=0, urgent=True, danger="yes")
    child, newer = add_tip(session, 3, priority=0, children="yes"), add_tip(session, 2)
    secretariat = viewer_of(session, "secretariat")
    assert refs(inbox.page(session, secretariat, "new")) == [
        child.reference,
        urgent.reference,
        old.reference,
        newer.reference,
    ]


def test_keyset_pages_walk_every_tip_once_both_ways(session):
    rng = random.Random(7)
    tips = [add_tip(session, rng.randrange(0, 50), priority=rng.choice((0, 1))) for _ in range(23)]
    expected = [t.reference for t in sorted(tips, key=lambda t: (t.priority, t.created_at, t.id))]
    secretariat = viewer_of(session, "secretariat")
    seen, pages, cursor = [], [], None
    while True:
        page = inbox.page(session, secretariat, "new", after=cursor, size=5)
        pages.append(page)
        seen += refs(page)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == expected and len(pages) == 5
    assert pages[0].previous_cursor is None and pages[1].previous_cursor is not None
    back = inbox.page(session, secretariat, "new", before=pages[2].previous_cursor, size=5)
    assert refs(back) == refs(pages[1]) and back.next_cursor == pages[1].next_cursor
    first = inbox.page(session, secretariat, "new", before=pages[1].previous_cursor, size=5)
    assert refs(first) == refs(pages[0]) and first.previous_cursor is None
    assert refs(inbox.page(session, secretariat, "new", after="garbage", size=5)) == refs(pages[0])
    assert inbox.parse_cursor("1.2") is None and inbox.parse_cursor("1.-5.3") is None


def test_filters(session):
    a = add_tip(session, 1, kind="child_labour", channel="sms", danger="yes", children="yes", agency_id=None)
    b = add_tip(session, 60 * 24 * 3, county_code=NAIROBI, place="Gikomba 100% sure_thing", description=None)
    c = add_tip(session, 60 * 24 * 6, description="Girls taken to GULF by an agent")
    secretariat = viewer_of(session, "secretariat")

    def found(**filters):
        return refs(inbox.page(session, secretariat, "new", Filters(**filters)))

    assert found(kind="child_labour") == [a.reference]
    assert found(channel="sms", danger="yes", children="yes") == [a.reference]
    assert found(county=NAIROBI) == [b.reference]
    assert found(text="gulf") == [c.reference]
    assert found(text="100%") == [b.reference] and found(text="0%s") == []
    assert found(text="s_r") == [] and found(text="sure_") == [b.reference]
    assert found(since=date(2026, 11, 4), until=date(2026, 11, 4)) == [b.reference]
    assert found(since=date(2026, 11, 5)) == [c.reference]
    assert found(agency=999) == []
    assert inbox.counts(session, secretariat, Filters(text="lurambi"))["new"] == 2
    assert Filters(kind="x", county=3).as_query() == {"kind": "x", "county": "3"} and not Filters().active


def test_a_duplicate_is_listed_in_closed_but_counted_once(session):
    original = add_tip(session, 1)
    duplicate = add_tip(session, 2, folder="closed", case_status="Closed", duplicate_of_id=original.id)
    secretariat = viewer_of(session, "secretariat")
    assert refs(inbox.page(session, secretariat, "closed")) == [duplicate.reference]
    assert inbox.counts(session, secretariat)["new"] == 1
    assert inbox.counts(session, secretariat)["closed"] == 0


def test_counts_stop_at_the_cap(session):
    for n in range(5):
        add_tip(session, n)
    add_tip(session, 9, folder="closed")
    secretariat = viewer_of(session, "secretariat")
    found = inbox.counts(session, secretariat, cap=3)
    assert (found["new"], found["closed"]) == (4, 1)
    assert inbox.count_words(found["new"], cap=3) == "3+" and inbox.count_words(1234) == "1,000+"


def test_a_text_search_counts_every_folder_in_one_pass_with_the_same_rules(session):
    original = add_tip(session, 1)
    add_tip(session, 2, folder="closed", case_status="Closed", duplicate_of_id=original.id)
    add_tip(session, 3, folder="active")
    add_tip(session, 4, county_code=None)
    add_tip(session, 5, county_code=None, folder="closed")
    add_tip(session, 6, place="Elsewhere", description="nothing to find")
    secretariat = viewer_of(session, "secretariat")
    searched = inbox.counts(session, secretariat, Filters(text="LURAMBI"))
    assert searched == {"new": 2, "active": 1, "followup": 0, "closed": 1, "triage": 1}
    assert inbox.counts(session, secretariat, Filters(text="lurambi", kind="forced_labour")) == searched
    unsearched = inbox.counts(session, secretariat)
    assert unsearched == {**searched, "new": 3}
    focal = viewer_of(session, "focal_point", KAKAMEGA)
    assert inbox.counts(session, focal, Filters(text="lurambi")) == {
        "new": 1,
        "active": 1,
        "followup": 0,
        "closed": 0,
    }
