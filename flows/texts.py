"""Every text the USSD flows show, in English (`en`) and Kiswahili (`sw`).

Keys are the same in both languages (the validator checks it). Placeholders in braces are
filled by the engine, truncated to the length the screen declares. GSM-7 characters only.
"""

from __future__ import annotations

LANGUAGES = ("en", "sw")
DEFAULT_LANGUAGE = "en"

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
        "hint.busy": "Cannot check references now. Try again later.",
        # main menu
        "main": "",
        "main.report": "Report trafficking (anonymous)",
        "main.agency": "Check a job agency",
        "main.follow_up": "Follow up my report",
        "main.help": "Get help now",
        "main.safety_sms": "Safety tips SMS",
        "main.language": "Language/Lugha",
        # resume
        "resume": "You have an unfinished report. Continue where you stopped?",
        "resume.continue": "Continue",
        "resume.restart": "Start again",
        # tip flow
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
        "tip.callback": "May a counsellor call you back on this number? It stays private.",
        "tip.callback.yes": "Yes, call me",
        "tip.callback.no": "No",
        "tip.confirm": "Send this report?\n{kind}, {county}: {place}",
        "tip.confirm.send": "Send",
        "tip.confirm.cancel": "Cancel",
        "tip.sent": (
            "Report sent. Ref {ref}\nKeep it to follow up (menu 3).\n"
            "Help: Police 999/112, Child 116, GBV 1195."
        ),
        "tip.sent_urgent": (
            "In danger? Call 999 or 112 NOW.\nReport sent as urgent. Ref {ref}\n"
            "Keep it to follow up (menu 3). Child 116, GBV 1195."
        ),
        "tip.cancelled": "Cancelled. Nothing was sent. Dial again any time.",
        "county.unknown": "county not given",
        # agency check
        "agency.query": "Agency name, licence number or phone number:",
        "agency.pick": "Which one?\n{choices}",
        "agency.verdict": "{verdict}\n{register}",
        "agency.signs": "Warning signs",
        "agency.report": "Report it",
        "agency.register": "(NEA {date})",
        "agency.register_old": "(NEA {date}, OLD)",
        "agency.v.licensed": "{name}: licensed to {date}, local jobs only.",
        "agency.v.licensed_abroad": "{name}: licensed to {date}, also jobs abroad.",
        "agency.v.expired": "{name}: EXPIRED since {date}. Do not pay.",
        "agency.v.suspended": "{name}: SUSPENDED. Do not pay any fees.",
        "agency.v.revoked": "{name}: REVOKED. Do not pay any fees.",
        "agency.v.deregistered": "{name}: DEREGISTERED. Do not pay any fees.",
        "agency.v.pending": "{name}: PENDING, may not recruit yet. Do not pay.",
        "agency.v.not_found": "Not in the NEA register: treat as unlicensed. Do not pay.",
        "agency.signs_text": "Beware: fees before a contract, passport taken, no written contract, "
        "vague job. Report: menu 1, DCI 0800 722 203.",
        # follow-up
        "followup.ref": "Type the reference of your report (digits only):",
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
        "safety.joined": "Done. You will get safety tips by SMS. To stop, send STOP by SMS "
        "or choose 5 on this menu.",
        "safety.on": "You get safety tips by SMS.",
        "safety.leave": "Stop them",
        "safety.left": "Done. No more safety tips by SMS. To join again, send JOIN by SMS "
        "or choose 5 on this menu.",
        "language": "Choose language / Chagua lugha",
        "language.en": "English",
        "language.sw": "Kiswahili",
        # session-level endings
        "end.error": "Sorry, something went wrong. Your answers are kept: dial again to continue.",
        "end.too_long": "Sorry, that was too long to read. Please dial again.",
    },
    "sw": {
        "nav.more": "98 Zaidi",
        "nav.back": "0 Rudi",
        "nav.home": "00 Mwanzo",
        "hint.invalid": "Si chaguo. Jaribu tena.",
        "hint.required": "Tafadhali andika jibu.",
        "hint.no_match": "Haipatikani. Jaribu tena.",
        "hint.no_more": "Hakuna chaguo zaidi.",
        "hint.not_found": "Nambari haipatikani. Iangalie ujaribu tena.",
        "hint.too_many": "Majaribio mengi. Jaribu tena baadaye.",
        "hint.busy": "Haiwezekani kuangalia sasa. Jaribu tena baadaye.",
        "main": "",
        "main.report": "Ripoti ulanguzi wa binadamu",
        "main.agency": "Kagua wakala wa ajira",
        "main.follow_up": "Fuatilia ripoti",
        "main.help": "Pata msaada sasa",
        "main.safety_sms": "Usalama kwa SMS",
        "main.language": "Lugha/Language",
        "resume": "Una ripoti ambayo haijakamilika. Uendelee ulipoishia?",
        "resume.continue": "Endelea",
        "resume.restart": "Anza upya",
        "tip.kind": "Nini kinaendelea?",
        "kind.forced_labour": "Kazi ya kulazimishwa",
        "kind.sexual_exploitation": "Unyonyaji wa kingono",
        "kind.recruitment_fraud": "Kazi au wakala feki",
        "kind.servitude": "Utumwa wa kazi za nyumbani",
        "kind.child_labour": "Ajira ya watoto",
        "kind.child_marriage": "Ndoa ya mtoto",
        "kind.forced_marriage": "Ndoa ya kulazimishwa",
        "kind.documents_taken": "Pasipoti au kitambulisho kimechukuliwa",
        "kind.missing_person": "Mtu aliyepotea",
        "kind.slavery": "Utumwa",
        "kind.organ_removal": "Kuondolewa viungo vya mwili",
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
        "tip.callback": "Mshauri akupigie kwa nambari hii? Itabaki siri.",
        "tip.callback.yes": "Ndiyo, nipigie",
        "tip.callback.no": "Hapana",
        "tip.confirm": "Tuma ripoti hii?\n{kind}, {county}: {place}",
        "tip.confirm.send": "Tuma",
        "tip.confirm.cancel": "Ghairi",
        "tip.sent": (
            "Ripoti imetumwa. Nambari {ref}\nIhifadhi ili kufuatilia (menyu 3).\n"
            "Msaada: Polisi 999/112, Watoto 116, GBV 1195."
        ),
        "tip.sent_urgent": (
            "Hatarini? Piga 999 au 112 SASA.\nRipoti imetumwa kama dharura. Nambari {ref}\n"
            "Ihifadhi (menyu 3). Watoto 116, GBV 1195."
        ),
        "tip.cancelled": "Imeghairiwa. Hakuna kilichotumwa. Piga tena wakati wowote.",
        "county.unknown": "kaunti haijulikani",
        "agency.query": "Jina la wakala, nambari ya leseni au simu:",
        "agency.pick": "Yupi?\n{choices}",
        "agency.verdict": "{verdict}\n{register}",
        "agency.signs": "Dalili za hatari",
        "agency.report": "Iripoti",
        "agency.register": "(NEA {date})",
        "agency.register_old": "(NEA {date}, ZAMANI)",
        "agency.v.licensed": "{name}: leseni hadi {date}, kazi za ndani.",
        "agency.v.licensed_abroad": "{name}: leseni hadi {date}, pia kazi za nje.",
        "agency.v.expired": "{name}: IMEISHA tangu {date}. Usilipe.",
        "agency.v.suspended": "{name}: IMESIMAMISHWA. Usilipe ada yoyote.",
        "agency.v.revoked": "{name}: LESENI IMEFUTWA. Usilipe ada.",
        "agency.v.deregistered": "{name}: AMEONDOLEWA. Usilipe ada yoyote.",
        "agency.v.pending": "{name}: inasubiri leseni, haiajiri. Usilipe.",
        "agency.v.not_found": "Hayupo kwenye sajili ya NEA: hana leseni. Usilipe.",
        "agency.signs_text": "Hatari: ada kabla ya mkataba, pasipoti kuchukuliwa, hakuna mkataba "
        "wa maandishi. Ripoti: menyu 1, DCI 0800 722 203.",
        "followup.ref": "Andika nambari ya ripoti yako (tarakimu tu):",
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
        "help": "Nambari za msaada bure:\n" + HELP_LINES["sw"],
        "safety.off": "Pata vidokezo vya usalama kwa SMS: kazi salama, safari salama, wapi pa "
        "kupata msaada. Acha wakati wowote.",
        "safety.join": "Jiunge",
        "safety.county": "Kaunti yako? Chagua, au andika jina:",
        "safety.county.skip": "99 Ruka",
        "safety.joined": "Tayari. Utapokea vidokezo vya usalama kwa SMS. Kuacha, tuma ACHA kwa SMS "
        "au chagua 5 kwenye menyu hii.",
        "safety.on": "Unapokea vidokezo vya usalama kwa SMS.",
        "safety.leave": "Acha",
        "safety.left": "Tayari. Hutapokea tena vidokezo vya usalama kwa SMS. Kujiunga tena, tuma "
        "JIUNGE kwa SMS au chagua 5 kwenye menyu hii.",
        "language": "Chagua lugha / Choose language",
        "language.en": "English",
        "language.sw": "Kiswahili",
        "end.error": "Samahani, kuna tatizo. Majibu yako yamehifadhiwa: piga tena kuendelea.",
        "end.too_long": "Samahani, ujumbe ni mrefu mno. Tafadhali piga tena.",
    },
}


def text(language: str, key: str) -> str:
    """The text `key` in `language`, falling back to the default language."""
    table = TEXTS.get(language) or TEXTS[DEFAULT_LANGUAGE]
    return table.get(key) or TEXTS[DEFAULT_LANGUAGE][key]
