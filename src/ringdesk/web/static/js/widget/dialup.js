// The Dial up dialog: customer number, one of the service's registered calling numbers, Confirm.

import { field, h, select } from "../dom.js";
import { cti } from "../cti.js";
import * as state from "../state.js";
import { openDialog } from "../ui/dialog.js";

/**
 * @param {string | import("../types.js").CallingNumber} cn a calling number as the API lists
 *   it: a string or {number, label}
 * @returns {[string, string]} value and label of its <option>
 */
function callingNumberOption(cn) {
  if (typeof cn === "string") return [cn, cn];
  const number = String(cn.number);
  return [number, cn.label ? `${number} — ${cn.label}` : number];
}

export function openDialUp() {
  /** @type {import("../types.js").Me | null} */
  const me = state.get("me");
  const services = (me?.services || []).filter((s) => s.outbound_enabled);
  const d = openDialog({ title: "Dial up", className: "dialog-small" });
  if (!services.length) {
    d.body.append(
      h(
        "p",
        null,
        "None of your services allows outbound calls. An admin enables Use Phone CTI – OB.",
      ),
      h(
        "div",
        { class: "dialog-actions" },
        h("button", { type: "button", class: "btn", onclick: () => d.close() }, "Close"),
      ),
    );
    return;
  }
  const serviceSelect = select(
    services.map((/** @type {any} */ s) => [String(s.id), s.name]),
    String(services[0].id),
    { name: "service" },
  );
  const numberInput = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "tel",
      name: "number",
      required: true,
      autocomplete: "off",
      inputmode: "tel",
      placeholder: "e.g. 555 1234",
      maxlength: 40,
    })
  );
  const callingSelect = select([], "", { name: "calling_number", required: true });
  const error = h("p", { class: "form-error", role: "alert" });
  const confirm = /** @type {HTMLButtonElement} */ (
    h("button", { type: "submit", class: "btn btn-primary" }, "Confirm")
  );

  function fillCallingNumbers() {
    const service = services.find((/** @type {any} */ s) => String(s.id) === serviceSelect.value);
    const options = (service?.calling_numbers || []).map(callingNumberOption);
    callingSelect.replaceChildren(...options.map(([v, l]) => h("option", { value: v }, l)));
    confirm.disabled = options.length === 0;
    error.textContent = options.length ? "" : "This service has no registered calling number yet.";
  }
  serviceSelect.addEventListener("change", fillCallingNumbers);
  fillCallingNumbers();

  const form = h(
    "form",
    {
      novalidate: true,
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        // Sent as typed: the server normalises it ("(030) 123-45" is fine) and its dial plan
        // says why a number is refused (not a number, international, premium-rate, ...).
        const number = numberInput.value.trim();
        if (!number) {
          error.textContent = "Enter the customer's number.";
          numberInput.setAttribute("aria-invalid", "true");
          numberInput.focus();
          return;
        }
        numberInput.removeAttribute("aria-invalid");
        confirm.disabled = true;
        const ok = await cti.dial({
          service_id: Number(serviceSelect.value),
          number,
          calling_number: callingSelect.value,
        });
        confirm.disabled = false;
        if (ok) {
          d.close();
          return;
        }
        // The server's sentence: e.g. "+19005550100 is a premium-rate number (+1900); ..."
        error.textContent = state.get("notice")?.text || "The call could not be placed.";
      },
    },
    services.length > 1 ? field("Service", serviceSelect) : null,
    field("Customer number", numberInput),
    field("Calling number", callingSelect, "Only numbers registered for the service can be used."),
    error,
    h(
      "div",
      { class: "dialog-actions" },
      h("button", { type: "button", class: "btn", onclick: () => d.close() }, "Cancel"),
      confirm,
    ),
  );
  d.body.append(form);
  numberInput.focus();
}
