"""The database tables (SQLAlchemy 2 declarative). Times are UTC epoch seconds (floats).

Epoch floats are what the engine's clock gives, they compare and subtract the same way on SQLite
and PostgreSQL, and the statistics are sums of differences of them.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import false as sql_false
from sqlalchemy import true as sql_true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ringdesk.core.dialplan import DEFAULT_PLAN as _PLAN
from ringdesk.store.cti_settings import DEFAULTS
from ringdesk.store.secrets import SEALED_LENGTH, Sealed

_D = DEFAULTS.row_values()
_INTL_PREFIXES = ",".join(_PLAN.international_prefixes)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # admin | supervisor | agent
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[float] = mapped_column(Float)


class UserTotp(Base):
    """A user's TOTP second factor (RFC 6238, pyotp): the shared secret, whether the user has
    confirmed it with a code (only then does the login ask for one), and the last time step
    accepted, so a code, once used, is refused for the rest of its window (migration 0004)."""

    __tablename__ = "user_totp"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # base32, sealed at rest (store/secrets.py): about 140 characters stored.
    secret: Mapped[str] = mapped_column(Sealed(255))
    enabled: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sql_false(), nullable=False
    )
    created_at: Mapped[float] = mapped_column(Float)
    enabled_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)


class RecoveryCode(Base):
    """A one-time recovery code of a user with TOTP. `lookup` is the code's first group, kept in
    clear to find the row; the rest (60 random bits) only as an argon2 hash."""

    __tablename__ = "recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "lookup"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lookup: Mapped[str] = mapped_column(String(8))
    code_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[float] = mapped_column(Float)
    used_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Session(Base):
    """A login. Only a hash of the token is kept, so a database leak logs nobody in."""

    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[float] = mapped_column(Float)
    # Written at most once a minute per session (web/principals.py), not on every request.
    last_seen_at: Mapped[float] = mapped_column(Float)


class Service(Base):
    __tablename__ = "services"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    inbound_number: Mapped[str | None] = mapped_column(String(32), unique=True, nullable=True)
    inbound_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    outbound_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    strategy: Mapped[str] = mapped_column(String(32), default="longest_idle")
    max_wait_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    overflow_action: Mapped[str] = mapped_column(String(32), default="none")
    overflow_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    service_level_seconds: Mapped[float] = mapped_column(Float, default=20.0)
    # The dial plan (ringdesk.core.dialplan, its defaults; migration 0005). Lists are stored
    # comma-separated; premium prefixes NULL: the built-in list, so a newer one reaches it.
    dial_country_code: Mapped[str | None] = mapped_column(String(4), nullable=True)
    dial_national_prefix: Mapped[str] = mapped_column(
        String(4), default=_PLAN.national_prefix, server_default=_PLAN.national_prefix
    )
    dial_international_prefixes: Mapped[str] = mapped_column(
        String(64), default=_INTL_PREFIXES, server_default=_INTL_PREFIXES
    )
    dial_allow_international: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sql_false()
    )
    dial_allow_premium: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sql_false()
    )
    dial_premium_prefixes: Mapped[str | None] = mapped_column(Text, nullable=True)
    dial_allowed_patterns: Mapped[str] = mapped_column(Text, default="", server_default="")
    dial_blocked_patterns: Mapped[str] = mapped_column(Text, default="", server_default="")
    # What the caller meets (migration 0012): opening hours in `timezone` (the rows of
    # service_hours and holidays; none of either: always open), what a call gets when closed,
    # the menu a call hears first, and the queue announcements.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    closed_action: Mapped[str] = mapped_column(
        String(16), default="message", server_default="message"
    )
    closed_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # The menu's id (no foreign key, see migration 0012: deleting a menu in use is refused).
    menu_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    announce_position: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sql_false()
    )
    announce_message: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sql_false()
    )
    announce_every_seconds: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    voicemail_max_seconds: Mapped[int] = mapped_column(Integer, default=120, server_default="120")
    callback_enabled: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sql_false()
    )
    callback_retry_seconds: Mapped[int] = mapped_column(Integer, default=300, server_default="300")
    callback_max_attempts: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    # Its calls recorded (migration 0018): NULL follows the global setting, else always/never.
    record_calls: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class ServiceHours(Base):
    """One weekly opening range of a service (core/hours.py WeeklyRange)."""

    __tablename__ = "service_hours"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int] = mapped_column(Integer)  # 0 Monday .. 6 Sunday
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)  # <= start: past midnight


class Holiday(Base):
    """A service closed on a date or a range of dates (ISO dates, inclusive), maybe yearly."""

    __tablename__ = "holidays"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    first_day: Mapped[str] = mapped_column(String(10))
    last_day: Mapped[str] = mapped_column(String(10))
    yearly: Mapped[bool] = mapped_column(Boolean, default=False)


class Menu(Base):
    """An IVR menu (core/model.py MenuConfig); its prompt is the sound named "menu.<id>"."""

    __tablename__ = "menus"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timeout_seconds: Mapped[float] = mapped_column(Float, default=6.0)
    max_tries: Mapped[int] = mapped_column(Integer, default=3)
    fallback_action: Mapped[str] = mapped_column(String(16), default="hang_up")
    fallback_target: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fallback_number: Mapped[str | None] = mapped_column(String(32), nullable=True)


class MenuChoiceRow(Base):
    """A digit of a menu and what it does; `target` is a service or menu id by the action."""

    __tablename__ = "menu_choices"
    menu_id: Mapped[int] = mapped_column(
        ForeignKey("menus.id", ondelete="CASCADE"), primary_key=True
    )
    digit: Mapped[str] = mapped_column(String(1), primary_key=True)
    action: Mapped[str] = mapped_column(String(16))
    target: Mapped[int | None] = mapped_column(Integer, nullable=True)
    number: Mapped[str | None] = mapped_column(String(32), nullable=True)


class ServiceAgent(Base):
    """An agent's phone permission on a service."""

    __tablename__ = "service_agents"
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    phone_permission: Mapped[bool] = mapped_column(Boolean, default=False)


