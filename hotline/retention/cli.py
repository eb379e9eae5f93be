"""`flask purge [--dry-run]`: retention by hand (the worker runs it daily), with a table per kind."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from hotline.core.extensions import current
from hotline.core.time import utcnow
from hotline.retention.purge import Report, expected, purge

# Rows past which the purge shows a progress bar (below that it is over in a moment).
BAR_FROM = 20_000


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be removed; change nothing.")
@with_appcontext
def purge_command(dry_run):
    """Remove what the retention settings (RETAIN_*_DAYS) say is too old, and say what, per kind.

    Nothing open is touched: a tip not closed, a service SMS not yet sent or failed, a contact
    still subscribed. A closed tip keeps its de-identified row; an opted-out contact keeps only a
    keyed hash of the number, so no import subscribes it again. Safe to run twice: a second run
    removes nothing. Written to the audit log (purge, or purge_dry_run). README.md: Retention.
    """
    ext = current()
    now = utcnow()
    with ext.session_scope() as session:
        total = 0 if dry_run else expected(session, ext.config, now).total
        if total >= BAR_FROM:
            with click.progressbar(length=total, label="purging", file=sys.stderr) as bar:
                report = purge(session, ext.config, now, progress=lambda _kind, rows: bar.update(rows))
        else:
            report = purge(session, ext.config, now, dry_run=dry_run)
    show(report)


def show(report: Report) -> None:
    """The report as a table: what, kept for, rows."""
    verb = "would remove" if report.dry_run else "removed"
    rows = [("what", "kept for", verb)]
    for kind in report.kinds:
        kept = f"{kind.days} days" if kind.days else "until sent or failed"
        rows.append((kind.what, kept, f"{kind.count:,}"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        click.echo(
            f"{row[0].ljust(widths[0])}  {row[1].ljust(widths[1])}  {row[2].rjust(widths[2])}".rstrip()
        )
    summary = "nothing is past its retention" if not report.total else f"{report.total:,} rows in all"
    click.echo(f"{'dry run: ' if report.dry_run else ''}{summary} (written to the audit log)")
