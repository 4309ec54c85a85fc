// Services: the contract options (Use Phone CTI – IB / OB), inbound number, routing, queue limits,
// agents' phone permission and the registered calling numbers.

import { api } from "../../api.js";
import { checkbox, field, h, render, select } from "../../dom.js";
import { isPhoneNumber } from "../../format.js";
import { navigate } from "../../router.js";
import { confirmDialog } from "../../ui/dialog.js";
import { errorText, toast } from "../../ui/toast.js";
import { adminShell, markFieldErrors, numberOrNull, saveStatus } from "./shell.js";

const STRATEGIES = [
  ["longest_idle", "Longest idle agent first"],
  ["round_robin", "Round robin"],
  ["fewest_calls", "Fewest calls today"],
  ["ring_all", "Ring all Ready agents"],
];

const OVERFLOW = [
  ["none", "Keep waiting"],
  ["hang_up_with_message", "Play the overflow message and hang up"],
  ["forward", "Forward to a number"],
];

/** @param {HTMLElement} main */
export async function servicesView(main) {
  const content = adminShell(main, "/admin/services", "Services");
  /** @type {any[]} */
  let services;
  try {
    services = await api.get("/api/admin/services");
  } catch (err) {
    content.append(h("p", { class: "callout callout-error", role: "alert" }, errorText(err)));
    return;
  }
  const name = /** @type {HTMLInputElement} */ (
    h("input", { type: "text", name: "name", required: true, maxlength: 100 })
  );
  const inbound = /** @type {HTMLInputElement} */ (
    h("input", { type: "tel", name: "inbound_number", maxlength: 21 })
  );
  const status = saveStatus();
  const form = h(
    "form",
    {
      class: "card inline-form",
      novalidate: true,
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        if (!name.value.trim()) {
          status.fail("A service needs a name.");
          return;
        }
        if (inbound.value && !isPhoneNumber(inbound.value.trim())) {
          status.fail("The inbound number must be a phone number.");
          return;
        }
        try {
          /** @type {Record<string, any>} */
          const body = { name: name.value.trim() };
          if (inbound.value.trim()) body.inbound_number = inbound.value.trim();
          const created = await api.post("/api/admin/services", body);
          toast(`Service ${created.name} created.`, "success");
          void navigate(`/admin/services/${created.id}`);
        } catch (err) {
          markFieldErrors(form, err);
          status.fail(errorText(err));
        }
      },
    },
    h("h2", { class: "card-title" }, "New service"),
    field("Service name", name),
    field("Inbound number", inbound),
    h("button", { type: "submit", class: "btn btn-primary" }, "Create service"),
    status,
  );
  content.append(
    h(
      "div",
      { class: "table-wrap card" },
      h(
        "table",
        { class: "table" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            ["Service", "Inbound number", "IB", "OB", "Strategy"].map((t) =>
              h("th", { scope: "col" }, t),
            ),
          ),
        ),
        h(
          "tbody",
          null,
          services.map((s) =>
            h(
              "tr",
              null,
              h("td", null, h("a", { href: `/admin/services/${s.id}` }, s.name)),
              h("td", { class: "mono" }, s.inbound_number || "–"),
              h("td", null, onOff(s.inbound_enabled)),
              h("td", null, onOff(s.outbound_enabled)),
              h("td", null, (STRATEGIES.find(([v]) => v === s.strategy) || ["", s.strategy])[1]),
            ),
          ),
        ),
      ),
    ),
    form,
  );
}

/** @param {boolean} on */
function onOff(on) {
  return h("span", { class: `badge ${on ? "badge-on" : "badge-off"}` }, on ? "On" : "Off");
}

/** @param {HTMLElement} main @param {Record<string, string>} params */
export async function serviceView(main, params) {
  const content = adminShell(main, "/admin/services", "Service");
  const id = params.id;
  /** @type {any} */
  let service;
  try {
    service = await api.get(`/api/admin/services/${encodeURIComponent(id)}`);
  } catch (err) {
    content.append(h("p", { class: "callout callout-error", role: "alert" }, errorText(err)));
    return;
  }
  const heading = main.querySelector("h1");
  if (heading) heading.textContent = service.name;
  document.title = `${service.name} · Admin · Ringdesk`;
  content.append(
    h("p", null, h("a", { href: "/admin/services", class: "back-link" }, "← All services")),
    contractForm(service),
    h("div", { class: "two-col" }, permissions(service), callingNumbers(service)),
    dangerZone(service),
  );
}

