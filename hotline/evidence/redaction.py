"""Free text made fit to share: every e-mail address becomes `[email]` and every phone number
`[phone]`, before a place or description leaves the service in an export.

Phone numbers are found twice over: by libphonenumber's matcher for Kenya (which knows `0712 345
678`, `+254 712 345678`, `(020) 222 2222` and international numbers written with their `+`), then
by a plain rule that catches what it leaves, any run of eight or more digits with spaces, dashes,
dots, slashes or brackets between them. The rule also takes some dates and long figures written as
digits: a redaction too many costs a reader a date, one too few can name a person.
"""

from __future__ import annotations

import re

import phonenumbers

PHONE, EMAIL = "[phone]", "[email]"
REGION = "KE"
EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Eight or more digits, any of . - / ( ) or spaces between them, with an optional leading +.
DIGIT_RUN = re.compile(r"\+?\(?[0-9](?:[\s./()\-]{0,3}[0-9]){7,}")
_DIGIT = re.compile(r"\d")  # any script's digits: the matcher reads them too
FEWEST_DIGITS = 7  # the shortest number the matcher takes for Kenya (a landline without its code)


def redact(text: str | None) -> str | None:
    """`text` with e-mail addresses and phone numbers replaced by `[email]` and `[phone]`."""
    if not text:
        return text
    text = EMAIL_PATTERN.sub(EMAIL, text)
    if len(_DIGIT.findall(text)) < FEWEST_DIGITS:
        return text  # most descriptions: no number to look for, and the matcher is the slow part
    pieces, end = [], 0
    for match in phonenumbers.PhoneNumberMatcher(text, REGION, leniency=phonenumbers.Leniency.POSSIBLE):
        pieces += [text[end : match.start], PHONE]
        end = match.end
    text = "".join(pieces) + text[end:]
    return DIGIT_RUN.sub(PHONE, text)
