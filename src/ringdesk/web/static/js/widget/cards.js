// The widget's two call cards: the incoming offer (with Answer and the pickup countdown) and the
// call in progress (timer, Hold/Resume, Transfer, Force Disconnect, End, and the consultation's
// Connect to Customer and Cancel), and the consulted agent's card (Hold/Resume, End consultation).

import { cti } from "../cti.js";
import { h } from "../dom.js";
import { directionLabel, when } from "../format.js";
import { chosenPhone } from "../phone/sip.js";
import { confirmDialog } from "../ui/dialog.js";
import { phoneIcon } from "./icons.js";
import { shortcutFor } from "./shortcuts.js";
import { openTransfer } from "./transfer.js";

/**
 * What the caller called about last time: their newest earlier ticket the agent may see.
 * @param {{id: number, subject: string, created_at: string | null} | null | undefined} last
 */
function lastTicket(last) {
  if (!last) return null;
  return h(
    "p",
    { class: "last-ticket", dataset: { testid: "offer-last-ticket" } },
    h("span", { class: "muted" }, `Last ticket, ${when(last.created_at)}: `),
    h("a", { href: `/tickets/${last.id}` }, last.subject || `#${last.id} (no subject)`),
  );
}

/**
 * The offer: an incoming call, or a queued callback (the caller hung up and is called back:
 * Answer rings this agent's phone first, then the customer's).
 * @param {any} offer
 */
export function offerCard(offer) {
  const total = offer.pickup_seconds || 20;
  const callback = Boolean(offer.callback);
  const number = callback ? offer.callback_number || offer.caller : offer.caller;
  return h(
    "section",
    {
      class: `card offer-card${callback ? " is-callback" : ""}`,
      "aria-labelledby": "offer-title",
    },
    h(
      "h3",
      { id: "offer-title", class: "offer-title" },
      callback ? `Callback to ${number || "an unknown number"}` : "Incoming call",
    ),
    h("p", { class: "caller-number" }, number || "Unknown number"),
    h("p", { class: "caller-name" }, offer.customer_name || "Unknown customer"),
    h("p", { class: "muted" }, offer.service_name || ""),
    lastTicket(offer.last_ticket),
    callback
      ? h(
          "p",
          { class: "callback-note" },
          "The caller asked to be called back. Call back: your phone rings, then the customer's.",
        )
      : null,
    offer.phone_ringing
      ? h(
          "p",
          { class: "phone-ringing" },
          `Your phone is ringing: pick it up or click ${callback ? "Call back" : "Answer"}.`,
        )
      : null,
    h(
      "div",
      { class: "countdown", dataset: { countdown: String(total) } },
      h("span", null, "Answer within "),
      h("span", { class: "countdown-left", dataset: { until: offer.expires_at || "" } }),
      h("div", { class: "countdown-bar", "aria-hidden": "true" }, h("span")),
    ),
    h(
      "button",
      {
        type: "button",
        class: "btn btn-answer btn-block",
        dataset: { key: "answer" },
        "aria-keyshortcuts": "Alt+A",
        onclick: () => cti.answer(offer.call_id),
      },
      phoneIcon("btn-icon"),
      callback ? "Call back" : "Answer",
    ),
  );
}

