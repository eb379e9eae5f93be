"""What the service says by SMS, in English and Kiswahili.

Replies to reporters use neutral words: a phone may be read by the person they report. The words
for the reference, the register and the rest are the glossary's (`flows.glossary`, checked by the
tests); the replies to focal points (ACK) are staff language.
"""

from __future__ import annotations

REPLIES = {
    "en": {
        "raw": "{message}",
        # HELP: every keyword, then the help lines; two SMS, each whole on its own.
        "help": "Words to send to {short_code}:\nTIP and what you saw\nSTATUS and your reference\n"
        "AGENCY and its name or licence number\nJOIN for safety tips, STOP to end them",
        "help_lines": "HELP sends this list again. Or dial {code} (free). In danger call 999 or 112. "
        "Child Helpline 116, GBV 1195. County teams: ACK and the reference.",
        "unknown": "Sorry, we did not understand. Words you can send: TIP, STATUS, AGENCY, JOIN, STOP, "
        "HELP. Send HELP to learn more.",
        "tip_empty": "Please send TIP followed by what you saw.",
        "tip_received": "Thank you, your message was received. Reference: {ref}. "
        "Send STATUS {ref} to follow up.",
        "status": "Reference {ref}: {status}.",
        "status_message": "Reference {ref}: {status}. A message from the county team is waiting: "
        "dial {code} and choose 3.",
        "status_empty": "Please send STATUS followed by your reference.",
        "not_found": "We could not find reference {typed}. Check it and try again.",
        "too_many": "Too many tries. Please try again later.",
        "busy": "We cannot check references right now. Please try again later.",
        "joined": "You will get safety tips by SMS. Send STOP to {short_code} at any time to stop them.",
        "stopped": "You will get no more safety tips by SMS. Send JOIN to {short_code} if you want them "
        "again.",
        # to focal points (staff): "focal point" is their word
        "ack_done": "Report {ref} acknowledged. Thank you.",
        "ack_already": "Report {ref} was already acknowledged by {name}.",
        "ack_not_registered": "This number is not registered as a focal point. Contact the CTiP secretariat.",
        "ack_not_yours": "Report {ref} is not assigned to your county.",
        "ack_empty": "Please send ACK followed by the report's reference.",
        "agency_empty": "Please send AGENCY followed by the agency's name or licence number.",
        "agency_several": "Several agencies match: {choices}. "
        "Send AGENCY and the licence number to check one.",
    },
    "sw": {
        "raw": "{message}",
        "help": "Maneno ya kutuma kwa {short_code}:\nRIPOTI na ulichoona\nHALI na namba ya kumbukumbu\n"
        "WAKALA na jina au namba ya leseni\nJIUNGE kwa vidokezo vya usalama, ACHA kuviacha",
        "help_lines": "MSAADA hutuma orodha hii tena. Au piga {code} (bila malipo). Ukiwa hatarini piga "
        "999 au 112. Watoto 116, GBV 1195. Timu za kaunti: POKEA na kumbukumbu.",
        "unknown": "Samahani, hatukuelewa. Maneno unayoweza kutuma: RIPOTI, HALI, WAKALA, JIUNGE, ACHA, "
        "MSAADA. Tuma MSAADA kujua zaidi.",
        "tip_empty": "Tafadhali tuma RIPOTI ikifuatiwa na ulichoona.",
        "tip_received": "Asante, ujumbe wako umepokelewa. Namba ya kumbukumbu: {ref}. "
        "Tuma HALI {ref} kufuatilia.",
        "status": "Kumbukumbu {ref}: {status}.",
        "status_message": "Kumbukumbu {ref}: {status}. Una ujumbe kutoka kwa timu ya kaunti: "
        "piga {code} kisha uchague 3.",
        "status_empty": "Tafadhali tuma HALI ikifuatiwa na namba ya kumbukumbu.",
        "not_found": "Hatukupata namba ya kumbukumbu {typed}. Iangalie kisha ujaribu tena.",
        "too_many": "Majaribio mengi mno. Tafadhali jaribu tena baadaye.",
        "busy": "Hatuwezi kuangalia kumbukumbu sasa hivi. Tafadhali jaribu tena baadaye.",
        "joined": "Utapokea vidokezo vya usalama kwa SMS. Tuma ACHA kwa {short_code} wakati wowote "
        "kuviacha.",
        "stopped": "Hutapokea tena vidokezo vya usalama kwa SMS. Tuma JIUNGE kwa {short_code} "
        "ukivitaka tena.",
        "ack_done": "Umethibitisha kupokea ripoti {ref}. Asante.",
        "ack_already": "Ripoti {ref} tayari imethibitishwa na {name}.",
        "ack_not_registered": "Namba hii haijasajiliwa kama afisa wa kaunti (focal point). "
        "Wasiliana na sekretarieti ya CTiP.",
        "ack_not_yours": "Ripoti {ref} si ya kaunti yako.",
        "ack_empty": "Tafadhali tuma POKEA ikifuatiwa na namba ya kumbukumbu ya ripoti.",
        "agency_empty": "Tafadhali tuma WAKALA ikifuatiwa na jina la wakala au namba yake ya leseni.",
        "agency_several": "Tumepata mawakala kadhaa: {choices}. Tuma WAKALA na namba ya leseni ya "
        "mmoja wao.",
    },
}

# Replies to focal points: staff language ("focal point") is allowed in them.
STAFF_REPLIES = frozenset({"ack_done", "ack_already", "ack_not_registered", "ack_not_yours", "ack_empty"})

# First word of an SMS (case-insensitive) -> (command, language).
KEYWORDS = {
    "STOP": ("stop", "en"),
    "ACHA": ("stop", "sw"),
    "START": ("start", "en"),
    "JOIN": ("start", "en"),
    "ANZA": ("start", "sw"),
    "JIUNGE": ("start", "sw"),
    "AGENCY": ("agency", "en"),
    "WAKALA": ("agency", "sw"),
    "TIP": ("tip", "en"),
    "RIPOTI": ("tip", "sw"),
    "STATUS": ("status", "en"),
    "HALI": ("status", "sw"),
    "ACK": ("ack", "en"),
    "POKEA": ("ack", "sw"),
    "HELP": ("help", "en"),
    "MSAADA": ("help", "sw"),
}


def reply(language: str, key: str, **values) -> str:
    """The reply `key` in `language`, filled in."""
    table = REPLIES.get(language) or REPLIES["en"]
    return table[key].format(**values)