class CtiAgent(Base):
    """CTI agent management: CTI ID (SIP user), CTI number (dialable), phone password.

    The phone password is kept recoverable because SIP digest authentication needs it to
    compute the expected response: it is stored encrypted (store.secrets) and never returned by
    the API.
    """

    __tablename__ = "cti_agents"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    cti_id: Mapped[str] = mapped_column(String(32), unique=True)
    cti_number: Mapped[str] = mapped_column(String(32), unique=True)
    phone_password: Mapped[str | None] = mapped_column(Sealed(SEALED_LENGTH), nullable=True)
    # Auto Answer: offers are answered at once (headset agents); added by migration 0002.
    auto_answer: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sql_false(), nullable=False
    )
    # A desk phone that does not answer by itself rings with the offer, and picking it up
    # answers (core AgentConfig.ring_on_offer; SIP phone only); added by migration 0011.
    ring_on_offer: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sql_false(), nullable=False
    )
    # The browser phone (SIP over WebSocket): the admin allows it per agent, the agent chooses
    # "sip" (a SIP phone) or "browser"; added by migration 0010.
    browser_phone_allowed: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sql_false(), nullable=False
    )
    phone_kind: Mapped[str] = mapped_column(
        String(8), default="sip", server_default="sip", nullable=False
    )


