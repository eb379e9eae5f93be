"""retention_indexes: a purged tip's new row version is entered in 8 of tip's indexes, not 17

The purge clears a closed tip's place, description, AT's id and reporter key. Those columns are
indexed, so the UPDATE is never HOT: PostgreSQL enters the new row version in every index of the
table, unless a partial index's condition leaves it out. So:

- the trigram indexes (0012) and the indexes of sparse columns (agency, duplicate, escalation, assigned
  focal point, an SMS's next attempt) hold only the rows where the column is set: every query that
  reads them compares the column (ILIKE, =, <=), which implies it is not null, so they still serve;
- `ix_tip_routing_started_at` becomes `ix_tip_unrouted`: the sweeper reads the tips whose routing has
  not started (`routing_started_at IS NULL`), a handful; the escalation sweep's
  `routing_started_at <= since` comes with `escalate_at IS NOT NULL`, which `ix_tip_escalate_at` serves;
- `ix_tip_reporter_key` stays whole: the campaign's send-time safety check reads tips by an array of
  reporter keys bound as one parameter (campaigns.safety.reported), and PostgreSQL cannot prove from a
  parameter that no key is 'purged', so a partial index would be skipped for a scan of every open tip;
- `ix_tip_created_at` goes (`ix_tip_dashboard` leads with created_at), and so does `ix_tip_status`
  (nothing selects tips by routing status).

Measured on a copy of bench_oversight (a year's expired data: 415,604 closed tips, 5,000 a chunk): a
chunk's tip UPDATE writes 48,700 WAL records instead of 96,800 and about half the WAL bytes; the
year's tip UPDATEs took 22.1 s instead of 24.2 s (the purge 62.2 s instead of 62.9 s, on two busy
cores): the rest is the heap's new versions and full-page images, not index entries.

Revision ID: 0017_retention_indexes
Revises: 0016_dashboard_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = '0017_retention_indexes'
down_revision = '0016_dashboard_indexes'
branch_labels = None
depends_on = None

# (index, table, column): now only where the column is set.
SPARSE = (
    ('ix_tip_agency_id', 'tip', 'agency_id'),
    ('ix_tip_duplicate_of_id', 'tip', 'duplicate_of_id'),
    ('ix_tip_escalate_at', 'tip', 'escalate_at'),
    ('ix_tip_assigned_focal_point_id', 'tip', 'assigned_focal_point_id'),
    ('ix_outbound_sms_next_attempt_at', 'outbound_sms', 'next_attempt_at'),
)
TRIGRAMS = (('ix_tip_place_trgm', 'place'), ('ix_tip_description_trgm', 'description'))
UNROUTED = 'routing_started_at IS NULL'


def _partial(condition: str) -> dict:
    return {'postgresql_where': sa.text(condition), 'sqlite_where': sa.text(condition)}


def _trigram_opclass() -> str:
    # As in 0012: the operator class lives in the schema pg_trgm was installed in.
    schema = op.get_bind().exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_trgm'"
    ).scalar_one()
    return f'"{schema}".gin_trgm_ops'


def upgrade() -> None:
    for name, table, column in SPARSE:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column], **_partial(f'{column} IS NOT NULL'))
    op.drop_index('ix_tip_routing_started_at', table_name='tip')
    op.create_index('ix_tip_unrouted', 'tip', ['id'], **_partial(UNROUTED))
    op.drop_index('ix_tip_created_at', table_name='tip')
    op.drop_index('ix_tip_status', table_name='tip')
    if op.get_bind().dialect.name == 'postgresql':
        opclass = _trigram_opclass()
        for name, column in TRIGRAMS:
            op.execute(f'DROP INDEX IF EXISTS {name}')
            op.execute(f'CREATE INDEX {name} ON tip USING gin ({column} {opclass}) WHERE {column} IS NOT NULL')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        opclass = _trigram_opclass()
        for name, column in TRIGRAMS:
            op.execute(f'DROP INDEX IF EXISTS {name}')
            op.execute(f'CREATE INDEX {name} ON tip USING gin ({column} {opclass})')
    op.create_index('ix_tip_status', 'tip', ['status'])
    op.create_index('ix_tip_created_at', 'tip', ['created_at'])
    op.drop_index('ix_tip_unrouted', table_name='tip')
    op.create_index('ix_tip_routing_started_at', 'tip', ['routing_started_at'])
    for name, table, column in SPARSE:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column])
