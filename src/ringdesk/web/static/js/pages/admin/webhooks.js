// Webhooks: URLs of a CRM or helpdesk that get the events they subscribe to, signed with
// their secret (shown once, at creation and on rotation), and the log of their deliveries.

import { api, query } from "../../api.js";
import { checkbox, field, h, render } from "../../dom.js";
import { when } from "../../format.js";
import { openDialog } from "../../ui/dialog.js";
import * as ui from "../../ui/form.js";
import { table } from "../../ui/table.js";
import { adminShell } from "./shell.js";

/**
 * @typedef {{id: number, url: string, events: string[], description: string, enabled: boolean,
 *   created_at: string, pending: number, failed: number, secret?: string}} Webhook
 * @typedef {{id: number, event: string, status: "pending" | "delivered" | "failed",
 *   attempts: number, created_at: string, next_try_at: string | null,
 *   delivered_at: string | null, last_status_code: number | null, last_error: string | null,
 *   payload: string}} Delivery
 */
/** @typedef {import("../../ui/form.js").SaveStatus} SaveStatus */

/** @type {Record<string, string>} */
const EVENT_LABELS = {
  "call.offered": "A call is offered to an agent",
  "call.answered": "A call is answered",
  "call.ended": "A call ends",
  "ticket.opened": "A ticket is opened for an agent",
  "ticket.updated": "An agent edits a ticket",
  "agent.status": "An agent's status changes",
};

/** @type {Record<string, string>} */
const DELIVERY_STATUS = { pending: "Pending", delivered: "Delivered", failed: "Failed" };

const PAGE = 25;

/** @param {HTMLElement} main */
export async function webhooksView(main) {
  const content = adminShell(main, "/admin/webhooks", "Webhooks");
  const tableBox = h("div", { class: "card table-wrap" });
  const status = ui.saveStatus();
  const secretBox = h("div");
  const logBox = h("div");
  /** @type {string[]} */
  let events = Object.keys(EVENT_LABELS);
  const load = () =>
    ui.renderLoaded(
      tableBox,
      () => api.get("/api/admin/webhooks"),
      (/** @type {Webhook[]} */ hooks) =>
        webhooksTable(hooks, { reload: load, status, secretBox, logBox, events }),
    );
  try {
    events = (await api.get("/api/admin/webhooks/events")).events;
  } catch {
    // the labels' list is the same; the table's load says what is wrong
  }
  const form = webhookForm(null, events, async (created) => {
    if (created?.secret) showSecret(secretBox, created, created.secret);
    await load();
  });
  form.classList.add("card", "settings-form");
  content.append(
    h(
      "p",
      { class: "hint" },
      "Each event is POSTed as JSON to the URL, signed with the webhook's secret " +
        "(the Ringdesk-Signature header; see the admin guide, Webhooks). A webhook's events " +
        "arrive in order; one that fails is tried again with growing waits for a day.",
    ),
    tableBox,
    status,
    secretBox,
    logBox,
    form,
  );
  await load();
}

/**
 * @typedef {{reload: () => Promise<void>, status: SaveStatus, secretBox: HTMLElement,
 *   logBox: HTMLElement, events: string[]}} Parts
 */