class CallingNumber(Base):
    __tablename__ = "calling_numbers"
    __table_args__ = (UniqueConstraint("service_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(200), default="")


class CtiSettingsRow(Base):
    """The global CTI settings: exactly one row, id 1. Defaults: ringdesk.store.cti_settings."""

    __tablename__ = "cti_settings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sip_domain: Mapped[str] = mapped_column(String(200), default=_D["sip_domain"])
    # The trunks are rows of their own (TrunkRow; the trunk_* columns went in migration 0009).
    allow_any_source: Mapped[bool] = mapped_column(Boolean, default=_D["allow_any_source"])
    # Call limits; added by migration 0006.
    max_calls_per_source: Mapped[int] = mapped_column(
        Integer, default=_D["max_calls_per_source"], server_default="10", nullable=False
    )
    max_calls_total: Mapped[int] = mapped_column(
        Integer, default=_D["max_calls_total"], server_default="200", nullable=False
    )
    max_queued_per_service: Mapped[int] = mapped_column(
        Integer, default=_D["max_queued_per_service"], server_default="50", nullable=False
    )
    # Added by migration 0014.
    absent_logout_seconds: Mapped[int] = mapped_column(
        Integer, default=_D["absent_logout_seconds"], server_default="120", nullable=False
    )
    codecs: Mapped[str] = mapped_column(String(64), default=_D["codecs"])
    queue_music_mode: Mapped[str] = mapped_column(String(16), default=_D["queue_music_mode"])
    default_login_status: Mapped[str] = mapped_column(
        String(16), default=_D["default_login_status"]
    )
    pickup_seconds: Mapped[float] = mapped_column(Float, default=_D["pickup_seconds"])
    pickup_timeout_status: Mapped[str] = mapped_column(
        String(16), default=_D["pickup_timeout_status"]
    )
    max_missed_offers: Mapped[int] = mapped_column(Integer, default=_D["max_missed_offers"])
    outbound_ticket_on_dial: Mapped[bool] = mapped_column(
        Boolean, default=_D["outbound_ticket_on_dial"]
    )
    wrap_up_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    record_calls: Mapped[bool] = mapped_column(Boolean, default=_D["record_calls"])
    # Added by migration 0018: the notice, how long recordings are kept (0: forever), who
    # hears them, and whether agents see a supervisor listening.
    recording_notice: Mapped[bool] = mapped_column(
        Boolean, default=_D["recording_notice"], server_default=sql_true(), nullable=False
    )
    recording_retention_days: Mapped[int] = mapped_column(
        Integer, default=_D["recording_retention_days"], server_default="0", nullable=False
    )
    agents_hear_own_recordings: Mapped[bool] = mapped_column(
        Boolean, default=_D["agents_hear_own_recordings"], server_default=sql_true(), nullable=False
    )
    supervisor_notice: Mapped[bool] = mapped_column(
        Boolean, default=_D["supervisor_notice"], server_default=sql_true(), nullable=False
    )


class TrunkRow(Base):
    """A provider trunk (migration 0008). Outbound calls try the enabled ones by priority."""

    __tablename__ = "trunks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    host: Mapped[str] = mapped_column(String(200))
    port: Mapped[int] = mapped_column(Integer, default=5060, server_default="5060")
    transport: Mapped[str] = mapped_column(String(8), default="udp", server_default="udp")
    username: Mapped[str | None] = mapped_column(String(128), nullable=True)
    password: Mapped[str | None] = mapped_column(Sealed(SEALED_LENGTH), nullable=True)
    auth_username: Mapped[str | None] = mapped_column(String(128), nullable=True)
    realm: Mapped[str | None] = mapped_column(String(200), nullable=True)
    register: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sql_false(), nullable=False
    )
    register_expires: Mapped[int] = mapped_column(Integer, default=3600, server_default="3600")
    priority: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sql_true())
    sources: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    identity_header: Mapped[str] = mapped_column(String(8), default="pai", server_default="pai")
    from_domain: Mapped[str | None] = mapped_column(String(200), nullable=True)
    privacy_withheld: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sql_true())
    number_format: Mapped[str] = mapped_column(String(16), default="e164", server_default="e164")
    country_code: Mapped[str | None] = mapped_column(String(4), nullable=True)


class Sound(Base):
    """A sound or prompt an admin set: an uploaded WAV (`filename`) or text to be spoken
    (`text`, migration 0012); no row means the default."""

    __tablename__ = "sounds"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    filename: Mapped[str | None] = mapped_column(String(200), nullable=True)
    uploaded_at: Mapped[float] = mapped_column(Float)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(32), index=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL"), nullable=True, index=True
    )
    direction: Mapped[str] = mapped_column(String(16))
    customer_number: Mapped[str] = mapped_column(String(32), index=True)
    # Indexed (migration 0019): a customer's tickets, an offer's last ticket.
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), nullable=True, index=True
    )
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    subject: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[float] = mapped_column(Float, index=True)
    connected_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    duration_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Recording(Base):
    """A sound kept with a ticket: the caller's voicemail (later also the call's recording).
    `path` is relative to the data directory."""

    __tablename__ = "recordings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # voicemail
    path: Mapped[str] = mapped_column(String(300))
    seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)


class Callback(Base):
    """A caller who asked to be called back (core/callback.py), written by the recorder:
    status waiting (in the queue or its retry delay; restored after a restart), done (talked)
    or failed (every attempt unanswered). `arrived_at` orders the queue as the caller's join."""

    __tablename__ = "callbacks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), unique=True)
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL"), nullable=True
    )
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True
    )
    caller: Mapped[str] = mapped_column(String(32))
    called: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(32))
    arrived_at: Mapped[float] = mapped_column(Float)
    requested_at: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_try_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class TicketEvent(Base):
    """One line of a ticket's timeline."""

    __tablename__ = "ticket_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(500), default="")


