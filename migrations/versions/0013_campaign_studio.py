"""campaign_studio: the console's campaign studio and the safety rule

- `tip.safety_seal`: the reporter's engagement key, sealed (random nonce), so campaigns can leave out
  whoever has a tip open or reported in the last 30 days. Tips made before this have none.
- `campaign.safety_suppressed`: how many contacts were left out for safety (counted, never listed).
- `campaign.created_by_id`: the console user who made the campaign.
- `contact.opted_out_by_id`: the console user who opted a contact out by hand.

Revision ID: 0013_campaign_studio
Revises: 0012_desk_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = '0013_campaign_studio'
down_revision = '0012_desk_indexes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tip', schema=None) as batch_op:
        batch_op.add_column(sa.Column('safety_seal', sa.Text(), nullable=True))
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('safety_suppressed', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_campaign_created_by_id_console_user'), 'console_user', ['created_by_id'], ['id']
        )
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opted_out_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_contact_opted_out_by_id_console_user'), 'console_user', ['opted_out_by_id'], ['id']
        )


def downgrade() -> None:
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_contact_opted_out_by_id_console_user'), type_='foreignkey')
        batch_op.drop_column('opted_out_by_id')
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_campaign_created_by_id_console_user'), type_='foreignkey')
        batch_op.drop_column('created_by_id')
        batch_op.drop_column('safety_suppressed')
    with op.batch_alter_table('tip', schema=None) as batch_op:
        batch_op.drop_column('safety_seal')
