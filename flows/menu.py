"""The hotline's USSD menu (the numbering README.md shows), the anonymous tip journey and the other
journeys, as data."""

from __future__ import annotations

from functools import cache

from flows.model import Flow, Item, Option, Screen, Source, flow_of

# Tip kinds: the forms of exploitation of the CTiP Act 2010 s.2 plus what hotlines also see,
# most often reported first so the first page holds the usual ones.
TIP_KINDS = (
    "forced_labour",
    "sexual_exploitation",
    "recruitment_fraud",
    "servitude",
    "child_labour",
    "child_marriage",
    "forced_marriage",
    "documents_taken",
    "missing_person",
    "slavery",
    "organ_removal",
    "armed_conflict",
    "other",
)

# The agency check's verdict: the agency's name, the verdict and the register on three lines, in
# what the verdict screen leaves with its hint, options and navigation (the validator proves it).
VERDICT_LENGTH = 89
# The name of the agency a report is about, on the report's first screen.
AGENCY_NAME_LENGTH = 40

# The longest message from the case team a reporter reads on one USSD screen, with its options
# and navigation (`hotline.tips.conversation` refuses longer ones; the validator proves it fits).
MESSAGE_LENGTH = 90

YES_NO_UNSURE = (
    ("answer.yes", "yes"),
    ("answer.no", "no"),
    ("answer.unsure", "unsure"),
)


def _choices(pairs, next_screen: str) -> tuple[Option, ...]:
    return tuple(Option(label=label, value=value, next=next_screen) for label, value in pairs)


def _sources(counties: tuple[tuple[int, str], ...]) -> dict[str, Source]:
    by_name = sorted(counties, key=lambda county: county[1])
    return {
        "kinds": Source(tuple(Item(kind, f"kind.{kind}") for kind in TIP_KINDS)),
        "counties": Source(
            tuple(Item(str(code), name) for code, name in by_name), translate=False, filterable=True
        ),
    }


