// Find a customer by name or phone, or create a new one, for the ticket screen.

import { api, query } from "../api.js";
import { field, h, render } from "../dom.js";
import { isPhoneNumber } from "../format.js";
import { errorText } from "../ui/toast.js";

/**
 * @param {string} defaultPhone the caller's number, offered for a new customer
 * @param {(customer: any) => void} onChoose
 * @returns {HTMLElement}
 */
export function customerPicker(defaultPhone, onChoose) {
  const search = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "search",
      placeholder: "Name or phone",
      maxlength: 100,
      dataset: { key: "customer-search" },
    })
  );
  const list = h("ul", {
    class: "rows",
    "aria-label": "Matching customers",
    "aria-live": "polite",
  });
  /** @type {number | undefined} */
  let timer;
  async function find() {
    try {
      /** @type {any[]} */
      const found = await api.get(`/api/customers${query({ q: search.value.trim() })}`);
      render(
        list,
        found.length
          ? found.slice(0, 20).map((c) =>
              h(
                "li",
                { class: "row" },
                h(
                  "span",
                  { class: "row-main" },
                  h("strong", null, c.name),
                  h("span", { class: "muted" }, c.phone),
                ),
                h(
                  "button",
                  {
                    type: "button",
                    class: "btn btn-small",
                    "aria-label": `Select ${c.name}`,
                    onclick: () => onChoose(c),
                  },
                  "Select",
                ),
              ),
            )
          : h("li", { class: "empty" }, "No customer found."),
      );
    } catch (err) {
      render(list, h("li", { class: "empty" }, errorText(err)));
    }
  }
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = window.setTimeout(find, 200);
  });
  void find();
  const name = /** @type {HTMLInputElement} */ (
    h("input", { type: "text", maxlength: 200, required: true })
  );
  const phone = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "tel",
      maxlength: 21,
      value: defaultPhone,
      required: true,
    })
  );
  const email = /** @type {HTMLInputElement} */ (h("input", { type: "email", maxlength: 200 }));
  const createError = h("p", { class: "form-error", role: "alert" });
  const create = h(
    "form",
    {
      class: "new-customer",
      novalidate: true,
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        const phoneValue = phone.value.replace(/[\s().-]/g, "");
        if (!name.value.trim() || !isPhoneNumber(phoneValue)) {
          createError.textContent = "A new customer needs a name and a phone number.";
          return;
        }
        try {
          /** @type {Record<string, string>} */
          const body = { name: name.value.trim(), phone: phoneValue };
          if (email.value.trim()) body.email = email.value.trim();
          onChoose(await api.post("/api/customers", body));
        } catch (err) {
          createError.textContent = errorText(err);
        }
      },
    },
    h("h4", null, "New customer"),
    field("Name", name),
    field("Phone", phone),
    field("Email (optional)", email),
    createError,
    h("button", { type: "submit", class: "btn btn-small btn-primary" }, "Create customer"),
  );
  queueMicrotask(() => search.focus());
  return h("div", { class: "customer-picker" }, field("Find customer", search), list, create);
}
