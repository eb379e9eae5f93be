"""The USSD use case: one AT request in, one screen out, with state kept between requests.

- The newest input is what AT's `text` adds to the `text` of the previous request, so a `*`
  typed inside free text stays in it.
- A retried request (same session, same `text`) gets the stored screen again and changes nothing.
- State lives in Redis, and in the database while Redis cannot take it (`ussd_sessions`).
- With no stored state (Redis and the database both unavailable, or the state expired) the
  session is rebuilt by replaying `text`; then a `*` separates inputs except where the flow engine
  finds it inside free text.
- The tip is committed before the `END` screen is returned; submitting twice returns the first tip.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache

from sqlalchemy.exc import SQLAlchemyError

from flows.engine import Engine, Reply, State
from flows.menu import AGENCY_NAME_LENGTH, VERDICT_LENGTH, hotline_flow
from flows.texts import DEFAULT_LANGUAGE, text
from hotline.africastalking.forms import UssdRequest
from hotline.agencies import register as agencies
from hotline.agencies.verdicts import as_typed, register_text, shorten_name, shorten_names, verdict_lines
from hotline.contacts import service as contacts
from hotline.core.counties import all_counties
from hotline.core.extensions import Extensions
from hotline.core.models import utcnow
from hotline.core.numbers import ascii_digits
from hotline.core.privacy import encrypt_contact, engagement_key, reporter_key
from hotline.core.time import kenya_today
from hotline.messaging import outbound
from hotline.tips import conversation, followup, reference, reporters
from hotline.tips import submission as tips
from hotline.ussd.messages import read_message, send_answer
from hotline.ussd.sessions import DRAFT_FIELDS, SessionStore, snapshot

log = logging.getLogger(__name__)

# An agency's name on the pick list when several match (three fit one screen).
PICK_NAME_LENGTH = 26
# An agency's name in place of the kind on the confirmation (the screen's `kind` placeholder).
CONFIRM_KIND_LENGTH = 24


@dataclass
class UssdContext:
    """What actions may use: the connections, the request and who is calling (as a key)."""

    ext: Extensions
    request: UssdRequest
    reporter_key: str


def answer(ext: Extensions, request: UssdRequest) -> Reply:
    """The screen to show for this request."""
    key = reporter_key(request.phone, ext.config.phone_hash_key)
    store = SessionStore(ext.ussd_redis, max(ext.config.resume_ttl, ext.config.ussd_session_ttl), ext.engine)
    stored = store.load(key, request.session_id, request.text)
    state = stored.state if stored and stored.session_id == request.session_id else None
    if state is not None and state.text == request.text and state.reply:
        return Reply(state.reply, state.ended)  # AT retried the same request
    ctx = UssdContext(ext, request, key)
    newest = _newest_input(state.text, request.text) if state is not None else None
    if state is not None and newest is not None:
        # A `*` in the newest input of a screen that is not free text means the stored state is older
        # than the previous request (a save was lost): replay what was typed since.
        stale = "*" in newest and engine().flow[state.screen].kind != "text"
        engine().feed(state, newest, ctx, replay=stale)
    else:
        state = _new_session(ext, key, stored.state if stored else None, store)
        if request.text:
            engine().feed(state, request.text, ctx, replay=True)
    if engine().flow[state.screen].draft and not state.ended:
        # A report with no answer yet is nothing to resume.
        state.draft = snapshot(state) if state.answers else None
    elif state.screen == engine().flow.start:
        state.draft = None  # back to the menu on purpose (00, or 0 from a report's first screen)
    reply = engine().render(state)
    state.text, state.reply = request.text, reply.text
    store.save(key, request.session_id, state)
    return reply


def _new_session(ext: Extensions, key: str, previous: State | None, store: SessionStore) -> State:
    """A fresh state; an unfinished report of the previous session is offered for resume."""
    if previous:
        language = previous.lang
    elif store.language_read:  # read with the state backup, in the same query
        language = reporters.known_language(store.language)
    else:
        language = _language(ext, key)
    draft = previous.draft if previous else None
    state = engine().start(language, "resume" if draft else None)
    state.draft = draft
    return state


def error_reply(language: str = DEFAULT_LANGUAGE) -> Reply:
    """The polite ending when something failed."""
    return Reply(text(language, "end.error"), end=True)


def _newest_input(previous: str, current: str) -> str | None:
    if previous == "":
        return current if current != "" else None
    if current.startswith(previous + "*"):
        return current[len(previous) + 1 :]
    return None


def _language(ext: Extensions, key: str) -> str:
    try:
        with ext.engine.connect() as connection:
            return reporters.language_of(connection, key)
    except SQLAlchemyError as exc:
        log.warning("language lookup failed: %s", type(exc).__name__)
        return DEFAULT_LANGUAGE


# -- actions named by the flow -------------------------------------------------------------


def resume_draft(state: State, ctx: UssdContext) -> None:
    """Put the session back where the unfinished report stopped."""
    draft = state.draft or {}
    if draft.get("screen") not in engine().flow.screens:
        return
    for name in DRAFT_FIELDS:
        if name in draft:
            setattr(state, name, draft[name])


def discard_draft(state: State, ctx: UssdContext) -> None:
    """Forget the unfinished report."""
    state.draft = None
    state.answers.clear()


def start_again(state: State, ctx: UssdContext) -> None:
    """"Start again" on the resume offer: forget the unfinished report and begin a new one, whose
    way back leads to the main menu (not to the offer of a report that is gone)."""
    discard_draft(state, ctx)
    start = engine().flow.start
    state.screen, state.page, state.filter, state.stack = "tip_kind", 0, "", [[start, 0, ""]]


def submit_tip(state: State, ctx: UssdContext) -> None:
    """Commit the tip, queue its routing, and show its reference."""
    answers = state.answers
    county = answers.get("county")
    contact = None
    if answers.get("callback") == "yes":
        contact = encrypt_contact(ctx.request.phone, ctx.ext.config.contact_key)
    new = tips.NewTip(
        channel="ussd",
        source_id=f"ussd:{ctx.request.session_id}",
        kind=answers["kind"],
        reporter_key=ctx.reporter_key,
        language=state.lang,
        county_code=int(county) if county else None,
        place=answers.get("place"),
        description=answers.get("description"),
        danger=answers.get("danger", "unsure"),
        children=answers.get("children", "unsure"),
        callback_contact=contact,
        agency_id=answers.get("agency_id"),
    )
    tip = tips.submit_tip(ctx.ext.engine.begin, new, _engagement_key(ctx))
    if tip.routing_started_at is None:
        tips.queue_routing(ctx.ext.ussd_queues, tip.id, ctx.ext.engine.begin)
    state.draft = None
    state.params["ref"] = reference.display(tip.reference)


def set_language(state: State, ctx: UssdContext) -> None:
    """Switch the session's language and remember it for this reporter."""
    language = state.answers.pop("language", DEFAULT_LANGUAGE)
    state.lang = language
    try:
        with ctx.ext.session_scope() as session:
            reporters.set_language(session, ctx.reporter_key, language)
    except SQLAlchemyError as exc:
        log.warning("language not remembered: %s", type(exc).__name__)


