"""Request bodies. Every model forbids unknown fields and bounds every string."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from ringdesk.core import dialplan
from ringdesk.store.cti_settings import (
    DEFAULTS,
    ChosenStatus,
    Codec,
    PickupTimeoutStatus,
    QueueMusicMode,
)
from ringdesk.web import passwords

PHONE_PATTERN = r"^\+?[0-9*#]{2,20}$"
# Ids are INTEGER columns, 32-bit on PostgreSQL: a larger number is a 422, never a 500.
DbId = Annotated[int, Field(ge=1, le=2**31 - 1)]


def _phone(value: str) -> str:
    return value.strip()


Phone = Annotated[
    str,
    Field(min_length=2, max_length=21, pattern=PHONE_PATTERN, examples=["5551234"]),
    AfterValidator(_phone),
]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Label = Annotated[str, Field(max_length=200)]
Password = Annotated[str, Field(min_length=1, max_length=200)]


class Body(BaseModel):
    # strict: "5" is not a number and "yes" is not a boolean; a wrong type is the caller's bug.
    model_config = ConfigDict(extra="forbid", strict=True)


class LoginBody(Body):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=200)]


# The second factor (routers/auth.py and routers/profile.py).
TotpCode = Annotated[str, Field(min_length=6, max_length=6, pattern=r"^[0-9]{6}$")]
RecoveryCode = Annotated[str, Field(min_length=1, max_length=40)]


class SecondFactorBody(Body):
    """The second step of a login: the pending-login token and a TOTP or a recovery code."""

    pending_token: Annotated[str, Field(min_length=1, max_length=100)]
    code: TotpCode | None = None
    recovery_code: RecoveryCode | None = None


class TotpStartBody(Body):
    password: Password


class TotpCodeBody(Body):
    code: TotpCode


class TotpDisableBody(Body):
    password: Password
    code: TotpCode | None = None
    recovery_code: RecoveryCode | None = None


class StatusBody(Body):
    status: ChosenStatus


class PhoneChoiceBody(Body):
    """The agent's phone: a SIP phone, or the browser (when the admin allows it)."""

    phone: Literal["sip", "browser"]


# A number as an agent types it ("(030) 123-45 67", "+49 ..."): the core normalises it and
# answers destination_invalid or destination_not_allowed (core/dialplan.py); only bounded here.
DialNumber = Annotated[str, Field(min_length=1, max_length=40, examples=["555 1234"])]


class DialBody(Body):
    service_id: DbId
    number: DialNumber
    calling_number: Phone


class TransferBody(Body):
    number: DialNumber | None = None
    agent_id: DbId | None = None


class FavoriteBody(Body):
    label: Label = ""
    number: Phone


class FavoritePatch(Body):
    label: Label | None = None
    number: Phone | None = None


class TicketPatch(Body):
    subject: Annotated[str, Field(max_length=200)] | None = None
    notes: Annotated[str, Field(max_length=20_000)] | None = None
    status: Literal["open", "pending", "solved", "closed"] | None = None
    customer_id: DbId | None = None


Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]


class CustomerBody(Body):
    name: Name
    phone: Phone
    email: Email | None = None


class CustomerPatch(Body):
    name: Name | None = None
    phone: Phone | None = None
    email: Email | None = None


StrategyName = Literal["longest_idle", "round_robin", "fewest_calls", "ring_all"]
OverflowName = Literal["none", "hang_up_with_message", "forward"]
Seconds = Annotated[float, Field(ge=0, le=86_400)]
# An IANA time zone name; whether it exists is the router's check (422 invalid_timezone).
TimezoneName = Annotated[str, Field(min_length=1, max_length=64, examples=["Europe/Berlin"])]
ClosedActionName = Literal["message", "forward", "voicemail"]
AnnounceSeconds = Annotated[int, Field(ge=0, le=3600)]  # 0: at join only
VoicemailSeconds = Annotated[int, Field(ge=10, le=600)]
# Queued callback (core/callback.py): the delay before a customer who did not answer is tried
# again, and the attempts in all.
CallbackRetrySeconds = Annotated[int, Field(ge=10, le=86_400)]
CallbackAttempts = Annotated[int, Field(ge=1, le=10)]


def _dial_pattern(value: str) -> str:
    try:
        return dialplan.pattern(value)
    except dialplan.DestinationInvalid as exc:
        # The 422's sentence is "<field> <this>.": without the core's full stop.
        raise PydanticCustomError("dial_pattern", exc.message.rstrip(".")) from None


