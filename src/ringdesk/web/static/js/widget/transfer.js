// The Transfer dialog, with the manual's three ways: Direct Input (Consultation Call),
// Frequently Used Numbers (Add, rename, remove, Connect) and Available Agents (live, searchable).

import { field, h, render } from "../dom.js";
import { cti, favorites, readyAgents } from "../cti.js";
import { isPhoneNumber } from "../format.js";
import * as feed from "../feed.js";
import * as state from "../state.js";
import { confirmDialog, openDialog, promptDialog } from "../ui/dialog.js";
import { tickNow } from "../ui/ticker.js";
import { errorText } from "../ui/toast.js";

const AGENT_POLL_MS = 3000;

/** @param {string} callId */
export function openTransfer(callId) {
  const d = openDialog({
    title: "Transfer",
    className: "dialog-transfer",
    onClose: () => cleanup(),
  });
  const error = h("p", { class: "form-error", role: "alert" });

  /** Start the consultation; on success the widget shows Connect to Customer and Cancel. */
  async function start(/** @type {{number: string} | {agent_id: number}} */ target) {
    error.textContent = "";
    const ok = await cti.transfer(callId, target);
    if (ok) d.close();
    else error.textContent = state.get("notice")?.text || "The transfer could not be started.";
  }

  // 1. Direct Input
  const numberInput = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "tel",
      inputmode: "tel",
      autocomplete: "off",
      maxlength: 21,
      placeholder: "e.g. 1002",
    })
  );
  const direct = h(
    "section",
    { class: "transfer-section", "aria-labelledby": "tr-direct" },
    h("h3", { id: "tr-direct" }, "Direct Input"),
    h(
      "form",
      {
        class: "inline-form",
        novalidate: true,
        onsubmit: (/** @type {Event} */ e) => {
          e.preventDefault();
          const number = numberInput.value.replace(/[\s().-]/g, "");
          if (!isPhoneNumber(number)) {
            error.textContent = "Enter a phone number to call.";
            numberInput.focus();
            return;
          }
          void start({ number });
        },
      },
      field("Transfer number", numberInput),
      h("button", { type: "submit", class: "btn btn-primary" }, "Consultation Call"),
    ),
  );

  // 2. Frequently Used Numbers
  const favList = h("ul", { class: "rows", "aria-label": "Frequently used numbers" });
  const favLabel = /** @type {HTMLInputElement} */ (
    h("input", { type: "text", maxlength: 100, required: true })
  );
  const favNumber = /** @type {HTMLInputElement} */ (
    h("input", { type: "tel", inputmode: "tel", maxlength: 21, required: true })
  );
  const addForm = h(
    "form",
    {
      class: "inline-form add-favorite",
      novalidate: true,
      hidden: true,
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        const label = favLabel.value.trim();
        const number = favNumber.value.replace(/[\s().-]/g, "");
        if (!label || !isPhoneNumber(number)) {
          error.textContent = "A favourite needs a label and a phone number.";
          return;
        }
        try {
          await favorites.add(label, number);
          favLabel.value = "";
          favNumber.value = "";
          addForm.hidden = true;
          addButton.setAttribute("aria-expanded", "false");
          error.textContent = "";
          await loadFavorites();
        } catch (err) {
          error.textContent = errorText(err);
        }
      },
    },
    field("Label", favLabel),
    field("Number", favNumber),
    h("button", { type: "submit", class: "btn btn-primary" }, "Save number"),
  );
  const addButton = h(
    "button",
    {
      type: "button",
      class: "btn btn-small",
      "aria-expanded": "false",
      onclick: () => {
        addForm.hidden = !addForm.hidden;
        addButton.setAttribute("aria-expanded", String(!addForm.hidden));
        if (!addForm.hidden) favLabel.focus();
      },
    },
    "Add",
  );

  async function loadFavorites() {
    /** @type {Array<{id: number, label: string, number: string}>} */
    let items;
    try {
      items = await favorites.list();
    } catch (err) {
      render(favList, h("li", { class: "empty" }, errorText(err)));
      return;
    }
    if (!items.length) {
      render(favList, h("li", { class: "empty" }, "No numbers yet. Click Add to keep one here."));
      return;
    }
    render(
      favList,
      items.map((fav) =>
        h(
          "li",
          { class: "row", dataset: { favorite: String(fav.id) } },
          h(
            "span",
            { class: "row-main" },
            h("strong", null, fav.label),
            h("span", { class: "muted" }, fav.number),
          ),
          h(
            "span",
            { class: "row-actions" },
            h(
              "button",
              {
                type: "button",
                class: "btn btn-small",
                "aria-label": `Rename ${fav.label}`,
                onclick: async () => {
                  const label = await promptDialog({
                    title: "Rename number",
                    label: "Label",
                    value: fav.label,
                    confirmLabel: "Rename",
                  });
                  if (!label) return;
                  try {
                    await favorites.update(fav.id, { label });
                    await loadFavorites();
                  } catch (err) {
                    error.textContent = errorText(err);
                  }
                },
              },
              "Rename",
            ),
            h(
              "button",
              {
                type: "button",
                class: "btn btn-small",
                "aria-label": `Remove ${fav.label}`,
                onclick: async () => {
                  const ok = await confirmDialog({
                    title: "Remove number",
                    message: `Remove ${fav.label} (${fav.number}) from your frequently used numbers?`,
                    confirmLabel: "Remove",
                    danger: true,
                  });
                  if (!ok) return;
                  try {
                    await favorites.remove(fav.id);
                    await loadFavorites();
                  } catch (err) {
                    error.textContent = errorText(err);
                  }
                },
              },
              "Remove",
            ),
            h(
              "button",
              {
                type: "button",
                class: "btn btn-small btn-primary",
                "aria-label": `Connect ${fav.label}`,
                onclick: () => start({ number: fav.number }),
              },
              "Connect",
            ),
          ),
        ),
      ),
    );
  }
  const favSection = h(
    "section",
    { class: "transfer-section", "aria-labelledby": "tr-fav" },
    h(
      "div",
      { class: "section-head" },
      h("h3", { id: "tr-fav" }, "Frequently Used Numbers"),
      addButton,
    ),
    addForm,
    favList,
  );

  // 3. Available Agents (Ready agents of my services), refreshed on feed events and by polling.
  const search = /** @type {HTMLInputElement} */ (
    h("input", { type: "search", placeholder: "Search by name or number", autocomplete: "off" })
  );
  const agentList = h("ul", {
    class: "rows",
    "aria-label": "Available agents",
    "aria-live": "polite",
  });
  let loading = false;
  async function loadAgents() {
    if (loading) return;
    loading = true;
    try {
      /** @type {Array<{agent_id: number, name: string, cti_number: string, status: string, since?: string}>} */
      const agents = await readyAgents(search.value.trim());
      render(
        agentList,
        agents.length
          ? agents.map((a) =>
              h(
                "li",
                { class: "row", dataset: { agent: String(a.agent_id) } },
                h(
                  "span",
                  { class: "row-main" },
                  h("span", { class: "dot status-ready", "aria-hidden": "true" }),
                  h("strong", null, a.name),
                  h("span", { class: "muted" }, a.cti_number || ""),
                  a.since
                    ? h(
                        "span",
                        { class: "muted small" },
                        "Ready ",
                        h("span", { dataset: { since: a.since } }),
                      )
                    : null,
                ),
                h(
                  "button",
                  {
                    type: "button",
                    class: "btn btn-small btn-primary",
                    "aria-label": `Connect ${a.name}`,
                    dataset: { key: `agent-${a.agent_id}` },
                    onclick: () => start({ agent_id: a.agent_id }),
                  },
                  "Connect",
                ),
              ),
            )
          : h(
              "li",
              { class: "empty" },
              search.value ? "No Ready agent matches." : "No agent is Ready right now.",
            ),
      );
      tickNow();
    } catch (err) {
      render(agentList, h("li", { class: "empty" }, errorText(err)));
    } finally {
      loading = false;
    }
  }
  /** @type {number | undefined} */
  let searchTimer;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = window.setTimeout(loadAgents, 200);
  });
  const agentSection = h(
    "section",
    { class: "transfer-section", "aria-labelledby": "tr-agents" },
    h("h3", { id: "tr-agents" }, "Available Agents"),
    field("Search agents", search),
    agentList,
  );

  d.body.append(direct, favSection, agentSection, error);
  numberInput.focus();
  void loadFavorites();
  void loadAgents();
  const poll = window.setInterval(loadAgents, AGENT_POLL_MS);
  const unsubscribe = feed.onMessage(() => void loadAgents());
  // The call may end while the dialog is open (the customer hung up): nothing left to transfer.
  const unwatch = state.subscribe("cti", (s) => {
    if (!s || !s.call || s.call.id !== callId) d.close();
  });
  function cleanup() {
    clearInterval(poll);
    clearTimeout(searchTimer);
    unsubscribe();
    unwatch();
  }
}
