"""Response shapes of the REST endpoints that the web layer builds itself; the shared ones
(agent state, ticket, board, user, customer) are in ringdesk.live.shapes, since the WebSocket
feed sends them too. Every endpoint declares one of these as its return type, so /openapi.json
documents it and docs/api-contract.md is checked against it (tests/api/test_contract.py).

TypedDicts rather than models: the builders return plain dicts, mypy checks them against the
shape, and FastAPI validates and serialises them in Pydantic's core without building objects.
"""

from __future__ import annotations

from typing_extensions import TypedDict

from ringdesk.live.shapes import Customer, Figures, ServiceFigures, Ticket, User, iso
from ringdesk.store import models as m
from ringdesk.store import tickets


# ---- auth -------------------------------------------------------------------------------------
class Login(TypedDict):
    token: str
    user: User


class CallingNumber(TypedDict):
    id: int
    number: str
    label: str


def calling_number_json(n: m.CallingNumber) -> CallingNumber:
    return {"id": n.id, "number": n.number, "label": n.label}


class MyService(TypedDict):
    id: int
    name: str
    inbound_enabled: bool
    outbound_enabled: bool
    calling_numbers: list[CallingNumber]


class MyCti(TypedDict):
    cti_id: str
    cti_number: str


class Me(User):
    services: list[MyService]  # those I have phone permission on
    cti: MyCti | None
    # An admin on a server with --admin-totp required who has not set up two-step sign-in:
    # everything but the account page answers 403 totp_setup_required until it is on.
    totp_setup_required: bool


# ---- the second factor (profile) -----------------------------------------------------------------
class TotpStatus(TypedDict):
    enabled: bool  # codes are asked at login
    pending: bool  # an enrolment was started and not confirmed yet
    recovery_codes_left: int


class TotpEnrolment(TypedDict):
    secret: str  # base32, for typing into the authenticator app
    uri: str  # otpauth://totp/...
    qr: list[str]  # the URI's QR code: rows of "1" (dark) and "0" modules, no quiet zone


class RecoveryCodes(TypedDict):
    recovery_codes: list[str]  # shown this once; each works once


# ---- the agent's CTI ----------------------------------------------------------------------------
class ReadyAgent(TypedDict):
    agent_id: int
    name: str
    cti_number: str | None
    status: str
    status_label: str
    since: str | None


class Favorite(TypedDict):
    id: int
    label: str
    number: str


# ---- tickets ------------------------------------------------------------------------------------
class TicketPage(TypedDict):
    items: list[Ticket]
    total: int


class PreviousTicket(TypedDict):
    """Another ticket of the same customer (or number), in a ticket's previous tickets."""

    id: int
    subject: str
    status: str  # open | pending | solved | closed
    created_at: str | None
    agent_name: str | None


def previous_json(e: tickets.Earlier) -> PreviousTicket:
    return {
        "id": e.id,
        "subject": e.subject,
        "status": e.status,
        "created_at": iso(e.created_at),
        "agent_name": e.agent_name,
    }


class CustomerDetail(Customer):
    tickets: int  # their tickets you may see
    calls: int  # their calls of the services you see


class CustomerCall(TypedDict):
    """One of a customer's calls, from its call record."""

    call_id: str
    arrived_at: str | None
    direction: str  # inbound | outbound
    service_id: int | None
    service_name: str | None
    agent_id: int | None
    agent_name: str | None
    outcome: str | None  # null while the call goes on
    talk_seconds: float | None
    ticket_id: int | None


class CustomerCallPage(TypedDict):
    items: list[CustomerCall]
    total: int


def customer_call_json(c: tickets.CustomerCall) -> CustomerCall:
    r = c.record
    return {
        "call_id": r.call_id,
        "arrived_at": iso(r.arrived_at),
        "direction": r.direction,
        "service_id": r.service_id,
        "service_name": c.service_name,
        "agent_id": r.agent_id,
        "agent_name": c.agent_name,
        "outcome": r.outcome,
        "talk_seconds": None if r.talk_seconds is None else round(r.talk_seconds, 1),
        "ticket_id": r.ticket_id,
    }


