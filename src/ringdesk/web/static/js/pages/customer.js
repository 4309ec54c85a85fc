// A customer's page: their name, phone and email (editable), their tickets and their calls, as
// far as the viewer may see them (the server leaves out the rest).

import { ApiError, api, query } from "../api.js";
import { field, h, render } from "../dom.js";
import { directionLabel, isPhoneNumber, kindLabel, shortDuration, when } from "../format.js";
import { errorText, toast } from "../ui/toast.js";
import { table } from "../ui/table.js";

const PAGE = 25;

/** @param {HTMLElement} main @param {Record<string, string>} params */
export async function customerView(main, params) {
  const id = params.id;
  const base = `/api/customers/${encodeURIComponent(id)}`;
  document.title = `Customer #${id} · Ringdesk`;
  /** @type {any} */
  let customer;
  try {
    customer = await api.get(base);
  } catch (err) {
    main.append(
      h("h1", null, `Customer #${id}`),
      h(
        "p",
        { class: "callout callout-error", role: "alert" },
        err instanceof ApiError && err.status === 404
          ? "This customer does not exist."
          : errorText(err),
      ),
      h("p", null, h("a", { href: "/tickets" }, "Back to tickets")),
    );
    return;
  }
  const heading = h("h1", null, customer.name);
  const summary = h("p", { class: "muted", dataset: { testid: "customer-counts" } });
  const count = (/** @type {number} */ n, /** @type {string} */ noun) =>
    `${n} ${noun}${n === 1 ? "" : "s"}`;
  const summarize = () => {
    summary.textContent = `${count(customer.tickets, "ticket")} · ${count(customer.calls, "call")}`;
  };
  summarize();
  document.title = `${customer.name} · Ringdesk`;

  const name = /** @type {HTMLInputElement} */ (
    h("input", { type: "text", name: "name", maxlength: 200, required: true, value: customer.name })
  );
  const phone = /** @type {HTMLInputElement} */ (
    h("input", { type: "tel", name: "phone", maxlength: 21, required: true, value: customer.phone })
  );
  const email = /** @type {HTMLInputElement} */ (
    h("input", { type: "email", name: "email", maxlength: 200, value: customer.email || "" })
  );
  const formError = h("p", { class: "form-error", role: "alert" });
  const saveButton = h("button", { type: "submit", class: "btn btn-primary" }, "Save");
  const form = h(
    "form",
    {
      class: "card customer-form",
      novalidate: true,
      "aria-labelledby": "customer-details",
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault();
        void save();
      },
    },
    h("h2", { id: "customer-details" }, "Details"),
    field("Name", name),
    field("Phone", phone),
    field("Email (optional)", email),
    formError,
    h("div", { class: "form-actions" }, saveButton),
  );

  async function save() {
    formError.textContent = "";
    const phoneValue = phone.value.replace(/[\s().-]/g, "");
    if (!name.value.trim() || !isPhoneNumber(phoneValue)) {
      formError.textContent = "A customer needs a name and a phone number.";
      return;
    }
    /** @type {Record<string, any>} */
    const changes = {};
    if (name.value.trim() !== customer.name) changes.name = name.value.trim();
    if (phoneValue !== customer.phone) changes.phone = phoneValue;
    const emailValue = email.value.trim() || null;
    if (emailValue !== (customer.email || null)) changes.email = emailValue;
    if (!Object.keys(changes).length) return;
    try {
      await api.patch(base, changes);
      // The counts change with the phone (the unlinked tickets and calls from it).
      customer = await api.get(base);
      heading.textContent = customer.name;
      summarize();
      phone.value = customer.phone;
      toast(`${customer.name} saved.`, "success", 3000);
      void loadTickets(0);
      void loadCalls(0);
    } catch (err) {
      formError.textContent = `Not saved: ${errorText(err)}`;
    }
  }

  const ticketsBox = h("div", { "aria-live": "polite" });
  const callsBox = h("div", { "aria-live": "polite" });
  main.append(
    h(
      "div",
      { class: "page-head" },
      h("a", { href: "/tickets", class: "back-link" }, "← Tickets"),
      heading,
      summary,
    ),
    h(
      "div",
      { class: "ticket-layout" },
      h(
        "div",
        null,
        h(
          "section",
          { class: "card", "aria-labelledby": "customer-tickets" },
          h("h2", { id: "customer-tickets" }, "Tickets"),
          ticketsBox,
        ),
        h(
          "section",
          { class: "card", "aria-labelledby": "customer-calls" },
          h("h2", { id: "customer-calls" }, "Calls"),
          callsBox,
        ),
      ),
      form,
    ),
  );

  /** @param {number} offset */
  async function loadTickets(offset) {
    try {
      const page = await api.get(`${base}/tickets${query({ limit: PAGE, offset })}`);
      render(ticketsBox, ticketsTable(page.items), pager(page.total, offset, "ticket", loadTickets));
    } catch (err) {
      render(ticketsBox, h("p", { class: "callout callout-error", role: "alert" }, errorText(err)));
    }
  }
  /** @param {number} offset */
  async function loadCalls(offset) {
    try {
      const page = await api.get(`${base}/calls${query({ limit: PAGE, offset })}`);
      render(callsBox, callsTable(page.items), pager(page.total, offset, "call", loadCalls));
    } catch (err) {
      render(callsBox, h("p", { class: "callout callout-error", role: "alert" }, errorText(err)));
    }
  }
  await Promise.all([loadTickets(0), loadCalls(0)]);
}

