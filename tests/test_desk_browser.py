"""The case desk in a real browser (Playwright driving Debian's chromium) against the served hotline:
scope, acknowledge and close seen from the reporter's USSD follow-up, notes as text, the audited
reveal, a message read and answered by USSD, and a new tip appearing without a reload."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from hotline.core.models import AuditEvent, FocalPoint, Tip
from hotline.core.time import utcnow
from hotline.tips.reference import display
from tests.conftest import TEST_PHONE, Phone
from tests.console import make_user, sign_in
from tests.test_inbox import NAIROBI, add_tip

PHONE_WIDTH = {"width": 390, "height": 844}


class Desk:
    """The served console, a Kakamega focal point's account, and a tip reported by USSD from TEST_PHONE."""

    def __init__(self, console):
        self.console, self.ext = console, console.ext
        with self.ext.session_scope() as session:
            session.add(
                FocalPoint(county_code=0, name="Secretariat", organisation="CTiP", phone="+254700000190")
            )
        self.officer = make_user(self.ext, "focal_point", 37, name="Officer Wekesa")
        self.phone = Phone(console.app.test_client())
        self.phone.dial()
        self.phone.send("1", "1", "kak", "Lurambi market", "Men locked in a yard", "2", "2", "1", "1")
        console.work()  # routing: the officer is sent the tip by SMS
        with self.ext.session_scope() as session:
            self.reference = session.scalar(select(Tip.reference).order_by(Tip.id.desc()))
            self.nairobi = add_tip(session, 1, county_code=NAIROBI, created_at=utcnow()).reference

    def case_url(self, reference=None) -> str:
        return f"{self.console.url}/console/t/{reference or self.reference}"

    def follow_up(self) -> str:
        """The reporter's follow-up screen for the tip (USSD menu 3)."""
        self.phone.dial()
        return self.phone.send("3", self.reference)

    def act(self, page, summary: str, button: str | None = None) -> None:
        """Open an action's <details> on the case page; with `button`, send it and wait for the flash."""
        page.locator("details.action summary", has_text=summary).click()
        if button:
            page.locator("details.action[open] button[type=submit]", has_text=button).click()
            expect(page.locator(".flash.success")).to_be_visible()


@pytest.fixture
def desk(console):
    return Desk(console)


@pytest.fixture
def officer_page(desk, page):
    sign_in(page, desk.console.url, desk.officer)
    return page