DialPattern = Annotated[
    str, Field(min_length=1, max_length=40, examples=["+49900"]), AfterValidator(_dial_pattern)
]
DialPatterns = Annotated[list[DialPattern], Field(max_length=dialplan.MAX_PATTERNS)]
_PLAN = dialplan.DEFAULT_PLAN


class DialPlanBody(Body):
    """A service's dial plan (core/dialplan.py). In a PATCH, fields left out keep their value."""

    # The country's calling code ("49"); null: not set, numbers are sent as dialled.
    country_code: Annotated[str, Field(pattern=r"^[1-9][0-9]{0,2}$")] | None = None
    national_prefix: Annotated[str, Field(pattern=r"^[0-9]{0,3}$")] = _PLAN.national_prefix
    international_prefixes: Annotated[
        list[Annotated[str, Field(pattern=r"^[0-9]{2,4}$")]], Field(max_length=5)
    ] = list(_PLAN.international_prefixes)
    allow_international: bool = _PLAN.allow_international
    allow_premium: bool = _PLAN.allow_premium
    premium_prefixes: DialPatterns = list(_PLAN.premium_prefixes)
    allowed_patterns: DialPatterns = []
    blocked_patterns: DialPatterns = []


class ServiceBody(Body):
    name: Name
    inbound_number: Phone | None = None
    inbound_enabled: bool = True
    outbound_enabled: bool = True
    strategy: StrategyName = "longest_idle"
    max_wait_seconds: Annotated[float, Field(gt=0, le=86_400)] | None = None
    overflow_action: OverflowName = "none"
    overflow_number: Phone | None = None
    service_level_seconds: Annotated[float, Field(gt=0, le=3600)] = 20.0
    dial_plan: DialPlanBody | None = None  # None: the defaults
    timezone: TimezoneName = "UTC"
    closed_action: ClosedActionName = "message"
    closed_number: Phone | None = None
    menu_id: DbId | None = None
    announce_position: bool = False
    announce_message: bool = False
    announce_every_seconds: AnnounceSeconds = 60
    voicemail_max_seconds: VoicemailSeconds = 120
    # Callbacks need a calling number of the service (409 callback_needs_calling_number): a
    # new service has none yet, so it is created first and callbacks are turned on after.
    callback_enabled: bool = False
    callback_retry_seconds: CallbackRetrySeconds = 300
    callback_max_attempts: CallbackAttempts = 3
    # Its calls recorded: null follows the global setting record_calls, true always, false never.
    record_calls: bool | None = None


class ServicePatch(Body):
    name: Name | None = None
    inbound_number: Phone | None = None
    inbound_enabled: bool | None = None
    outbound_enabled: bool | None = None
    strategy: StrategyName | None = None
    max_wait_seconds: Annotated[float, Field(gt=0, le=86_400)] | None = None
    overflow_action: OverflowName | None = None
    overflow_number: Phone | None = None
    service_level_seconds: Annotated[float, Field(gt=0, le=3600)] | None = None
    dial_plan: DialPlanBody | None = None
    timezone: TimezoneName | None = None
    closed_action: ClosedActionName | None = None
    closed_number: Phone | None = None
    menu_id: DbId | None = None
    announce_position: bool | None = None
    announce_message: bool | None = None
    announce_every_seconds: AnnounceSeconds | None = None
    voicemail_max_seconds: VoicemailSeconds | None = None
    callback_enabled: bool | None = None
    callback_retry_seconds: CallbackRetrySeconds | None = None
    callback_max_attempts: CallbackAttempts | None = None
    record_calls: bool | None = None  # null: as the global setting


# ---- what the caller meets: opening hours, holidays, menus, prompts ---------------------------
# Times and dates are checked by the router (core/hours.py), which answers with its own codes
# (invalid_time, invalid_date); the patterns here only bound the strings.
ClockTime = Annotated[str, Field(min_length=1, max_length=5, examples=["09:00"])]
IsoDay = Annotated[str, Field(min_length=1, max_length=10, examples=["2026-12-24"])]
MAX_WEEKLY_RANGES = 50
MAX_HOLIDAYS = 200


class WeeklyHoursBody(Body):
    weekday: Annotated[int, Field(ge=0, le=6)]  # 0 Monday .. 6 Sunday
    start: ClockTime
    end: ClockTime  # "24:00" allowed; not after start: past midnight


class HolidayBody(Body):
    name: Name
    first: IsoDay
    last: IsoDay
    yearly: bool = False


