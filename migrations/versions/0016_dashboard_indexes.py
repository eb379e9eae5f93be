"""dashboard_indexes: the dashboard's queries read indexes only

`ix_tip_dashboard` leads with created_at, then every column the dashboard's tip queries read (county,
kind, channel, urgency, acknowledgement, escalation, agency, case status, closure reason): a window
of tips is one range of it, and PostgreSQL answers from the index alone however wide the tip rows
are. `ix_agency_lookup_dashboard` does the same for the checks per day and county,
`ix_referral_dashboard` for the referrals per day, organisation and tip, and
`ix_campaign_recipient_reach` (only the delivered rows) for the contacts reached per day and county.

Revision ID: 0016_dashboard_indexes
Revises: 0015_contact_erasure
"""

import sqlalchemy as sa
from alembic import op

revision = '0016_dashboard_indexes'
down_revision = '0015_contact_erasure'
branch_labels = None
depends_on = None

DELIVERED = "delivery_status = 'Success'"


def upgrade() -> None:
    op.create_index(
        'ix_tip_dashboard',
        'tip',
        ['created_at', 'county_code', 'kind', 'channel', 'urgent', 'acknowledged_at', 'escalation_level',
         'agency_id', 'case_status', 'closure_reason'],
    )
    op.create_index('ix_agency_lookup_dashboard', 'agency_lookup', ['day', 'county_code', 'verdict'])
    op.create_index('ix_referral_dashboard', 'referral', ['referred_on', 'organisation_id', 'tip_id'])
    op.create_index(
        'ix_campaign_recipient_reach',
        'campaign_recipient',
        ['delivered_at', 'county_code', 'contact_id'],
        postgresql_where=sa.text(DELIVERED),
        sqlite_where=sa.text(DELIVERED),
    )


def downgrade() -> None:
    op.drop_index('ix_campaign_recipient_reach', table_name='campaign_recipient')
    op.drop_index('ix_referral_dashboard', table_name='referral')
    op.drop_index('ix_agency_lookup_dashboard', table_name='agency_lookup')
    op.drop_index('ix_tip_dashboard', table_name='tip')
