"""Every screen of every flow rendered in both languages: `docs/screens.md` is written from them and
must be the committed one (a changed text changes the document in the same commit)."""

from __future__ import annotations

import os
from pathlib import Path

from flows.gsm import is_gsm7, segments, septets
from flows.texts import LANGUAGES
from hotline.sms.texts import REPLIES
from hotline.tips.followup import STATUS
from hotline.ussd.funnel import SCREEN_NAMES
from hotline.ussd.service import engine
from tests.screens_doc import build

DOC = Path(__file__).resolve().parent.parent / "docs" / "screens.md"


def test_docs_screens_md_lists_every_screen_and_is_up_to_date():
    written = build(engine(), SCREEN_NAMES)
    for screen_id in engine().flow.screens:
        assert f"(`{screen_id}`)" in written
    before = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    if before != written:
        # Written only when it changed, and whole at once: `make test` runs two sessions side by side.
        DOC.parent.mkdir(exist_ok=True)
        draft = DOC.with_name(f".screens.{os.getpid()}.md")
        draft.write_text(written, encoding="utf-8")
        os.replace(draft, DOC)
    assert before == written, "docs/screens.md was out of date and has been rewritten: commit it"


def test_the_kinds_list_takes_as_many_pages_in_both_languages():
    pages = {lang: len(engine().pages(engine().flow["tip_kind"], lang)) for lang in LANGUAGES}
    assert pages["en"] == pages["sw"], pages


# Replies that may run to a second SMS: their {choices} list several agencies, or the message is the
# verdict itself (checked on its own: hotline.sms.intake.SMS_VERDICT_LENGTH).
JOINED = {"agency_several", "raw"}


def test_every_sms_reply_fits_one_sms_at_its_longest():
    longest = {
        "short_code": "9" * 8,  # SMS_SHORT_CODE takes up to 8 digits
        "code": "*483*12345#*",
        "ref": "482-177-305-417",
        "typed": "W" * 20,
        "name": "W" * 40,
        "choices": "",
    }
    for lang in LANGUAGES:
        statuses = STATUS[lang].values()
        for key, template in REPLIES[lang].items():
            if key in JOINED:
                continue
            for status in statuses:
                message = template.format(**longest, status=status)
                assert is_gsm7(message) and segments(message) == 1, (lang, key, septets(message), message)