/** @param {Webhook[]} hooks @param {Parts} parts */
function webhooksTable(hooks, parts) {
  const { reload, status } = parts;
  if (!hooks.length) {
    return h("p", { class: "empty" }, "No webhook yet. Add one below.");
  }
  return table(
    { class: "table" },
    ["URL", "Events", "Enabled", "Waiting", ""],
    hooks.map((w) =>
      h(
        "tr",
        { dataset: { webhook: String(w.id) } },
        h(
          "td",
          { class: "mono" },
          w.url,
          w.description ? h("div", { class: "hint" }, w.description) : null,
        ),
        h("td", null, w.events.join(", ")),
        h("td", null, w.enabled ? "Yes" : "No"),
        h(
          "td",
          null,
          String(w.pending),
          w.failed ? h("span", { class: "hint" }, ` (${w.failed} failed)`) : null,
        ),
        h(
          "td",
          { class: "row-actions" },
          ui.button("Log", {
            class: "btn btn-small",
            "aria-label": `Deliveries of ${w.url}`,
            onclick: () => showLog(parts.logBox, w, reload),
          }),
          ui.button("Test", {
            class: "btn btn-small",
            "aria-label": `Send a test event to ${w.url}`,
            onclick: () =>
              ui.attempt(status.fail, async () => {
                await api.post(`/api/admin/webhooks/${w.id}/ping`);
                status.ok("Test event queued: see the log.");
                await showLog(parts.logBox, w, reload);
              }),
          }),
          ui.button("Edit", {
            class: "btn btn-small",
            "aria-label": `Edit ${w.url}`,
            onclick: () => editWebhook(w, parts.events, reload),
          }),
          ui.button("Rotate secret", {
            class: "btn btn-small btn-ghost",
            "aria-label": `New secret for ${w.url}`,
            onclick: ui.confirmed(
              {
                title: "Rotate secret",
                message:
                  "Make a new secret? From now on every delivery is signed with it: the " +
                  "receiver must be given it, the old one stops verifying at once.",
                confirmLabel: "Rotate",
                danger: true,
              },
              status.fail,
              async () => {
                const { secret } = await api.post(`/api/admin/webhooks/${w.id}/secret`);
                showSecret(parts.secretBox, w, secret);
              },
            ),
          }),
          ui.button("Delete", {
            class: "btn btn-small btn-ghost",
            "aria-label": `Delete ${w.url}`,
            onclick: ui.confirmed(
              {
                title: "Delete webhook",
                message: `Delete the webhook to ${w.url}? Its waiting deliveries go with it.`,
                confirmLabel: "Delete",
                danger: true,
              },
              status.fail,
              async () => {
                await api.del(`/api/admin/webhooks/${w.id}`);
                status.ok("Webhook deleted.");
                render(parts.logBox);
                await reload();
              },
            ),
          }),
        ),
      ),
    ),
  );
}

/**
 * The secret, shown this once.
 * @param {HTMLElement} box @param {Webhook} w @param {string} secret
 */
function showSecret(box, w, secret) {
  const code = h("code", { class: "secret", "data-webhook-secret": String(w.id) }, secret);
  render(
    box,
    h(
      "div",
      { class: "card", role: "status" },
      h("h2", { class: "card-title" }, "The webhook's secret"),
      h(
        "p",
        null,
        `Give it to the receiver at ${w.url} to verify the signatures. It is shown this once; ` +
          "Rotate secret makes a new one.",
      ),
      h("div", { class: "secret-row" }, code, ui.copyButton(secret, code, "secret")),
      ui.button("Done", { class: "btn btn-small", onclick: () => render(box) }),
    ),
  );
}

/** @param {Webhook} w @param {string[]} events @param {() => Promise<void>} reload */
function editWebhook(w, events, reload) {
  const d = openDialog({ title: "Edit webhook" });
  d.body.append(
    webhookForm(w, events, async () => {
      d.close();
      await reload();
    }),
  );
}

/**
 * The form of a new webhook (`hook` null) or of an existing one.
 * @param {Webhook | null} hook
 * @param {string[]} events
 * @param {(saved: Webhook) => Promise<void>} saved
 */
