"""Every text the USSD flows show, in English (`en`) and Kiswahili (`sw`).

Keys are the same in both languages (the validator checks it). Placeholders in braces are
filled by the engine, truncated to the length the screen declares. GSM-7 characters only.
The words for the reference code, the county team, the register and the rest are the glossary's
(`flows.glossary`); the validator fails a text that uses a word the glossary forbids. Anything that
reaches a reporter's phone stays neutral: it may be read by the person they report.
"""

from __future__ import annotations

from datetime import date

LANGUAGES = ("en", "sw")
DEFAULT_LANGUAGE = "en"

# Dates as people write them: "31 Dec 2099" / "31 Des 2099" (never ISO, which many misread).
MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "sw": ("Jan", "Feb", "Mac", "Apr", "Mei", "Jun", "Jul", "Ago", "Sep", "Okt", "Nov", "Des"),
}
DATE_LENGTH = 11  # the longest date: "31 Des 2099"

HELP_LINES = {
    "en": "Police 999 or 112\nChild Helpline 116\nGBV 1195\nDCI Fichua 0800 722 203 (anonymous)",
    "sw": "Polisi 999 au 112\nSimu ya Watoto 116\nGBV 1195\nDCI Fichua 0800 722 203 (bila jina)",
}

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        # navigation and hints
        "nav.more": "98 More",
        "nav.back": "0 Back",
        "nav.home": "00 Menu",
        "hint.invalid": "Not a choice. Try again.",
        "hint.required": "Please type an answer.",
        "hint.no_match": "No match. Try again.",
        "hint.no_more": "No more choices.",
        "hint.not_found": "Reference not found. Check it and try again.",
        "hint.too_many": "Too many tries. Try again later.",
        "hint.busy": "Cannot check references now. Try later.",
        # main menu
        "main": "",
        "main.report": "Report trafficking (anonymous)",
        "main.agency": "Check a job agency",
        "main.follow_up": "Follow up my report",
        "main.help": "Get help now",
        "main.safety_sms": "Safety tips by SMS",
        "main.language": "Language/Lugha",
        # resume: says nothing of what was started (anyone may dial on this phone)
        "resume": "You did not finish last time. Continue where you stopped?",
        "resume.continue": "Continue",
        "resume.restart": "Start again",
        # report flow
        "tip.kind": "What is happening?",
        "kind.forced_labour": "Forced labour",
        "kind.sexual_exploitation": "Sexual exploitation",
        "kind.recruitment_fraud": "Fake job or agency",
        "kind.servitude": "Domestic servitude",
        "kind.child_labour": "Child labour",
        "kind.child_marriage": "Child marriage",
        "kind.forced_marriage": "Forced marriage",
        "kind.documents_taken": "Passport or ID taken",
        "kind.missing_person": "Missing person",
        "kind.slavery": "Slavery",
        "kind.organ_removal": "Organ removal",
        "kind.armed_conflict": "Used in armed conflict",
        "kind.other": "Other",
        "tip.county": "County? Choose, or type its name:",
        "tip.county.skip": "99 Not sure",
        "tip.place": "Where exactly? Town, estate, or place of work.",
        "tip.story": "What happened? Who, when, how many people?",
        "tip.story.skip": "99 Skip",
        "tip.danger": "Is someone in danger right now?",
        "tip.children": "Are children involved?",
        "answer.yes": "Yes",
        "answer.no": "No",
        "answer.unsure": "Not sure",
        "tip.callback": "May a counsellor call you on this number? We keep it private. "
        "Say No if the phone is not safe.",
        "tip.callback.yes": "Yes, call me",
        "tip.callback.no": "No",
        "tip.confirm": "Send this report?\n{kind}, {county}: {place}",
        "tip.confirm.send": "Send",
        "tip.confirm.cancel": "Cancel",
        "tip.sent": (
            "Report sent. Reference: {ref}\nKeep it safe. To follow up, dial again and choose 3.\n"
            "Help: Police 999/112, Childline 116, GBV 1195."
        ),
        "tip.sent_urgent": (
            "In danger? Call 999 or 112 NOW.\nReport sent as urgent. Reference: {ref}\n"
            "To follow up, dial again and choose 3. Childline 116, GBV 1195."
        ),
        "tip.cancelled": "Cancelled. Nothing was sent. Dial again any time.",
        "county.unknown": "county not given",
        # agency check
        "agency.query": "Agency name, licence number or phone number:",
        "agency.pick": "Which one?\n{choices}",
        "agency.verdict": "{verdict}",
        "agency.signs": "Warning signs",
        "agency.report": "Report it",
        "agency.register": "NEA register of {date}",
        "agency.register_old": "Old NEA register of {date}",
        "agency.v.licensed": "Licensed to {date}. Local jobs only.",
        "agency.v.licensed_open": "Licensed. Local jobs only.",
        "agency.v.licensed_abroad": "Licensed to {date}. Jobs abroad too.",
        "agency.v.licensed_abroad_open": "Licensed. Jobs abroad too.",
        "agency.v.expired": "Licence expired {date}. Do not pay.",
        "agency.v.expired_open": "Licence expired. Do not pay.",
        "agency.v.suspended": "Licence suspended. Do not pay any fees.",
        "agency.v.revoked": "Licence cancelled (revoked). Do not pay.",
        "agency.v.deregistered": "Removed from the register. Do not pay.",
        "agency.v.pending": "No licence yet. Do not pay any fees.",
        "agency.v.not_found": "No licence found. Do not pay any fees.",
        "agency.signs_text": "Beware: fees before a contract, passport taken, no written contract, "
        "vague job. Report: menu 1, DCI 0800 722 203.",
        # a report about the agency just checked: the kind is known, so it starts with the place
        "agency.report_place": "Report about {agency}\nWhere did you deal with them? Town, estate or office:",
        # follow-up
        "followup.ref": "Type the reference you were given for your report:",
        "followup.status": "Report {ref}: {status}.",
        "followup.add": "Add information",
        "followup.add_prompt": "Type what you want to add:",
        "followup.added": "Thank you. Your information was added to report {ref}.",
        "followup.held": "Thank you. Your information on report {ref} was received. "
        "The team will check it before passing it on.",
        # messages from the case team: only the tip's reporter sees them, never their content by SMS
        "followup.news_one": "Report {ref}: {status}.\n1 new message from the county team",
        "followup.news_many": "Report {ref}: {status}.\n{count} new messages",
        "followup.read": "Read",
        "followup.message": "{message}",
        "followup.answer": "Answer",
        "followup.next": "Next message",
        "followup.no_message": "No new messages.",
        "followup.answer_prompt": "Type your answer to the county team:",
        "followup.answered": "Your answer was sent to the county team.",
        # other menus
        "help": "Free help lines:\n" + HELP_LINES["en"],
        # safety tips by SMS (awareness campaigns): neutral words, the phone may not be private
        "safety.off": "Get safety tips by SMS: safe jobs, safe travel, where to find help. "
        "You can stop them at any time.",
        "safety.join": "Join",
        "safety.county": "Your county? Choose, or type its name:",
        "safety.county.skip": "99 Skip",
        "safety.joined": "Done. You will get safety tips by SMS. To stop, send STOP to {short_code} "
        "or choose 5 on this menu.",
        "safety.on": "You get safety tips by SMS.",
        "safety.leave": "Stop them",
        "safety.left": "Done. No more safety tips by SMS. To join again, send JOIN to {short_code} "
        "or choose 5 on this menu.",
        "language": "Choose language / Chagua lugha",
        "language.en": "English",
        "language.sw": "Kiswahili",
        # session-level endings
        "end.error": "Sorry, something went wrong. Your answers are kept: dial again to continue.",
    },
    "sw": {
        "nav.more": "98 Zaidi",
        "nav.back": "0 Rudi",
        "nav.home": "00 Mwanzo",
        "hint.invalid": "Si chaguo. Jaribu tena.",
        "hint.required": "Tafadhali andika jibu.",
        "hint.no_match": "Haipatikani. Jaribu tena.",
        "hint.no_more": "Hakuna chaguo zaidi.",
        "hint.not_found": "Namba ya kumbukumbu haipo. Jaribu tena.",
        "hint.too_many": "Majaribio mengi. Jaribu tena baadaye.",
        "hint.busy": "Haiwezekani kuangalia sasa. Jaribu baadaye.",
        "main": "",
        "main.report": "Ripoti ulanguzi wa watu (bila jina)",
        "main.agency": "Kagua wakala wa ajira",
        "main.follow_up": "Fuatilia ripoti",
        "main.help": "Pata msaada",
        "main.safety_sms": "Usalama kwa SMS",
        "main.language": "Lugha/Language",
        "resume": "Hukumaliza mara iliyopita. Uendelee ulipoachia?",
        "resume.continue": "Endelea",
        "resume.restart": "Anza upya",
        "tip.kind": "Nini kinaendelea?",
        "kind.forced_labour": "Kazi ya kulazimishwa",
        "kind.sexual_exploitation": "Kutumiwa kingono",
        "kind.recruitment_fraud": "Kazi au wakala feki",
        "kind.servitude": "Utumwa wa nyumbani",
        "kind.child_labour": "Ajira ya watoto",
        "kind.child_marriage": "Ndoa ya mtoto",
        "kind.forced_marriage": "Ndoa ya kulazimishwa",
        "kind.documents_taken": "Kunyimwa pasipoti au ID",
        "kind.missing_person": "Mtu aliyepotea",
        "kind.slavery": "Utumwa",
        "kind.organ_removal": "Wizi wa viungo vya mwili",
        "kind.armed_conflict": "Kutumiwa vitani",
        "kind.other": "Nyingine",
        "tip.county": "Kaunti? Chagua, au andika jina:",
        "tip.county.skip": "99 Sijui",
        "tip.place": "Wapi hasa? Mji, mtaa, au mahali pa kazi.",
        "tip.story": "Nini kilitokea? Nani, lini, watu wangapi?",
        "tip.story.skip": "99 Ruka",
        "tip.danger": "Kuna mtu yuko hatarini sasa hivi?",
        "tip.children": "Kuna watoto wanaohusika?",
        "answer.yes": "Ndiyo",
        "answer.no": "Hapana",
        "answer.unsure": "Sijui",
        "tip.callback": "Mshauri akupigie simu kwa namba hii? Tunaiweka siri. "
        "Chagua Hapana kama simu si salama.",
        "tip.callback.yes": "Ndiyo, nipigie",
        "tip.callback.no": "Hapana",
        "tip.confirm": "Tuma ripoti hii?\n{kind}, {county}: {place}",
        "tip.confirm.send": "Tuma",
        "tip.confirm.cancel": "Ghairi",
        "tip.sent": (
            "Ripoti imetumwa. Namba ya kumbukumbu: {ref}\nIweke mahali salama. Ili kufuatilia, "
            "piga tena uchague 3.\nMsaada: Polisi 999/112, Watoto 116, GBV 1195."
        ),
        "tip.sent_urgent": (
            "Kuna hatari? Piga 999 au 112 SASA.\nRipoti imetumwa kama dharura. Kumbukumbu: {ref}\n"
            "Ili kufuatilia, piga tena uchague 3. Watoto 116, GBV 1195."
        ),
        "tip.cancelled": "Imeghairiwa. Hakuna kilichotumwa. Piga tena wakati wowote.",
        "county.unknown": "kaunti haijulikani",
        "agency.query": "Jina la wakala, namba ya leseni au namba ya simu:",
        "agency.pick": "Chagua moja:\n{choices}",
        "agency.verdict": "{verdict}",
        "agency.signs": "Dalili za hatari",
        "agency.report": "Ripoti",
        "agency.register": "Rejista ya NEA, {date}",
        "agency.register_old": "Rejista ya zamani, {date}",
        "agency.v.licensed": "Ina leseni hadi {date}, kazi nchini tu.",
        "agency.v.licensed_open": "Ina leseni, kazi nchini tu.",
        "agency.v.licensed_abroad": "Ina leseni hadi {date}, na kazi za nje.",
        "agency.v.licensed_abroad_open": "Ina leseni, na kazi za nje.",
        "agency.v.expired": "Leseni iliisha {date}. Usilipe.",
        "agency.v.expired_open": "Leseni imeisha. Usilipe.",
        "agency.v.suspended": "Leseni imesimamishwa. Usilipe ada yoyote.",
        "agency.v.revoked": "Leseni imefutwa. Usilipe ada yoyote.",
        "agency.v.deregistered": "Imeondolewa kwenye rejista. Usilipe.",
        "agency.v.pending": "Bado haina leseni. Usilipe ada yoyote.",
        "agency.v.not_found": "Haina leseni kwenye rejista. Usilipe.",
        "agency.signs_text": "Hatari: ada kabla ya mkataba, kunyimwa pasipoti, ahadi za mdomo tu, "
        "kazi isiyo wazi. Ripoti: menyu 1, DCI 0800 722 203.",
        "agency.report_place": "Ripoti kuhusu {agency}\nUlikutana na wakala wapi? Mji, mtaa au ofisi:",
        "followup.ref": "Andika namba ya kumbukumbu uliyopewa kwa ripoti yako:",
        "followup.status": "Ripoti {ref}: {status}.",
        "followup.add": "Ongeza taarifa",
        "followup.add_prompt": "Andika unachotaka kuongeza:",
        "followup.added": "Asante. Taarifa yako imeongezwa kwenye ripoti {ref}.",
        "followup.held": "Asante. Taarifa yako kuhusu ripoti {ref} imepokelewa. "
        "Timu itaikagua kabla ya kuipeleka.",
        "followup.news_one": "Ripoti {ref}: {status}.\nUjumbe 1 mpya wa timu ya kaunti",
        "followup.news_many": "Ripoti {ref}: {status}.\nJumbe {count} mpya za timu ya kaunti",
        "followup.read": "Soma",
        "followup.message": "{message}",
        "followup.answer": "Jibu",
        "followup.next": "Ujumbe unaofuata",
        "followup.no_message": "Hakuna ujumbe mpya.",
        "followup.answer_prompt": "Andika jibu lako kwa timu ya kaunti:",
        "followup.answered": "Jibu lako limetumwa kwa timu ya kaunti.",
        "help": "Namba za msaada bila malipo:\n" + HELP_LINES["sw"],
        "safety.off": "Pata vidokezo vya usalama kwa SMS: kazi salama, safari salama, mahali pa "
        "msaada. Unaweza kuacha saa yoyote.",
        "safety.join": "Jiunge",
        "safety.county": "Kaunti yako? Chagua, au andika jina:",
        "safety.county.skip": "99 Ruka",
        "safety.joined": "Tayari. Utapokea vidokezo vya usalama kwa SMS. Ili kuacha, tuma ACHA kwa "
        "{short_code} au chagua 5 kwenye menyu hii.",
        "safety.on": "Unapokea vidokezo vya usalama kwa SMS.",
        "safety.leave": "Acha kupokea",
        "safety.left": "Tayari. Hutapokea tena vidokezo vya usalama kwa SMS. Ili kujiunga tena, tuma "
        "JIUNGE kwa {short_code} au chagua 5 kwenye menyu hii.",
        "language": "Chagua lugha / Choose language",
        "language.en": "English",
        "language.sw": "Kiswahili",
        "end.error": "Samahani, kuna tatizo. Majibu yako yamehifadhiwa: piga tena ili kuendelea.",
    },
}


def text(language: str, key: str) -> str:
    """The text `key` in `language`, falling back to the default language."""
    table = TEXTS.get(language) or TEXTS[DEFAULT_LANGUAGE]
    return table.get(key) or TEXTS[DEFAULT_LANGUAGE][key]


def date_words(language: str, day: date, year: bool = True) -> str:
    """A date as people read it: `31 Dec 2099` (en), `31 Des 2099` (sw); `31 Dec` without the year."""
    months = MONTHS.get(language) or MONTHS[DEFAULT_LANGUAGE]
    words = f"{day.day} {months[day.month - 1]}"
    return f"{words} {day.year}" if year else words