class ServiceHoursBody(Body):
    """The whole calendar of a service; a PUT replaces it (empty lists: always open)."""

    timezone: TimezoneName = "UTC"
    weekly: Annotated[list[WeeklyHoursBody], Field(max_length=MAX_WEEKLY_RANGES)] = []
    holidays: Annotated[list[HolidayBody], Field(max_length=MAX_HOLIDAYS)] = []


MenuActionName = Literal["queue", "menu", "forward", "voicemail", "repeat", "hang_up"]
Digit = Literal["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"]
PromptText = Annotated[str, Field(min_length=1, max_length=1000)]


class MenuStepBody(Body):
    """What a digit or the fallback does: queue/voicemail take a service id as `target`,
    menu a menu id, forward a `number`; repeat and hang_up take neither."""

    action: MenuActionName
    target: DbId | None = None
    number: Phone | None = None


class MenuKeyBody(MenuStepBody):
    digit: Digit


class MenuBody(Body):
    """A whole menu; a PUT replaces it, its choices included."""

    name: Name
    timeout_seconds: Annotated[float, Field(ge=1, le=60)] = 6.0
    max_tries: Annotated[int, Field(ge=1, le=10)] = 3
    fallback: MenuStepBody = MenuStepBody(action="hang_up")
    choices: Annotated[list[MenuKeyBody], Field(max_length=12)] = []
    prompt_text: PromptText | None = None  # sets the prompt "menu.<id>" as text


class PromptTextBody(Body):
    text: PromptText


class PermissionBody(Body):
    phone_permission: bool


class CallingNumberBody(Body):
    number: Phone
    label: Label = ""


Role = Literal["admin", "supervisor", "agent"]
Username = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")]


def _password(value: str) -> str:
    problem = passwords.problem(value)
    if problem is not None:
        raise PydanticCustomError("weak_password", problem)
    return value


# The policy applies when a password is set; max_length here only bounds the request.
UserPassword = Annotated[str, Field(max_length=passwords.MAX_LENGTH), AfterValidator(_password)]


class UserBody(Body):
    username: Username
    name: Name
    password: UserPassword
    role: Role = "agent"


class UserPatch(Body):
    name: Name | None = None
    password: UserPassword | None = None
    role: Role | None = None


Host = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9.:\-\[\]]+$")]
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def _trunk_host(value: str) -> str:
    """An IP address (IPv6 with or without brackets) or an RFC 1123 host name."""
    text = value.strip()
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        ipaddress.ip_address(bare)
        return text
    except ValueError:
        pass
    name = text[:-1] if text.endswith(".") else text  # a fully qualified name may end in "."
    labels = name.split(".")
    if (
        len(name) > 253
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()  # "300.1.2.3" is a bad address, not a name (RFC 1123 2.1)
    ):
        raise ValueError("not an IP address or a host name")
    return text


TrunkHost = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_trunk_host)]


def _trunk_source(value: str) -> str:
    """An IP address, with or without a port: "192.0.2.7", "192.0.2.7:5060", "2001:db8::7",
    "[2001:db8::7]:5060". Written back in one spelling, so the switch compares like with like."""
    text = value.strip()
    host, colon, port = text.rpartition(":")
    with_port = colon and port.isdigit() and (host.count(":") == 0 or host.startswith("["))
    if not with_port:
        host, port = text, ""
    elif not 1 <= int(port) <= 65535:
        raise ValueError("the port must be between 1 and 65535")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        raise ValueError("not an IP address, or an IP address with a port") from None
    if not port:
        return str(address)
    return f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"


TrunkSource = Annotated[str, Field(min_length=1, max_length=60), AfterValidator(_trunk_source)]


def _absence(seconds: int) -> int:
    if 0 < seconds < 10:
        raise ValueError("give 0 (never) or at least 10 seconds: a page reload is no absence")
    return seconds


