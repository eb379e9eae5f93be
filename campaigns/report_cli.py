"""`flask campaigns report NAME_OR_ID`: a campaign's reach and effect as a table, CSV or HTML page."""

from __future__ import annotations

import re
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from campaigns import render, report, service
from campaigns.errors import CampaignError
from hotline.core.extensions import current


def default_path(name: str) -> Path:
    """Where the HTML report goes by default: reports/campaign-<name>-report.html in the instance folder."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "campaign"
    return Path(current_app.instance_path) / "reports" / f"campaign-{safe}-report.html"


@click.command("report")
@click.argument("name_or_id")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "html"]),
    default="table",
    show_default=True,
    help="Plain text, tidy CSV, or one self-contained HTML page.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here (html default: instance/reports/campaign-<name>-report.html).",
)
@click.option(
    "--window-days",
    type=click.IntRange(1, 365),
    help="Attribution window in days from the start (default: the campaign's own).",
)
@with_appcontext
def report_command(name_or_id, fmt, output, window_days):
    """Reach and effect of campaign NAME_OR_ID: delivery, cost, breakdowns by county, variant and
    day, and treated versus held out (dials, tips, agency checks, SMS) with 95% intervals."""
    with current().session_scope() as session:
        try:
            campaign = service.find(session, name_or_id)
        except CampaignError as exc:
            raise click.ClickException(str(exc)) from None
        built = report.build(session, campaign.id, window_days=window_days)
    text = {"table": render.table, "csv": render.csv_text, "html": render.html}[fmt](built)
    if fmt == "html" and output is None:
        output = default_path(built.name)
        output.parent.mkdir(parents=True, exist_ok=True)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:  # a folder that does not exist, no permission: say so, no traceback
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"wrote the {fmt} report to {output.resolve()}")
