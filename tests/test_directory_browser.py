"""The directory in a real browser (Debian's chromium through Playwright): the secretariat adds a focal
point on a phone-sized screen and the next tip's routing reaches them; a bad phone is refused in the CSV
import's words; a focal point is refused the directory."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.core.csv_import import mobile_phone
from hotline.core.models import FocalPoint
from hotline.tips import routing
from tests.console import make_user, sign_in

NEW = "/console/directory/focal-points/new"


def fill(page, county: str, name: str, phone: str, priority: str = "1") -> None:
    page.select_option("select[name=county_code]", county)
    page.fill("input[name=name]", name)
    page.fill("input[name=organisation]", "County children's office")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=priority]", priority)
    page.click("main form[method=post] button[type=submit]")


def test_the_secretariat_adds_a_focal_point_that_routing_uses_at_once(console, page):
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    sign_in(page, console.url, make_user(console.ext, "secretariat"))
    page.click("header nav >> text=Directory")
    page.wait_for_url("**/console/directory/focal-points")
    page.click("text=Add a focal point")
    fill(page, "37", "Officer Wanjiru", "0700 000 301")
    page.wait_for_url("**/console/directory/focal-points?county=37")
    assert "Officer Wanjiru added" in page.text_content("main")
    row = page.locator("table.stack tbody tr", has_text="Officer Wanjiru")
    assert row.locator("td[data-label=Phone] a[href='tel:+254700000301']").is_visible()
    assert page.locator("table.stack thead").is_hidden()  # on a phone each row is a card, cells labelled
    with console.ext.session_scope() as session:
        [focal_point] = routing.focal_points(session, 37)
        assert (focal_point.name, focal_point.phone) == ("Officer Wanjiru", "+254700000301")
    assert refused == []


def test_a_bad_phone_is_refused_in_the_imports_words(console, page):
    sign_in(page, console.url, make_user(console.ext, "admin"), next_path=NEW)
    page.goto(console.url + NEW)
    fill(page, "47", "Officer Otieno", "0201 234")
    error = page.locator(".field.invalid small.error")
    with pytest.raises(ValueError) as imported:
        mobile_phone("0201 234")
    assert error.inner_text() == str(imported.value)
    assert page.input_value("input[name=name]") == "Officer Otieno"  # kept for the correction
    with console.ext.session_scope() as session:
        assert session.scalars(select(FocalPoint)).all() == []


def test_a_focal_point_is_refused_the_directory(console, page):
    sign_in(page, console.url, make_user(console.ext, "focal_point", county_code=37))
    assert "Directory" not in page.text_content("header")
    for path in ("/console/directory/focal-points", NEW, "/console/directory/organisations"):
        response = page.goto(console.url + path)
        assert response.status == 403
        assert "Your role may not open this page" in page.text_content("main")
