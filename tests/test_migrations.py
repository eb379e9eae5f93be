"""The migrations build the schema the models describe: a model change without its migration fails here."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from hotline.core.models import Base

# Indexes only a migration makes (PostgreSQL's pg_trgm, for the inbox's text search; see 0012).
MIGRATION_ONLY = {"ix_tip_description_trgm", "ix_tip_place_trgm"}


def test_the_migrated_database_matches_the_models(database_url):
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    unexplained = [
        difference
        for difference in differences
        if not (difference[0] == "remove_index" and difference[1].name in MIGRATION_ONLY)
    ]
    assert unexplained == []