# ---- admin --------------------------------------------------------------------------------------
class AdminUser(User):
    totp_enabled: bool  # two-step sign-in on (an admin can reset it: DELETE .../totp)


class DialPlan(TypedDict):
    """A service's dial plan (core/dialplan.py)."""

    country_code: str | None  # the calling code ("49"); null: not set
    national_prefix: str  # the trunk prefix replaced by +country code ("0")
    international_prefixes: list[str]  # "00", "011"
    allow_international: bool
    allow_premium: bool
    premium_prefixes: list[str]
    allowed_patterns: list[str]  # allowed even if international, premium or a service code
    blocked_patterns: list[str]  # always refused


class Service(TypedDict):
    id: int
    name: str
    inbound_number: str | None
    inbound_enabled: bool
    outbound_enabled: bool
    strategy: str  # longest_idle | round_robin | fewest_calls | ring_all
    max_wait_seconds: float | None
    overflow_action: str  # none | hang_up_with_message | forward
    overflow_number: str | None
    service_level_seconds: float
    dial_plan: DialPlan
    # What the caller meets (core/hours.py, core/arrival.py): the calendar's time zone, what a
    # closed service does, the menu a call hears first, the queue announcements.
    timezone: str  # IANA name ("Europe/Berlin")
    closed_action: str  # message | forward | voicemail
    closed_number: str | None  # for forward
    menu_id: int | None
    announce_position: bool
    announce_message: bool
    announce_every_seconds: int  # 0: at join only
    voicemail_max_seconds: int
    # Queued callback: "press 1 to be called back" while waiting; a customer who does not
    # answer is called again after callback_retry_seconds, callback_max_attempts times in all.
    callback_enabled: bool
    callback_retry_seconds: int
    callback_max_attempts: int
    record_calls: bool | None  # null: as the global setting; true: always; false: never
    open_now: bool  # by its calendar, at the time of the request
    next_change: float | None  # when open_now changes next (Unix time); null: never


class WeeklyHours(TypedDict):
    weekday: int  # 0 Monday .. 6 Sunday
    start: str  # "HH:MM"
    end: str  # "HH:MM", "24:00" allowed; not after start: past midnight


class HolidayDays(TypedDict):
    name: str
    first: str  # "YYYY-MM-DD"
    last: str  # inclusive
    yearly: bool  # the same days every year (may run over New Year)


class ServiceHours(TypedDict):
    """A service's calendar: no weekly ranges and no holidays is always open."""

    timezone: str
    weekly: list[WeeklyHours]
    holidays: list[HolidayDays]
    open_now: bool
    next_change: float | None


class MenuStep(TypedDict):
    """What a digit (or a menu's fallback) does: `target` is a service id (queue,
    voicemail) or a menu id (menu); `number` the outside number of forward."""

    action: str  # queue | menu | forward | voicemail | repeat | hang_up
    target: int | None
    number: str | None


class MenuKey(MenuStep):
    digit: str  # 0-9, * or #


class MenuPrompt(TypedDict):
    kind: str  # default | text | upload
    text: str  # the admin's text, or the default text it falls back to


class Menu(TypedDict):
    id: int
    name: str
    timeout_seconds: float
    max_tries: int
    fallback: MenuStep
    choices: list[MenuKey]
    prompt: MenuPrompt


class Prompt(TypedDict):
    """A prompt a caller hears, global ("closed") or an object's own ("closed.2")."""

    name: str
    label: str  # what it is, as a sentence ("Closed message: Customer Support")
    kind: str  # default | text | upload
    text: str  # the admin's text, or the default text it falls back to
    default_text: str


class AgentPermission(TypedDict):
    user_id: int
    name: str
    phone_permission: bool


class CtiSettings(TypedDict):
    sip_domain: str
    allow_any_source: bool
    max_calls_per_source: int
    max_calls_total: int
    max_queued_per_service: int
    codecs: list[str]  # PCMU, PCMA
    queue_music_mode: str  # early_media | answered
    default_login_status: str  # business | ready | rest
    pickup_seconds: float
    pickup_timeout_status: str  # business | rest
    absent_logout_seconds: int  # 0: never
    max_missed_offers: int
    outbound_ticket_on_dial: bool
    wrap_up_seconds: float | None
    record_calls: bool
    recording_notice: bool  # callers of recorded calls hear the recording_notice prompt
    recording_retention_days: int  # 0: kept forever
    agents_hear_own_recordings: bool  # off: admins and supervisors only
    supervisor_notice: bool  # agents see when a supervisor listens


