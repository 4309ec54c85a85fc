// The supervisor board: every agent's status and time in it, whom they talk to and for how
// long, the queues with their waits ticking, today's numbers. A lead (admin or supervisor)
// listens to, whispers on or barges into a live call from here, and sets an agent's status or
// logs them out with a message. It starts from GET /api/board and then follows the feed's
// `board` messages (a supervisor's carries the services they lead).

import { api } from "../api.js";
import { field, h, render } from "../dom.js";
import { directionLabel, openText, percent, shortDuration, statusLabel } from "../format.js";
import * as state from "../state.js";
import { openDialog } from "../ui/dialog.js";
import { tickNow } from "../ui/ticker.js";
import { errorText, toast } from "../ui/toast.js";

const MODES = [
  ["listen", "Listen", "You hear the customer and the agent; nobody hears you."],
  ["whisper", "Whisper", "The agent hears you too; the customer does not."],
  ["barge", "Barge in", "Everybody hears everybody."],
];

/** @param {HTMLElement} main */
export async function boardView(main) {
  document.title = "Board · Ringdesk";
  const content = h("div", { class: "board" });
  const updated = h("span", { class: "muted small", role: "status" });
  main.append(
    h(
      "div",
      { class: "page-head" },
      h("h1", null, "Supervisor board"),
      h("span", { class: "live-dot" }, "Live"),
      updated,
    ),
    content,
  );
  try {
    state.set("board", await api.get("/api/board"));
  } catch (err) {
    render(content, h("p", { class: "callout callout-error", role: "alert" }, errorText(err)));
  }
  const draw = (/** @type {any} */ board) => {
    if (!board) return;
    const names = new Map(
      (board.queues || []).map((/** @type {any} */ q) => [q.service_id, q.service_name]),
    );
    render(
      content,
      summary(board),
      agentsTable(board.agents || [], names, state.get("me")?.id),
      queues(board.queues || []),
      today(board.today || []),
    );
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
    tickNow();
  };
  draw(state.get("board"));
  const unsubscribe = state.subscribe("board", draw);
  // Queue waits grow between messages; recompute them from each call's `since` every second.
  const timer = window.setInterval(() => {
    for (const el of content.querySelectorAll("[data-wait-since]")) {
      const since = Date.parse(/** @type {HTMLElement} */ (el).dataset.waitSince || "");
      if (since) el.textContent = shortDuration((Date.now() - since) / 1000);
    }
  }, 1000);
  return {
    cleanup: () => {
      unsubscribe();
      clearInterval(timer);
    },
  };
}

/** @param {any} board */
function summary(board) {
  const agents = board.agents || [];
  const count = (/** @type {string[]} */ statuses) =>
    agents.filter((/** @type {any} */ a) => statuses.includes(a.status)).length;
  const waiting = (board.queues || []).reduce(
    (/** @type {number} */ n, /** @type {any} */ q) => n + (q.waiting || 0),
    0,
  );
  const tile = (/** @type {string} */ label, /** @type {any} */ value, /** @type {string} */ cls) =>
    h(
      "div",
      { class: `tile ${cls}` },
      h("span", { class: "tile-value" }, String(value)),
      h("span", { class: "tile-label" }, label),
    );
  return h(
    "section",
    { class: "tiles", "aria-label": "Summary" },
    tile("Ready", count(["ready"]), "tile-ready"),
    tile(
      "On a call",
      count(["ringing", "dialing", "on_call", "on_call_transfer", "on_hold"]),
      "tile-call",
    ),
    tile("Business", count(["business", "ticket_processing"]), "tile-business"),
    tile("Rest", count(["rest"]), "tile-rest"),
    tile("Waiting calls", waiting, waiting ? "tile-alert" : "tile-quiet"),
  );
}

/**
 * @param {any[]} agents
 * @param {Map<number, string>} names service names by id
 * @param {number | undefined} me the lead's own id (their monitoring shows a Stop)
 */
function agentsTable(agents, names, me) {
  const sorted = [...agents].sort((a, b) => String(a.name).localeCompare(String(b.name)));
  return h(
    "section",
    { class: "card", "aria-labelledby": "board-agents" },
    h("h2", { id: "board-agents" }, "Agents"),
    sorted.length
      ? h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "table" },
            h(
              "thead",
              null,
              h(
                "tr",
                null,
                ["Agent", "Status", "Time in status", "Call", "Services", "Actions"].map((t) =>
                  h("th", { scope: "col" }, t),
                ),
              ),
            ),
            h(
              "tbody",
              null,
              sorted.map((a) =>
                h(
                  "tr",
                  { dataset: { agent: String(a.agent_id), status: a.status } },
                  h("td", null, a.name),
                  h(
                    "td",
                    null,
                    h(
                      "span",
                      { class: `status-pill status-${a.status}` },
                      h("span", { class: "dot", "aria-hidden": "true" }),
                      statusLabel(a.status, a.status_label),
                    ),
                  ),
                  h(
                    "td",
                    { class: "mono" },
                    a.status === "logged_out"
                      ? "–"
                      : h("span", { dataset: { since: a.since || "" } }),
                  ),
                  h("td", { class: "board-call" }, callCell(a.call)),
                  h("td", null, serviceNames(a.services, names)),
                  h("td", { class: "board-actions" }, actions(a, me)),
                ),
              ),
            ),
          ),
        )
      : h("p", { class: "muted" }, "No agents yet."),
  );
}

