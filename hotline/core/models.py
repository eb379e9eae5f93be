"""Database models (SQLAlchemy 2.0 declarative). Commits happen at entry points, never here."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from hotline.core.time import utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _where(condition: str) -> dict:
    """A partial index's condition, on both databases."""
    return {"postgresql_where": text(condition), "sqlite_where": text(condition)}


def _where_set(name: str, column: str) -> Index:
    """An index of `column` holding only the rows where it is set (migration 0017)."""
    return Index(name, column, **_where(f"{column} IS NOT NULL"))


class County(Base):
    """One of Kenya's 47 counties, by constitutional code (not the ISO 3166-2:KE order)."""

    __tablename__ = "county"

    code: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    former_province: Mapped[str] = mapped_column(String(40))


class Reporter(Base):
    """What we remember about a phone, keyed by its pseudonymous reporter key only."""

    __tablename__ = "reporter"

    reporter_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    language: Mapped[str] = mapped_column(String(2), default="en")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Tip(Base):
    """An anonymous report. Never holds a plaintext phone number."""

    __tablename__ = "tip"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    channel: Mapped[str] = mapped_column(String(8))  # ussd | sms
    # The USSD session (or inbound SMS id) that created it: makes submission idempotent.
    source_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    county_code: Mapped[int | None] = mapped_column(ForeignKey("county.code"), index=True)
    place: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    danger: Mapped[str] = mapped_column(String(8), default="unsure")  # yes | no | unsure
    children: Mapped[str] = mapped_column(String(8), default="unsure")
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(2), default="en")
    reporter_key: Mapped[str] = mapped_column(String(64))
    # Fernet token of the E.164 number, only when the reporter consented to a call back.
    callback_contact: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="received")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    # Set by the routing job when it first runs. While it is null and no routing job is in Redis
    # (Redis was down, or lost its data), the sweeper queues one.
    routing_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when the web path could not queue the routing job (Redis down): the sweeper then queues it
    # at once, whatever the tip's age, instead of waiting for tips old enough to have lost their job.
    routing_queue_failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # Routing (NRM): who acknowledged it, how far it has escalated, when it escalates next.
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("focal_point.id"))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    escalate_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A report about a recruitment agency (made from the agency verdict screen).
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))

    # Case work (the console). `case_status` is HTCDS's cas_Status: Active, FollowUp, Closed,
    # ClosedReferred. `folder` is the inbox folder it sits in, kept with every change so that a folder
    # of 200,000 tips is one index range: new (not acknowledged, not closed), active, followup, closed.
    # `priority` 0 puts urgent and child cases first (set at submission), 1 the others.
    case_status: Mapped[str] = mapped_column(String(16), default="Active", server_default="Active")
    folder: Mapped[str] = mapped_column(String(10), default="new", server_default="new")
    priority: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    closure_reason: Mapped[str | None] = mapped_column(String(24))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assigned_focal_point_id: Mapped[int | None] = mapped_column(ForeignKey("focal_point.id"))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("tip.id"))
    agency_flagged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The reporter's engagement key sealed (privacy.seal_engagement: random nonce, equal to nothing
    # else stored), so that campaigns leave out whoever has a tip open or reported in the last 30
    # days (campaigns.safety); a reader without PHONE_HASH_KEY learns nothing from it.
    safety_seal: Mapped[str | None] = mapped_column(Text)

    county: Mapped[County | None] = relationship()
    acknowledged_by: Mapped[FocalPoint | None] = relationship(foreign_keys=[acknowledged_by_id])
    assigned_focal_point: Mapped[FocalPoint | None] = relationship(foreign_keys=[assigned_focal_point_id])

    # The trigram indexes on place and description (PostgreSQL's pg_trgm, for the inbox's text
    # search) live in migration 0012 only: SQLite has no such index.
    __table_args__ = (
        Index("ix_tip_inbox", "folder", "county_code", "priority", "created_at", "id"),
        Index("ix_tip_order", "folder", "priority", "created_at", "id"),  # the secretariat's folders
        # The dashboard (hotline.oversight): a window of tips with every column it reads, index only.
        Index("ix_tip_dashboard", "created_at", "county_code", "kind", "channel", "urgent", "acknowledged_at",
              "escalation_level", "agency_id", "case_status", "closure_reason"),
        # Partial (migration 0017): a purged tip's new row version is left out of these, and every
        # query that reads them implies their condition (a comparison implies the column is set).
        *(_where_set(f"ix_tip_{column}", column) for column in (
            "agency_id", "duplicate_of_id", "escalate_at", "assigned_focal_point_id")),
        Index("ix_tip_unrouted", "id", **_where("routing_started_at IS NULL")),  # the sweeper's
        # Whole, not partial: the send-time safety check binds its keys as one array parameter, from
        # which PostgreSQL cannot prove a condition such as "not purged" (campaigns.safety.reported).
        Index("ix_tip_reporter_key", "reporter_key"),
    )


