// The shapes of the API's JSON as the browser app uses them, for the type check only (tsc
// with checkJs, `make js`). Nothing here runs; modules import these with
// `@typedef {import("./types.js").Name} Name` or `@type {import("../types.js").Name}`.

/** @typedef {"admin" | "agent"} Role */

/** @typedef {{id: number, number: string, label: string}} CallingNumber */

/**
 * A service the logged-in agent has phone permission for (GET /api/auth/me).
 * @typedef {{id: number, name: string, inbound_enabled: boolean, outbound_enabled: boolean,
 *   calling_numbers: CallingNumber[]}} MyService
 */

/**
 * GET /api/auth/me. `totp_setup_required`: an admin who must set up two-step sign-in first.
 * @typedef {{id: number, username: string, name: string, role: Role, services: MyService[],
 *   cti: null | {cti_id: string, cti_number: string}, totp_setup_required: boolean}} Me
 */

/**
 * The call offered to the agent (AgentState.offer). `callback`: a queued callback (the caller
 * hung up): Answer rings the agent's phone, then calls `callback_number` back.
 * @typedef {{call_id: string, service_id: number, service_name: string, caller: string,
 *   customer_name: string | null, expires_at: string | null, pickup_seconds: number,
 *   phone_ringing: boolean, callback: boolean, callback_number: string | null}} Offer
 */

/** A consultation call; `held`: the consulted agent holds her end (the handling agent hears
 * the hold music).
 * @typedef {{number: string | null, agent_id: number | null, agent_name: string | null,
 *   answered: boolean, held: boolean}} Consult */

/**
 * The last consultation of a call that ended without a transfer, and why.
 * @typedef {{reason: "busy" | "no_answer" | "rejected" | "unreachable" | "target_hung_up" |
 *   "cancelled" | string, number: string | null, agent_id: number | null,
 *   agent_name: string | null}} ConsultEnded
 */

/**
 * The agent's call (AgentState.call). `side`: "agent" when they handle it, "consulted" when a
 * colleague's consultation call rings or talks to them (`agent_name` is that colleague).
 * @typedef {{id: string, side: "agent" | "consulted", agent_id: number | null,
 *   agent_name: string | null, service_id: number, service_name: string,
 *   direction: "inbound" | "outbound", state: string, customer_number: string,
 *   customer_name: string | null, calling_number: string | null, connected_at: string | null,
 *   ticket_id: number | null, consult: Consult | null,
 *   consult_ended: ConsultEnded | null, callback_number: string | null,
 *   callback_attempts: number}} Call
 */

/**
 * GET /api/cti/state and the feed's `agent_state`.
 * @typedef {{agent_id: number, logged_in: boolean, status: string, status_label: string,
 *   chosen: string, since: string | null, reason: string, phone_registered: boolean,
 *   offer: Offer | null, call: Call | null}} AgentState
 */

/**
 * GET/PUT /api/cti/phone: the agent's phone ("browser" only when the admin allows it).
 * @typedef {{phone: "sip" | "browser", browser_allowed: boolean, cti_id: string | null,
 *   sip_domain: string}} PhoneChoice
 */
/**
 * POST /api/cti/sip-ticket: opens `path` (SIP over WebSocket) once, within expires_in seconds.
 * @typedef {{ticket: string, path: string, expires_in: number, cti_id: string,
 *   sip_domain: string}} SipTicket
 */

/** @typedef {{id: number, username: string, name: string, role: Role}} User */
/** @typedef {User & {totp_enabled: boolean}} AdminUser */

/**
 * One of GET /api/admin/trunks (the password is never sent back: has_password).
 * @typedef {{id: number, name: string, host: string, port: number,
 *   transport: "udp" | "tcp" | "tls" | "auto",
 *   username: string | null, has_password: boolean, auth_username: string | null,
 *   realm: string | null, register: boolean, register_expires: number, priority: number,
 *   enabled: boolean, sources: string[], identity_header: string, from_domain: string | null,
 *   privacy_withheld: boolean, number_format: string, country_code: string | null,
 *   registration: string, registration_error: string | null,
 *   registered_until: number | null, last_error: string | null, located: string[]}} Trunk
 */
/** @typedef {{enabled: boolean, pending: boolean, recovery_codes_left: number}} TotpStatus */
/** @typedef {{secret: string, uri: string, qr: string[]}} TotpEnrolment */
/** @typedef {{recovery_codes: string[]}} RecoveryCodes */

/** @typedef {"longest_idle" | "round_robin" | "fewest_calls" | "ring_all"} Strategy */
/** @typedef {"none" | "hang_up_with_message" | "forward"} OverflowAction */

/**
 * GET /api/admin/services/{id}, one of GET /api/admin/services.
 * @typedef {{id: number, name: string, inbound_number: string | null, inbound_enabled: boolean,
 *   outbound_enabled: boolean, strategy: Strategy, max_wait_seconds: number | null,
 *   overflow_action: OverflowAction, overflow_number: string | null,
 *   service_level_seconds: number, dial_plan: DialPlan, timezone: string,
 *   closed_action: ClosedAction, closed_number: string | null, menu_id: number | null,
 *   announce_position: boolean, announce_message: boolean, announce_every_seconds: number,
 *   voicemail_max_seconds: number, callback_enabled: boolean, callback_retry_seconds: number,
 *   callback_max_attempts: number, record_calls: boolean | null, open_now: boolean,
 *   next_change: number | null}} Service
 */