/** Whom the agent talks to, which way, for how long (ticking), and who listens. @param {any} c */
function callCell(c) {
  if (!c) return h("span", { class: "muted" }, "–");
  const listener = c.monitor
    ? h(
        "span",
        { class: "badge badge-monitor", dataset: { monitor: c.monitor.mode } },
        `${c.monitor.supervisor_name}: ${modeLabel(c.monitor.mode)}${c.monitor.connected ? "" : " (ringing)"}`,
      )
    : null;
  return h(
    "span",
    { dataset: { call: c.call_id } },
    h("span", { class: "mono" }, c.customer),
    h("span", { class: "muted" }, ` · ${directionLabel(c.direction)} · `),
    c.connected_since
      ? h("span", { class: "mono", dataset: { since: c.connected_since, duration: "" } })
      : h("span", { class: "muted" }, c.state === "offered" ? "ringing" : c.state),
    listener ? " " : null,
    listener,
  );
}

/** @param {string} mode */
function modeLabel(mode) {
  const found = MODES.find(([key]) => key === mode);
  return found ? found[1].toLowerCase() : mode;
}

/**
 * The row's buttons: listen / whisper / barge on a live call (Stop when it is the lead's own
 * monitoring), and Manage for the agent's status. @param {any} a @param {number | undefined} me
 */
function actions(a, me) {
  const c = a.call;
  const buttons = [];
  const mine = c && c.monitor && c.monitor.supervisor_id === me;
  if (c && c.connected_since && c.state === "talking" && (!c.monitor || mine)) {
    for (const [mode, label, hint] of MODES) {
      if (mine && c.monitor.mode === mode) continue;
      buttons.push(
        h(
          "button",
          {
            type: "button",
            class: "btn btn-small",
            title: hint,
            dataset: { action: mode },
            onclick: () => void monitorCall(c.call_id, mode),
          },
          label,
        ),
      );
    }
  }
  if (mine) {
    buttons.push(
      h(
        "button",
        {
          type: "button",
          class: "btn btn-small btn-danger",
          dataset: { action: "stop" },
          onclick: () => void stopMonitoring(c.call_id),
        },
        "Stop",
      ),
    );
  }
  if (a.status !== "logged_out") {
    buttons.push(
      h(
        "button",
        {
          type: "button",
          class: "btn btn-small btn-ghost",
          dataset: { action: "manage" },
          onclick: () => manage(a),
        },
        "Status…",
      ),
    );
  }
  return buttons;
}

/** @param {string} callId @param {string} mode */
async function monitorCall(callId, mode) {
  try {
    state.set("board", await api.put(`/api/board/calls/${callId}/monitor`, { mode }));
    if (mode === "listen") toast("Your phone rings and answers by itself: you are listening.");
  } catch (err) {
    toast(errorText(err), "error");
  }
}

/** @param {string} callId */
async function stopMonitoring(callId) {
  try {
    state.set("board", await api.del(`/api/board/calls/${callId}/monitor`));
  } catch (err) {
    toast(errorText(err), "error");
  }
}

/** Set an agent's status or log them out, with a message their widget shows. @param {any} a */
function manage(a) {
  const d = openDialog({ title: `${a.name}: ${statusLabel(a.status, a.status_label)}` });
  const message = /** @type {HTMLInputElement} */ (
    h("input", { type: "text", maxlength: 200, name: "message", placeholder: "Optional" })
  );
  const error = h("p", { class: "form-error", role: "alert" });
  /** @param {() => Promise<any>} call */
  const run = async (call) => {
    error.textContent = "";
    try {
      await call();
      d.close();
    } catch (err) {
      error.textContent = errorText(err);
    }
  };
  /** @param {string} status @param {string} label */
  const setTo = (status, label) =>
    h(
      "button",
      {
        type: "button",
        class: "btn",
        dataset: { status },
        onclick: () =>
          void run(() =>
            api.put(`/api/board/agents/${a.agent_id}/status`, { status, message: message.value }),
          ),
      },
      label,
    );
  d.body.append(
    field("Message to the agent", message, "Shown in their call widget with the change."),
    h(
      "div",
      { class: "dialog-actions" },
      setTo("ready", "Ready"),
      setTo("business", "Business"),
      setTo("rest", "Rest"),
      h(
        "button",
        {
          type: "button",
          class: "btn btn-danger",
          dataset: { action: "logout" },
          onclick: () =>
            void run(() =>
              api.post(`/api/board/agents/${a.agent_id}/logout`, { message: message.value }),
            ),
        },
        "Log out of CTI",
      ),
    ),
    error,
  );
  message.focus();
}