class CallRecord(Base):
    """One row per call, the source of every statistic."""

    __tablename__ = "call_records"
    __table_args__ = (
        Index("ix_call_records_arrived", "arrived_at"),
        # A customer's calls (migration 0019).
        Index("ix_call_records_customer_number", "customer_number"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), unique=True)
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL"), nullable=True
    )
    direction: Mapped[str] = mapped_column(String(16))
    customer_number: Mapped[str] = mapped_column(String(32))
    called_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    calling_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True
    )
    arrived_at: Mapped[float] = mapped_column(Float)
    offered_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    connected_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    wait_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    talk_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    wrap_up_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ended_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # The caller's way before the queue (menus heard, keys chosen), " > " between steps.
    route: Mapped[str | None] = mapped_column(Text, nullable=True)


class AgentStateRow(Base):
    """The agent's CTI login and chosen status, restored after a restart."""

    __tablename__ = "agent_states"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    logged_in: Mapped[bool] = mapped_column(Boolean, default=False)
    chosen: Mapped[str] = mapped_column(String(16), default="logged_out")
    status: Mapped[str] = mapped_column(String(24), default="logged_out")
    since: Mapped[float] = mapped_column(Float)


class Favorite(Base):
    """A frequently used transfer number of one user."""

    __tablename__ = "favorites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    number: Mapped[str] = mapped_column(String(32))


class Webhook(Base):
    """A URL an admin registered for some events (store/webhooks.py, runtime/webhooks.py):
    each event it subscribes to is queued for it as a WebhookDelivery, signed with its secret."""

    __tablename__ = "webhooks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[str] = mapped_column(Text)  # the event names, comma-separated
    # secrets.token_urlsafe(32): 43 characters, sealed at rest like the trunk passwords.
    secret: Mapped[str] = mapped_column(Sealed(SEALED_LENGTH))
    enabled: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=sql_true(), nullable=False
    )
    description: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[float] = mapped_column(Float)


class WebhookDelivery(Base):
    """One event for one webhook: the outbox row written in the transaction that stored the
    event, sent in order per webhook, retried with backoff, kept 7 days for the admin's log."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_status_next_try_at", "status", "next_try_at"),
        Index("ix_webhook_deliveries_webhook_id_id", "webhook_id", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)  # the JSON body sent, byte for byte
    created_at: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_try_at: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # delivered | failed
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    delivered_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class CallAgent(Base):
    """One agent's part in one call, written by the recorder: an offer (each offer counts, a
    call offered to several agents in turn has a row per offer), a transfer received, an
    outbound call dialled. `answered_at` is when this agent began to talk (the connect, or the
    transfer to them), `ended_at` when their part ended: the call's end, the transfer away,
    the offer withdrawn. The per-agent statistics are counted from these rows."""

    __tablename__ = "call_agents"
    __table_args__ = (
        Index("ix_call_agents_call_id", "call_id"),
        Index("ix_call_agents_agent_offered", "agent_id", "offered_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # offer | transfer | dial
    offered_at: Mapped[float] = mapped_column(Float)
    answered_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    # answered | transferred | missed | declined | withdrawn; NULL while the part goes on
    result: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)  # why withdrawn
    # A transfer received: from whom. A transfer made: to whom (an agent) or which number.
    from_agent_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    to_agent_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    to_number: Mapped[str | None] = mapped_column(String(32), nullable=True)


class AgentStatusLog(Base):
    """The shown status of an agent from `started_at` to `ended_at` (NULL: now), written by the
    recorder from every status change; the time in each status is summed from it. Logged out
    time has no row."""

    __tablename__ = "agent_status_log"
    __table_args__ = (Index("ix_agent_status_log_agent_started", "agent_id", "started_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(32), default="", server_default="")
    started_at: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class DispositionCode(Base):
    """A wrap-up code of a service that its agents pick in Ticket Processing (core/dispositions)."""

    __tablename__ = "disposition_codes"
    __table_args__ = (UniqueConstraint("service_id", "label"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)


class DispositionRule(Base):
    """Whether a service's agents must pick a wrap-up code (no row: optional)."""

    __tablename__ = "disposition_rules"
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    required: Mapped[bool] = mapped_column(Boolean, default=False)


class CallDisposition(Base):
    """The wrap-up code an agent picked for a call (one per agent and call: a transferred call
    may have one from each), written by the recorder; the label is kept as it was picked."""

    __tablename__ = "call_dispositions"
    __table_args__ = (Index("ix_call_dispositions_call_id", "call_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL"), nullable=True
    )
    code_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    label: Mapped[str] = mapped_column(String(100))
    at: Mapped[float] = mapped_column(Float)
