"""unlisted_agencies: the names checked but not in NEA's register

A check that finds nothing keeps the key of the name typed (`agency_lookup.query_key`: lower case,
spaces, legal forms and filler words folded, by hotline.agencies.lookup.typed_name_key), never a
number: nothing is kept for a phone number, a licence number, an e-mail address or anything with 7
digits in a row. `flask agencies stats` lists the keys checked 5 times or more in its window, for NEA
to look into. `ix_agency_lookup_unlisted` holds only the rows with a key, by day and key: a window
of days is one range of it, read without the table.

Revision ID: 0018_unlisted_agencies
Revises: 0017_retention_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = '0018_unlisted_agencies'
down_revision = '0017_retention_indexes'
branch_labels = None
depends_on = None

KEYED = 'query_key IS NOT NULL'


def upgrade() -> None:
    op.add_column('agency_lookup', sa.Column('query_key', sa.String(200), nullable=True))
    op.create_index(
        'ix_agency_lookup_unlisted',
        'agency_lookup',
        ['day', 'query_key'],
        postgresql_where=sa.text(KEYED),
        sqlite_where=sa.text(KEYED),
    )


def downgrade() -> None:
    op.drop_index('ix_agency_lookup_unlisted', table_name='agency_lookup')
    with op.batch_alter_table('agency_lookup') as batch:
        batch.drop_column('query_key')
