"""Campaign contacts in the console: counts, find a number, opt it out by hand, upload a contacts CSV;
and for the secretariat, a person's rights: everything held about a number, and forgetting it.

Campaign managers find, opt out and upload. The secretariat reads the counts and answers a person's
request under the Data Protection Act: it sees what is held about a number (`erasure.held_about`)
and forgets it after a confirmation step (`erasure.forget`). Managers do not forget: erasure is a
legal request the secretariat (the data controller's office) handles, and opting out already stops
every campaign SMS. A contact's number is
personal data: it is typed into a POST form (never a URL, so never an access log line), every lookup
and opt-out is written to the audit log with the contact's id (never the number), and an upload's
audit entry holds its counts only. Nothing here says whether a contact is left out of campaigns for
their safety (`campaigns.safety`): that is counted on campaigns and shown nowhere else.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from hotline.accounts.access import roles_required
from hotline.contacts import erasure
from hotline.contacts import service as contacts
from hotline.contacts.contacts_csv import spec_for
from hotline.core import audit
from hotline.core.counties import name_of
from hotline.core.csv_import import FileRejected, import_file
from hotline.core.errors import InvalidPhoneNumber
from hotline.core.extensions import current
from hotline.core.models import Contact, User
from hotline.core.privacy import normalise_phone
from hotline.core.time import kenya_time
from hotline.studio.contact_forms import FindForm, ForgetForm, OptOutForm, UploadForm

bp = Blueprint("contacts", __name__, url_prefix="/console/contacts")
MANAGERS = ("campaign_manager",)
RIGHTS = ("secretariat",)  # see what is held about a number, and forget it
READERS = ("campaign_manager", "secretariat")
UPLOAD_MAX_BYTES = 8 * 1024 * 1024  # about 150,000 rows; a bigger file goes through `flask contacts import`
ERRORS_SHOWN = 200  # bad rows listed on the page; the rest are counted
LANGUAGES = {"en": "English", "sw": "Kiswahili"}
OPT_OUT_WAYS = {
    "sms": "by SMS (STOP)",
    "ussd": "on the USSD menu",
    "at_opt_out": "through Africa's Talking's opt-out",
    "blacklist": "their network says the number blocked our messages",
    "console": "by hand in the console",
    "erased": "erased: the number was forgotten or past its retention",
}


def _user(session) -> User:
    return session.get(User, current_user.user_id)


@bp.get("/")
@roles_required(*READERS)
def index():
    """Contacts subscribed, opted out and unreachable: in all, by county, language and consent source."""
    return _index(FindForm())


def _index(form: FindForm, status: int = 200):
    with current().session_scope() as session:
        tables = contacts.stats(session)
    counties = [(name_of(code) or "County not known", *counts) for code, *counts in tables["county"]]
    counties.sort(key=lambda row: (row[0] == "County not known", row[0]))
    languages = [(LANGUAGES.get(code, code), *counts) for code, *counts in tables["language"]]
    return render_template(
        "studio/contacts_index.html", form=form, total=tables["total"][0], counties=counties,
        languages=languages, sources=tables["consent source"], opted_out_by=tables["opt-out source"],
        never_joined=tables["suppressed"], ways=OPT_OUT_WAYS, may_manage=current_user.role in MANAGERS,
        may_forget=current_user.role in RIGHTS,
    ), status


def _typed_phone(form: FindForm) -> str | None:
    """The E.164 number typed into the form, or None with the form's error set."""
    typed = (form.phone.data or "").strip()
    try:
        if not typed:
            raise InvalidPhoneNumber("empty")
        return normalise_phone(typed)
    except InvalidPhoneNumber:
        form.phone.errors = ["Type a phone number, as 0712 345 678 or +254 712 345 678."]
        return None


@bp.post("/find")
@roles_required(*MANAGERS)
def find():
    """One number's contact: consent, language, county, subscribed or opted out (audited)."""
    form = FindForm()
    phone = _typed_phone(form)
    if phone is None:
        return _index(form, 400)
    ext = current()
    with ext.session_scope() as session:
        contact, never_joined = contacts.look_up(
            session, phone, _user(session), ext.config.phone_hash_key, ip=request.remote_addr
        )
        return _found(session, phone, contact, never_joined)


def _found(session, phone: str, contact: Contact | None, never_joined: bool = False, done: str = ""):
    facts = None
    if contact is not None:
        by = session.get(User, contact.opted_out_by_id) if contact.opted_out_by_id else None
        facts = _facts(contact, by)
    return render_template(
        "studio/contacts_found.html", phone=phone, contact=contact, facts=facts, never_joined=never_joined,
        done=done, form=OptOutForm(), find_form=FindForm(),
    )


# The columns `_described` reads: a contact row's, or `erasure.held_about`'s dict of them.
DESCRIBED = ("opted_out_at", "opt_out_source", "unreachable_reason", "consent_source", "consented_at",
             "language", "county_code")


def _facts(contact: Contact, by: User | None) -> dict:
    """What the page says about a contact, in words."""
    return _described({name: getattr(contact, name) for name in DESCRIBED}, by)


