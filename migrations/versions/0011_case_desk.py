"""case_desk: the console's accounts, audit log, timeline, referrals and messages with the reporter

`tip` gains its case fields (HTCDS cas_Status, the inbox folder and priority, closure, assignment,
duplicate, agency flag); existing tips are put in their folder: closed ones closed, acknowledged
ones active, the rest new. `audit_event` is append-only: triggers refuse UPDATE and DELETE.

Revision ID: 0011_case_desk
Revises: 0010_at_fields
"""

import sqlalchemy as sa
from alembic import op

revision = '0011_case_desk'
down_revision = '0010_at_fields'
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'console_user',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('password_hash', sa.String(length=200), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('county_code', sa.Integer(), nullable=True),
        sa.Column('phone', sa.String(length=16), nullable=True),
        sa.Column('focal_point_id', sa.Integer(), nullable=True),
        sa.Column('totp_secret', sa.Text(), nullable=True),
        sa.Column('totp_confirmed_at', WHEN, nullable=True),
        sa.Column('totp_last_step', sa.BigInteger(), nullable=True),
        sa.Column('recovery_codes', sa.JSON(), nullable=True),
        sa.Column('session_token', sa.String(length=64), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('last_sign_in_at', WHEN, nullable=True),
        sa.ForeignKeyConstraint(['focal_point_id'], ['focal_point.id'],
                                name=op.f('fk_console_user_focal_point_id_focal_point')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_user')),
        sa.UniqueConstraint('email', name=op.f('uq_console_user_email')),
    )
    op.create_index(op.f('ix_console_user_focal_point_id'), 'console_user', ['focal_point_id'])

    op.create_table(
        'audit_event',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('at', WHEN, nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('actor', sa.String(length=254), nullable=False),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('tip_id', sa.Integer(), nullable=True),
        sa.Column('target', sa.String(length=254), nullable=True),
        sa.Column('detail', sa.JSON(), nullable=True),
        sa.Column('ip', sa.String(length=45), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['console_user.id'], name=op.f('fk_audit_event_user_id_console_user')),
        sa.ForeignKeyConstraint(['tip_id'], ['tip.id'], name=op.f('fk_audit_event_tip_id_tip')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event')),
    )
    for column in ('at', 'user_id', 'action', 'tip_id'):
        op.create_index(op.f(f'ix_audit_event_{column}'), 'audit_event', [column])
    _append_only('audit_event')

    op.create_table(
        'referral_organisation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('county_code', sa.Integer(), nullable=True),
        sa.Column('name', sa.String(length=160), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('phone', sa.String(length=16), nullable=True),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('updated_at', WHEN, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_organisation')),
    )
    op.create_index(op.f('ix_referral_organisation_county_code'), 'referral_organisation', ['county_code'])

    with op.batch_alter_table('tip', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_status', sa.String(length=16), server_default='Active', nullable=False))
        batch_op.add_column(sa.Column('folder', sa.String(length=10), server_default='new', nullable=False))
        batch_op.add_column(sa.Column('priority', sa.SmallInteger(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('closure_reason', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('closed_at', WHEN, nullable=True))
        batch_op.add_column(sa.Column('assigned_focal_point_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('duplicate_of_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('agency_flagged_at', WHEN, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_tip_assigned_focal_point_id_focal_point'),
                                    'focal_point', ['assigned_focal_point_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_tip_duplicate_of_id_tip'), 'tip', ['duplicate_of_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_tip_assigned_focal_point_id'), ['assigned_focal_point_id'])
        batch_op.create_index(batch_op.f('ix_tip_duplicate_of_id'), ['duplicate_of_id'])
        batch_op.create_index('ix_tip_inbox', ['folder', 'county_code', 'priority', 'created_at', 'id'])
    op.execute("UPDATE tip SET priority = 0 WHERE urgent OR children = 'yes'")
    op.execute("UPDATE tip SET folder = 'active' WHERE acknowledged_at IS NOT NULL")
    op.execute("UPDATE tip SET folder = 'closed', case_status = 'Closed' WHERE status = 'closed'")

    op.create_table(
        'case_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tip_id', sa.Integer(), nullable=False),
        sa.Column('at', WHEN, nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('focal_point_id', sa.Integer(), nullable=True),
        sa.Column('text', sa.Text(), nullable=True),
        sa.Column('detail', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['tip_id'], ['tip.id'], name=op.f('fk_case_event_tip_id_tip')),
        sa.ForeignKeyConstraint(['user_id'], ['console_user.id'], name=op.f('fk_case_event_user_id_console_user')),
        sa.ForeignKeyConstraint(['focal_point_id'], ['focal_point.id'],
                                name=op.f('fk_case_event_focal_point_id_focal_point')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_event')),
    )
    op.create_index(op.f('ix_case_event_tip_id'), 'case_event', ['tip_id'])

    op.create_table(
        'referral',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tip_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('referred_on', sa.Date(), nullable=False),
        sa.Column('reason', sa.String(length=40), nullable=False),
        sa.Column('details', sa.Text(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('created_at', WHEN, nullable=False),
        sa.ForeignKeyConstraint(['tip_id'], ['tip.id'], name=op.f('fk_referral_tip_id_tip')),
        sa.ForeignKeyConstraint(['organisation_id'], ['referral_organisation.id'],
                                name=op.f('fk_referral_organisation_id_referral_organisation')),
        sa.ForeignKeyConstraint(['user_id'], ['console_user.id'], name=op.f('fk_referral_user_id_console_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_referral')),
    )
    op.create_index(op.f('ix_referral_tip_id'), 'referral', ['tip_id'])
    op.create_index(op.f('ix_referral_organisation_id'), 'referral', ['organisation_id'])

    op.create_table(
        'case_message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tip_id', sa.Integer(), nullable=False),
        sa.Column('direction', sa.String(length=3), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('read_at', WHEN, nullable=True),
        sa.Column('source_id', sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(['tip_id'], ['tip.id'], name=op.f('fk_case_message_tip_id_tip')),
        sa.ForeignKeyConstraint(['user_id'], ['console_user.id'], name=op.f('fk_case_message_user_id_console_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_message')),
        sa.UniqueConstraint('source_id', name=op.f('uq_case_message_source_id')),
    )
    op.create_index(op.f('ix_case_message_tip_id'), 'case_message', ['tip_id'])


def _append_only(table: str) -> None:
    """Triggers that refuse UPDATE and DELETE on `table`, whoever connects through the app."""
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"""
            CREATE FUNCTION {table}_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '{table} is append-only'; END $$ LANGUAGE plpgsql""")
        op.execute(f"""
            CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION {table}_append_only()""")
    else:
        for event in ('UPDATE', 'DELETE'):
            op.execute(f"""
                CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table}
                BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END""")


def downgrade() -> None:
    op.drop_table('case_message')
    op.drop_table('referral')
    op.drop_table('case_event')
    with op.batch_alter_table('tip', schema=None) as batch_op:
        batch_op.drop_index('ix_tip_inbox')
        batch_op.drop_index(batch_op.f('ix_tip_duplicate_of_id'))
        batch_op.drop_index(batch_op.f('ix_tip_assigned_focal_point_id'))
        batch_op.drop_constraint(batch_op.f('fk_tip_duplicate_of_id_tip'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_tip_assigned_focal_point_id_focal_point'), type_='foreignkey')
        for column in ('agency_flagged_at', 'duplicate_of_id', 'assigned_focal_point_id', 'closed_at',
                       'closure_reason', 'priority', 'folder', 'case_status'):
            batch_op.drop_column(column)
    op.drop_table('referral_organisation')
    op.drop_table('audit_event')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS audit_event_append_only()')
    op.drop_table('console_user')
