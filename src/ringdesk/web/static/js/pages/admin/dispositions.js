// A service's wrap-up codes (dispositions): the list its agents pick from in Ticket Processing,
// in order, and whether picking one is required before they go on. Saved whole with one PUT.

import { api } from "../../api.js";
import { checkbox, h } from "../../dom.js";
import * as ui from "../../ui/form.js";
import { errorText } from "../../ui/toast.js";

/** @typedef {{id: number, label: string}} Code */
/** @typedef {{service_id: number, required: boolean, codes: Code[]}} Dispositions */

/** @param {{id: number}} service */
export function dispositionsCard(service) {
  const path = `/api/admin/services/${service.id}/dispositions`;
  const card = h("section", {
    class: "card settings-form",
    "aria-labelledby": "codes-title",
    dataset: { testid: "dispositions" },
  });
  const status = ui.saveStatus();
  const list = h("ol", { class: "codes-list" });
  // Until the saved codes are in, nothing can be added (they would replace it) and the list
  // says so rather than "none".
  const empty = h("p", { class: "muted small" }, "Loading the wrap-up codes…");
  const required = checkbox("Required: an agent picks one before choosing Ready", false, {
    name: "required",
  });
  /** @type {Array<HTMLElement & {read: () => {id: number | null, label: string}}>} */
  let rows = [];
  const sync = () => {
    rows = rows.filter((r) => r.isConnected);
    empty.hidden = rows.length > 0;
  };
  /** @param {{id: number | null, label: string}} code */
  const add = (code) => {
    const label = ui.input("text", "label", {
      value: code.label,
      maxlength: 100,
      required: true,
      "aria-label": "Wrap-up code",
    });
    const row = Object.assign(
      h(
        "li",
        { class: "code-row" },
        label,
        ui.button("Remove", {
          class: "btn btn-small btn-ghost",
          onclick: () => {
            row.remove();
            sync();
          },
        }),
      ),
      { read: () => ({ id: code.id, label: label.value.trim() }) },
    );
    rows.push(row);
    list.append(row);
    sync();
    return label;
  };
  /** @param {Dispositions} saved */
  const show = (saved) => {
    for (const row of rows) row.remove();
    rows = [];
    for (const code of saved.codes) add(code);
    required.input.checked = saved.required;
    sync();
  };
  const addButton = /** @type {HTMLButtonElement} */ (
    ui.button("Add code", {
      class: "btn btn-small",
      disabled: true,
      onclick: () => add({ id: null, label: "" }).focus(),
    })
  );
  const form = ui.formWith(
    {},
    async () => {
      status.clear();
      sync();
      const body = {
        required: required.input.checked,
        codes: rows.map((r) => {
          const { id, label } = r.read();
          return id === null ? { label } : { id, label };
        }),
      };
      await ui.saveForm(form, status.fail, async () => {
        show(await api.put(path, body));
        status.ok("Wrap-up codes saved.");
      });
    },
    list,
    empty,
    h(
      "div",
      { class: "form-actions" },
      addButton,
    ),
    required,
    ui.formActions(ui.submitButton("Save wrap-up codes"), status),
  );
  card.append(
    h("h2", { id: "codes-title", class: "card-title" }, "Wrap-up codes"),
    h(
      "p",
      { class: "muted small" },
      "After a call the agent picks one in Ticket Processing; the reports count them. The " +
        "wrap-up time limit still ends Ticket Processing without one.",
    ),
    form,
  );
  void api.get(path).then(
    (saved) => {
      empty.textContent = "No wrap-up codes: agents pick none.";
      addButton.disabled = false;
      show(saved);
    },
    (err) => status.fail(errorText(err)),
  );
  return card;
}