@cache
def hotline_flow(counties: tuple[tuple[int, str], ...]) -> Flow:
    """The whole USSD flow of the hotline; `counties` are (code, name) pairs, listed by name."""
    screens = [
        Screen(
            "main",
            "menu",
            "main",
            options=(
                Option("main.report", "tip_kind"),
                Option("main.agency", "agency_query"),
                Option("main.follow_up", "followup_ref"),
                Option("main.help", "help"),
                # `safety_sms_state` jumps to `safety_sms_on` for a contact already subscribed.
                Option("main.safety_sms", "safety_sms_off", action="safety_sms_state"),
                Option("main.language", "language"),
            ),
        ),
        Screen(
            "resume",
            "menu",
            "resume",
            options=(
                Option("resume.continue", "tip_kind", action="resume_draft"),
                Option("resume.restart", "tip_kind", action="start_again"),
            ),
        ),
        Screen("tip_kind", "list", "tip.kind", source="kinds", field="kind", next="tip_county", draft=True),
        Screen(
            "tip_county",
            "list",
            "tip.county",
            source="counties",
            field="county",
            next="tip_place",
            skip="tip.county.skip",
            draft=True,
        ),
        Screen("tip_place", "text", "tip.place", field="place", next="tip_story", draft=True, max_length=300),
        Screen(
            "tip_story",
            "text",
            "tip.story",
            field="description",
            next="tip_danger",
            skip="tip.story.skip",
            draft=True,
            max_length=1000,
        ),
        Screen(
            "tip_danger",
            "menu",
            "tip.danger",
            field="danger",
            options=_choices(YES_NO_UNSURE, "tip_children"),
            draft=True,
        ),
        Screen(
            "tip_children",
            "menu",
            "tip.children",
            field="children",
            options=_choices(YES_NO_UNSURE, "tip_callback"),
            draft=True,
        ),
        Screen(
            "tip_callback",
            "menu",
            "tip.callback",
            field="callback",
            options=_choices((("tip.callback.yes", "yes"), ("tip.callback.no", "no")), "tip_confirm"),
            draft=True,
        ),
        Screen(
            "tip_confirm",
            "menu",
            "tip.confirm",
            params=(("kind", 24), ("county", 18), ("place", 28)),
            options=(
                Option("tip.confirm.send", "tip_sent", next_if=(("urgent", "tip_sent_urgent"),)),
                Option("tip.confirm.cancel", "tip_cancelled"),
            ),
            draft=True,
        ),
        Screen("tip_sent", "end", "tip.sent", action="submit_tip", params=(("ref", 15),)),
        Screen("tip_sent_urgent", "end", "tip.sent_urgent", action="submit_tip", params=(("ref", 15),)),
        Screen("tip_cancelled", "end", "tip.cancelled", action="discard_draft"),
        Screen(
            "followup_ref",
            "text",
            "followup.ref",
            field="ref",
            next="followup_status",
            max_length=20,
            hints=("hint.not_found", "hint.too_many", "hint.busy"),  # set by `find_report`
        ),
        Screen(
            "followup_status",
            "menu",
            "followup.status",
            action="find_report",
            params=(("ref", 15), ("status", 34)),
            options=(Option("followup.add", "followup_add"),),
        ),
        # `find_report` jumps here when the caller reported the tip and messages from the case team wait.
        Screen(
            "followup_news_one",
            "menu",
            "followup.news_one",
            params=(("ref", 15), ("status", 33)),
            options=(Option("followup.read", "followup_message"), Option("followup.add", "followup_add")),
        ),
        Screen(
            "followup_news_many",
            "menu",
            "followup.news_many",
            params=(("ref", 15), ("status", 33), ("count", 2)),
            options=(Option("followup.read", "followup_message"), Option("followup.add", "followup_add")),
        ),
        # `read_message` shows the oldest unread message and marks it read; it jumps to
        # `followup_message_last` when no other waits, to `followup_no_message` when none did.
        Screen(
            "followup_message",
            "menu",
            "followup.message",
            action="read_message",
            params=(("message", MESSAGE_LENGTH),),
            options=(
                Option("followup.answer", "followup_answer"),
                Option("followup.next", "followup_message"),
            ),
        ),
        Screen(
            "followup_message_last",
            "menu",
            "followup.message",
            params=(("message", MESSAGE_LENGTH),),
            options=(Option("followup.answer", "followup_answer"),),
        ),
        Screen("followup_no_message", "info", "followup.no_message"),
        Screen(
            "followup_answer",
            "text",
            "followup.answer_prompt",
            field="answer",
            next="followup_answered",
            max_length=500,
        ),
        Screen("followup_answered", "end", "followup.answered", action="send_answer"),
        Screen(
            "followup_add",
            "text",
            "followup.add_prompt",
            field="update",
            next="followup_added",
            max_length=500,
        ),
        # `add_update` jumps to `followup_held` when the caller is not the tip's reporter.
        Screen("followup_added", "end", "followup.added", action="add_update", params=(("ref", 15),)),
        Screen("followup_held", "end", "followup.held", params=(("ref", 15),)),
        Screen(
            "agency_query", "text", "agency.query", field="agency_query", next="agency_found", max_length=200
        ),
        # `find_agency` goes on to the verdict, or to the pick list when several agencies match.
        Screen(
            "agency_found",
            "menu",
            "agency.verdict",
            action="find_agency",
            params=(("verdict", VERDICT_LENGTH),),
            options=(
                Option("agency.signs", "agency_signs"),
                Option("agency.report", "agency_report", action="start_agency_report"),
            ),
        ),
        Screen(
            "agency_pick",
            "text",
            "agency.pick",
            field="agency_pick",
            next="agency_verdict",
            params=(("choices", 88),),
            max_length=3,
            hints=("hint.invalid",),  # set by `show_picked_agency`
        ),
        Screen(
            "agency_verdict",
            "menu",
            "agency.verdict",
            action="show_picked_agency",
            params=(("verdict", VERDICT_LENGTH),),
            options=(
                Option("agency.signs", "agency_signs"),
                Option("agency.report", "agency_report", action="start_agency_report"),
            ),
        ),
        Screen("agency_signs", "info", "agency.signs_text"),
        # A report about the agency just checked: its kind is known, so it opens with the place.
        Screen(
            "agency_report",
            "text",
            "agency.report_place",
            field="place",
            next="agency_county",
            params=(("agency", AGENCY_NAME_LENGTH),),
            draft=True,
            max_length=300,
        ),
        Screen(
            "agency_county",
            "list",
            "tip.county",
            source="counties",
            field="county",
            next="tip_story",
            skip="tip.county.skip",
            draft=True,
        ),
        Screen("help", "info", "help"),
        Screen("safety_sms_off", "menu", "safety.off", options=(Option("safety.join", "safety_county"),)),
        Screen(
            "safety_county",
            "list",
            "safety.county",
            source="counties",
            field="sms_county",
            next="safety_joined",
            skip="safety.county.skip",
        ),
        Screen(
            "safety_joined", "end", "safety.joined", action="join_safety_sms", params=(("short_code", 12),)
        ),
        Screen("safety_sms_on", "menu", "safety.on", options=(Option("safety.leave", "safety_left"),)),
        Screen("safety_left", "end", "safety.left", action="leave_safety_sms", params=(("short_code", 12),)),
        Screen(
            "language",
            "menu",
            "language",
            field="language",
            options=(
                Option("language.en", "main", value="en", action="set_language"),
                Option("language.sw", "main", value="sw", action="set_language"),
            ),
        ),
    ]
    # `resume_draft` jumps to whichever tip screen the draft stopped on.
    dynamic = tuple(s.id for s in screens if s.draft)
    # Actions also jump to the agency pick list, the screen of a subscribed contact, a held update...
    jumps = ("resume", "agency_pick", "safety_sms_on", "followup_held")
    # ... and to the follow-up's screens of messages from the case team.
    jumps += ("followup_news_one", "followup_news_many", "followup_message_last", "followup_no_message")
    return flow_of("main", screens, sources=_sources(counties), dynamic_targets=dynamic + jumps)