/** @param {any} services ids or {id, name} @param {Map<number, string>} names */
function serviceNames(services, names) {
  if (!Array.isArray(services)) return "";
  return services
    .map((s) => (typeof s === "object" && s ? s.name || s.service_name || s.id : names.get(s) || s))
    .join(", ");
}

/** The queues card (exported for tests/ui/test_callback_ui.py). @param {any[]} rows */
export function queues(rows) {
  return h(
    "section",
    { class: "card", "aria-labelledby": "board-queues" },
    h("h2", { id: "board-queues" }, "Queues"),
    rows.length
      ? h(
          "div",
          { class: "queue-grid" },
          rows.map((q) =>
            h(
              "div",
              {
                class: `queue${q.waiting ? " has-waiting" : ""}`,
                dataset: { service: String(q.service_id) },
              },
              h("h3", null, q.service_name),
              h(
                "p",
                { class: `queue-hours ${q.open === false ? "is-closed" : "is-open"}` },
                openText({ open: q.open !== false, next_change: q.next_change || null }),
              ),
              h(
                "p",
                { class: "queue-numbers" },
                h("span", { class: "queue-waiting" }, String(q.waiting || 0)),
                h("span", null, " waiting · longest "),
                q.longest_wait_since
                  ? h("span", {
                      class: "queue-longest",
                      dataset: { waitSince: q.longest_wait_since },
                    })
                  : h("span", { class: "queue-longest" }, shortDuration(0)),
                q.in_menu ? h("span", null, ` · ${q.in_menu} in the menu`) : null,
                // Of the waiting, the callers who hung up to be called back in their turn.
                q.callbacks
                  ? h(
                      "span",
                      { class: "queue-callbacks" },
                      ` · ${q.callbacks} ${q.callbacks === 1 ? "callback" : "callbacks"}`,
                    )
                  : null,
              ),
              (q.calls || []).length
                ? h(
                    "ul",
                    { class: "queue-calls" },
                    q.calls.map((/** @type {any} */ c) =>
                      h(
                        "li",
                        {
                          dataset: c.callback_number
                            ? { call: c.call_id, callback: "true" }
                            : { call: c.call_id },
                        },
                        h(
                          "span",
                          null,
                          h("span", { class: "mono" }, c.callback_number || c.caller),
                          c.callback_number ? callbackBadge(c) : null,
                        ),
                        h("span", { class: "muted", dataset: { waitSince: c.since } }),
                      ),
                    ),
                  )
                : null,
            ),
          ),
        )
      : h("p", { class: "muted" }, "No services."),
  );
}

/**
 * A waiting entry that is a queued callback: the badge, and whether it waits out its retry
 * delay after an unanswered attempt.
 * @param {any} c
 */
function callbackBadge(c) {
  const retry = c.state === "callback_wait";
  const n = c.callback_attempts || 0;
  const tried = n ? ` (${n} ${n === 1 ? "attempt" : "attempts"} so far)` : "";
  return h(
    "span",
    {
      class: "badge badge-callback",
      title: `Callback to ${c.callback_number}${retry ? ", tried again later" : ""}${tried}`,
    },
    retry ? "Callback · retry later" : "Callback",
  );
}

/** @param {any[]} rows */
function today(rows) {
  return h(
    "section",
    { class: "card", "aria-labelledby": "board-today" },
    h("h2", { id: "board-today" }, "Today"),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            [
              "Service",
              "Offered",
              "Answered",
              "Abandoned",
              "Avg wait",
              "Longest wait",
              "Avg talk",
              "Service level",
              "Outbound",
              "Outbound connected",
            ].map((t) => h("th", { scope: "col" }, t)),
          ),
        ),
        h(
          "tbody",
          null,
          rows.map((r) =>
            h(
              "tr",
              { dataset: { service: String(r.service_id) } },
              h("td", null, r.service_name),
              h("td", { class: "num" }, String(r.offered ?? 0)),
              h("td", { class: "num", dataset: { col: "answered" } }, String(r.answered ?? 0)),
              h("td", { class: "num", dataset: { col: "abandoned" } }, String(r.abandoned ?? 0)),
              h("td", { class: "num" }, shortDuration(r.avg_wait_seconds)),
              h("td", { class: "num" }, shortDuration(r.longest_wait_seconds)),
              h("td", { class: "num" }, shortDuration(r.avg_talk_seconds)),
              h("td", { class: "num" }, percent(r.service_level)),
              h("td", { class: "num", dataset: { col: "outbound" } }, String(r.outbound ?? 0)),
              h(
                "td",
                { class: "num", dataset: { col: "outbound_connected" } },
                String(r.outbound_connected ?? 0),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}