/** @typedef {"message" | "forward" | "voicemail"} ClosedAction */

/**
 * GET /api/admin/services/{id}/hours: weekly ranges ("HH:MM", weekday 0 Monday) and holidays.
 * @typedef {{weekday: number, start: string, end: string}} WeeklyHours
 * @typedef {{name: string, first: string, last: string, yearly: boolean}} HolidayDays
 * @typedef {{timezone: string, weekly: WeeklyHours[], holidays: HolidayDays[],
 *   open_now: boolean, next_change: number | null}} ServiceHours
 */

/**
 * An IVR menu (GET /api/admin/menus/{id}); a step is what a digit or the fallback does.
 * @typedef {"queue" | "menu" | "forward" | "voicemail" | "repeat" | "hang_up"} MenuAction
 * @typedef {{action: MenuAction, target: number | null, number: string | null}} MenuStep
 * @typedef {MenuStep & {digit: string}} MenuKey
 * @typedef {{kind: "default" | "text" | "upload", text: string}} MenuPrompt
 * @typedef {{id: number, name: string, timeout_seconds: number, max_tries: number,
 *   fallback: MenuStep, choices: MenuKey[], prompt: MenuPrompt}} Menu
 */

/**
 * One of GET /api/admin/cti/prompts.
 * @typedef {{name: string, label: string, kind: "default" | "text" | "upload", text: string,
 *   default_text: string}} Prompt
 */

/**
 * A service's dial plan (core/dialplan.py).
 * @typedef {{country_code: string | null, national_prefix: string,
 *   international_prefixes: string[], allow_international: boolean, allow_premium: boolean,
 *   premium_prefixes: string[], allowed_patterns: string[], blocked_patterns: string[]}} DialPlan
 */

/**
 * One of GET /api/admin/services/{id}/agents.
 * @typedef {{user_id: number, name: string, phone_permission: boolean}} ServiceAgent
 */

/**
 * GET /api/admin/cti/settings.
 * @typedef {{sip_domain: string, allow_any_source: boolean,
 *   max_calls_per_source: number, max_calls_total: number,
 *   max_queued_per_service: number,
 *   codecs: string[], queue_music_mode: "early_media" | "answered",
 *   default_login_status: "business" | "ready" | "rest", pickup_seconds: number,
 *   pickup_timeout_status: "business" | "rest", max_missed_offers: number,
 *   outbound_ticket_on_dial: boolean, wrap_up_seconds: number | null,
 *   record_calls: boolean, absent_logout_seconds: number, recording_notice: boolean,
 *   recording_retention_days: number, agents_hear_own_recordings: boolean,
 *   supervisor_notice: boolean}} CtiSettings
 */

/**
 * One of GET /api/admin/cti/agents.
 * @typedef {{user_id: number, name: string, cti_id: string | null, cti_number: string | null,
 *   has_phone_password: boolean, registered: boolean, auto_answer: boolean, ring_on_offer: boolean,
 *   browser_phone_allowed: boolean, phone_kind: "sip" | "browser", phone_contacts: string[]}} CtiAgent
 */

/**
 * The figures of one row of GET /api/stats for a service or the total: offered is the sum of
 * the outcomes (answered ... other). Averages are null when there was nothing to average.
 * @typedef {{offered: number, refused: number, answered: number, transferred_out: number,
 *   abandoned: number, overflowed: number, closed: number, menu_ended: number,
 *   voicemail: number, callback_requested: number, callback_done: number,
 *   callback_failed: number, in_progress: number, other: number,
 *   avg_abandon_seconds: number | null, avg_wait_seconds: number | null,
 *   longest_wait_seconds: number | null, avg_talk_seconds: number | null,
 *   avg_wrap_up_seconds: number | null, service_level: number | null, outbound: number,
 *   outbound_connected: number}} Figures
 */

/** @typedef {Figures & {service_id: number, service_name: string}} ServiceFigures */

/**
 * Seconds in each shown status within the range.
 * @typedef {{business: number, ready: number, rest: number, ringing: number, dialing: number,
 *   on_call: number, on_call_transfer: number, on_hold: number,
 *   ticket_processing: number}} StatusSeconds
 */

/**
 * One agent's row of GET /api/stats: from their own parts in calls (a transferred call counts
 * for both agents) and the time in each status.
 * @typedef {{agent_id: number, name: string, offered: number, answered: number,
 *   missed: number, declined: number, transfers_made: number, transfers_received: number,
 *   outbound: number, outbound_connected: number, talk_seconds: number,
 *   avg_talk_seconds: number | null, wrap_up_seconds: number, logged_in_seconds: number,
 *   occupancy: number | null, status_seconds: StatusSeconds}} AgentFigures
 */

/**
 * GET /api/stats.
 * @typedef {{from: string, to: string, tz: string, services: ServiceFigures[],
 *   agents: AgentFigures[], total: Figures | null}} Report
 */

export {};
