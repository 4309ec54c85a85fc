// The supervisor board: every agent's status and time in it, the queues, today's numbers.
// It starts from GET /api/board and then follows the feed's `board` messages.

import { api } from "../api.js";
import { h, render } from "../dom.js";
import { openText, percent, shortDuration, statusLabel } from "../format.js";
import * as state from "../state.js";
import { tickNow } from "../ui/ticker.js";
import { errorText } from "../ui/toast.js";

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
      agentsTable(board.agents || [], names),
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

/** @param {any[]} agents @param {Map<number, string>} names service names by id */
function agentsTable(agents, names) {
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
                ["Agent", "Status", "Time in status", "Services"].map((t) =>
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
                  h("td", null, serviceNames(a.services, names)),
                ),
              ),
            ),
          ),
        )
      : h("p", { class: "muted" }, "No agents yet."),
  );
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
                h("span", null, shortDuration(q.longest_wait_seconds || 0)),
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
            ),
          ),
        ),
      ),
    ),
  );
}