def _described(contact: dict, by: User | None = None) -> dict:
    """A contact's consent, language, county and status in words, from its columns by name."""
    if contact["opted_out_at"] is not None:
        source = contact["opt_out_source"] or ""
        way = OPT_OUT_WAYS.get(source, source or "not recorded")
        who = f" by {by.email}" if by is not None else ""
        state = f"Opted out on {kenya_time(contact['opted_out_at'])} EAT, {way}{who}"
    elif contact["unreachable_reason"]:
        state = f"Subscribed, but unreachable: Africa's Talking says {contact['unreachable_reason']}"
    else:
        state = "Subscribed: gets campaign SMS"
    return {
        "Consent": f"{contact['consent_source']}, on {kenya_time(contact['consented_at'])} EAT",
        "Language": LANGUAGES.get(contact["language"], contact["language"]),
        "County": name_of(contact["county_code"]) or "Not known",
        "Status": state,
    }


@bp.post("/<int:contact_id>/opt-out")
@roles_required(*MANAGERS)
def opt_out(contact_id: int):
    """Opt a contact out at the person's request; recorded with who did it, and audited."""
    OptOutForm().validate_on_submit()  # the CSRF token was checked before the view
    with current().session_scope() as session:
        contact = session.get(Contact, contact_id) or abort(404)
        changed = contacts.opt_out_by_hand(session, contact, _user(session), ip=request.remote_addr)
        done = "Opted out: they get no more campaign SMS." if changed else "They had opted out already."
        return _found(session, contact.phone or "Erased number", contact, done=done)


@bp.post("/held")
@roles_required(*RIGHTS)
def held():
    """Everything held about a number, for a person's access request (audited: the contact's id)."""
    form = FindForm()
    phone = _typed_phone(form)
    if phone is None:
        return _index(form, 400)
    ext = current()
    with ext.session_scope() as session:
        about = erasure.held_about(session, phone, ext.config, user=_user(session), ip=request.remote_addr)
    for row in about["campaigns"]:
        row["started"] = kenya_time(row["started_at"], missing="not started")
    return render_template("studio/contacts_held.html", held=about, facts=_held_facts(about),
                           form=ForgetForm(phone=phone), find_form=FindForm(formdata=None))


def _held_facts(about: dict) -> dict:
    contact = about["contact"]
    if contact is None:
        return {}
    added = {"Contact": f"Contact {contact['id']}, added {kenya_time(contact['created_at'])} EAT"}
    return {**added, **_described(contact)}


@bp.post("/forget")
@roles_required(*RIGHTS)
def forget():
    """Forget a number at the person's request: first a confirmation page, then the erasure (audited)."""
    form = ForgetForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        phone = normalise_phone(form.phone.data or "")
    except InvalidPhoneNumber:
        abort(400)
    if form.confirmed.data != "yes":
        return render_template("studio/contacts_forget.html", phone=phone, done=None,
                               form=ForgetForm(formdata=None, phone=phone, confirmed="yes"))
    ext = current()
    with ext.session_scope() as session:
        done = erasure.forget(session, phone, ext.config, user=_user(session), ip=request.remote_addr)
    return render_template("studio/contacts_forget.html", phone=phone, done=done, form=None)


@bp.url_value_preprocessor
def _room_for_files(endpoint, _values):
    # Before the CSRF check reads the form (an app before_request, which the 64 KB body limit of the
    # webhooks would stop): an upload may be bigger.
    if endpoint == "contacts.upload":
        request.max_content_length = UPLOAD_MAX_BYTES


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc):
    if not (current_user.is_authenticated and current_user.signed_in and current_user.role in MANAGERS):
        message = "What you sent is too large."
        return render_template("console/error.html", title="Too large", message=message, code=413), 413
    problem = (f"The file is larger than {UPLOAD_MAX_BYTES // 2**20} MB: nothing was imported. Split it, "
               "or import it on the server with `flask contacts import FILE`.")
    return _upload_page(UploadForm(formdata=None), problem=problem), 413


@bp.route("/upload", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def upload():
    """Add or update contacts from a CSV, with the CLI's line-numbered checks (audited: counts only)."""
    form = UploadForm()
    if not form.validate_on_submit():
        return _upload_page(form)
    if not form.file.data or not form.file.data.filename:
        return _upload_page(form, problem="Choose a CSV file to upload."), 400
    data = form.file.data.read()
    ext = current()
    try:
        report = import_file(data, spec_for(ext.config.phone_hash_key), ext.session_scope,
                             skip_invalid=bool(form.skip_invalid.data))
    except FileRejected as exc:
        _audit_upload(imported=False, file_rejected=True)
        return _upload_page(form, problem=f"{exc}. Nothing was imported."), 400
    errors, good = report.checked.errors, len(report.checked.rows)
    counts = report.counts
    detail = {"good_rows": good, "bad_rows": len(errors), "imported": counts is not None}
    if counts is not None:
        detail |= {"added": counts.added, "updated": counts.updated, "unchanged": counts.unchanged,
                   "kept_opted_out": counts.kept_opted_out}
    _audit_upload(**detail)
    status = 200 if counts is not None else 400
    return _upload_page(form, errors=errors, good=good, counts=counts), status


def _audit_upload(**detail) -> None:
    with current().session_scope() as session:
        audit.record(session, _user(session), "contacts_uploaded", detail=detail, ip=request.remote_addr)


def _upload_page(form: UploadForm, problem: str = "", errors: list[str] | None = None, good: int = 0,
                 counts=None):
    errors = errors or []
    return render_template(
        "studio/contacts_upload.html", form=form, problem=problem, errors=errors[:ERRORS_SHOWN],
        more_errors=max(0, len(errors) - ERRORS_SHOWN), bad=len(errors), good=good, counts=counts,
        limit_mb=UPLOAD_MAX_BYTES // 2**20,
    )
