"""`flask db …`: Alembic migrations of the service's database."""

from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from flask.cli import with_appcontext

from hotline.core.extensions import current

MIGRATIONS = Path(__file__).resolve().parent.parent.parent / "migrations"


def alembic_config(database_url: str, phone_hash_key: str | None = None) -> AlembicConfig:
    """An Alembic configuration for our migrations against `database_url`.

    `phone_hash_key` is for migrations that rekey existing rows (0009_privacy): it reaches them in
    memory, never through the database or a file.
    """
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = database_url
    config.attributes["phone_hash_key"] = phone_hash_key
    return config


def upgrade(database_url: str, revision: str = "head", phone_hash_key: str | None = None) -> None:
    """Migrate the database at `database_url` up to `revision`."""
    command.upgrade(alembic_config(database_url, phone_hash_key), revision)


def _url() -> str:
    return current().config.database_url


def _key() -> str:
    return current().config.phone_hash_key


@click.group("db")
def db_group():
    """Database migrations (Alembic)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def upgrade_command(revision):
    """Migrate the database to REVISION (default: the newest)."""
    upgrade(_url(), revision, _key())
    click.echo(f"database at {revision}")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def downgrade_command(revision):
    """Migrate the database down to REVISION (e.g. -1, or base)."""
    command.downgrade(alembic_config(_url(), _key()), revision)


@db_group.command("current")
@with_appcontext
def current_command():
    """Show the database's revision."""
    command.current(alembic_config(_url()))


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the migration does.")
@click.option("--autogenerate/--empty", default=True, help="Compare models with the database.")
@with_appcontext
def revision_command(message, autogenerate):
    """Write a new migration (for developers)."""
    command.revision(alembic_config(_url()), message=message, autogenerate=autogenerate)
