"""follow-up: updates from other numbers are held for the case team; one update per USSD session

Revision ID: 0005_reference_followup
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op


revision = '0007_reference_followup'
down_revision = '0006_outbound_retry'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tip_update', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('state', sa.String(length=12), server_default='forwarded', nullable=False)
        )
        batch_op.add_column(sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('source_id', sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_tip_update_state'), ['state'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_tip_update_source_id'), ['source_id'])


def downgrade() -> None:
    with op.batch_alter_table('tip_update', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_tip_update_source_id'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_tip_update_state'))
        batch_op.drop_column('source_id')
        batch_op.drop_column('reviewed_at')
        batch_op.drop_column('state')
