// Reports: the call figures of a date range per service and per agent, from GET /api/stats,
// with the same figures as CSV from GET /api/stats.csv. The range lives in the URL, so a
// reload or a shared link shows the same report; days are counted in the browser's time zone.
// Every offered call has exactly one outcome, so a service's outcome columns add up to its
// offered calls; an agent's row counts their own offers, answers and transfers.

import { ApiError, api, getBlob, query } from "../../api.js";
import { field, h, render } from "../../dom.js";
import { STATUS_LABELS, percent, shortDuration } from "../../format.js";
import { navigate } from "../../router.js";
import * as state from "../../state.js";
import * as ui from "../../ui/form.js";
import { table, tableCard } from "../../ui/table.js";
import { adminShell } from "./shell.js";

/** @typedef {import("../../types.js").Figures} Figures */
/** @typedef {import("../../types.js").Report} Report */
/** @typedef {import("../../types.js").Service} Service */
/** @typedef {import("../../types.js").ServiceFigures} ServiceFigures */
/** @typedef {import("../../types.js").AgentFigures} AgentFigures */
/** @typedef {import("../../types.js").StatusSeconds} StatusSeconds */

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The columns of the services' table: [key, heading, how to show it, what it means]. Soft
 * hyphens (\u00ad) let the long headings break. From Answered to Other: the outcomes.
 * @type {Array<[keyof Figures, string, (value: any, row: Figures) => string, string]>}
 */
const COLUMNS = [
  ["offered", "Offered", count, "Inbound calls that reached the service: the sum of the outcomes"],
  ["answered", "Ans\u00adwered", count, "Talked with an agent (also when passed on to another)"],
  [
    "transferred_out",
    "Trans\u00adferred out",
    count,
    "Talked with an agent, then transferred to an outside number",
  ],
  ["abandoned", "Aban\u00addoned", count, "The caller hung up before an agent answered"],
  ["overflowed", "Over\u00adflowed", count, "The maximum wait passed: overflow message or forward"],
  ["closed", "Closed", count, "Outside opening hours: closed message or forwarded"],
  ["menu_ended", "Menu ended", count, "A menu ended the call or forwarded it outside"],
  ["voicemail", "Voice\u00admail", count, "The caller left a message"],
  [
    "callback_requested",
    "Call\u00adbacks",
    callbacks,
    "Callbacks asked for: how many were done (talked) and failed (never answered)",
  ],
  ["in_progress", "Still open", count, "Not over yet: in a menu, waiting or ringing"],
  ["other", "Other", count, "Ended otherwise (a restart before an agent answered)"],
  ["refused", "Re\u00adfused", count, "Not offered: refused (busy) because the queue was full"],
  ["avg_abandon_seconds", "Avg to abandon", shortDuration, "Average wait before hanging up"],
  ["avg_wait_seconds", "Avg wait", shortDuration, "Average wait of the answered calls"],
  ["longest_wait_seconds", "Longest wait", shortDuration, "Longest wait, answered or not"],
  ["avg_talk_seconds", "Avg talk", shortDuration, "Average talk time, inbound and outbound"],
  ["avg_wrap_up_seconds", "Avg wrap-up", shortDuration, "Average time in Ticket Processing"],
  ["service_level", "Service level", percent, "Share answered within the service's target"],
  ["outbound", "Out\u00adbound", count, "Outbound calls placed"],
];

/**
 * The agents' table.
 * @type {Array<[keyof AgentFigures, string, (value: any) => string, string]>}
 */
const AGENT_COLUMNS = [
  ["offered", "Offered", count, "Offers made to the agent: each counts, also a call offered again"],
  ["answered", "Ans\u00adwered", count, "Offers the agent answered"],
  ["missed", "Missed", count, "Offers not answered within the pickup time"],
  ["declined", "De\u00adclined", count, "Offers turned down by choosing another status"],
  ["transfers_made", "Trans\u00adfers made", count, "Calls the agent transferred on"],
  ["transfers_received", "Trans\u00adfers received", count, "Calls transferred to the agent"],
  ["outbound", "Out\u00adbound", count, "Outbound calls placed"],
  ["talk_seconds", "Talk", shortDuration, "The agent's own talk time (split at a transfer)"],
  ["avg_talk_seconds", "Avg talk", shortDuration, "Average talk per call talked"],
  ["wrap_up_seconds", "Wrap-up", shortDuration, "Time in Business (Ticket Processing)"],
  ["logged_in_seconds", "Logged in", shortDuration, "Time in any status but logged out"],
  ["occupancy", "Occu\u00adpancy", percent, "(Talk + wrap-up) / logged-in time"],
];

