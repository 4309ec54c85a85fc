// The ticket list: search, filters (status, direction, service, "My tickets" or all) in the
// URL, and paging.

import { api, query } from "../api.js";
import { field, h, render, select } from "../dom.js";
import { TICKET_STATUSES, directionLabel, when } from "../format.js";
import { navigate } from "../router.js";
import * as state from "../state.js";
import { errorText } from "../ui/toast.js";

const PAGE = 25;

/** @param {HTMLElement} main @param {Record<string, string>} _params @param {URLSearchParams} params */
export async function ticketsView(main, _params, params) {
  document.title = "Tickets · Ringdesk";
  const me = state.get("me");
  const filters = {
    q: params.get("q") || "",
    status: params.get("status") || "",
    direction: params.get("direction") || "",
    service_id: params.get("service_id") || "",
    // "My tickets": those whose agent I am; else all I may see.
    mine: params.get("mine") === "true" ? "true" : "",
    offset: Number(params.get("offset")) || 0,
  };
  const q = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "search",
      name: "q",
      value: filters.q,
      placeholder: "Number, customer, subject…",
      maxlength: 200,
    })
  );
  /** @type {Array<[string, string]>} */
  const statusOptions = [
    ["", "All statuses"],
    ...TICKET_STATUSES.map(([v, l]) => /** @type {[string, string]} */ ([v, l])),
  ];
  const status = select(statusOptions, filters.status, {
    name: "status",
  });
  const direction = select(
    [
      ["", "Both directions"],
      ["inbound", "Inbound"],
      ["outbound", "Outbound"],
    ],
    filters.direction,
    { name: "direction" },
  );
  const service = select(
    [
      ["", "All services"],
      ...(me?.services || []).map((/** @type {any} */ s) => [String(s.id), s.name]),
    ],
    filters.service_id,
    { name: "service_id" },
  );
  const apply = (offset = 0, mine = filters.mine) => {
    const path = `/tickets${query({
      mine,
      q: q.value.trim(),
      status: status.value,
      direction: direction.value,
      service_id: service.value,
      offset: offset || "",
    })}`;
    void navigate(path, { replace: true });
  };
  /** @param {string} label @param {string} value */
  const whose = (label, value) =>
    h(
      "button",
      {
        type: "button",
        class: "btn btn-small",
        "aria-pressed": String(filters.mine === value),
        onclick: () => apply(0, value),
      },
      label,
    );
  const toggle = h(
    "div",
    { class: "segmented", role: "group", "aria-label": "Whose tickets" },
    whose("My tickets", "true"),
    whose("All", ""),
  );
  for (const control of [status, direction, service])
    control.addEventListener("change", () => apply());
  const form = h(
    "form",
    {
      class: "filters",
      role: "search",
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault();
        apply();
      },
    },
    field("Search", q),
    field("Status", status),
    field("Direction", direction),
    field("Service", service),
    h("button", { type: "submit", class: "btn" }, "Search"),
  );
  const results = h("div", { class: "results", "aria-live": "polite" });
  main.append(h("div", { class: "page-head" }, h("h1", null, "Tickets"), toggle), form, results);
  render(results, h("p", { class: "muted" }, "Loading tickets…"));
  try {
    const data = await api.get(
      `/api/tickets${query({
        mine: filters.mine,
        q: filters.q,
        status: filters.status,
        direction: filters.direction,
        service_id: filters.service_id,
        limit: PAGE,
        offset: filters.offset,
      })}`,
    );
    render(results, table(data.items || []), pager(data.total || 0, filters.offset, apply));
  } catch (err) {
    render(results, h("p", { class: "callout callout-error", role: "alert" }, errorText(err)));
  }
  // New tickets appear without a reload when nothing is being typed.
  /** @param {Event} _e */
  const onTicket = (_e) => {
    if (!form.contains(document.activeElement)) void refreshList();
  };
  async function refreshList() {
    try {
      const data = await api.get(
        `/api/tickets${query({ ...filters, limit: PAGE, offset: filters.offset })}`,
      );
      render(results, table(data.items || []), pager(data.total || 0, filters.offset, apply));
    } catch {
      // keep what is shown
    }
  }
  window.addEventListener("ringdesk:ticket", onTicket);
  return { cleanup: () => window.removeEventListener("ringdesk:ticket", onTicket) };
}

/** @param {any[]} items */
function table(items) {
  if (!items.length) {
    return h(
      "div",
      { class: "empty-state" },
      h("p", null, "No tickets match."),
      h("p", { class: "muted" }, "A ticket is opened for every call you take or make."),
    );
  }
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table tickets-table" },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          // "Number": the caller of an inbound call, the called customer of an outbound one.
          ["#", "Created", "Direction", "Number", "Customer", "Subject", "Agent", "Status"].map(
            (t) => h("th", { scope: "col" }, t),
          ),
        ),
      ),
      h(
        "tbody",
        null,
        items.map((t) =>
          h(
            "tr",
            { dataset: { ticket: String(t.id) } },
            h("td", null, h("a", { href: `/tickets/${t.id}` }, `#${t.id}`)),
            h("td", null, when(t.created_at)),
            h(
              "td",
              null,
              h("span", { class: `tag tag-${t.direction}` }, directionLabel(t.direction)),
            ),
            h("td", { class: "mono" }, t.customer_number),
            h(
              "td",
              null,
              t.customer
                ? h("a", { href: `/customers/${t.customer.id}` }, t.customer.name)
                : h("span", { class: "muted" }, "—"),
            ),
            h(
              "td",
              null,
              // A message a caller left: nobody has taken it yet, the list says so.
              t.outcome === "voicemail" ? h("span", { class: "badge badge-voicemail" }, "Voicemail") : null,
              t.outcome === "voicemail" ? " " : null,
              // A caller who asked to be called back: the list says so, as for a voicemail.
              t.callback ? h("span", { class: "badge badge-callback" }, "Callback") : null,
              t.callback ? " " : null,
              h("a", { href: `/tickets/${t.id}` }, t.subject || "(no subject)"),
            ),
            h("td", null, t.agent_name || "—"),
            h("td", null, h("span", { class: `badge ticket-${t.status}` }, t.status)),
          ),
        ),
      ),
    ),
  );
}

/** @param {number} total @param {number} offset @param {(offset: number) => void} go */
function pager(total, offset, go) {
  if (total <= PAGE)
    return h("p", { class: "muted small" }, `${total} ticket${total === 1 ? "" : "s"}`);
  const last = Math.min(total, offset + PAGE);
  return h(
    "nav",
    { class: "pager", "aria-label": "Pages" },
    h(
      "button",
      {
        type: "button",
        class: "btn btn-small",
        disabled: offset === 0,
        onclick: () => go(Math.max(0, offset - PAGE)),
      },
      "Previous",
    ),
    h("span", null, `${offset + 1}–${last} of ${total}`),
    h(
      "button",
      {
        type: "button",
        class: "btn btn-small",
        disabled: last >= total,
        onclick: () => go(offset + PAGE),
      },
      "Next",
    ),
  );
}
