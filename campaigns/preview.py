"""A test send: one message of a campaign to the campaign manager's own phone, before the real send.

It goes the way every service SMS goes (`hotline.messaging.outbound`: a row, a job, AT's answer,
retries), not through the campaign's dispatcher: it is no recipient, so it counts nowhere in the
campaign's audience, funnel or report. The number is kept only encrypted on the row, like a
reporter's call-back number.
"""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from campaigns.errors import CampaignError
from hotline.core.config import Config
from hotline.core.models import Campaign, CampaignMessage
from hotline.core.privacy import encrypt_contact
from hotline.messaging import outbound

PURPOSE = "campaign_test"


def message_of(campaign: Campaign, variant: str, language: str) -> CampaignMessage:
    """The campaign's message for this variant and language; CampaignError when it has none."""
    for message in campaign.messages:
        if (message.variant, message.language) == (variant, language):
            return message
    raise CampaignError(f"campaign {campaign.name!r} has no {language} message in variant {variant}")


def send_test(session: Session, config: Config, message: CampaignMessage, phone_e164: str) -> int:
    """Queue the message as an SMS to `phone_e164` (a new one each time); returns the SMS's id."""
    key = f"campaign:{message.campaign_id}:test:{message.variant}:{message.language}:{secrets.token_hex(8)}"
    row = outbound.prepare(
        session, key, PURPOSE, message.text, to_token=encrypt_contact(phone_e164, config.contact_key)
    )
    return row.id
