"""The dashboard in a real browser (Playwright driving Debian's chromium) against the served hotline:
the secretariat reads a county's number on the map, clicks the county and lands on its inbox; and
the page fits a phone's 390 px without scrolling sideways."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from hotline.core.time import utcnow
from hotline.tips.reference import display
from tests.console import make_user, sign_in
from tests.test_inbox import KAKAMEGA, NAIROBI, add_tip

PHONE_WIDTH = {"width": 390, "height": 844}


def test_a_county_on_the_map_opens_its_inbox_and_the_page_fits_a_phone(console, page):
    with console.ext.session_scope() as session:
        kakamega = add_tip(session, 0, county_code=KAKAMEGA, created_at=utcnow()).reference
        nairobi = add_tip(session, 1, county_code=NAIROBI, created_at=utcnow()).reference
        add_tip(session, 2, county_code=NAIROBI, created_at=utcnow(), kind="servitude")
    secretariat = make_user(console.ext, "secretariat")
    sign_in(page, console.url, secretariat, "/console/dashboard")
    page.goto(f"{console.url}/console/dashboard")
    county = page.locator(f".county-map.shaded a:has(path[data-county='{KAKAMEGA}'])")
    expect(county.locator("title")).to_have_text("Kakamega: 1 tip")
    expect(page.locator(f".county-map.shaded a:has(path[data-county='{NAIROBI}']) title")).to_have_text(
        "Nairobi City: 2 tips")
    county.locator("path").click()
    page.wait_for_url(re.compile(rf"/console/\?county={KAKAMEGA}&folder=new&since="))
    expect(page.locator("table.inbox")).to_contain_text(display(kakamega))
    expect(page.locator("table.inbox")).not_to_contain_text(display(nairobi))

    page.set_viewport_size(PHONE_WIDTH)
    page.goto(f"{console.url}/console/dashboard?days=365")
    expect(page.locator("#reach")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    assert page.evaluate("document.body.scrollWidth <= window.innerWidth")