class CtiAgent(TypedDict):
    user_id: int
    name: str
    cti_id: str | None
    cti_number: str | None
    has_phone_password: bool
    registered: bool
    auto_answer: bool
    # The SIP phone rings with the offer and picking it up answers (no auto-answer phone).
    ring_on_offer: bool
    # The browser phone: allowed by the admin, chosen by the agent ("sip" or "browser").
    browser_phone_allowed: bool
    phone_kind: str
    # Where the agent's phone is registered: "<transport> <address>:<port>", one per contact.
    phone_contacts: list[str]


class PhoneChoice(TypedDict):
    """GET/PUT /api/cti/phone: the phone in use ("browser" only when allowed)."""

    phone: str
    browser_allowed: bool
    cti_id: str | None
    sip_domain: str


class SipTicket(TypedDict):
    """POST /api/cti/sip-ticket: opens GET `path` (SIP over WebSocket) once, within expires_in."""

    ticket: str
    path: str
    expires_in: int
    cti_id: str
    sip_domain: str


# ---- statistics ---------------------------------------------------------------------------------
class _AgentKey(TypedDict):
    agent_id: int
    name: str


class StatusSeconds(TypedDict):
    """Seconds in each shown status within the span (logged out is not counted)."""

    business: float
    ready: float
    rest: float
    ringing: float
    dialing: float
    on_call: float
    on_call_transfer: float
    on_hold: float
    ticket_processing: float


class _AgentCounts(TypedDict):
    offered: int  # offers made to the agent: each counts, also a call offered again
    answered: int  # offers the agent answered
    missed: int  # offers whose pickup time passed (or whose phone did not pick up)
    declined: int  # offers the agent turned down by choosing another status
    transfers_made: int  # calls the agent talked on and transferred (to an agent or a number)
    transfers_received: int  # calls another agent transferred to this one
    outbound: int
    outbound_connected: int
    talk_seconds: float  # the agent's own talk: from their answer (or transfer) to their end
    avg_talk_seconds: float | None
    wrap_up_seconds: float  # time in Business (Ticket Processing)
    logged_in_seconds: float  # time in any status but logged out
    occupancy: float | None  # (talk + wrap-up) / logged-in time, 0..1
    status_seconds: StatusSeconds


class AgentFigures(_AgentKey, _AgentCounts):
    """One agent's figures (store/stats.py per_agent): from their parts in calls and the time
    in each status, so a transferred call counts for both agents."""


# Functional form: "from" is a Python keyword. `date` is the first day, as before ranges existed.
Report = TypedDict(
    "Report",
    {
        "date": str,
        "from": str,
        "to": str,
        "tz": str,
        "services": list[ServiceFigures],  # admins only; [] for an agent
        "agents": list[AgentFigures],
        "total": Figures | None,  # admins only
    },
)


class Trunk(TypedDict):
    """A provider trunk (GET/POST/PUT /api/admin/trunks); the password is never sent back."""

    id: int
    name: str
    host: str
    port: int
    transport: str  # udp / tcp / tls / auto (RFC 3263 NAPTR picks it)
    username: str | None
    has_password: bool
    auth_username: str | None
    realm: str | None
    register: bool
    register_expires: int
    priority: int
    enabled: bool
    sources: list[str]
    identity_header: str  # none / pai / rpid
    from_domain: str | None
    privacy_withheld: bool
    number_format: str  # e164 / e164_plain / national
    country_code: str | None
    # The outbound registration: "off" (not configured), "unregistered" (not tried yet),
    # "registering", "registered", "failed"; with the last error and when it expires.
    registration: str
    registration_error: str | None
    registered_until: float | None
    # The last transport error toward the trunk (connection refused, TLS certificate not
    # accepted for its name, ...), None once it answers again; where DNS located it
    # ("address:port/transport", [] when it has a port or has not been located yet).
    last_error: str | None
    located: list[str]
