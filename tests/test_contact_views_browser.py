"""The contacts pages in a real browser (Debian's chromium through Playwright), on a phone-sized screen:
a campaign manager finds a caller's number as they say it, opts it out after confirming, and uploads a
contacts file whose bad row is named by its line."""

from __future__ import annotations

from datetime import UTC, datetime

from hotline.contacts import service as contacts
from hotline.core.models import Contact
from tests.console import make_user, sign_in

NUMBER = "+254712345678"


def fits(page) -> bool:
    """Nothing on the page is wider than the phone."""
    return page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_manager_finds_a_number_opts_it_out_and_uploads_a_file_with_a_bad_row(console, page, tmp_path):
    ext = console.ext
    with ext.session_scope() as session:
        contact_id = contacts.subscribe(session, NUMBER, source="Kakamega fair", language="sw",
                                        phone_hash_key=ext.config.phone_hash_key, county_code=37,
                                        at=datetime(2026, 10, 1, 9, 0, tzinfo=UTC)).id
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    sign_in(page, console.url, make_user(ext, "campaign_manager", email="manager@example.org"))
    page.click("header nav >> text=Contacts")
    page.wait_for_url("**/console/contacts/")
    assert "Kakamega" in page.locator("table.counts").first.inner_text()
    assert fits(page)

    page.fill("input[name=phone]", "0712 345 678")
    page.click("form.find button[type=submit]")
    page.wait_for_url("**/console/contacts/find")  # a POST: the number is in no address
    facts = page.locator("#contact dl.facts").inner_text()
    assert "Kakamega fair" in facts and "Kiswahili" in facts and "Subscribed" in facts
    assert fits(page)

    page.once("dialog", lambda dialog: dialog.accept() if "Opt +254712345678 out?" in dialog.message
              else dialog.dismiss())
    page.click("form.opt-out button")
    page.wait_for_url(f"**/console/contacts/{contact_id}/opt-out")
    assert "Opted out: they get no more campaign SMS." in page.text_content("main")
    assert "by hand in the console by manager@example.org" in page.locator("#contact").inner_text()
    with ext.session_scope() as session:
        assert session.get(Contact, contact_id).opt_out_source == "console"

    page.goto(console.url + "/console/contacts/upload")
    file = tmp_path / "contacts.csv"
    file.write_text("phone,county_code,language,consent_source,consented_at\n"
                    "0711000101,37,en,Kakamega fair,2026-10-01\n"
                    "0711000102,99,en,Kakamega fair,2026-10-01\n", encoding="utf-8")
    page.set_input_files("input[name=file]", str(file))
    page.click("main form[enctype] button[type=submit]")
    page.wait_for_url("**/console/contacts/upload")
    assert "1 bad row: nothing was imported" in page.text_content("main")
    assert "line 3: county_code '99' is not a Kenyan county" in page.locator("#bad-rows").inner_text()

    page.set_input_files("input[name=file]", str(file))
    page.check("input[name=skip_invalid]")
    page.click("main form[enctype] button[type=submit]")
    page.wait_for_url("**/console/contacts/upload")
    imported = page.locator("#imported").inner_text()
    assert "Added\n1" in imported or "Added 1" in imported.replace("\t", " ")
    assert fits(page)
