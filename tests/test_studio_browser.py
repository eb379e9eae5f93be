"""The campaign studio in a real browser (Playwright driving Debian's chromium) against the served
hotline and the AT simulator: the SMS counter agrees with flows/gsm.py character for character, and a
campaign manager builds a two-language campaign with a variant and a holdout, reads its estimate and
minimum detectable effect, test-sends it to their phone, sends it, watches progress and reads the
report, on a desktop and on a phone."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import select

from flows.gsm import encoding, offending, segments, septets
from hotline.core.models import AuditEvent, Campaign
from tests.console import make_user, sign_in
from tests.test_studio_campaigns import add_contacts

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
MANAGER_PHONE = "+254700000121"
EN = "Jobs abroad? Check the agency first: dial *384*1234#"
SW = "Kazi ng'ambo? Hakiki wakala kwanza: piga *384*1234#"


def counter_text(text: str) -> str:
    """What the counter must show for `text`, from the service's own functions."""
    code = encoding(text)
    length = septets(text) if code == "GSM-7" else len(text.encode("utf-16-le")) // 2
    said = f"{code} · {length} characters · {segments(text)} SMS"
    if offending(text):
        said += " · not in GSM-7: " + " ".join(offending(text))
    if segments(text) > 3:
        said += " · too long: keep it to 3 SMS"
    return said


COUNTED = [
    "Jobs abroad? Check the agency first.",
    "",
    "Price 100€ [limited] {ask} ~ ^ | \\",
    "a" * 159 + "€",  # 161 septets: two SMS
    "a" * 160,
    "a" * 153 * 3 + "a",  # four SMS: too long
    "Señor Ñandú: ñ is GSM-7, ú is not",
    "Garçon ç",
    "Safe travels 😀",
    "😀" * 35,  # 70 UTF-16 units: one SMS
    "😀" * 36,  # 72: two
    "Usiende ng’ambo bila “mkataba” – uliza kwanza…",
    "’" + "a" * 69,
    "’" + "a" * 70,
    "line one\nline two\twith a tab",
]


@pytest.fixture
def manager(console):
    return make_user(console.ext, "campaign_manager", phone=MANAGER_PHONE)


def test_the_sms_counter_agrees_with_the_service_for_every_string(console, manager, page):
    sign_in(page, console.url, manager, next_path="/console/campaigns/new")
    counter = page.locator("#message-A-en-counter")
    for text in COUNTED:
        page.fill("#message-A-en", text)
        expect(counter).to_have_text(counter_text(text))
    page.fill("#message-A-en", "")
    page.locator("#message-A-en").press_sequentially("Hi ñ€")
    expect(counter).to_have_text(counter_text("Hi ñ€"))
    page.locator("#message-A-en").press_sequentially("’")
    expect(counter).to_have_text(counter_text("Hi ñ€’"))
    expect(counter).to_have_class(re.compile(r"\bucs2\b"))


