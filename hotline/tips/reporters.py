"""What is remembered per reporter key: the language they chose."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from flows.texts import DEFAULT_LANGUAGE, LANGUAGES
from hotline.core.models import Reporter

# Compiled once: this runs on the first screen of every USSD session.
_table = Reporter.__table__
_LANGUAGE = select(_table.c.language).where(_table.c.reporter_key == bindparam("key"))


def language_of(connection: Connection | Session, reporter_key: str) -> str:
    """The reporter's language, or the default for a first-time caller."""
    return known_language(connection.execute(_LANGUAGE, {"key": reporter_key}).scalar_one_or_none())


def known_language(language: str | None) -> str:
    """A remembered language if it is one of ours, else the default (none remembered, or retired)."""
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def set_language(session: Session, reporter_key: str, language: str) -> None:
    """Remember the reporter's language choice."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    reporter = session.get(Reporter, reporter_key)
    if reporter is None:
        session.add(Reporter(reporter_key=reporter_key, language=language))
    else:
        reporter.language = language