/** @param {any[]} items */
function ticketsTable(items) {
  if (!items.length) return h("p", { class: "muted" }, "No tickets you may see.");
  const rows = items.map((t) =>
    h(
      "tr",
      { dataset: { ticket: String(t.id) } },
      h("td", null, h("a", { href: `/tickets/${t.id}` }, `#${t.id}`)),
      h("td", null, when(t.created_at)),
      h("td", null, t.service_name || "—"),
      h("td", null, h("a", { href: `/tickets/${t.id}` }, t.subject || "(no subject)")),
      h("td", null, t.agent_name || "—"),
      h("td", null, h("span", { class: `badge ticket-${t.status}` }, t.status)),
    ),
  );
  const headings = ["#", "Created", "Service", "Subject", "Agent", "Status"];
  return h("div", { class: "table-wrap" }, table({ class: "table" }, headings, rows));
}

/** @param {any[]} items */
function callsTable(items) {
  if (!items.length) return h("p", { class: "muted" }, "No calls of your services.");
  const rows = items.map((c) =>
    h(
      "tr",
      { dataset: { call: c.call_id } },
      h("td", null, when(c.arrived_at)),
      h("td", null, h("span", { class: `tag tag-${c.direction}` }, directionLabel(c.direction))),
      h("td", null, c.service_name || "—"),
      h("td", null, c.agent_name || "—"),
      h("td", null, c.outcome ? kindLabel(c.outcome) : "In progress"),
      h("td", null, c.talk_seconds != null ? shortDuration(c.talk_seconds) : "–"),
      h(
        "td",
        null,
        c.ticket_id ? h("a", { href: `/tickets/${c.ticket_id}` }, `#${c.ticket_id}`) : "—",
      ),
    ),
  );
  const headings = ["Time", "Direction", "Service", "Agent", "Outcome", "Talk", "Ticket"];
  return h("div", { class: "table-wrap" }, table({ class: "table" }, headings, rows));
}

/**
 * @param {number} total @param {number} offset @param {string} noun
 * @param {(offset: number) => Promise<void>} go
 */
function pager(total, offset, noun, go) {
  if (total <= PAGE) return h("p", { class: "muted small" }, `${total} ${noun}${total === 1 ? "" : "s"}`);
  const last = Math.min(total, offset + PAGE);
  return h(
    "nav",
    { class: "pager", "aria-label": `Pages of ${noun}s` },
    h(
      "button",
      {
        type: "button",
        class: "btn btn-small",
        disabled: offset === 0,
        onclick: () => void go(Math.max(0, offset - PAGE)),
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
        onclick: () => void go(offset + PAGE),
      },
      "Next",
    ),
  );
}