def find_report(state: State, ctx: UssdContext) -> str | None:
    """Look the typed reference up (within the follow-up limits); back to the question with a hint if none."""
    with ctx.ext.session_scope() as session:
        found = followup.look_up(
            session, ctx.ext.ussd_redis, ctx.ext.config, ctx.reporter_key, state.answers.get("ref", "")
        )
        tip = found.tip
        shown = (tip.reference, followup.status_words(tip, state.lang)) if tip else None
        waiting = conversation.waiting_for(session, tip, ctx.reporter_key) if tip else 0
    if shown is None:
        state.hint = {"too_many": "hint.too_many", "busy": "hint.busy"}.get(found.refused, "hint.not_found")
        return "followup_ref"
    state.params["reference"], state.params["ref"] = shown[0], reference.display(shown[0])
    state.params["status"] = shown[1]
    if waiting:  # only the tip's reporter is told of messages, never someone else who knows the code
        state.params["count"] = str(waiting)
        return "followup_news_one" if waiting == 1 else "followup_news_many"
    return None


def add_update(state: State, ctx: UssdContext) -> str | None:
    """Keep the information added: forwarded if the caller reported the tip, else held for the case team."""
    with ctx.ext.session_scope() as session:
        tip = followup.find(session, state.params.get("reference", ""))
        if tip is None:
            return None
        update, ids = followup.add_information(
            session,
            tip,
            state.answers["update"],
            ctx.reporter_key,
            f"ussd:{ctx.request.session_id}",
            utcnow(),
        )
        held = update.state == "held"
    outbound.queue_send(ctx.ext.ussd_queues, ids)
    return "followup_held" if held else None


def find_agency(state: State, ctx: UssdContext) -> str | None:
    """Look the agency up: its verdict, or a pick list when several match."""
    with ctx.ext.session_scope() as session:
        found = agencies.lookup(session, state.answers.get("agency_query", ""))
    candidates = [_candidate(c) for c in found.candidates]
    state.params["candidates"] = candidates
    if len(candidates) > 1:
        names = shorten_names([c["name"] for c in candidates], PICK_NAME_LENGTH)
        lines = [f"{n}. {name}" for n, name in enumerate(names, 1)]
        state.params["choices"] = "\n".join(lines)
        return "agency_pick"
    _show_verdict(state, ctx, candidates[0] if candidates else None)
    return None