/** @param {any} service */
function contractForm(service) {
  const name = /** @type {HTMLInputElement} */ (
    h("input", { type: "text", name: "name", value: service.name, maxlength: 100, required: true })
  );
  const ib = checkbox("Use Phone CTI – IB (Inbound)", Boolean(service.inbound_enabled), {
    name: "inbound_enabled",
  });
  const ob = checkbox("Use Phone CTI – OB (Outbound)", Boolean(service.outbound_enabled), {
    name: "outbound_enabled",
  });
  const inbound = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "tel",
      name: "inbound_number",
      value: service.inbound_number || "",
      maxlength: 21,
    })
  );
  const strategy = select(
    STRATEGIES.map(([v, l]) => [v, l]),
    service.strategy || "longest_idle",
    { name: "strategy" },
  );
  const maxWait = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "number",
      name: "max_wait_seconds",
      min: 1,
      step: 1,
      value: service.max_wait_seconds ?? "",
    })
  );
  const overflow = select(
    OVERFLOW.map(([v, l]) => [v, l]),
    service.overflow_action || "none",
    { name: "overflow_action" },
  );
  const overflowNumber = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "tel",
      name: "overflow_number",
      value: service.overflow_number || "",
      maxlength: 21,
    })
  );
  const level = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "number",
      name: "service_level_seconds",
      min: 1,
      step: 1,
      value: service.service_level_seconds ?? 20,
    })
  );
  const overflowNumberField = field("Overflow number", overflowNumber);
  const syncOverflow = () => {
    overflowNumberField.hidden = overflow.value !== "forward";
  };
  overflow.addEventListener("change", syncOverflow);
  syncOverflow();
  const status = saveStatus();
  const form = h(
    "form",
    {
      class: "card settings-form",
      novalidate: true,
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        status.clear();
        const body = {
          name: name.value.trim(),
          inbound_number: inbound.value.trim() || null,
          inbound_enabled: ib.input.checked,
          outbound_enabled: ob.input.checked,
          strategy: strategy.value,
          max_wait_seconds: numberOrNull(maxWait),
          overflow_action: overflow.value,
          overflow_number:
            overflow.value === "forward" ? overflowNumber.value.trim() || null : null,
          service_level_seconds: numberOrNull(level) ?? 20,
        };
        try {
          Object.assign(service, await api.patch(`/api/admin/services/${service.id}`, body));
          markFieldErrors(form, null);
          status.ok("Saved.");
        } catch (err) {
          markFieldErrors(form, err);
          status.fail(errorText(err));
        }
      },
    },
    h("h2", { class: "card-title" }, "Contract Details"),
    field("Service name", name),
    h("fieldset", { class: "fieldset" }, h("legend", null, "Phone CTI"), ib, ob),
    field("Inbound number", inbound, "Calls to this number come into this service's queue."),
    h("h2", { class: "card-title" }, "Routing"),
    field("Strategy", strategy),
    field("Maximum wait (seconds)", maxWait, "Leave empty for no limit."),
    field("When the maximum wait is reached", overflow),
    overflowNumberField,
    field("Service level target (seconds)", level, "Share of calls answered within this time."),
    h(
      "div",
      { class: "form-actions" },
      h("button", { type: "submit", class: "btn btn-primary" }, "Save"),
      status,
    ),
  );
  return form;
}

/** @param {any} service */
function permissions(service) {
  const list = h("ul", { class: "rows" });
  const status = saveStatus();
  async function load() {
    try {
      /** @type {any[]} */
      const agents = await api.get(`/api/admin/services/${service.id}/agents`);
      render(
        list,
        agents.length
          ? agents.map((a) => {
              const box = checkbox(a.name, Boolean(a.phone_permission), {
                "aria-label": `Phone permission for ${a.name}`,
              });
              box.input.addEventListener("change", async () => {
                box.input.disabled = true;
                try {
                  await api.put(`/api/admin/services/${service.id}/agents/${a.user_id}`, {
                    phone_permission: box.input.checked,
                  });
                  status.ok(
                    `${a.name}: phone permission ${box.input.checked ? "granted" : "removed"}.`,
                  );
                } catch (err) {
                  box.input.checked = !box.input.checked;
                  status.fail(errorText(err));
                } finally {
                  box.input.disabled = false;
                }
              });
              return h("li", { class: "row", dataset: { user: String(a.user_id) } }, box);
            })
          : h("li", { class: "empty" }, "No agents yet. Add users with the agent role."),
      );
    } catch (err) {
      render(list, h("li", { class: "empty" }, errorText(err)));
    }
  }
  void load();
  return h(
    "section",
    { class: "card", "aria-labelledby": "perm-title" },
    h("h2", { id: "perm-title", class: "card-title" }, "Agents"),
    h(
      "p",
      { class: "muted small" },
      "Agents with phone permission can log in to CTI and take this service's calls.",
    ),
    list,
    status,
  );
}

