"""outbound retry: service SMS keep their next attempt, the attempt in flight, its last error, their alarm

Revision ID: 0005_outbound_retry
Revises: 0004
Create Date: 2026-11-25 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = '0006_outbound_retry'
down_revision = '0005_routing_queue_failed'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbound_sms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('attempt_started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('alarmed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbound_sms_next_attempt_at'), ['next_attempt_at'], unique=False)
    # SMS left pending by the old RQ retries are due now: the sweeper sends them.
    op.execute("UPDATE outbound_sms SET next_attempt_at = created_at WHERE state = 'pending'")


def downgrade() -> None:
    with op.batch_alter_table('outbound_sms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbound_sms_next_attempt_at'))
        batch_op.drop_column('alarmed_at')
        batch_op.drop_column('last_error')
        batch_op.drop_column('attempt_started_at')
        batch_op.drop_column('next_attempt_at')
