// The Call Widget: a button fixed at the right edge that opens a side panel with every CTI
// function of the manual. It renders from the AgentState alone, so what it shows is always
// what the server says.

import { h, render } from "../dom.js";
import { clearNotice, cti } from "../cti.js";
import { directionLabel, statusLabel } from "../format.js";
import * as state from "../state.js";
import { confirmDialog } from "../ui/dialog.js";
import { tickNow } from "../ui/ticker.js";
import { openDialUp } from "./dialup.js";
import { statusMenu } from "./status-menu.js";
import { openTransfer } from "./transfer.js";

const ICON_PHONE =
  "M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2c.3-.3.7-.4 1-.2 1.1.4 2.3.6 3.6.6.6 0 1 .4 1 1V20c0 .6-.4 1-1 1A17 17 0 0 1 3 4c0-.6.4-1 1-1h3.5c.6 0 1 .4 1 1 0 1.3.2 2.5.6 3.6.1.3 0 .7-.2 1z";

/** @param {string} cls */
function phoneIcon(cls) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", cls);
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICON_PHONE);
  svg.append(path);
  return svg;
}

let open = false;
let lastAnnouncedOffer = "";
/** @type {HTMLButtonElement} */
let toggle;
/** @type {HTMLElement} */
let panel;
/** @type {HTMLElement} */
let content;
/** @type {HTMLElement} */
let politeLive;
/** @type {HTMLElement} */
let assertiveLive;
let lastStatusSpoken = "";
/** @type {Array<() => void>} */
let unsubscribers = [];

/** @param {HTMLElement} root */
export function mountWidget(root) {
  toggle = /** @type {HTMLButtonElement} */ (
    h(
      "button",
      {
        type: "button",
        class: "widget-toggle",
        "aria-controls": "call-widget",
        "aria-expanded": "false",
        "aria-label": "Call Widget",
        onclick: () => setOpen(!open),
      },
      phoneIcon("widget-icon"),
      h("span", { class: "widget-toggle-status", "aria-hidden": "true" }),
    )
  );
  content = h("div", { class: "widget-content" });
  politeLive = h("div", { class: "sr-only", "aria-live": "polite", "aria-atomic": "true" });
  assertiveLive = h("div", { class: "sr-only", "aria-live": "assertive", "aria-atomic": "true" });
  panel = h(
    "aside",
    { id: "call-widget", class: "widget", "aria-labelledby": "call-widget-title", hidden: true },
    h(
      "header",
      { class: "widget-head" },
      phoneIcon("widget-head-icon"),
      h("h2", { id: "call-widget-title" }, "Call Widget"),
      h(
        "button",
        { type: "button", class: "icon-btn", "aria-label": "Close Call Widget", onclick: () => setOpen(false, true) },
        "✕",
      ),
    ),
    content,
  );
  panel.addEventListener("keydown", (e) => {
    // Escape closes the panel unless a menu or dialog inside handled it first.
    if (e.key === "Escape" && !e.defaultPrevented) {
      setOpen(false, true);
    }
  });
  root.append(toggle, panel, politeLive, assertiveLive);
  unsubscribers = [state.subscribe("cti", update), state.subscribe("notice", update), state.subscribe("me", update)];
  update();
}

export function unmountWidget() {
  for (const off of unsubscribers) off();
  unsubscribers = [];
  open = false;
  lastAnnouncedOffer = "";
  lastStatusSpoken = "";
}

/** @param {boolean} value @param {boolean} [returnFocus] */
export function setOpen(value, returnFocus = false) {
  open = value;
  if (!panel) return;
  panel.hidden = !open;
  toggle.setAttribute("aria-expanded", String(open));
  document.body.classList.toggle("widget-open", open);
  if (open) {
    const first = panel.querySelector(".widget-content button:not([disabled])");
    if (first instanceof HTMLElement) first.focus();
  } else if (returnFocus) {
    toggle.focus();
  }
}