/** @param {any} service */
function callingNumbers(service) {
  const list = h("ul", { class: "rows" });
  const status = saveStatus();
  const number = /** @type {HTMLInputElement} */ (
    h("input", { type: "tel", name: "number", maxlength: 21, required: true })
  );
  const label = /** @type {HTMLInputElement} */ (
    h("input", { type: "text", name: "label", maxlength: 100 })
  );
  const base = `/api/admin/services/${service.id}/calling-numbers`;
  async function load() {
    try {
      /** @type {any[]} */
      const numbers = await api.get(base);
      render(
        list,
        numbers.length
          ? numbers.map((n) =>
              h(
                "li",
                { class: "row", dataset: { number: n.number } },
                h(
                  "span",
                  { class: "row-main" },
                  h("strong", { class: "mono" }, n.number),
                  h("span", { class: "muted" }, n.label || ""),
                ),
                h(
                  "button",
                  {
                    type: "button",
                    class: "btn btn-small",
                    "aria-label": `Remove ${n.number}`,
                    onclick: async () => {
                      const ok = await confirmDialog({
                        title: "Remove calling number",
                        message: `Agents will no longer be able to call out as ${n.number}.`,
                        confirmLabel: "Remove",
                        danger: true,
                      });
                      if (!ok) return;
                      try {
                        await api.del(`${base}/${n.id}`);
                        status.ok(`${n.number} removed.`);
                        await load();
                      } catch (err) {
                        status.fail(errorText(err));
                      }
                    },
                  },
                  "Remove",
                ),
              ),
            )
          : h(
              "li",
              { class: "empty" },
              "No calling number: agents cannot dial out for this service.",
            ),
      );
    } catch (err) {
      render(list, h("li", { class: "empty" }, errorText(err)));
    }
  }
  void load();
  const form = h(
    "form",
    {
      class: "inline-form",
      novalidate: true,
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        const value = number.value.replace(/[\s().-]/g, "");
        if (!isPhoneNumber(value)) {
          number.setAttribute("aria-invalid", "true");
          status.fail("Enter a phone number.");
          return;
        }
        number.removeAttribute("aria-invalid");
        try {
          await api.post(base, { number: value, label: label.value.trim() });
          number.value = "";
          label.value = "";
          status.ok(`${value} registered.`);
          await load();
        } catch (err) {
          status.fail(errorText(err));
        }
      },
    },
    field("Number", number),
    field("Label", label),
    h("button", { type: "submit", class: "btn btn-primary" }, "Add number"),
  );
  return h(
    "section",
    { class: "card", "aria-labelledby": "cn-title" },
    h("h2", { id: "cn-title", class: "card-title" }, "Calling Numbers"),
    h("p", { class: "muted small" }, "Only these numbers can be used for outbound calls."),
    list,
    form,
    status,
  );
}

/** @param {any} service */
function dangerZone(service) {
  return h(
    "section",
    { class: "card danger-zone" },
    h("h2", { class: "card-title" }, "Delete service"),
    h("p", { class: "muted small" }, "Its tickets stay; calls to its number are no longer taken."),
    h(
      "button",
      {
        type: "button",
        class: "btn btn-danger-outline",
        onclick: async () => {
          const ok = await confirmDialog({
            title: "Delete service",
            message: `Delete ${service.name}? This cannot be undone.`,
            confirmLabel: "Delete",
            danger: true,
          });
          if (!ok) return;
          try {
            await api.del(`/api/admin/services/${service.id}`);
            toast(`${service.name} deleted.`, "success");
            void navigate("/admin/services");
          } catch (err) {
            toast(errorText(err), "error");
          }
        },
      },
      "Delete service",
    ),
  );
}
