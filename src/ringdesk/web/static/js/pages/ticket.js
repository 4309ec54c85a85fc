// The ticket screen: the call's facts and timeline, and the agent's edits (subject, notes,
// status, customer). Saving is explicit; every keystroke is also kept as a draft in localStorage
// so typed notes survive a reload, a crash or a new call taking over the screen.

import { ApiError, api, getBlob } from "../api.js";
import { field, h, render, select } from "../dom.js";
import {
  TICKET_STATUSES,
  directionLabel,
  kindLabel,
  shortDuration,
  timeOfDay,
  when,
} from "../format.js";
import { confirmDialog } from "../ui/dialog.js";
import { customerPicker } from "./customer-picker.js";
import { errorText, toast } from "../ui/toast.js";

/** @typedef {{subject: string, notes: string, status: string, customer: any}} Editable */

/** What a callback's status means, in the ticket's facts. */
const CALLBACK_STATUS = {
  waiting: "waiting",
  done: "done",
  failed: "failed (nobody answered)",
};

/**
 * The ticket's queued callback in one line: "5551234 · waiting · 1 attempt · next try 14:05".
 * @param {{number: string, status: string, attempts: number, next_try_at: string | null}} cb
 */
function callbackLine(cb) {
  const status =
    CALLBACK_STATUS[/** @type {keyof typeof CALLBACK_STATUS} */ (cb.status)] || cb.status;
  const parts = [cb.number, status];
  if (cb.attempts) parts.push(`${cb.attempts} ${cb.attempts === 1 ? "attempt" : "attempts"}`);
  if (cb.status === "waiting" && cb.next_try_at) parts.push(`next try ${timeOfDay(cb.next_try_at)}`);
  return parts.join(" · ");
}

/** @param {number | string} id */
const draftKey = (id) => `ringdesk.draft.ticket.${id}`;

/**
 * A draft keeps what the agent typed and the saved values it was typed over, so that on restore
 * only the fields the agent changed win; a field someone else changed meanwhile is not reverted.
 * @typedef {{base: Editable, values: Editable}} Draft
 */

/** @param {number | string} id @returns {Draft | null} */
function readDraft(id) {
  try {
    const raw = localStorage.getItem(draftKey(id));
    const draft = raw ? JSON.parse(raw) : null;
    return draft && draft.base && draft.values ? draft : null;
  } catch {
    return null;
  }
}

/**
 * The saved ticket with the agent's own changes from the draft on top.
 * @param {Editable} saved @param {Draft} draft @returns {Editable}
 */
function withDraft(saved, draft) {
  const out = { ...saved };
  if (draft.values.subject !== draft.base.subject) out.subject = draft.values.subject;
  if (draft.values.notes !== draft.base.notes) out.notes = draft.values.notes;
  if (draft.values.status !== draft.base.status) out.status = draft.values.status;
  if ((draft.values.customer?.id ?? null) !== (draft.base.customer?.id ?? null)) {
    out.customer = draft.values.customer;
  }
  return out;
}

/** @param {any} t @returns {Editable} */
function editableOf(t) {
  return {
    subject: t.subject || "",
    notes: t.notes || "",
    status: t.status || "open",
    customer: t.customer || null,
  };
}

/** @param {Editable} a @param {Editable} b */
function same(a, b) {
  return (
    a.subject === b.subject &&
    a.notes === b.notes &&
    a.status === b.status &&
    (a.customer?.id ?? null) === (b.customer?.id ?? null)
  );
}