class CtiSettingsBody(Body):
    sip_domain: Host
    # The trunks are configured at /api/admin/trunks (each with the sources of its INVITEs).
    allow_any_source: bool = DEFAULTS.allow_any_source
    max_calls_per_source: Annotated[int, Field(ge=1, le=10_000)] = DEFAULTS.max_calls_per_source
    max_calls_total: Annotated[int, Field(ge=1, le=100_000)] = DEFAULTS.max_calls_total
    # 0: a call is taken only when an agent is Ready for it.
    max_queued_per_service: Annotated[int, Field(ge=0, le=100_000)] = (
        DEFAULTS.max_queued_per_service
    )
    codecs: Annotated[list[Codec], Field(min_length=1, max_length=2)] = list(DEFAULTS.codecs)
    queue_music_mode: QueueMusicMode = DEFAULTS.queue_music_mode
    default_login_status: ChosenStatus = DEFAULTS.default_login_status
    pickup_seconds: Annotated[float, Field(ge=3, le=600)] = DEFAULTS.pickup_seconds
    pickup_timeout_status: PickupTimeoutStatus = DEFAULTS.pickup_timeout_status
    # 0: never; else at least 10 s (a page reload is not an absence).
    absent_logout_seconds: Annotated[int, Field(ge=0, le=86_400), AfterValidator(_absence)] = (
        DEFAULTS.absent_logout_seconds
    )
    max_missed_offers: Annotated[int, Field(ge=1, le=100)] = DEFAULTS.max_missed_offers
    outbound_ticket_on_dial: bool = DEFAULTS.outbound_ticket_on_dial
    wrap_up_seconds: Annotated[float, Field(ge=1, le=86_400)] | None = DEFAULTS.wrap_up_seconds
    record_calls: bool = DEFAULTS.record_calls  # a service may say otherwise
    recording_notice: bool = DEFAULTS.recording_notice
    # 0: kept forever; call recordings and voicemails alike.
    recording_retention_days: Annotated[int, Field(ge=0, le=36_500)] = (
        DEFAULTS.recording_retention_days
    )
    agents_hear_own_recordings: bool = DEFAULTS.agents_hear_own_recordings
    supervisor_notice: bool = DEFAULTS.supervisor_notice


CtiId = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")]


class CtiAgentBody(Body):
    cti_id: CtiId
    cti_number: Phone
    # 10 characters at least: a short one falls to an online guesser between bans.
    phone_password: Annotated[str, Field(min_length=10, max_length=128)] | None = None
    # True: the server makes a strong one and returns it once (generated_phone_password).
    generate_phone_password: bool = False
    # Omitted: keep the current setting (off for a new assignment), as for phone_password.
    auto_answer: bool | None = None
    # Omitted: keep the current setting (off for a new assignment).
    browser_phone_allowed: bool | None = None
    # The SIP phone rings with the offer (it does not answer by itself); omitted: kept.
    ring_on_offer: bool | None = None


CountryCode = Annotated[str, Field(pattern=r"^[1-9][0-9]{0,3}$")]


class TrunkBody(BaseModel):
    """A provider trunk (Admin -> Trunks). `password` is write-only: omitted or null keeps the
    stored one, "" clears it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: Annotated[str, Field(min_length=1, max_length=100)]
    host: TrunkHost
    port: Annotated[int, Field(ge=0, le=65535)] = 5060  # 0: located by DNS (RFC 3263)
    # "auto": NAPTR -> SRV -> A/AAAA pick the transport (a host name, port 0 or omitted).
    transport: Literal["udp", "tcp", "tls", "auto"] = "udp"
    username: Annotated[str, Field(max_length=128)] | None = None
    password: Annotated[str, Field(max_length=128)] | None = None
    auth_username: Annotated[str, Field(max_length=128)] | None = None
    realm: Annotated[str, Field(max_length=200)] | None = None
    # "register" on the wire; another name here (BaseModel has a `register` of its own).
    register_: bool = Field(default=False, alias="register")
    register_expires: Annotated[int, Field(ge=60, le=86_400)] = 3600
    priority: Annotated[int, Field(ge=1, le=1000)] = 1
    enabled: bool = True
    sources: Annotated[list[TrunkSource], Field(max_length=16)] = []
    identity_header: Literal["none", "pai", "rpid"] = "pai"
    from_domain: TrunkHost | None = None
    privacy_withheld: bool = True
    number_format: Literal["e164", "e164_plain", "national"] = "e164"
    country_code: CountryCode | None = None


class MonitorBody(Body):
    """How a supervisor is on a call: hears both sides, is heard by the agent, or by both."""

    mode: Literal["listen", "whisper", "barge"] = "listen"


SupervisorMessage = Annotated[str, Field(max_length=200)]


class AgentStatusBody(Body):
    """A supervisor sets an agent's status; the agent's widget shows the message."""

    status: ChosenStatus
    message: SupervisorMessage = ""


class AgentLogoutBody(Body):
    """A supervisor logs an agent out of CTI (a desk left with calls still ringing it)."""

    message: SupervisorMessage = ""
