// The widget's two call cards: the incoming offer (with Answer and the pickup countdown) and the
// call in progress (timer, Hold/Resume, Transfer, Force Disconnect, End, and the consultation's
// Connect to Customer and Cancel).

import { cti } from "../cti.js";
import { h } from "../dom.js";
import { directionLabel } from "../format.js";
import { confirmDialog } from "../ui/dialog.js";
import { phoneIcon } from "./icons.js";
import { openTransfer } from "./transfer.js";

/** @param {any} offer */
export function offerCard(offer) {
  const total = offer.pickup_seconds || 20;
  return h(
    "section",
    { class: "card offer-card", "aria-labelledby": "offer-title" },
    h("h3", { id: "offer-title", class: "offer-title" }, "Incoming call"),
    h("p", { class: "caller-number" }, offer.caller || "Unknown number"),
    h("p", { class: "caller-name" }, offer.customer_name || "Unknown customer"),
    h("p", { class: "muted" }, offer.service_name || ""),
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
        onclick: () => cti.answer(offer.call_id),
      },
      phoneIcon("btn-icon"),
      "Answer",
    ),
  );
}

/** @param {any} call @param {string} status */
export function callCard(call, status) {
  const who = call.customer_name || call.customer_number;
  const dialing = call.state === "dialing" || call.state === "connecting";
  const consulting = call.state === "consulting" || status === "on_call_transfer";
  const onHold = call.state === "on_hold" || status === "on_hold";
  const title = dialing
    ? `${call.direction === "outbound" ? "Dialing" : "Connecting"} ${call.customer_number}`
    : `${onHold ? "On hold" : "On call"} with ${who}`;
  const btn = (
    /** @type {string} */ label,
    /** @type {string} */ key,
    /** @type {() => any} */ fn,
    cls = "",
    /** @type {{disabled?: boolean, title?: string}} */ extra = {},
  ) =>
    h("button", { type: "button", class: `btn ${cls}`, dataset: { key }, onclick: fn, ...extra }, label);
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

/** @param {any} consult */
function consultBlock(consult) {
  const target = consult.agent_name ? `${consult.agent_name} (${consult.number})` : consult.number;
  return h(
    "div",
    { class: "consult", role: "status" },
    h("strong", null, "Consultation: "),
    h("span", null, target),
    h("span", { class: "muted" }, consult.answered ? " — talking" : " — ringing…"),
  );
}