/** @param {HTMLElement} main @param {Record<string, string>} params */
export async function ticketView(main, params) {
  const id = params.id;
  document.title = `Ticket #${id} · Ringdesk`;
  /** @type {any} */
  let ticket;
  try {
    ticket = await api.get(`/api/tickets/${encodeURIComponent(id)}`);
  } catch (err) {
    main.append(
      h("h1", null, `Ticket #${id}`),
      h(
        "p",
        { class: "callout callout-error", role: "alert" },
        err instanceof ApiError && err.status === 404
          ? "This ticket does not exist or is not yours to see."
          : errorText(err),
      ),
      h("p", null, h("a", { href: "/tickets" }, "Back to tickets")),
    );
    return;
  }
  let base = editableOf(ticket);
  /** @type {Editable} */
  let current = { ...base };

  const subject = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "text",
      name: "subject",
      maxlength: 200,
      value: current.subject,
      placeholder: "What is the call about?",
    })
  );
  const status = select(
    TICKET_STATUSES.map(([v, l]) => [v, l]),
    current.status,
    { name: "status" },
  );
  const notes = /** @type {HTMLTextAreaElement} */ (
    h("textarea", {
      name: "notes",
      rows: 10,
      maxlength: 20000,
      placeholder: "Notes from the conversation…",
    })
  );
  notes.value = current.notes;
  const customerBox = h("div", { class: "customer-box" });
  const dirtyNote = h("span", { class: "dirty-note", role: "status" });
  const saveButton = /** @type {HTMLButtonElement} */ (
    h("button", { type: "submit", class: "btn btn-primary" }, "Save")
  );
  const formError = h("p", { class: "form-error", role: "alert" });
  const draftBanner = h("div", { class: "draft-banner" });
  const side = h("div", { class: "ticket-side" });

  const draft = readDraft(id);
  const restored = draft ? withDraft(base, draft) : null;
  // What the draft was typed over: kept as it was, so a later restore stays field-by-field.
  let draftBase = draft ? draft.base : base;
  if (restored && !same(restored, base)) {
    current = restored;
    subject.value = current.subject;
    notes.value = current.notes;
    status.value = current.status;
    render(
      draftBanner,
      h(
        "div",
        { class: "callout callout-info" },
        h("span", null, "Your unsaved changes from earlier were restored. Save to keep them. "),
        h(
          "button",
          {
            type: "button",
            class: "btn btn-small",
            onclick: async () => {
              const ok = await confirmDialog({
                title: "Discard changes",
                message: "Throw away the unsaved changes and show the saved ticket?",
                confirmLabel: "Discard",
                danger: true,
              });
              if (!ok) return;
              setForm(base);
              render(draftBanner);
            },
          },
          "Discard changes",
        ),
      ),
    );
  } else if (draft) {
    localStorage.removeItem(draftKey(id));
  }

  const dirty = () => !same(current, base);
  function onEdit() {
    current = { ...current, subject: subject.value, notes: notes.value, status: status.value };
    syncDirty();
  }
  function syncDirty() {
    if (dirty()) {
      localStorage.setItem(draftKey(id), JSON.stringify({ base: draftBase, values: current }));
      dirtyNote.textContent = "Unsaved changes";
      saveButton.disabled = false;
    } else {
      draftBase = base;
      localStorage.removeItem(draftKey(id));
      dirtyNote.textContent = "";
      saveButton.disabled = true;
    }
  }
  /** @param {Editable} values */
  function setForm(values) {
    current = { ...values };
    subject.value = values.subject;
    notes.value = values.notes;
    status.value = values.status;
    renderCustomer();
    syncDirty();
  }
  for (const el of [subject, notes]) el.addEventListener("input", onEdit);
  status.addEventListener("change", onEdit);

  let picking = false;
  function renderCustomer() {
    const c = current.customer;
    render(
      customerBox,
      c
        ? h(
            "div",
            { class: "customer-card" },
            h(
              "strong",
              { class: "customer-name" },
              h("a", { href: `/customers/${c.id}`, dataset: { key: "customer-page" } }, c.name),
            ),
            h("span", { class: "mono" }, c.phone || ""),
            c.email ? h("span", { class: "muted" }, c.email) : null,
          )
        : h("p", { class: "muted" }, `No customer matches ${ticket.customer_number}.`),
      h(
        "button",
        {
          type: "button",
          class: "btn btn-small",
          "aria-expanded": String(picking),
          dataset: { key: "change-customer" },
          onclick: () => {
            picking = !picking;
            renderCustomer();
          },
        },
        c ? "Change customer" : "Set customer",
      ),
      picking ? customerPicker(ticket.customer_number || "", choose) : null,
    );
  }

  /** @param {any} customer */
  function choose(customer) {
    picking = false;
    current = { ...current, customer };
    renderCustomer();
    syncDirty();
    saveButton.focus();
  }

  async function save() {
    formError.textContent = "";
    /** @type {Record<string, any>} */
    const changes = {};
    if (current.subject !== base.subject) changes.subject = current.subject;
    if (current.notes !== base.notes) changes.notes = current.notes;
    if (current.status !== base.status) changes.status = current.status;
    if ((current.customer?.id ?? null) !== (base.customer?.id ?? null))
      changes.customer_id = current.customer?.id ?? null;
    if (!Object.keys(changes).length) return;
    saveButton.disabled = true;
    saveButton.textContent = "Saving…";
    try {
      ticket = await api.patch(`/api/tickets/${encodeURIComponent(id)}`, changes);
      base = editableOf(ticket);
      draftBase = base;
      // Keep anything typed while the request was on its way.
      current = { ...current, customer: ticket.customer || null };
      render(draftBanner);
      syncDirty();
      renderSide();
      void loadPrevious();
      toast(`Ticket #${id} saved.`, "success", 3000);
    } catch (err) {
      formError.textContent = `Not saved: ${errorText(err)} Your changes are kept on this computer.`;
      syncDirty();
    } finally {
      saveButton.textContent = "Save";
    }
  }

  /** @type {Map<number, HTMLElement>} one player per recording, kept across re-renders */
  const players = new Map();

  /** @param {{id: number, kind: string, seconds: number, url: string}[]} recordings */
  function recordingsCard(recordings) {
    if (!recordings.length) return null;
    return h(
      "section",
      { class: "card", "aria-labelledby": "recordings-title" },
      h("h2", { id: "recordings-title" }, "Recordings"),
      recordings.map((r) => {
        let player = players.get(r.id);
        if (!player) {
          const audio = /** @type {HTMLAudioElement} */ (
            h("audio", { controls: true, preload: "none", dataset: { recording: String(r.id) } })
          );
          const download = /** @type {HTMLAnchorElement} */ (
            h("a", { class: "btn btn-small btn-ghost", download: `recording-${r.id}.wav` }, "Download")
          );
          download.hidden = true;
          // The API wants the bearer token, which an <audio src> cannot send: fetched once.
          getBlob(r.url)
            .then((blob) => {
              const url = URL.createObjectURL(blob);
              audio.src = url;
              download.href = url;
              download.hidden = false;
            })
            .catch((err) => toast(errorText(err), "error"));
          player = h(
            "div",
            { class: "recording" },
            h("p", null, `${kindLabel(r.kind)} · ${shortDuration(r.seconds)}`),
            audio,
            download,
          );
          players.set(r.id, player);
        }
        return player;
      }),
    );
  }

  // The same customer's (or number's) other tickets: its own request, since it depends on who
  // looks; asked again when the ticket's saved customer changes.
  const previousCard = h(
    "section",
    { class: "card", "aria-labelledby": "previous-title", dataset: { testid: "previous-tickets" } },
  );
  /** @type {number | null | undefined} the customer the card was loaded for */
  let previousFor;
  async function loadPrevious() {
    const customerId = ticket.customer?.id ?? null;
    if (customerId === previousFor) return;
    previousFor = customerId;
    /** @type {any[]} */
    let earlier;
    try {
      earlier = await api.get(`/api/tickets/${encodeURIComponent(id)}/previous`);
    } catch (err) {
      previousFor = undefined;
      render(previousCard, h("h2", { id: "previous-title" }, "Previous tickets"), errorText(err));
      return;
    }
    const who = ticket.customer;
    render(
      previousCard,
      h("h2", { id: "previous-title" }, "Previous tickets"),
      earlier.length
        ? h(
            "ul",
            { class: "previous-tickets" },
            earlier.map((e) =>
              h(
                "li",
                { dataset: { ticket: String(e.id) } },
                h("a", { href: `/tickets/${e.id}` }, `#${e.id} ${e.subject || "(no subject)"}`),
                h("span", { class: `badge ticket-${e.status}` }, e.status),
                h(
                  "span",
                  { class: "muted small" },
                  [when(e.created_at), e.agent_name].filter(Boolean).join(" · "),
                ),
              ),
            ),
          )
        : h(
            "p",
            { class: "muted" },
            who ? `No other tickets of ${who.name}.` : `No other tickets from ${ticket.customer_number}.`,
          ),
      who ? h("p", null, h("a", { href: `/customers/${who.id}` }, `All of ${who.name}'s tickets and calls`)) : null,
    );
  }

  const statusBadge = h("span", { class: "badge" });
  function renderSide() {
    // The saved status, in the heading.
    statusBadge.className = `badge ticket-${ticket.status}`;
    statusBadge.textContent = ticket.status;
    render(
      side,
      h(
        "section",
        { class: "card", "aria-labelledby": "call-facts" },
        h("h2", { id: "call-facts" }, "Call"),
        h(
          "dl",
          { class: "facts" },
          // An outbound call's customer did not call: they were called.
          h("dt", null, ticket.direction === "outbound" ? "Called" : "Caller"),
          h("dd", { class: "mono", dataset: { testid: "ticket-caller" } }, ticket.customer_number),
          h("dt", null, "Direction"),
          h("dd", null, directionLabel(ticket.direction)),
          h("dt", null, "Service"),
          h("dd", null, ticket.service_name || "–"),
          h("dt", null, "Agent"),
          h("dd", null, ticket.agent_name || "–"),
          h("dt", null, "Created"),
          h("dd", null, when(ticket.created_at)),
          h("dt", null, "Connected"),
          h("dd", null, ticket.connected_at ? when(ticket.connected_at) : "–"),
          h("dt", null, "Ended"),
          h("dd", null, ticket.ended_at ? when(ticket.ended_at) : "In progress"),
          h("dt", null, "Duration"),
          h(
            "dd",
            null,
            ticket.duration_seconds != null ? shortDuration(ticket.duration_seconds) : "–",
          ),
          h("dt", null, "Outcome"),
          h("dd", null, ticket.outcome ? kindLabel(ticket.outcome) : "–"),
          ticket.callback
            ? [
                h("dt", null, "Callback"),
                h("dd", { dataset: { testid: "ticket-callback" } }, callbackLine(ticket.callback)),
              ]
            : null,
        ),
      ),
      previousCard,
      recordingsCard(ticket.recordings || []),
      h(
        "section",
        { class: "card", "aria-labelledby": "timeline-title" },
        h("h2", { id: "timeline-title" }, "Timeline"),
        (ticket.timeline || []).length
          ? h(
              "ol",
              { class: "timeline" },
              ticket.timeline.map((/** @type {any} */ e) =>
                h(
                  "li",
                  null,
                  h("time", { datetime: e.at }, timeOfDay(e.at)),
                  h("span", { class: "timeline-kind" }, kindLabel(e.kind)),
                  e.detail ? h("span", { class: "muted" }, String(e.detail)) : null,
                ),
              ),
            )
          : h("p", { class: "muted" }, "No events yet."),
      ),
    );
  }

  const form = h(
    "form",
    {
      class: "card ticket-form",
      novalidate: true,
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault();
        void save();
      },
    },
    draftBanner,
    field("Subject", subject),
    h(
      "div",
      { class: "field" },
      h("span", { class: "label", id: "customer-label" }, "Customer"),
      customerBox,
    ),
    field("Status", status),
    field("Notes", notes),
    formError,
    h("div", { class: "form-actions" }, saveButton, dirtyNote),
  );
  customerBox.setAttribute("role", "group");
  customerBox.setAttribute("aria-labelledby", "customer-label");
  main.append(
    h(
      "div",
      { class: "page-head" },
      h("a", { href: "/tickets", class: "back-link" }, "← Tickets"),
      h("h1", null, `Ticket #${ticket.id}`, statusBadge),
    ),
    h("div", { class: "ticket-layout" }, form, side),
  );
  renderCustomer();
  renderSide();
  syncDirty();
  void loadPrevious();

  // Ctrl/Cmd+S saves, as in every editor.
  /** @param {KeyboardEvent} e */
  const onKey = (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "s") {
      e.preventDefault();
      void save();
    }
  };
  // The feed says the ticket changed (call ended, someone edited it): refresh what is not being edited.
  /** @param {Event} e */
  const onUpdate = async (e) => {
    let updated = /** @type {CustomEvent} */ (e).detail;
    if (!updated || String(updated.id) !== String(id)) return;
    if (!updated.timeline) {
      // A summary without the timeline: fetch the whole ticket.
      try {
        updated = await api.get(`/api/tickets/${encodeURIComponent(id)}`);
      } catch {
        return;
      }
    }
    const wasDirty = dirty();
    ticket = updated;
    base = editableOf(ticket);
    if (!wasDirty) setForm(base);
    else syncDirty();
    renderSide();
    void loadPrevious();
  };
  document.addEventListener("keydown", onKey);
  window.addEventListener("ringdesk:ticket", onUpdate);
  return {
    cleanup: () => {
      document.removeEventListener("keydown", onKey);
      window.removeEventListener("ringdesk:ticket", onUpdate);
    },
    isDirty: dirty,
    canLeave: async () => {
      if (!dirty()) return true;
      return confirmDialog({
        title: "Unsaved changes",
        message: `Ticket #${id} has changes that are not saved. They stay on this computer as a draft and come back when you open the ticket again.`,
        confirmLabel: "Leave",
      });
    },
  };
}
