"""The selectable county map in a real browser (Playwright driving Debian's chromium): the macro rendered
into a form with the counties' checkboxes, served by the test itself with the console's own console.js,
console.css and security headers (the CSP included), so no route exists only for a test; and the map in
the studio's builder, where it drives the live estimate."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask, render_template_string
from playwright.sync_api import expect

from hotline.accounts.protection import HTML_HEADERS
from hotline.core import counties
from hotline.core.maps import ATTRIBUTION
from tests.conftest import serve, stop
from tests.console import make_user, sign_in
from tests.test_studio_campaigns import add_contacts

STATIC = Path(__file__).resolve().parents[1] / "hotline" / "static"
PHONE_WIDTH = {"width": 390, "height": 844}
FORM = """{% from "console/map.html" import county_map %}<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Map</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/console/console.css">
<script src="/static/console/console.js" defer></script></head>
<body><main><form method="post" action="/">
{{ county_map(selected=[1], label="Counties to send to") }}
<fieldset><legend>Counties</legend>
{% for county in counties %}
<label><input type="checkbox" name="counties" value="{{ county.code }}"
  {%- if county.code == 1 %} checked{% endif %}>
{{ county.name }}</label>
{% endfor %}</fieldset>
</form></main></body></html>"""


@pytest.fixture
def map_page(app, page):
    """The builder's county picker as a page of its own: the map and the 47 checkboxes in one form."""
    with app.test_request_context():
        html = render_template_string(FORM, counties=counties.all_counties())
    server = Flask("map_page", static_folder=str(STATIC))
    server.add_url_rule("/", "form", lambda: (html, 200, HTML_HEADERS))
    server.after_request(lambda response: (response.headers.update(HTML_HEADERS), response)[1])
    running = serve(server)
    page.goto(f"http://127.0.0.1:{running[0].socket.getsockname()[1]}/")
    yield page
    stop(*running)


def box(page, code: int):
    return page.locator(f"input[name=counties][value='{code}']")


def county(page, code: int):
    return page.locator(f"[data-county-map] path[data-county='{code}']")


def test_clicking_a_county_ticks_its_checkbox_and_clicking_again_unticks_it(map_page):
    page = map_page
    expect(county(page, 1)).to_have_class("selected")  # as the server drew it
    county(page, 37).click()
    expect(box(page, 37)).to_be_checked()
    expect(county(page, 37)).to_have_class("selected")
    expect(county(page, 37)).to_have_attribute("aria-checked", "true")
    county(page, 37).click()
    expect(box(page, 37)).not_to_be_checked()
    expect(county(page, 37)).not_to_have_class("selected")


def test_ticking_a_checkbox_marks_its_county_on_the_map(map_page):
    page = map_page
    box(page, 47).check()
    expect(county(page, 47)).to_have_class("selected")
    expect(county(page, 47)).to_have_attribute("aria-checked", "true")
    box(page, 1).uncheck()
    expect(county(page, 1)).not_to_have_class("selected")
    expect(county(page, 1)).to_have_attribute("aria-checked", "false")


def test_the_map_works_from_the_keyboard(map_page):
    page = map_page
    county(page, 22).focus()
    page.keyboard.press("Enter")
    expect(box(page, 22)).to_be_checked()
    scrolled = page.evaluate("window.scrollY")
    page.keyboard.press(" ")
    expect(box(page, 22)).not_to_be_checked()
    assert page.evaluate("window.scrollY") == scrolled  # Space toggled, it did not scroll
    page.keyboard.press("Tab")  # the next county
    assert page.evaluate("document.activeElement.getAttribute('data-county')") == "23"


def test_on_a_phone_the_map_fits_the_width_and_a_tap_ticks_a_county(map_page):
    page = map_page
    page.set_viewport_size(PHONE_WIDTH)
    svg = page.locator("[data-county-map]").bounding_box()
    assert 300 <= svg["width"] <= PHONE_WIDTH["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH["width"]
    county(page, 23).click()  # Turkana: big enough for a finger
    expect(box(page, 23)).to_be_checked()
    expect(page.locator("figcaption")).to_have_text("Boundaries © OpenStreetMap contributors (ODbL)")  # as is


def test_the_builder_map_ticks_the_builders_county_list_and_the_estimate_follows(console, page):
    """The studio's builder (/console/campaigns/new): the map is drawn in the form, beside its list of
    checkboxes `county`; a click on Kakamega ticks 37 and the live estimate counts Kakamega's contacts."""
    add_contacts(console.ext, 30, county=lambda n: 47 if n % 3 else 37, language=lambda n: "en")  # 10 in 37
    manager = make_user(console.ext, "campaign_manager", phone="+254700000121")
    page.set_viewport_size(PHONE_WIDTH)
    sign_in(page, console.url, manager, next_path="/console/campaigns/new")
    page.fill("#message-A-en", "Jobs abroad? Check the agency first: dial *384*1234#")
    audience = page.locator("#estimate [data-figure=audience]")
    expect(audience).to_have_text("30 contacts")
    kakamega = page.locator("[data-county-map=county] path[data-county='37']")
    kakamega.click()
    expect(page.locator("input[name=county][value='37']")).to_be_checked()
    expect(kakamega).to_have_class("selected")
    expect(audience).to_have_text("10 contacts")
    page.locator("input[name=county][value='47']").check()
    expect(page.locator("[data-county-map=county] path[data-county='47']")).to_have_class("selected")
    expect(audience).to_have_text("30 contacts")
    assert page.locator("[data-county-map]").bounding_box()["width"] <= PHONE_WIDTH["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH["width"]
    expect(page.locator(".county-map figcaption")).to_have_text(ATTRIBUTION)