def test_a_kakamega_focal_point_sees_kakamega_tips_only_and_gets_404_on_a_nairobi_tip(desk, officer_page):
    page = officer_page
    page.set_viewport_size(PHONE_WIDTH)
    page.goto(f"{desk.console.url}/console/")
    expect(page.locator("tr[data-reference]")).to_have_count(1)
    row = page.locator(f"tr[data-reference='{desk.reference}']")
    expect(row.locator("td[data-label=County]")).to_have_text("Kakamega")
    expect(row.locator(".countdown")).to_have_text(re.compile(r"^in \d+ (min|h)"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH["width"]
    response = page.goto(desk.case_url(desk.nairobi))
    assert response.status == 404
    expect(page.locator("main")).to_contain_text("no tip with this reference")
    row_link = f"{desk.console.url}/console/"
    page.goto(row_link)
    page.get_by_role("link", name=display(desk.reference)).click()
    expect(page.locator("h1")).to_contain_text(display(desk.reference))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH["width"]


def test_acknowledge_in_the_console_shows_in_the_reporters_follow_up(desk, officer_page):
    assert "with the county team" in desk.follow_up()
    officer_page.goto(desk.case_url())
    desk.act(officer_page, "Acknowledge", "Acknowledge")
    expect(officer_page.locator(".timeline")).to_contain_text("Acknowledged in the console")
    assert desk.follow_up().startswith(
        f"CON Report {display(desk.reference)}: taken up by the county team."
    )


def test_close_with_a_reason(desk, officer_page):
    page = officer_page
    page.goto(desk.case_url())
    desk.act(page, "Change the status")
    page.select_option("select[name=status-status]", "Closed")
    page.locator("#action-status button[type=submit]").click()
    expect(page.locator("#action-status .error")).to_contain_text("Closing a case needs a reason.")
    page.select_option("select[name=status-status]", "Closed")
    page.select_option("select[name=status-reason]", "not_trafficking")
    page.locator("#action-status button[type=submit]").click()
    expect(page.locator(".flash.success")).to_have_text("Status changed.")
    expect(page.locator(".timeline")).to_contain_text("Status: Closed, reason: not trafficking")
    assert f"{display(desk.reference)}: closed" in desk.follow_up()


def test_a_note_with_a_script_is_shown_as_text(desk, officer_page):
    page = officer_page
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(desk.case_url())
    desk.act(page, "Add a note")
    note = "<script>alert('pwned')</script> <img src=x onerror=alert(2)> called the chief"
    page.fill("textarea[name=note-text]", note)
    page.locator("#action-note button[type=submit]").click()
    expect(page.locator(".timeline li.note .text")).to_have_text(note)
    assert dialogs == [] and page.locator(".timeline img").count() == 0


def test_reveal_needs_a_fresh_code_and_lands_in_the_audit_log(desk, officer_page):
    page = officer_page
    page.goto(desk.case_url())
    desk.act(page, "Acknowledge", "Acknowledge")
    desk.act(page, "Reveal the call-back number")
    page.fill("input[name=reveal-code]", "123456")
    page.fill("input[name=reveal-reason]", "To arrange a safe call")
    page.locator("#action-reveal button[type=submit]").click()
    expect(page.locator("#action-reveal .error")).to_contain_text("code is wrong")
    assert TEST_PHONE not in page.content()
    code = desk.officer.code()
    page.fill("input[name=reveal-code]", code)
    page.fill("input[name=reveal-reason]", "To arrange a safe call")
    page.locator("#action-reveal button[type=submit]").click()
    expect(page.locator(".revealed")).to_have_text(TEST_PHONE)
    assert TEST_PHONE not in page.url
    page.goto(desk.case_url())  # a fresh page: the number is gone, and the same code is spent
    assert TEST_PHONE not in page.content()
    desk.act(page, "Reveal the call-back number")
    page.fill("input[name=reveal-code]", code)
    page.fill("input[name=reveal-reason]", "Again")
    page.locator("#action-reveal button[type=submit]").click()
    expect(page.locator("#action-reveal .error")).to_contain_text("used already")
    with desk.ext.session_scope() as session:
        entries = [
            (e.action, e.actor, (e.detail or {}).get("reason")) for e in session.scalars(select(AuditEvent))
        ]
    assert ("reveal", desk.officer.email, "To arrange a safe call") in entries
    assert ("reveal_refused", desk.officer.email, "Again") in entries
    assert all(TEST_PHONE not in str(entry) for entry in entries)


def test_a_message_is_read_and_answered_by_ussd_and_the_answer_shows_on_the_timeline(desk, officer_page):
    page = officer_page
    page.goto(desk.case_url())
    desk.act(page, "Message the reporter")
    page.fill("textarea[name=message-text]", "Are the men still in the yard?")
    page.locator("#action-message button[type=submit]").click()
    expect(page.locator(".timeline li.message")).to_contain_text("not read yet")
    assert "1 new message from the county team" in desk.follow_up()
    assert desk.phone.send("1").startswith("CON Are the men still in the yard?")
    assert desk.phone.send("1", "Yes, 12 of them").startswith("END ")
    page.reload()
    expect(page.locator(".timeline li.message", has_text="The reporter answered")).to_contain_text(
        "Yes, 12 of them"
    )
    expect(page.locator(".timeline li.message", has_text="Message to the reporter")).to_contain_text(
        "read by"
    )


def test_a_new_tip_appears_in_the_inbox_without_a_reload(desk, officer_page):
    page = officer_page
    page.clock.install()
    page.goto(f"{desk.console.url}/console/")
    expect(page.locator("tr[data-reference]")).to_have_count(1)
    with desk.ext.session_scope() as session:
        fresh = add_tip(session, 0, created_at=utcnow(), priority=0, children="yes").reference
    page.clock.run_for(21_000)  # htmx polls the rows every 20 s
    expect(page.locator(f"tr[data-reference='{fresh}'] .badge")).to_have_text("Children")
    expect(page.locator(".count[data-folder=new]")).to_have_text("2")
