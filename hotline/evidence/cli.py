"""`flask tips export`: the de-identified dataset and the suppressed aggregate tables, to a file
or stdout, as CSV or JSON; every export is written to the audit log."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from hotline.core import audit
from hotline.core.extensions import current
from hotline.core.time import kenya_today, utcnow
from hotline.evidence import errors, exports, formats


@click.command("export")
@click.option("--table", "table_name", type=click.Choice(exports.TABLES), default="cases", show_default=True,
              help="cases: one row per tip; county-month: tips by county, month and kind; annual: the "
                   "Advisory Committee's figures.")
@click.option("--year", type=int, help="A calendar year (Kenyan days); annual needs it, or takes this year.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="First day received, YYYY-MM-DD (Kenya).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Last day received, YYYY-MM-DD (Kenya).")
@click.option("--format", "fmt", type=click.Choice(formats.FORMATS), default="csv", show_default=True)
@click.option("--free-text", is_flag=True,
              help="cases: add place and description, phone numbers and e-mails redacted.")
@click.option("--output", "-o", default="-", show_default=True, help="A file to write, or - for stdout.")
@click.option("--describe", is_flag=True, help="Print the table's field descriptions (JSON) instead.")
@with_appcontext
def export_command(table_name, year, since, until, fmt, free_text, output, describe):
    """Export the de-identified dataset or an aggregate table (secretariat; audited).

    No reporter key, phone number, call-back, e-mail, reference code or database id is ever
    exported; small counts in the aggregate tables are shown as "<5".
    """
    ext = current()
    try:
        request = exports.Request.checked(
            table_name, fmt, year=year, since=since and since.date(), until=until and until.date(),
            free_text=free_text, today=kenya_today(),
        )
    except errors.ExportError as exc:
        raise click.UsageError(str(exc)) from None
    now, to_file = utcnow(), output != "-"
    with ext.session_scope() as session:
        if describe:
            click.echo(formats.describe(exports.build(session, ext.config, request, now)), nl=False)
            return
        ready, total = exports.prepare(session, ext.config, request, now)
        try:
            out = open(output, "w", encoding="utf-8", newline="") if to_file else sys.stdout  # noqa: SIM115
        except OSError as exc:
            raise click.ClickException(f"cannot write {output}: {exc.strerror}") from None
        # On record before a row leaves: an export cut short is in the audit log too.
        audit.record(session, None, "dataset_exported", actor=audit.cli_actor(),
                     detail=request.audit_detail(total), at=now)
    try:
        with ext.session_scope() as session:
            table = ready or exports.build(session, ext.config, request, now)
            if to_file:
                with click.progressbar(length=total, label=f"Exporting {table_name}", file=sys.stderr) as bar:
                    written = formats.write(table, out, fmt, progress=bar.update)
            else:
                written = formats.write(table, out, fmt)
    finally:
        if to_file:
            out.close()
    if to_file:
        click.echo(f"{written:,} rows written to {output}", err=True)
