"""contact_audience_index: the builder's live estimate at a million contacts

`ix_contact_audience` (language, county_code, consent_source, salt) over subscribed contacts only
(not opted out, reachable): the live estimate counts an audience per language from this index alone,
and the exact draw reads the salt from it too.

Revision ID: 0014_contact_audience_index
Revises: 0013_campaign_studio
"""

import sqlalchemy as sa
from alembic import op

revision = '0014_contact_audience_index'
down_revision = '0013_campaign_studio'
branch_labels = None
depends_on = None

SUBSCRIBED = 'opted_out_at IS NULL AND unreachable_reason IS NULL'


def upgrade() -> None:
    op.create_index(
        'ix_contact_audience',
        'contact',
        ['language', 'county_code', 'consent_source', 'salt'],
        postgresql_where=sa.text(SUBSCRIBED),
        sqlite_where=sa.text(SUBSCRIBED),
    )


def downgrade() -> None:
    op.drop_index('ix_contact_audience', table_name='contact')
