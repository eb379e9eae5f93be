"""desk_indexes: the case desk's queries at 200,000 tips

- `ix_tip_order` (folder, priority, created_at, id): the secretariat's folders span every county, so
  `ix_tip_inbox` (county second) cannot give their order; this one reads a page as one range.
- `ix_case_event_kind` (kind, tip_id): the few moved tips, which a county's focal point still sees
  when they were sent them before the move (the inbox's scope).
- PostgreSQL only: trigram indexes (pg_trgm) on tip.place and tip.description, so the inbox's
  text search (ILIKE '%words%') reads matching rows instead of every tip.

Revision ID: 0012_desk_indexes
Revises: 0011_case_desk
"""

from alembic import op

revision = '0012_desk_indexes'
down_revision = '0011_case_desk'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_tip_order', 'tip', ['folder', 'priority', 'created_at', 'id'])
    op.create_index('ix_case_event_kind', 'case_event', ['kind', 'tip_id'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        # The operator class lives in the schema the extension was installed in, which need not be
        # on this connection's search_path (a schema per deployment, or an extension installed
        # before into `public`): name it with its schema.
        schema = op.get_bind().exec_driver_sql(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
            " WHERE e.extname = 'pg_trgm'"
        ).scalar_one()
        opclass = f'"{schema}".gin_trgm_ops'
        op.execute(f'CREATE INDEX ix_tip_place_trgm ON tip USING gin (place {opclass})')
        op.execute(f'CREATE INDEX ix_tip_description_trgm ON tip USING gin (description {opclass})')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_tip_description_trgm')
        op.execute('DROP INDEX IF EXISTS ix_tip_place_trgm')
    op.drop_index('ix_case_event_kind', table_name='case_event')
    op.drop_index('ix_tip_order', table_name='tip')