function update() {
  if (!panel) return;
  const s = state.get("cti");
  const me = state.get("me");
  const status = s?.status || "logged_out";
  const label = statusLabel(status, s?.status_label);
  const ringing = Boolean(s?.offer);
  for (const el of [toggle, panel]) {
    el.classList.toggle("is-ringing", ringing);
    el.dataset.status = status;
  }
  const toggleStatus = toggle.querySelector(".widget-toggle-status");
  if (toggleStatus) toggleStatus.textContent = ringing ? "Incoming call" : label;
  toggle.setAttribute("aria-label", ringing ? "Call Widget: incoming call" : `Call Widget: ${label}`);
  if (label !== lastStatusSpoken) {
    lastStatusSpoken = label;
    politeLive.textContent = `Status: ${label}`;
  }
  if (s?.offer && s.offer.call_id !== lastAnnouncedOffer) {
    lastAnnouncedOffer = s.offer.call_id;
    const who = [s.offer.caller, s.offer.customer_name, s.offer.service_name].filter(Boolean).join(", ");
    assertiveLive.textContent = `Incoming call from ${who}`;
  }
  render(content, body(s, me));
  tickNow();
}

/** @param {any} s AgentState @param {any} me */
function body(s, me) {
  if (!me) return null;
  if (!s || !s.logged_in) return loggedOut(s, me);
  return [
    statusBlock(s),
    s.phone_registered === false ? phoneWarning(me) : null,
    noticeBlock(),
    s.offer ? offerCard(s.offer) : null,
    s.call ? callCard(s.call, s.status) : null,
    !s.call && !s.offer ? idleActions(s, me) : null,
    h(
      "div",
      { class: "widget-foot" },
      h(
        "button",
        {
          type: "button",
          class: "btn btn-ghost",
          dataset: { key: "cti-logout" },
          disabled: Boolean(s.call),
          title: s.call ? "End the call first" : null,
          onclick: () => cti.logout(),
        },
        "CTI Logout",
      ),
    ),
  ];
}

/** @param {any} s @param {any} me */
function loggedOut(s, me) {
  const noCti = !me.cti;
  return [
    h(
      "div",
      { class: "status-block", dataset: { status: "logged_out" } },
      h(
        "div",
        { class: "status-line" },
        h("span", { class: "dot status-logged_out", "aria-hidden": "true" }),
        h("span", { class: "status-label", dataset: { testid: "status-label" } }, "Logged out"),
      ),
    ),
    noticeBlock(),
    noCti
      ? h(
          "p",
          { class: "callout callout-info" },
          "You have no CTI ID yet. An admin assigns one in CTI Agent Management.",
        )
      : h("p", { class: "muted" }, "Log in to the CTI system to take and make calls."),
    h(
      "button",
      { type: "button", class: "btn btn-primary btn-block", dataset: { key: "cti-login" }, onclick: () => cti.login() },
      "CTI Login",
    ),
  ];
}

/** @param {any} s */
function statusBlock(s) {
  const label = statusLabel(s.status, s.status_label);
  const chosenDiffers =
    s.chosen && s.chosen !== s.status && ["business", "ready", "rest"].includes(s.chosen) && s.call;
  return h(
    "div",
    { class: "status-block", dataset: { status: s.status } },
    h(
      "div",
      { class: "status-line" },
      h("span", { class: `dot status-${s.status}`, "aria-hidden": "true" }),
      h("span", { class: "status-label", dataset: { testid: "status-label" } }, label),
      h("span", { class: "status-timer", "aria-label": "Time in status", dataset: { since: s.since || "" } }),
    ),
    s.reason ? h("p", { class: "status-reason" }, reasonText(s.reason)) : null,
    chosenDiffers ? h("p", { class: "muted small" }, `After this call: ${statusLabel(s.chosen)}`) : null,
    s.status === "ticket_processing"
      ? h("p", { class: "muted small" }, "Finish the ticket, then choose Ready for the next call.")
      : null,
    statusMenu({
      chosen: s.chosen || s.status,
      disabled: false,
      onPick: (status) => cti.setStatus(status),
    }),
  );
}

