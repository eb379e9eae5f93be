"""ussd_state_backup: USSD session state kept in the database while Redis is unavailable

Revision ID: 0005_ussd_state_backup
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = '0008_ussd_state_backup'
down_revision = '0007_reference_followup'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'ussd_state_backup',
        sa.Column('reporter_key', sa.String(length=64), nullable=False),
        sa.Column('record', sa.Text(), nullable=False),
        sa.Column('saved_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('reporter_key', name=op.f('pk_ussd_state_backup')),
    )
    with op.batch_alter_table('ussd_state_backup', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ussd_state_backup_saved_at'), ['saved_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ussd_state_backup', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ussd_state_backup_saved_at'))
    op.drop_table('ussd_state_backup')