def show_picked_agency(state: State, ctx: UssdContext) -> str | None:
    """The verdict on the agency picked from the list; back to the list on a wrong number."""
    candidates = state.params.get("candidates") or []
    picked = state.answers.get("agency_pick", "")
    if not (ascii_digits(picked) and 1 <= int(picked) <= len(candidates)):
        state.hint = "hint.invalid"
        return "agency_pick"
    _show_verdict(state, ctx, candidates[int(picked) - 1])
    return None


def start_agency_report(state: State, ctx: UssdContext) -> None:
    """Begin a report of kind recruitment fraud about the agency just checked (by the name it was
    found under, or as typed when it was not found): the kind is not asked again."""
    state.answers = {
        "kind": "recruitment_fraud",
        "agency_id": state.params.get("agency_id"),
        "agency": shorten_name(state.params.get("agency_name") or "", AGENCY_NAME_LENGTH),
    }


def describe_report(state: State, ctx: UssdContext) -> None:
    """The confirmation names the agency a report is about ("Demo Sunrise Overseas, Nairobi City: …"),
    else the report's kind (from the answers)."""
    agency = state.answers.get("agency")
    if agency:
        state.params["kind"] = shorten_name(agency, CONFIRM_KIND_LENGTH)
    else:
        state.params.pop("kind", None)


def safety_sms_state(state: State, ctx: UssdContext) -> str | None:
    """Menu 5: the screen for a caller who already gets safety tips, else the offer to join."""
    with ctx.ext.session_scope() as session:
        subscribed = contacts.is_subscribed(contacts.find(session, ctx.request.phone))
    return "safety_sms_on" if subscribed else None


def join_safety_sms(state: State, ctx: UssdContext) -> None:
    """Join awareness SMS in the session's language, with the county picked (if any)."""
    state.params["short_code"] = ctx.ext.config.sms_short_code
    county = state.answers.pop("sms_county", None)
    with ctx.ext.session_scope() as session:
        contacts.subscribe(
            session,
            ctx.request.phone,
            source="ussd",
            language=state.lang,
            phone_hash_key=ctx.ext.config.phone_hash_key,
            county_code=int(county) if county else None,
        )


def leave_safety_sms(state: State, ctx: UssdContext) -> None:
    """Leave awareness SMS."""
    state.params["short_code"] = ctx.ext.config.sms_short_code
    with ctx.ext.session_scope() as session:
        contacts.opt_out(
            session,
            ctx.request.phone,
            source="ussd",
            phone_hash_key=ctx.ext.config.phone_hash_key,
        )


def _engagement_key(ctx: UssdContext) -> str:
    # Campaign effect's pseudonym of the caller: never the reporter key (see hotline.engagement).
    return engagement_key(ctx.request.phone, ctx.ext.config.phone_hash_key)


def _candidate(candidate) -> dict:
    return {
        "id": candidate.agency_id,
        "name": candidate.name,
        "status": candidate.status,
        "expiry": candidate.expiry_date.isoformat() if candidate.expiry_date else None,
        "licence_type": candidate.licence_type,
    }


def _show_verdict(state: State, ctx: UssdContext, candidate: dict | None) -> None:
    today = kenya_today()  # the day in Kenya: a check at 01:00 Nairobi time is that day's
    with ctx.ext.session_scope() as session:
        found = agencies.verdict_of(candidate, today)
        agency_id = candidate["id"] if candidate else None
        agencies.record_lookup(
            session,
            agency_id,
            found.kind,
            "ussd",
            today=today,
            engagement_key=_engagement_key(ctx),
            query=state.answers.get("agency_query"),
        )
        snapshot = agencies.snapshot_date(session)
    # Not found: the name line repeats what was typed, so the caller sees what was checked.
    name = candidate["name"] if candidate else as_typed(state.answers.get("agency_query", ""))
    when = found.until or found.since
    register = register_text(state.lang, snapshot, today)
    state.params["verdict"] = verdict_lines(
        state.lang, name, found.kind, found.abroad, when, register, VERDICT_LENGTH
    )
    state.params["agency_id"] = candidate["id"] if candidate else None
    state.params["agency_name"] = name


ACTIONS = {
    "resume_draft": resume_draft,
    "discard_draft": discard_draft,
    "start_again": start_again,
    "submit_tip": submit_tip,
    "set_language": set_language,
    "find_report": find_report,
    "add_update": add_update,
    "read_message": read_message,
    "send_answer": send_answer,
    "find_agency": find_agency,
    "show_picked_agency": show_picked_agency,
    "start_agency_report": start_agency_report,
    "describe_report": describe_report,
    "safety_sms_state": safety_sms_state,
    "join_safety_sms": join_safety_sms,
    "leave_safety_sms": leave_safety_sms,
}
CONDITIONS = {"urgent": lambda state: state.answers.get("danger") == "yes"}


@cache
def engine() -> Engine:
    """The engine running the hotline flow (built once per process; it holds no connections)."""
    return Engine(hotline_flow(tuple((c.code, c.name) for c in all_counties())), ACTIONS, CONDITIONS)