/** @param {any} call @param {string} status */
export function callCard(call, status) {
  if (call.side === "consulted") return consultedCard(call);
  const who = call.customer_name || call.customer_number;
  const dialing = call.state === "dialing" || call.state === "connecting";
  const consulting = call.state === "consulting" || status === "on_call_transfer";
  const onHold = call.state === "on_hold" || status === "on_hold";
  // A queued callback: the agent's phone rings first (connecting), then the customer's.
  const callback = call.callback_number;
  const title =
    callback && call.state === "dialing"
      ? `Calling ${callback} back (attempt ${call.callback_attempts || 1})`
      : callback && call.state === "connecting"
        ? `Callback to ${callback}: pick up your phone`
        : dialing
          ? `${call.direction === "outbound" ? "Dialing" : "Connecting"} ${call.customer_number}`
          : `${onHold ? "On hold" : "On call"} with ${who}`;
  const btn = (
    /** @type {string} */ label,
    /** @type {string} */ key,
    /** @type {() => any} */ fn,
    cls = "",
    /** @type {{disabled?: boolean, title?: string}} */ extra = {},
  ) =>
    h(
      "button",
      {
        type: "button",
        class: `btn ${cls}`,
        dataset: { key },
        "aria-keyshortcuts": shortcutFor(key) || null,
        onclick: fn,
        ...extra,
      },
      label,
    );
  /** @type {any[]} */
  const actions = [];
  if (consulting) {
    actions.push(
      // The switch can only join the customer to someone who has picked up.
      btn("Connect to Customer", "complete", () => cti.connectToCustomer(call.id), "btn-primary", {
        disabled: !call.consult?.answered,
        title: call.consult?.answered ? undefined : "Waiting for the other side to answer",
      }),
      btn("Cancel", "cancel-transfer", () => cti.cancelTransfer(call.id)),
    );
  } else if (!dialing) {
    actions.push(
      onHold
        ? btn("Resume", "hold-resume", () => cti.resume(call.id), "btn-primary")
        : btn("Hold", "hold-resume", () => cti.hold(call.id)),
      btn("Transfer", "transfer", () => openTransfer(call.id)),
      btn(
        "Force Disconnect",
        "force",
        async () => {
          const ok = await confirmDialog({
            title: "Force Disconnect",
            message:
              "The customer hears the force-disconnect message, then the call is ended. Use it for abusive or threatening calls.",
            confirmLabel: "Force Disconnect",
            danger: true,
          });
          if (ok) await cti.forceDisconnect(call.id);
        },
        "btn-danger-outline",
      ),
    );
  }
  if (!consulting) actions.push(btn("End", "end", () => cti.end(call.id), "btn-danger"));
  return h(
    "section",
    { class: `card call-card${onHold ? " is-held" : ""}`, "aria-labelledby": "call-title" },
    h("h3", { id: "call-title" }, title),
    h(
      "dl",
      { class: "facts" },
      h("dt", null, "Number"),
      h("dd", null, call.customer_number),
      callback ? [h("dt", null, "Callback to"), h("dd", null, callback)] : null,
      call.customer_name ? [h("dt", null, "Customer"), h("dd", null, call.customer_name)] : null,
      h("dt", null, "Service"),
      h("dd", null, call.service_name || ""),
      h("dt", null, "Direction"),
      h("dd", null, directionLabel(call.direction)),
      call.calling_number
        ? [h("dt", null, "Calling number"), h("dd", null, call.calling_number)]
        : null,
      h("dt", null, "Call time"),
      h(
        "dd",
        null,
        call.connected_at
          ? h("span", { class: "call-timer", dataset: { since: call.connected_at } })
          : "–",
      ),
    ),
    call.consult ? consultBlock(call.consult) : null,
    !call.consult && call.consult_ended ? consultEndedBlock(call.consult_ended) : null,
    call.supervisor ? supervisorBlock(call.supervisor) : null,
    h("div", { class: "call-actions" }, actions),
    call.ticket_id
      ? h(
          "a",
          { class: "link-small", href: `/tickets/${call.ticket_id}` },
          `Open ticket #${call.ticket_id}`,
        )
      : null,
  );
}

/** A supervisor on the call (the admin shows it to agents). @param {{name: string, mode: string}} s */
function supervisorBlock(s) {
  const words = {
    listen: "is listening",
    whisper: "is listening and can talk to you (the customer does not hear them)",
    barge: "has joined the call",
  };
  return h(
    "p",
    { class: "supervisor-on", role: "status", dataset: { supervisor: s.mode } },
    h("strong", null, "Supervisor "),
    `${s.name} ${words[/** @type {keyof typeof words} */ (s.mode)] || s.mode}`,
  );
}