class FocalPoint(Base):
    """A county NRM focal point, or (county 0) someone at the national CTiP secretariat.

    Focal points are officials: their numbers are stored, SMS need them.
    """

    __tablename__ = "focal_point"
    __table_args__ = (UniqueConstraint("county_code", "phone"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    county_code: Mapped[int] = mapped_column(Integer, index=True)  # 0 = national secretariat
    name: Mapped[str] = mapped_column(String(120))
    organisation: Mapped[str] = mapped_column(String(160), default="")
    phone: Mapped[str] = mapped_column(String(16), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class OutboundSms(Base):
    """One SMS the service sends, from the decision to send it to its delivery report.

    `dedupe_key` makes every send idempotent: a job that runs twice finds its row and sends nothing
    twice. A reporter's number is kept only encrypted (`to_token`), a focal point's via the row.
    """

    __tablename__ = "outbound_sms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))  # tip | escalation | ack | update | reply
    tip_id: Mapped[int | None] = mapped_column(ForeignKey("tip.id"), index=True)
    focal_point_id: Mapped[int | None] = mapped_column(ForeignKey("focal_point.id"), index=True)
    to_token: Mapped[str | None] = mapped_column(Text)  # Fernet token of a reporter's number
    message: Mapped[str] = mapped_column(Text)
    # pending: to send at next_attempt_at; sending: an attempt started at attempt_started_at and its
    # answer is not recorded yet; uncertain: AT may have it (answer lost, worker died), settled from
    # delivery reports before any new attempt; sent: AT accepted it; failed: it can never be delivered.
    state: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempt_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(120))
    # When the still-unsent SMS raised its alarm (once per SMS).
    alarmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A reply to an SMS that came to a premium short code passes AT's link id back (AT refuses it
    # otherwise): the short code and the link id live here, on the reply, and nowhere else; never on
    # the inbound row, whose tip they would tie to the session, so to the phone, at AT.
    at_short_code: Mapped[str | None] = mapped_column(String(20))
    at_link_id: Mapped[str | None] = mapped_column(String(100))
    at_message_id: Mapped[str | None] = mapped_column(String(80), unique=True)
    at_status_code: Mapped[int | None] = mapped_column(Integer)
    at_status: Mapped[str | None] = mapped_column(String(40))
    cost: Mapped[str | None] = mapped_column(String(24))
    delivery_status: Mapped[str | None] = mapped_column(String(24))
    failure_reason: Mapped[str | None] = mapped_column(String(40))
    network_code: Mapped[str | None] = mapped_column(String(8))  # from the delivery report
    retry_count: Mapped[int | None] = mapped_column(Integer)  # AT's delivery retries, from the report
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    focal_point: Mapped[FocalPoint | None] = relationship()
    tip: Mapped[Tip | None] = relationship()

    __table_args__ = (_where_set("ix_outbound_sms_next_attempt_at", "next_attempt_at"),)


class TipUpdate(Base):
    """More information on a tip, from its reporter (follow-up), another caller, or a focal point."""

    __tablename__ = "tip_update"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tip.id"), index=True)
    # reporter (from the number that reported the tip) | caller (from another number) | focal_point
    author: Mapped[str] = mapped_column(String(12))
    focal_point_id: Mapped[int | None] = mapped_column(ForeignKey("focal_point.id"))
    text: Mapped[str] = mapped_column(Text)
    # forwarded (at once) | held (for the case team) | accepted (then forwarded) | rejected
    state: Mapped[str] = mapped_column(
        String(12), default="forwarded", server_default="forwarded", index=True
    )
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The USSD session that added it: adding again (AT's retry replayed) finds the first.
    source_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InboundSms(Base):
    """An incoming SMS, kept by AT's id so a duplicate delivery acts once. No number, no key, no text."""

    __tablename__ = "inbound_sms"

    at_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    keyword: Mapped[str] = mapped_column(String(16))
    tip_id: Mapped[int | None] = mapped_column(ForeignKey("tip.id"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # when the phone sent it


class UssdSessionEnd(Base):
    """AT's end-of-session notification, kept for the screen-by-screen drop-off funnel.

    Holds no phone number, no key of it, and not the `input` AT echoes back (it can contain the
    tip's text). A dial counts for campaign effect as an `Engagement` row, apart.
    """

    __tablename__ = "ussd_session_end"

    session_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    last_screen: Mapped[str | None] = mapped_column(String(40), index=True)
    language: Mapped[str | None] = mapped_column(String(2))
    network_code: Mapped[str | None] = mapped_column(String(8))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    hops: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class UssdStateBackup(Base):
    """A reporter's USSD session state, kept here only while Redis could not take it.

    The same JSON Redis would hold (session id, screen, answers, the draft for resume): no phone
    number. Read when Redis is down, or alongside Redis when a newer copy may be here (a new
    session, or a request after an outage); ignored and purged after the resume window.
    """

    __tablename__ = "ussd_state_backup"

    reporter_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    record: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Agency(Base):
    """A private employment agency in NEA's register (NEAIMS), as last imported."""

    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    registration_number: Mapped[str] = mapped_column(String(80))
    # Normalised forms for lookups: case, spaces, slashes, "Ltd"/"Limited" and the like folded away.
    registration_key: Mapped[str] = mapped_column(String(80), unique=True)
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(16))  # licensed|expired|suspended|revoked|deregistered|pending
    expiry_date: Mapped[date | None] = mapped_column(Date)
    licence_type: Mapped[str] = mapped_column(String(16))  # local | international | both
    phone: Mapped[str | None] = mapped_column(String(16), index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class AgencyStatusChange(Base):
    """One change of an agency's status between two register snapshots."""

    __tablename__ = "agency_status_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    old_status: Mapped[str | None] = mapped_column(String(16))
    new_status: Mapped[str] = mapped_column(String(16))
    snapshot_date: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RegisterSnapshot(Base):
    """An import of NEA's register: the date it was taken and what the import did."""

    __tablename__ = "register_snapshot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_date: Mapped[date] = mapped_column(Date, index=True)
    rows: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AgencyLookup(Base):
    """One agency check, for NEA and the secretariat: which agency, what verdict, which day. Nothing of
    who checked (campaign effect counts checks as `Engagement` rows, apart)."""

    __tablename__ = "agency_lookup"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    verdict: Mapped[str] = mapped_column(String(16), index=True)  # a status, or not_found
    channel: Mapped[str] = mapped_column(String(8))
    county_code: Mapped[int | None] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date, index=True)
    # A not-found check of a name: the name's key (hotline.agencies.lookup.typed_name_key), never a
    # number; `flask agencies stats` lists the keys checked 5 times or more, for NEA to look into.
    query_key: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        # The dashboard's unlicensed checks per day and county, from the index alone.
        Index("ix_agency_lookup_dashboard", "day", "county_code", "verdict"),
        # The names not in the register: a window of days is one range of it, and only those rows.
        Index("ix_agency_lookup_unlisted", "day", "query_key", **_where("query_key IS NOT NULL")),
    )


class Contact(Base):
    """Someone who consented to awareness SMS.

    Their number is stored (SMS need it), so nothing here equals anything on a tip, dial, check or
    inbound SMS: they meet their own engagement only through `engagement_key` (hotline.privacy), a
    pseudonym no tip-side row carries. `salt` is the contact's own random draw: with a campaign's
    seed it decides, reproducibly, whether they are held out and which variant they get.
    """

    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # E.164; None once erased (retention or the person's request), with the engagement key.
    phone: Mapped[str | None] = mapped_column(String(16), unique=True)
    engagement_key: Mapped[str | None] = mapped_column(String(64), index=True)
    county_code: Mapped[int | None] = mapped_column(Integer, index=True)
    language: Mapped[str] = mapped_column(String(2), default="en")
    consent_source: Mapped[str] = mapped_column(String(40))
    consented_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Indexed: a campaign report counts opt-outs in its attribution window.
    opted_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    opt_out_source: Mapped[str | None] = mapped_column(String(20))  # sms|ussd|at_opt_out|blacklist|console
    # The console user who opted the contact out by hand (source `console`), at the person's request.
    opted_out_by_id: Mapped[int | None] = mapped_column(ForeignKey("console_user.id"))
    # Set when AT says the number can never get an SMS (403 InvalidPhoneNumber, 404 UnsupportedNumberType).
    unreachable_reason: Mapped[str | None] = mapped_column(String(40))
    salt: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    # When the number and engagement key were removed (hotline.contacts.erasure): the row stays, with
    # nothing that leads to a person, so past campaigns keep their counts.
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # The subscribed contacts with what an audience filters on and the draw reads: the builder's live
    # estimate counts a million of them from this index alone (campaigns.audience.expected).
    __table_args__ = (
        Index(
            "ix_contact_audience",
            "language",
            "county_code",
            "consent_source",
            "salt",
            postgresql_where=text("opted_out_at IS NULL AND unreachable_reason IS NULL"),
            sqlite_where=text("opted_out_at IS NULL AND unreachable_reason IS NULL"),
        ),
    )


class Suppression(Base):
    """A number that opted out without ever joining, kept only as its suppression key (no number),
    so that no import subscribes it; joining by SMS or USSD removes it."""

    __tablename__ = "suppression"

    suppression_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(20))  # sms | ussd | at_opt_out
    day: Mapped[date] = mapped_column(Date)  # Africa/Nairobi


class Engagement(Base):
    """Someone dialled, reported, checked an agency or texted us on a day: campaign effect's signals.

    One row per event: the Africa/Nairobi day and the signal in clear (the report reads a window's
    days by index), and the person's engagement key sealed (hotline.engagement): a random-nonce
    encryption that equals no contact's value and no other row's, so a reader without the keys
    can count signals per day but cannot tell whose they are, nor which rows are one person's.
    """

    __tablename__ = "engagement"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    signal: Mapped[str] = mapped_column(String(12))  # dialled|tip|agency_check|sms
    sealed_key: Mapped[str] = mapped_column(Text)  # privacy.seal_engagement(engagement key)


class Campaign(Base):
    """An SMS awareness campaign: its audience, holdout, schedule, hours, rate and state."""

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    # draft -> sending <-> paused -> done | cancelled
    state: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    county_codes: Mapped[list | None] = mapped_column(JSON)  # None: every county (and none known)
    languages: Mapped[list | None] = mapped_column(JSON)
    sources: Mapped[list | None] = mapped_column(JSON)
    holdout_share: Mapped[float] = mapped_column(Float, default=0.1)
    seed: Mapped[int] = mapped_column(BigInteger)
    start_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Allowed sending hours, minutes after local midnight (Africa/Nairobi): from <= t < until.
    hours_from: Mapped[int] = mapped_column(SmallInteger, default=8 * 60)
    hours_until: Mapped[int] = mapped_column(SmallInteger, default=18 * 60)
    rate: Mapped[int] = mapped_column(Integer, default=100)  # messages per second, at most
    attribution_days: Mapped[int] = mapped_column(SmallInteger, default=14)
    audience_size: Mapped[int | None] = mapped_column(Integer)  # set when the audience is drawn
    held_out: Mapped[int | None] = mapped_column(Integer)
    # Contacts left out for their safety (a tip open or reported in the last 30 days): at the draw,
    # out of both the audience and the holdout, and any found so before their batch. Counted only:
    # no row says who they are.
    safety_suppressed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("console_user.id"))
    next_send_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    messages: Mapped[list[CampaignMessage]] = relationship(
        back_populates="campaign", order_by="(CampaignMessage.variant, CampaignMessage.language)"
    )


class CampaignMessage(Base):
    """The text one variant of a campaign sends in one language."""

    __tablename__ = "campaign_message"
    __table_args__ = (UniqueConstraint("campaign_id", "variant", "language"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    variant: Mapped[str] = mapped_column(String(8), default="A")
    language: Mapped[str] = mapped_column(String(2))
    text: Mapped[str] = mapped_column(Text)

    campaign: Mapped[Campaign] = relationship(back_populates="messages")


class CampaignBatch(Base):
    """Up to 1,000 recipients sent in one AT request.

    `claimed` while the request is out; `sent` once AT's answer is recorded; `uncertain` when the
    request may have reached AT but its answer was lost (read timeout, or the worker died): its
    recipients are matched to delivery reports before anyone is sent it again; `held` when the
    reconcile window passed with some of them unmatched (they are `uncertain` recipients, waiting for
    the campaign manager), then `resent` or `skipped` by the manager's decision, or `sent` when late
    reports settled them all; `failed` when AT certainly did not take it (its recipients went back to
    the queue).
    """

    __tablename__ = "campaign_batch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    variant: Mapped[str] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(2))
    # forward: the group's next recipients by id, left `queued` while the request is out (found again
    # by the id range); retry: recipients tried before, marked `sending` with this batch's id.
    kind: Mapped[str] = mapped_column(String(8), default="forward")
    first_recipient_id: Mapped[int] = mapped_column(BigInteger)
    last_recipient_id: Mapped[int] = mapped_column(BigInteger)  # the group's forward cursor
    size: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10), default="claimed", index=True)
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(String(200))


class CampaignRecipient(Base):
    """One contact in one campaign's audience: held out, or sent one variant, and what became of it.

    One row per (campaign, contact): nobody is in a campaign twice. States: queued, retry, sending,
    sent, failed, suppressed (opted out or unreachable before their turn), held_out, cancelled,
    uncertain (AT's answer to their batch was lost and no delivery report came: never sent again
    unless the campaign manager resends), skipped (uncertain, and the manager chose not to resend).
    """

    __tablename__ = "campaign_recipient"
    __table_args__ = (
        UniqueConstraint("campaign_id", "contact_id"),
        Index("ix_campaign_recipient_claim", "campaign_id", "variant", "language", "state", "id"),
        # The dashboard's reach: contacts delivered to per day and county, from the index alone.
        Index(
            "ix_campaign_recipient_reach",
            "delivered_at",
            "county_code",
            "contact_id",
            postgresql_where=text("delivery_status = 'Success'"),
            sqlite_where=text("delivery_status = 'Success'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    held_out: Mapped[bool] = mapped_column(Boolean, default=False)
    variant: Mapped[str | None] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(2))
    county_code: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_batch.id"), index=True)
    at_message_id: Mapped[str | None] = mapped_column(String(80), unique=True)
    at_status_code: Mapped[int | None] = mapped_column(SmallInteger)
    cost: Mapped[float | None] = mapped_column(Numeric(10, 4))  # KES
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    failure_reason: Mapped[str | None] = mapped_column(String(40))
    network_code: Mapped[str | None] = mapped_column(String(8))
    retry_count: Mapped[int | None] = mapped_column(Integer)  # AT's delivery retries, from the report
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UnmatchedDeliveryReport(Base):
    """A delivery report whose message id no SMS of ours had when it was applied.

    Kept for reconciliation: a send recorded later picks it up by message id, and a batch whose answer
    was lost finds its recipients' reports by `phone_key` (`hotline.privacy.delivery_key` of the
    number: no plaintext number, and not the reporter key).
    """

    __tablename__ = "unmatched_delivery_report"
    __table_args__ = (UniqueConstraint("message_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(80), index=True)
    status: Mapped[str] = mapped_column(String(16))
    failure_reason: Mapped[str | None] = mapped_column(String(40))
    network_code: Mapped[str | None] = mapped_column(String(8))
    phone_key: Mapped[str | None] = mapped_column(String(64), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    retry_count: Mapped[int | None] = mapped_column(Integer)


class User(Base):
    """A console account. A focal point's account and their SMS directory entry are one person,
    linked by phone (`focal_point_id`).

    roles: focal_point (own county), secretariat (all), campaign_manager, admin (users and the
    directory, no tip content), auditor (the audit log). The TOTP secret is kept encrypted with
    CONTACT_KEY; recovery codes only as hashes. `session_token` is part of the signed-in session's
    id: changing it (deactivation, new password) ends every session of the account.
    """

    __tablename__ = "console_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    county_code: Mapped[int | None] = mapped_column(Integer)
    phone: Mapped[str | None] = mapped_column(String(16))
    focal_point_id: Mapped[int | None] = mapped_column(ForeignKey("focal_point.id"), index=True)
    totp_secret: Mapped[str | None] = mapped_column(Text)  # Fernet token (CONTACT_KEY)
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)  # a code is used once
    recovery_codes: Mapped[list | None] = mapped_column(JSON)  # hashes of the unused ones
    session_token: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    focal_point: Mapped[FocalPoint | None] = relationship()


class AuditEvent(Base):
    """One entry of the append-only audit log: who did what, when, to which tip. Written through
    `hotline.core.audit.record` only; the app never updates or deletes a row (the migration adds
    triggers that refuse it)."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("console_user.id"), index=True)
    actor: Mapped[str] = mapped_column(String(254))  # the e-mail at the time, or "sms:<focal point id>"
    action: Mapped[str] = mapped_column(String(40), index=True)
    tip_id: Mapped[int | None] = mapped_column(ForeignKey("tip.id"), index=True)
    target: Mapped[str | None] = mapped_column(String(254))  # e.g. the user or directory entry acted on
    detail: Mapped[dict | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(45))


class CaseEvent(Base):
    """One entry on a tip's timeline that the console made (or an SMS ACK): acknowledged, assigned,
    moved, note, status, referral, duplicate, agency_flag, message, reply, reveal. The timeline also
    reads the tip's SMS, escalations and the reporter's additions from their own tables."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tip.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("console_user.id"))
    focal_point_id: Mapped[int | None] = mapped_column(ForeignKey("focal_point.id"))
    text: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict | None] = mapped_column(JSON)

    user: Mapped[User | None] = relationship()
    focal_point: Mapped[FocalPoint | None] = relationship()

    __table_args__ = (Index("ix_case_event_kind", "kind", "tip_id"),)


class ReferralOrganisation(Base):
    """An organisation a case can be referred to, kept by the secretariat: per county, or national
    (county_code None). kind: police, dci_atu, children, labour, shelter, ngo, health, other."""

    __tablename__ = "referral_organisation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    county_code: Mapped[int | None] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(20))
    phone: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Referral(Base):
    """A case referred to an organisation (HTCDS: cas_ReferredOrganisation, cas_OutgoingReferralDate,
    cas_ReasonForOutgoingReferral, cas_OutgoingReferralDetails)."""

    __tablename__ = "referral"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tip.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("referral_organisation.id"), index=True)
    referred_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(40))  # AdditionalServicesRequired | MigrationOr… | Other
    details: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("console_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    organisation: Mapped[ReferralOrganisation] = relationship()

    # The dashboard's referrals per organisation type and tip over a window of days, index only.
    __table_args__ = (Index("ix_referral_dashboard", "referred_on", "organisation_id", "tip_id"),)


class CaseMessage(Base):
    """A message between the case team and the anonymous reporter, read and answered in the USSD
    follow-up (menu 3). Its content never goes by SMS. out: from the case team (`read_at` when the
    reporter read it); in: the reporter's answer (`source_id`, the USSD session, makes it idempotent)."""

    __tablename__ = "case_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tip.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # out | in
    text: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("console_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source_id: Mapped[str | None] = mapped_column(String(100), unique=True)

    user: Mapped[User | None] = relationship()
