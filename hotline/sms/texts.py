"""What the service says by SMS, in English and Kiswahili.

Replies to reporters use neutral words: a phone may be read by the person they report.
"""

from __future__ import annotations

REPLIES = {
    "en": {
        "raw": "{message}",
        "help": "Reply with: TIP and what you saw, STATUS and your reference, HELP. Or dial {code} "
        "(free). In danger call 999 or 112. Child Helpline 116, GBV 1195.",
        "unknown": "Sorry, we did not understand. Send HELP for the list of words.",
        "tip_empty": "Please send TIP followed by what you saw.",
        "tip_received": "Thank you, your message was received. Reference {ref}. "
        "Send STATUS {ref} to follow up.",
        "status": "Reference {ref}: {status}.",
        "status_message": "Reference {ref}: {status}. A message from the county team is waiting: "
        "dial {code} and choose 3.",
        "status_empty": "Please send STATUS followed by your reference.",
        "not_found": "We could not find reference {typed}. Check the number and try again.",
        "too_many": "Too many tries. Please try again later.",
        "busy": "We cannot check references right now. Please try again later.",
        "joined": "You will get safety tips by SMS. Send STOP at any time to stop them.",
        "stopped": "You will get no more safety tips by SMS. Send JOIN if you want them again.",
        "ack_done": "Report {ref} acknowledged. Thank you.",
        "ack_already": "Report {ref} was already acknowledged by {name}.",
        "ack_not_registered": "This number is not registered as a focal point. Contact the CTiP secretariat.",
        "ack_not_yours": "Report {ref} is not assigned to your county.",
        "ack_empty": "Please send ACK followed by the report reference.",
        "agency_empty": "Please send AGENCY followed by the agency's name or licence number.",
        "agency_several": "Several agencies match: {choices}. "
        "Send AGENCY and the licence number to check one.",
    },
    "sw": {
        "raw": "{message}",
        "help": "Tuma: RIPOTI na ulichoona, HALI na nambari yako, MSAADA. Au piga {code} (bure). "
        "Hatarini piga 999 au 112. Watoto 116, GBV 1195.",
        "unknown": "Samahani, hatukuelewa. Tuma MSAADA kupata orodha ya maneno.",
        "tip_empty": "Tafadhali tuma RIPOTI ikifuatiwa na ulichoona.",
        "tip_received": "Asante, ujumbe wako umepokelewa. Nambari {ref}. Tuma HALI {ref} kufuatilia.",
        "status": "Nambari {ref}: {status}.",
        "status_message": "Kumbukumbu {ref}: {status}. Una ujumbe kutoka kwa timu ya kaunti: "
        "piga {code} kisha uchague 3.",
        "status_empty": "Tafadhali tuma HALI ikifuatiwa na nambari yako.",
        "not_found": "Hatukupata nambari {typed}. Iangalie kisha ujaribu tena.",
        "too_many": "Majaribio mengi mno. Tafadhali jaribu tena baadaye.",
        "busy": "Hatuwezi kuangalia nambari sasa hivi. Tafadhali jaribu tena baadaye.",
        "joined": "Utapokea vidokezo vya usalama kwa SMS. Tuma ACHA wakati wowote kuviacha.",
        "stopped": "Hutapokea tena vidokezo vya usalama kwa SMS. Tuma JIUNGE ukivitaka tena.",
        "ack_done": "Ripoti {ref} imepokelewa. Asante.",
        "ack_already": "Ripoti {ref} ilishapokelewa na {name}.",
        "ack_not_registered": "Nambari hii haijasajiliwa kama afisa wa NRM. "
        "Wasiliana na sekretarieti ya CTiP.",
        "ack_not_yours": "Ripoti {ref} si ya kaunti yako.",
        "ack_empty": "Tafadhali tuma POKEA ikifuatiwa na nambari ya ripoti.",
        "agency_empty": "Tafadhali tuma WAKALA ikifuatiwa na jina au nambari ya leseni ya wakala.",
        "agency_several": "Mawakala kadhaa wanalingana: {choices}. Tuma WAKALA na nambari ya leseni "
        "kumkagua mmoja.",
    },
}

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