/** The statuses of the time-in-status table, in the widget's words. */
const STATUSES = /** @type {Array<keyof StatusSeconds>} */ ([
  "ready",
  "rest",
  "business",
  "ringing",
  "dialing",
  "on_call",
  "on_call_transfer",
  "on_hold",
  "ticket_processing",
]);

/** "2 (1 done, 1 failed)". @param {number} n @param {Figures} row */
function callbacks(n, row) {
  if (!n) return "0";
  return `${n} (${row.callback_done ?? 0} done, ${row.callback_failed ?? 0} failed)`;
}

/** @param {number|null|undefined} n */
function count(n) {
  return String(n ?? 0);
}

/** A date as YYYY-MM-DD in the browser's time zone. @param {Date} d */
function isoDay(d) {
  const pad = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** @param {number} days */
function daysAgo(days) {
  const d = new Date();
  d.setDate(d.getDate() - days);
  return isoDay(d);
}

/** The browser's time zone, so "today" is the supervisor's today, not UTC's. */
function timeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** @param {HTMLElement} main @param {Record<string, string>} _params @param {URLSearchParams} params */
export async function reportsView(main, _params, params) {
  const content = adminShell(main, "/admin/reports", "Reports");
  content.classList.add("reports-page");
  const today = isoDay(new Date());
  const fromParam = params.get("from") || "";
  const toParam = params.get("to") || "";
  const range = {
    from: DAY.test(fromParam) ? fromParam : today,
    to: DAY.test(toParam) ? toParam : DAY.test(fromParam) ? fromParam : today,
  };
  // The zone actually used: the browser's, or UTC when the server does not know that one.
  let tz = timeZone();
  /** @param {string} name @param {string} value */
  const day = (name, value) => ui.input("date", name, { value, max: today, required: true });
  const from = day("from", range.from);
  const to = day("to", range.to);
  const status = ui.saveStatus();
  const show = (/** @type {string} */ first, /** @type {string} */ last) => {
    if (!DAY.test(first) || !DAY.test(last)) {
      status.fail("Pick both dates.");
      return;
    }
    if (last < first) {
      status.fail("The end date is before the start date.");
      return;
    }
    // /admin/reports for an admin, /reports for a supervisor: the page stays where it is.
    void navigate(`${location.pathname}${query({ from: first, to: last })}`, { replace: true });
  };
  const quick = (/** @type {string} */ label, /** @type {string} */ first, last = today) =>
    ui.button(label, { class: "btn btn-small", onclick: () => show(first, last) });
  const download = ui.button("Download CSV", {
    class: "btn",
    onclick: () => void downloadCsv(range.from, range.to, tz, status),
  });
  const form = ui.formWith(
    { class: "filters report-range", "aria-label": "Report period" },
    () => show(from.value, to.value),
    field("From", from),
    field("To", to),
    ui.submitButton("Show"),
    download,
  );
  const month = `${today.slice(0, 8)}01`;
  const note = h("p", { class: "muted small" });
  const zone = h("p", { class: "report-zone", dataset: { testid: "report-zone" } });
  const explain = () => {
    zone.textContent = `Days in the time zone ${tz}`;
    note.textContent =
      `Calls count on the day they arrived, in the time zone ${tz}. Each offered call has ` +
      "one outcome, so a service's outcomes add up to its offered calls. Service level: the " +
      "share of answered or abandoned calls answered within the service's target. An " +
      "agent's row counts their own offers and talk: a call answered by one agent and " +
      "transferred counts for both.";
  };
  explain();
  const results = h("div", { class: "reports", "aria-live": "polite" });
  content.append(
    form,
    h(
      "div",
      { class: "quick-ranges" },
      quick("Today", today),
      quick("Yesterday", daysAgo(1), daysAgo(1)),
      quick("Last 7 days", daysAgo(6)),
      quick("This month", month),
      status,
    ),
    zone,
    note,
    results,
  );
  render(results, h("p", { class: "muted" }, "Loading the figures…"));
  /** @returns {Promise<Report>} */
  const fetchReport = async () => {
    try {
      return await api.get(`/api/stats${query({ from: range.from, to: range.to, tz })}`);
    } catch (err) {
      const zoneRefused =
        err instanceof ApiError && err.status === 422 && /\btz\b/.test(err.message);
      if (!zoneRefused || tz === "UTC") throw err;
      // A server without this zone's rules refuses it: count the days in UTC instead.
      tz = "UTC";
      explain();
      return api.get(`/api/stats${query({ from: range.from, to: range.to, tz })}`);
    }
  };
  try {
    // A supervisor has no admin pages: their services (names) come with their profile.
    const me = state.get("me");
    /** @type {Promise<Service[]>} */
    const servicesOf =
      me?.role === "admin" ? api.get("/api/admin/services") : Promise.resolve(me?.services || []);
    /** @type {[Report, Service[]]} */
    const [report, services] = await Promise.all([fetchReport(), servicesOf]);
    /** @type {{counts: Array<{service_id: number, label: string, count: number}>}} */
    const codes = await api
      .get(`/api/admin/dispositions/report${query({ from: range.from, to: range.to, tz })}`)
      .catch(() => ({ counts: [] })); // leads only: an agent sees the rest
    const targets = new Map(services.map((s) => [s.id, s.service_level_seconds ?? 20]));
    render(
      results,
      tiles(report.total || {}),
      serviceTable(report.services || [], report.total, targets),
      agentTable(report.agents || []),
      statusTable(report.agents || []),
      codesTable(codes.counts, services),
    );
  } catch (err) {
    render(results, ui.errorCallout(err));
  }
}

/**
 * Fetch the CSV with the session token (a plain link cannot send it) and save it.
 * @param {string} first @param {string} last @param {string} tz
 * @param {import("../../ui/form.js").SaveStatus} status
 */
async function downloadCsv(first, last, tz, status) {
  await ui.attempt(status.fail, async () => {
    const blob = await getBlob(`/api/stats.csv${query({ from: first, to: last, tz })}`);
    const url = URL.createObjectURL(blob);
    const link = h("a", { href: url, download: `ringdesk-stats-${first}-to-${last}.csv` });
    document.body.append(link);
    link.click();
    link.remove();
    // Revoke later: the download starts asynchronously from the object URL.
    window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
    status.ok("CSV downloaded.");
  });
}

/** @param {Partial<Figures>} total */
function tiles(total) {
  const tile = (/** @type {string} */ label, /** @type {string} */ value, cls = "") =>
    h(
      "div",
      { class: `tile ${cls}`.trim() },
      h("span", { class: "tile-value" }, value),
      h("span", { class: "tile-label" }, label),
    );
  return h(
    "section",
    { class: "tiles", "aria-label": "All services" },
    tile("Offered", count(total.offered), "tile-call"),
    tile("Answered", count(total.answered), "tile-ready"),
    tile("Abandoned", count(total.abandoned), total.abandoned ? "tile-alert" : "tile-rest"),
    tile("Overflowed", count(total.overflowed), total.overflowed ? "tile-alert" : "tile-rest"),
    tile("Refused (queue full)", count(total.refused), total.refused ? "tile-alert" : "tile-rest"),
    tile("Avg wait", shortDuration(total.avg_wait_seconds), "tile-business"),
    tile("Service level", percent(total.service_level), "tile-ready"),
  );
}

/**
 * The headings: the row's name, then the figures.
 * @param {string} first @param {Array<[string, string, any, string]>} [columns]
 */
function headings(first, columns = COLUMNS) {
  return [
    first,
    ...columns.map(([, label, , help]) =>
      h("th", { scope: "col", class: "num", title: help }, label),
    ),
  ];
}

/** @param {Figures} row */
function cells(row) {
  return COLUMNS.map(([key, , show]) =>
    h("td", { class: "num", dataset: { col: key } }, show(row[key], row)),
  );
}

/** @param {AgentFigures} row */
function agentCells(row) {
  return AGENT_COLUMNS.map(([key, , show]) =>
    h("td", { class: "num", dataset: { col: key } }, show(row[key])),
  );
}

/**
 * @param {ServiceFigures[]} rows @param {Figures | null | undefined} total
 * @param {Map<number, number>} targets
 */
function serviceTable(rows, total, targets) {
  return section(
    "report-services",
    "Services",
    figuresTable(
      "report-services",
      headings("Service"),
      rows.map((r) =>
        h(
          "tr",
          { dataset: { service: String(r.service_id) } },
          h(
            "td",
            null,
            r.service_name,
            h(
              "span",
              { class: "muted small report-target" },
              `Target ${shortDuration(targets.get(r.service_id) ?? 20)}`,
            ),
          ),
          cells(r),
        ),
      ),
      total
        ? h(
            "tfoot",
            null,
            h(
              "tr",
              { dataset: { service: "total" } },
              h("td", null, h("strong", null, "All services")),
              cells(total),
            ),
          )
        : null,
    ),
  );
}

/** @param {AgentFigures[]} rows */
function agentTable(rows) {
  const sorted = [...rows].sort((a, b) => String(a.name).localeCompare(String(b.name)));
  return section(
    "report-agents",
    "Agents",
    sorted.length
      ? figuresTable(
          "report-agents",
          headings("Agent", AGENT_COLUMNS),
          sorted.map((r) =>
            h(
              "tr",
              { dataset: { agent: String(r.agent_id) } },
              h("td", null, r.name),
              agentCells(r),
            ),
          ),
        )
      : h("p", { class: "muted" }, "No agents."),
  );
}

/** Each agent's time in each status. @param {AgentFigures[]} rows */
function statusTable(rows) {
  if (!rows.length) return null;
  const sorted = [...rows].sort((a, b) => String(a.name).localeCompare(String(b.name)));
  const heads = [
    "Agent",
    ...STATUSES.map((status) => h("th", { scope: "col", class: "num" }, STATUS_LABELS[status])),
  ];
  return section(
    "report-status",
    "Time in each status",
    figuresTable(
      "report-status",
      heads,
      sorted.map((r) =>
        h(
          "tr",
          { dataset: { agent: String(r.agent_id) } },
          h("td", null, r.name),
          STATUSES.map((status) =>
            h(
              "td",
              { class: "num", dataset: { col: status } },
              shortDuration(r.status_seconds?.[status] ?? 0),
            ),
          ),
        ),
      ),
    ),
  );
}

/**
 * How often each wrap-up code was picked, per service.
 * @param {Array<{service_id: number, label: string, count: number}>} counts
 * @param {Service[]} services
 */
function codesTable(counts, services) {
  const names = new Map(services.map((s) => [s.id, s.name]));
  return section(
    "report-codes",
    "Wrap-up codes",
    counts.length
      ? figuresTable(
          "report-codes",
          ["Service", "Wrap-up code", h("th", { scope: "col", class: "num" }, "Calls")],
          counts.map((c) =>
            h(
              "tr",
              { dataset: { service: String(c.service_id) } },
              h("td", null, names.get(c.service_id) || `Service ${c.service_id}`),
              h("td", null, c.label),
              h("td", { class: "num", dataset: { col: "count" } }, String(c.count)),
            ),
          ),
        )
      : h("p", { class: "muted" }, "No wrap-up codes were picked for these calls."),
  );
}

/** A part of the report under its heading. @param {string} id @param {string} title @param {any} content */
function section(id, title, content) {
  return h(
    "section",
    { class: "report-section", "aria-labelledby": id },
    h("h2", { id }, title),
    content,
  );
}

/**
 * A table of figures, a row per service or agent.
 * @param {string} testid @param {any[]} heads the headings
 * @param {HTMLElement[]} rows @param {HTMLElement | null} [foot]
 */
function figuresTable(testid, heads, rows, foot = null) {
  return tableCard(table({ class: "table report-table", dataset: { testid } }, heads, rows, foot));
}
