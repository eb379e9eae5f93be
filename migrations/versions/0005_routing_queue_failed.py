"""tip.routing_queue_failed_at: the web path could not queue the tip's routing job

Revision ID: 0005_routing_queue_failed
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op


revision = '0005_routing_queue_failed'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tip', schema=None) as batch_op:
        batch_op.add_column(sa.Column('routing_queue_failed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tip', schema=None) as batch_op:
        batch_op.drop_column('routing_queue_failed_at')