/** @param {any} consult */
function consultBlock(consult) {
  const target = consult.agent_name ? `${consult.agent_name} (${consult.number})` : consult.number;
  return h(
    "div",
    { class: "consult", role: "status" },
    h("strong", null, "Consultation: "),
    h("span", null, target),
    consult.held
      ? // The consulted agent held her end: this agent hears the hold music until she resumes.
        h(
          "span",
          { class: "consult-held" },
          ` — ${consult.agent_name || "they"} put you on hold`,
        )
      : h("span", { class: "muted" }, consult.answered ? " — talking" : " — ringing…"),
  );
}

/** Why a consultation ended without a transfer, in plain words. */
const CONSULT_ENDED = {
  busy: "is busy",
  no_answer: "did not answer",
  rejected: "rejected the call",
  unreachable: "could not be reached",
  target_hung_up: "ended the consultation",
};

/** @param {{reason: string, number: string | null, agent_name: string | null}} ended */
function consultEndedBlock(ended) {
  if (ended.reason === "cancelled") return null; // the agent's own Cancel: nothing to explain
  const who = ended.agent_name || ended.number || "The other side";
  const what =
    CONSULT_ENDED[/** @type {keyof typeof CONSULT_ENDED} */ (ended.reason)] ||
    `could not be consulted (${ended.reason.replace(/_/g, " ")})`;
  return h(
    "div",
    { class: "callout callout-warn consult-ended", role: "alert" },
    h("strong", null, `${who} ${what}.`),
    h(
      "span",
      null,
      " The customer is still on hold and hears the hold music: Resume to talk to them again, or Transfer to someone else.",
    ),
  );
}

/**
 * The card of an agent a colleague consults: whose consultation it is, ringing, talking or on
 * hold on their own side, and the buttons they can use: Hold (Resume while held: the colleague
 * hears the hold music meanwhile) once talking, and End the consultation. The customer's
 * Connect to Customer and Cancel belong to the colleague.
 * @param {any} call
 */
function consultedCard(call) {
  const from = call.agent_name || "a colleague";
  const talking = Boolean(call.consult?.answered);
  const held = talking && Boolean(call.consult?.held);
  const customer = call.customer_name
    ? `${call.customer_name} (${call.customer_number})`
    : call.customer_number;
  /** @type {any[]} */
  const actions = [];
  if (talking) {
    actions.push(
      h(
        "button",
        {
          type: "button",
          class: held ? "btn btn-primary" : "btn",
          dataset: { key: "hold-resume" },
          "aria-keyshortcuts": shortcutFor("hold-resume") || null,
          onclick: () => (held ? cti.resume(call.id) : cti.hold(call.id)),
        },
        held ? "Resume" : "Hold",
      ),
    );
  }
  return h(
    "section",
    {
      class: `card call-card consulted-card${held ? " is-held" : ""}`,
      "aria-labelledby": "call-title",
    },
    h("h3", { id: "call-title" }, `Consultation from ${from}`),
    h(
      "p",
      { class: "consult", role: "status" },
      held
        ? `On hold: ${from} hears the hold music. Resume to talk again.`
        : talking
        ? "Talking"
        : // The browser phone answers a consultation by itself, as an auto-answer desk phone
          // does: there is nothing to pick up, only the media to connect.
          chosenPhone() === "browser"
          ? "Connecting… your browser phone answers by itself"
          : "Ringing… pick up your phone",
    ),
    h(
      "dl",
      { class: "facts" },
      h("dt", null, "About the call of"),
      h("dd", null, customer),
      h("dt", null, "Service"),
      h("dd", null, call.service_name || ""),
    ),
    h(
      "p",
      { class: "muted small" },
      `${from} is holding the customer. If they connect you, the call and its ticket come to you.`,
    ),
    h(
      "div",
      { class: "call-actions" },
      actions,
      h(
        "button",
        {
          type: "button",
          class: "btn btn-danger",
          dataset: { key: "end-consultation" },
          "aria-keyshortcuts": "Alt+E",
          onclick: () => cti.end(call.id),
        },
        "End consultation",
      ),
    ),
  );
}
