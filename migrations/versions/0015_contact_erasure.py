"""contact_erasure: a contact's number can be removed while its row stays

Retention (`flask purge`: opted-out contacts after two years) and erasure at the person's request
(`flask contacts forget`) remove a contact's number and engagement key. The row itself stays, with
no number and nothing that leads to one, so past campaigns' reports keep their counts; a keyed hash
in `suppression` stops any import from subscribing the number again. `erased_at` says when.

Revision ID: 0015_contact_erasure
Revises: 0014_contact_audience_index
"""

import sqlalchemy as sa
from alembic import op

revision = '0015_contact_erasure'
down_revision = '0014_contact_audience_index'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('contact') as batch:
        batch.alter_column('phone', existing_type=sa.String(16), nullable=True)
        batch.alter_column('engagement_key', existing_type=sa.String(64), nullable=True)
        batch.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM campaign_recipient WHERE contact_id IN (SELECT id FROM contact WHERE phone IS NULL)")
    op.execute("DELETE FROM contact WHERE phone IS NULL")
    with op.batch_alter_table('contact') as batch:
        batch.drop_column('erased_at')
        batch.alter_column('engagement_key', existing_type=sa.String(64), nullable=False)
        batch.alter_column('phone', existing_type=sa.String(16), nullable=False)
