"""/console/dataset: the secretariat downloads the dataset or an aggregate table, streamed as it is
read from the database; each download is in the audit log with the user and their address."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request, stream_with_context
from flask_login import current_user

from hotline.accounts.access import roles_required
from hotline.core import audit
from hotline.core.extensions import current
from hotline.core.models import User
from hotline.core.time import kenya_today, utcnow
from hotline.evidence import DATASET_ROLES, exports, formats
from hotline.evidence.errors import ExportError
from hotline.evidence.fields import ATTRIBUTION
from hotline.evidence.forms import ExportForm

bp = Blueprint("evidence", __name__, url_prefix="/console/dataset")
MIMETYPES = {"csv": "text/csv", "json": "application/json"}


@bp.route("", methods=["GET", "POST"])
@roles_required(*DATASET_ROLES)
def dataset():
    """The export form; a valid POST answers with the file, streamed."""
    form = ExportForm()
    problem = None
    if form.validate_on_submit():
        try:
            export = exports.Request.checked(
                form.table.data, form.fmt.data, year=form.year.data, since=form.since.data,
                until=form.until.data, free_text=form.free_text.data, today=kenya_today(),
            )
        except ExportError as exc:
            problem = str(exc)
        else:
            return _download(export)
    status = 400 if request.method == "POST" else 200
    page = render_template("evidence/dataset.html", form=form, problem=problem, attribution=ATTRIBUTION)
    return page, status


def _download(export: exports.Request) -> Response:
    ext, now = current(), utcnow()
    with ext.session_scope() as session:
        ready, rows = exports.prepare(session, ext.config, export, now)
        audit.record(session, session.get(User, current_user.user_id), "dataset_exported",
                     detail=export.audit_detail(rows), ip=request.remote_addr, at=now)

    def body():
        with ext.session_scope() as session:
            table = ready or exports.build(session, ext.config, export, now)
            yield from formats.chunks(table, export.fmt)

    headers = {"Content-Disposition": f'attachment; filename="{export.filename()}"'}
    return Response(stream_with_context(body()), mimetype=MIMETYPES[export.fmt], headers=headers)
