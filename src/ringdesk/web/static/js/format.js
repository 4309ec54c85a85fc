// Words and numbers as people read them: status names of the manual, durations, reasons.

/** The manual's names; the server sends `status_label` too, this is the fallback. */
export const STATUS_LABELS = {
  logged_out: "Logged out",
  business: "Business",
  ready: "Ready",
  rest: "Rest",
  ringing: "Incoming call",
  dialing: "Dialing",
  on_call: "On Call",
  on_call_transfer: "On Call (Transfer in Progress)",
  on_hold: "On Hold",
  ticket_processing: "Business (Ticket Processing)",
};

/** The three statuses an agent picks, with what each means (from the manual). */
export const CHOSEN = [
  ["business", "Business", "Busy with other tasks; no calls are assigned."],
  ["ready", "Ready", "Ready to receive incoming calls."],
  ["rest", "Rest", "On a break; no calls are assigned."],
];

/** @param {string} status @param {string} [label] */
export function statusLabel(status, label) {
  return label || STATUS_LABELS[/** @type {keyof typeof STATUS_LABELS} */ (status)] || status;
}

/** Why a call failed, in plain words (WS `call_failed`). */
const REASONS = {
  busy: "The line is busy.",
  no_answer: "Nobody answered.",
  rejected: "The call was rejected.",
  unreachable: "The number could not be reached.",
  not_registered: "Your phone is not registered, so the call cannot be put through to you.",
};

/** @param {string} reason @param {string} [message] */
export function failureText(reason, message) {
  return REASONS[/** @type {keyof typeof REASONS} */ (reason)] || message || "The call failed.";
}

/** Parse an ISO time from the API to epoch milliseconds (0 when absent). @param {string|null|undefined} iso */
export function ms(iso) {
  if (!iso) return 0;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : t;
}

/** 0:07, 12:34, 1:02:03. @param {number} seconds */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const secs = String(s % 60).padStart(2, "0");
  if (hours) return `${hours}:${String(minutes).padStart(2, "0")}:${secs}`;
  return `${minutes}:${secs}`;
}

/** Seconds elapsed since an ISO time. @param {string|null|undefined} iso */
export function elapsed(iso) {
  const t = ms(iso);
  return t ? (Date.now() - t) / 1000 : 0;
}

/** "12 s", "3 min 4 s" for averages and waits. @param {number|null|undefined} seconds */
export function shortDuration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
}

/** @param {number|null|undefined} share 0..1 */
export function percent(share) {
  if (share === null || share === undefined) return "–";
  // A share (0..1) per the contract; tolerate a server that already sends a percentage.
  return `${Math.round(share > 1 ? share : share * 100)} %`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });

/** @param {string|null|undefined} iso */
export function when(iso) {
  const t = ms(iso);
  return t ? dateTime.format(new Date(t)) : "–";
}

/** @param {string|null|undefined} iso */
export function timeOfDay(iso) {
  const t = ms(iso);
  return t ? timeOnly.format(new Date(t)) : "–";
}

const weekdayTime = new Intl.DateTimeFormat(undefined, {
  weekday: "short",
  hour: "2-digit",
  minute: "2-digit",
});

/**
 * "Open" or "Closed", with when that changes ("closes Tue 17:00", "opens Thu 09:00").
 * @param {{open: boolean, next_change: string|null}} svc
 */
export function openText(svc) {
  const t = ms(svc.next_change);
  const change = t ? ` (${svc.open ? "closes" : "opens"} ${weekdayTime.format(new Date(t))})` : "";
  return `${svc.open ? "Open" : "Closed"}${change}`;
}

export const TICKET_STATUSES = [
  ["open", "Open"],
  ["pending", "Pending"],
  ["solved", "Solved"],
  ["closed", "Closed"],
];

/** @param {string} direction */
export function directionLabel(direction) {
  return direction === "outbound" ? "Outbound" : "Inbound";
}

/** Words for a ticket timeline entry kind ("call_connected" -> "Call connected"). @param {string} kind */
export function kindLabel(kind) {
  const text = String(kind || "").replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Same check as the server: optional +, then 2 to 20 digits, * or #. @param {string} value */
export function isPhoneNumber(value) {
  return /^\+?[0-9*#]{2,20}$/.test(value);
}