function webhookForm(hook, events, saved) {
  const url = ui.input("text", "url", {
    value: hook?.url ?? "",
    inputmode: "url",
    spellcheck: "false",
    maxlength: 2000,
    autocomplete: "off",
    placeholder: "https://crm.example.com/hooks/ringdesk",
  });
  const description = ui.input("text", "description", {
    value: hook?.description ?? "",
    maxlength: 200,
  });
  const enabled = checkbox("Enabled", hook?.enabled ?? true, { name: "enabled" });
  const boxes = events.map((name) =>
    checkbox(`${name}: ${EVENT_LABELS[name] || name}`, hook ? hook.events.includes(name) : true, {
      name: "events",
      value: name,
    }),
  );
  const status = ui.saveStatus();
  const form = ui.formWith(
    {},
    async () => {
      status.clear();
      const body = {
        url: url.value.trim(),
        events: boxes.filter((b) => b.input.checked).map((b) => b.input.value),
        description: description.value.trim(),
        enabled: enabled.input.checked,
      };
      await ui.saveForm(form, status.fail, async () => {
        /** @type {Webhook} */
        const result = hook
          ? await api.patch(`/api/admin/webhooks/${hook.id}`, body)
          : await api.post("/api/admin/webhooks", body);
        status.ok("Webhook saved.");
        if (!hook) {
          url.value = "";
          description.value = "";
        }
        await saved(result);
      });
    },
    hook ? null : h("h2", { class: "card-title" }, "New webhook"),
    field(
      "URL",
      url,
      "http:// or https://, no user name or password in it; redirects are not followed.",
    ),
    field("Description", description, "What receives it (for you)."),
    h("fieldset", { class: "fieldset" }, h("legend", null, "Events"), ...boxes),
    enabled,
    ui.formActions(ui.submitButton(hook ? "Save" : "Add webhook"), status),
  );
  return form;
}

/**
 * A webhook's deliveries, newest first, a page at a time.
 * @param {HTMLElement} box @param {Webhook} w @param {() => Promise<void>} reload
 */
async function showLog(box, w, reload, offset = 0) {
  const status = ui.saveStatus();
  const again = () => showLog(box, w, reload, offset);
  await ui.renderLoaded(
    box,
    () => api.get(`/api/admin/webhooks/${w.id}/deliveries${query({ limit: PAGE, offset })}`),
    (/** @type {{items: Delivery[], total: number}} */ page) =>
      h(
        "div",
        { class: "card", "data-webhook-log": String(w.id) },
        h("h2", { class: "card-title" }, `Deliveries to ${w.url}`),
        page.items.length
          ? table(
              { class: "table" },
              ["#", "Event", "Status", "Attempts", "Last answer", "Created", ""],
              page.items.map((d) =>
                h(
                  "tr",
                  { dataset: { delivery: String(d.id) } },
                  h("td", null, String(d.id)),
                  h("td", { class: "mono" }, d.event),
                  h(
                    "td",
                    null,
                    DELIVERY_STATUS[d.status] || d.status,
                    d.status === "pending" && d.attempts
                      ? h("span", { class: "hint" }, ` (next try ${when(d.next_try_at)})`)
                      : null,
                    d.delivered_at
                      ? h("span", { class: "hint" }, ` ${when(d.delivered_at)}`)
                      : null,
                  ),
                  h("td", null, String(d.attempts)),
                  h(
                    "td",
                    null,
                    d.last_error || (d.last_status_code ? `HTTP ${d.last_status_code}` : "–"),
                  ),
                  h("td", null, when(d.created_at)),
                  h(
                    "td",
                    { class: "row-actions" },
                    d.status === "failed"
                      ? ui.button("Send again", {
                          class: "btn btn-small",
                          onclick: () =>
                            ui.attempt(status.fail, async () => {
                              await api.post(
                                `/api/admin/webhooks/${w.id}/deliveries/${d.id}/resend`,
                              );
                              await again();
                              await reload();
                            }),
                        })
                      : null,
                  ),
                ),
              ),
            )
          : h("p", { class: "empty" }, "No delivery in the last 7 days."),
        h(
          "div",
          { class: "form-actions" },
          ui.button("Refresh", { class: "btn btn-small", onclick: again }),
          offset > 0
            ? ui.button("Newer", {
                class: "btn btn-small",
                onclick: () => showLog(box, w, reload, Math.max(0, offset - PAGE)),
              })
            : null,
          offset + PAGE < page.total
            ? ui.button("Older", {
                class: "btn btn-small",
                onclick: () => showLog(box, w, reload, offset + PAGE),
              })
            : null,
          h("span", { class: "hint" }, `${page.total} in all`),
          status,
        ),
      ),
  );
}
