"""at_fields: what real Africa's Talking callbacks carry and the service now keeps

`inbound_sms.sent_at`: AT's `date` of an incoming SMS, when the phone sent it.
`outbound_sms.at_short_code` and `at_link_id`: a reply to an SMS on a premium short code passes
AT's `linkId` back; kept on the reply only (never on the inbound row: see the model).
`outbound_sms.network_code` and `retry_count`, `campaign_recipient.retry_count` and
`unmatched_delivery_report.retry_count`: the delivery report's network and AT's retry count, for
service SMS as for campaigns. All nullable: existing rows simply do not know.

Revision ID: 0010_at_fields
Revises: 0009_privacy
"""

import sqlalchemy as sa
from alembic import op

revision = '0010_at_fields'
down_revision = '0009_privacy'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_sms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('outbound_sms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('at_short_code', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('at_link_id', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('network_code', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('retry_count', sa.Integer(), nullable=True))
    with op.batch_alter_table('campaign_recipient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry_count', sa.Integer(), nullable=True))
    with op.batch_alter_table('unmatched_delivery_report', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry_count', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('unmatched_delivery_report', schema=None) as batch_op:
        batch_op.drop_column('retry_count')
    with op.batch_alter_table('campaign_recipient', schema=None) as batch_op:
        batch_op.drop_column('retry_count')
    with op.batch_alter_table('outbound_sms', schema=None) as batch_op:
        batch_op.drop_column('retry_count')
        batch_op.drop_column('network_code')
        batch_op.drop_column('at_link_id')
        batch_op.drop_column('at_short_code')
    with op.batch_alter_table('inbound_sms', schema=None) as batch_op:
        batch_op.drop_column('sent_at')