/** @param {string} reason */
function reasonText(reason) {
  const words = {
    pickup_timeout: "A call was not answered in time, so your status was changed.",
    missed_offers: "Several calls in a row were not answered, so you were paused.",
    wrap_up_limit: "The wrap-up time ran out.",
    restart: "The server restarted.",
  };
  return words[/** @type {keyof typeof words} */ (reason)] || reason;
}

/** @param {any} me */
function phoneWarning(me) {
  const id = me?.cti?.cti_id;
  return h(
    "div",
    { class: "callout callout-warn", role: "status" },
    h("strong", null, "Phone not registered"),
    h(
      "span",
      null,
      id
        ? ` Calls cannot reach you until your SIP phone registers as ${id} with its phone password.`
        : " Calls cannot reach you until your SIP phone registers.",
    ),
  );
}

function noticeBlock() {
  const notice = state.get("notice");
  if (!notice) return null;
  return h(
    "div",
    { class: `callout ${notice.kind === "info" ? "callout-info" : "callout-error"}`, role: "alert" },
    h("span", null, notice.text),
    h(
      "button",
      { type: "button", class: "icon-btn", "aria-label": "Dismiss message", onclick: () => clearNotice() },
      "✕",
    ),
  );
}

/** @param {any} offer */
function offerCard(offer) {
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
function callCard(call, status) {
  const who = call.customer_name || call.customer_number;
  const dialing = call.state === "dialing" || call.state === "connecting";
  const consulting = call.state === "consulting" || status === "on_call_transfer";
  const onHold = call.state === "on_hold" || status === "on_hold";
  const title = dialing
    ? `${call.direction === "outbound" ? "Dialing" : "Connecting"} ${call.customer_number}`
    : `${onHold ? "On hold" : "On call"} with ${who}`;
  const btn = (/** @type {string} */ label, /** @type {string} */ key, /** @type {() => any} */ fn, cls = "") =>
    h("button", { type: "button", class: `btn ${cls}`, dataset: { key }, onclick: fn }, label);
  /** @type {any[]} */
  const actions = [];
  if (consulting) {
    actions.push(
      btn("Connect to Customer", "complete", () => cti.connectToCustomer(call.id), "btn-primary"),
      btn("Cancel", "cancel-transfer", () => cti.cancelTransfer(call.id)),
    );
  } else if (!dialing) {
    actions.push(
      onHold
        ? btn("Resume", "resume", () => cti.resume(call.id), "btn-primary")
        : btn("Hold", "hold", () => cti.hold(call.id)),
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
      call.calling_number ? [h("dt", null, "Calling number"), h("dd", null, call.calling_number)] : null,
      h("dt", null, "Call time"),
      h("dd", null, call.connected_at ? h("span", { class: "call-timer", dataset: { since: call.connected_at } }) : "–"),
    ),
    call.consult ? consultBlock(call.consult) : null,
    h("div", { class: "call-actions" }, actions),
    call.ticket_id
      ? h("a", { class: "link-small", href: `/tickets/${call.ticket_id}` }, `Open ticket #${call.ticket_id}`)
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

/** @param {any} s @param {any} me */
function idleActions(s, me) {
  const canDial = (me.services || []).some((/** @type {any} */ x) => x.outbound_enabled);
  return h(
    "div",
    { class: "widget-actions" },
    h(
      "button",
      {
        type: "button",
        class: "btn btn-block",
        dataset: { key: "dial-up" },
        disabled: !canDial,
        title: canDial ? null : "None of your services allows outbound calls",
        onclick: () => openDialUp(),
      },
      phoneIcon("btn-icon"),
      "Dial up",
    ),
  );
}