def no_sideways_scroll(page, viewport) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_build_estimate_test_send_send_progress_and_report(console, manager, page, viewport):
    ext = console.ext
    add_contacts(ext, 240, county=lambda n: 47 if n % 2 else 37)
    page.set_viewport_size(viewport)
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, console.url, manager)
    expect(page.locator("nav a", has_text="Campaigns")).to_be_visible()
    page.goto(f"{console.url}/console/campaigns/")
    page.get_by_role("link", name="New campaign").click()

    # Build: two languages, variants A and B, 20% held out, any hour (so the worker sends now).
    page.fill("#name", "November safety")
    page.fill("#message-A-en", EN)
    page.fill("#message-A-sw", SW)
    page.get_by_role("button", name="Add a variant").click()
    expect(page.locator("#message-B-en")).to_be_visible()
    expect(page.locator("#message-A-en")).to_have_value(EN)
    page.fill("#message-B-en", "Ask before you pay an agency: dial *384*1234#")
    page.fill("#message-B-sw", "Uliza kabla ya kulipa wakala: piga *384*1234#")
    page.fill("#holdout", "20")
    page.fill("#hours_from", "00:00")
    page.fill("#hours_until", "00:00")
    page.fill("#rate", "500")
    estimate = page.locator("#estimate")
    expect(estimate.locator("[data-figure=audience]")).to_have_text("240 contacts")
    expect(estimate.locator("[data-figure=mde]")).to_contain_text(
        re.compile(r"With 20% held out you can detect a rise from 2\.0% to \d+\.\d% or more")
    )
    # A county ticked: the estimate follows.
    page.locator("input[name=county][value='37']").check()
    expect(estimate.locator("[data-figure=audience]")).to_have_text("120 contacts")
    page.locator("input[name=county][value='37']").uncheck()
    expect(estimate.locator("[data-figure=audience]")).to_have_text("240 contacts")
    no_sideways_scroll(page, viewport)
    page.locator("aside button[value=save]").click()
    expect(page.locator(".flash.success")).to_contain_text("Draft 'November safety' saved")
    no_sideways_scroll(page, viewport)

    # Test send to one's own phone: the simulator's phone gets it; the campaign counts nothing.
    page.locator("li[data-message='B-sw'] button", has_text="Test send").click()
    expect(page.locator(".flash.success")).to_contain_text("ending 121")
    console.work()
    inbox = requests.get(f"{console.sim_url}/api/messages", params={"phone": MANAGER_PHONE}, timeout=5)
    received = inbox.json()
    assert [m["message"] for m in received] == ["Uliza kabla ya kulipa wakala: piga *384*1234#"]

    # Send, after a confirmation that repeats audience and cost.
    page.get_by_role("link", name="Send…").click()
    expect(page.locator("[data-figure=audience]")).to_have_text("240 contacts")
    expect(page.locator("[data-figure=cost]")).to_contain_text("KES")
    held_out = int(page.locator("[data-figure=held_out]").inner_text().split()[0])
    page.clock.install()
    page.get_by_role("button", name=re.compile(r"^Send to \d+ contacts$")).click()
    expect(page.locator(".flash.success")).to_contain_text(f"{held_out} held out")
    expect(page.locator("#progress [data-figure=sent]")).to_have_text("0")

    # The worker sends; the simulator's delivery reports come back; the progress block polls.
    console.work()
    requests.post(f"{console.sim_url}/api/flush", timeout=20)
    console.work()
    page.clock.run_for(6_000)
    to_send = 240 - held_out
    expect(page.locator("#progress [data-figure=sent]")).to_have_text(str(to_send))
    expect(page.locator("#progress [data-figure=delivered]")).to_have_text(str(to_send))
    sent_per_minute = page.locator("#progress .minutes tbody td:nth-child(2)").all_inner_texts()
    assert sum(int(n.replace(",", "")) for n in sent_per_minute) == to_send  # a minute may have turned
    no_sideways_scroll(page, viewport)

    # The report.
    page.get_by_role("link", name="Report").first.click()
    expect(page.locator("[data-figure=reach]")).to_have_text(str(to_send))
    expect(page.locator("[data-figure=headline]")).to_contain_text("Too few held out to say")
    expect(page.locator("[data-figure=window]")).to_contain_text("14 days")
    # A and B, then the held-out group's row (every breakdown has one: campaigns.report); a total that adds up
    variants = page.locator("table[data-breakdown=variant] tbody tr")
    expect(variants).to_have_count(3)
    expect(variants.last).to_contain_text("held out (no message)")
    expect(page.locator("table[data-breakdown=variant] tfoot")).to_contain_text(str(240))
    expect(page.locator(".forest svg").first).to_be_visible()
    expect(page.locator(".county-map.shaded path[data-county='47'] title")).to_have_text(
        re.compile(r"^Nairobi City: \d+ reached$"))
    no_sideways_scroll(page, viewport)
    with ext.session_scope() as session:
        assert session.scalar(select(Campaign.state)) == "done"
        events = select(AuditEvent.action).where(AuditEvent.action.like("campaign.%")).order_by(AuditEvent.id)
        actions = session.scalars(events).all()
    assert actions == ["campaign.created", "campaign.test_sent", "campaign.started"]
