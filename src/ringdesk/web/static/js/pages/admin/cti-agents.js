// CTI Agent Management: each agent's CTI ID (their phone's SIP user), CTI number (what colleagues
// dial to reach them), phone password, Auto Answer, and whether their phone is registered now.

import { api } from "../../api.js";
import { checkbox, field, h, render } from "../../dom.js";
import { isPhoneNumber } from "../../format.js";
import { confirmDialog } from "../../ui/dialog.js";
import { errorText } from "../../ui/toast.js";
import { adminShell, markFieldErrors, saveStatus } from "./shell.js";

/** @param {HTMLElement} main */
export async function ctiAgentsView(main) {
  const content = adminShell(main, "/admin/cti-agents", "CTI Agent Management");
  const list = h("div", { class: "agent-list" });
  content.append(
    h(
      "p",
      { class: "muted" },
      "Agents register their SIP phone with the CTI ID as user name and the phone password.",
    ),
    list,
  );
  async function load() {
    try {
      /** @type {any[]} */
      const agents = await api.get("/api/admin/cti/agents");
      render(
        list,
        agents.length
          ? agents.map((a) => agentRow(a, load))
          : h("p", { class: "muted" }, "No agents yet."),
      );
    } catch (err) {
      render(list, h("p", { class: "callout callout-error", role: "alert" }, errorText(err)));
    }
  }
  await load();
  // Registration comes and goes; keep the indicator fresh without touching what is being typed.
  const timer = window.setInterval(async () => {
    try {
      /** @type {any[]} */
      const agents = await api.get("/api/admin/cti/agents");
      for (const a of agents) {
        const pill = list.querySelector(`[data-user="${a.user_id}"] .reg`);
        if (pill) pill.replaceWith(registered(a.registered));
      }
    } catch {
      // keep what is shown
    }
  }, 5000);
  return { cleanup: () => clearInterval(timer) };
}

/** @param {boolean} on */
function registered(on) {
  return h(
    "span",
    { class: `reg badge ${on ? "badge-on" : "badge-off"}` },
    h("span", { class: "dot", "aria-hidden": "true" }),
    on ? "Phone registered" : "Phone not registered",
  );
}

/** @param {any} a @param {() => Promise<void>} reload */
function agentRow(a, reload) {
  const ctiId = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "text",
      name: "cti_id",
      value: a.cti_id || "",
      maxlength: 32,
      autocomplete: "off",
    })
  );
  const ctiNumber = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "tel",
      name: "cti_number",
      value: a.cti_number || "",
      maxlength: 21,
      autocomplete: "off",
    })
  );
  const password = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "password",
      name: "phone_password",
      maxlength: 100,
      autocomplete: "new-password",
      placeholder: a.has_phone_password ? "Unchanged" : "Not set",
    })
  );
  // Auto Answer: for agents on a headset, offered calls connect with no click on Answer.
  const autoAnswer = checkbox("Auto Answer", Boolean(a.auto_answer), { name: "auto_answer" });
  autoAnswer.input.setAttribute("aria-describedby", `auto-answer-hint-${a.user_id}`);
  const status = saveStatus();
  const form = h(
    "form",
    {
      class: "card agent-row",
      novalidate: true,
      dataset: { user: String(a.user_id) },
      "aria-label": `CTI assignment for ${a.name}`,
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        status.clear();
        const id = ctiId.value.trim();
        const number = ctiNumber.value.trim();
        if (!id || !number) {
          status.fail("Both the CTI ID and the CTI number are needed.");
          return;
        }
        if (!isPhoneNumber(number)) {
          status.fail("The CTI number must be a phone number.");
          ctiNumber.setAttribute("aria-invalid", "true");
          return;
        }
        /** @type {Record<string, string | boolean>} */
        const body = { cti_id: id, cti_number: number, auto_answer: autoAnswer.input.checked };
        if (password.value) body.phone_password = password.value;
        try {
          await api.put(`/api/admin/cti/agents/${a.user_id}`, body);
          markFieldErrors(form, null);
          password.value = "";
          password.placeholder =
            body.phone_password || a.has_phone_password ? "Unchanged" : "Not set";
          status.ok("Saved.");
        } catch (err) {
          markFieldErrors(form, err);
          status.fail(errorText(err));
        }
      },
    },
    h(
      "div",
      { class: "agent-row-head" },
      h("strong", null, a.name),
      registered(Boolean(a.registered)),
    ),
    h(
      "div",
      { class: "grid-3" },
      field("CTI ID", ctiId),
      field("CTI number", ctiNumber),
      field("Phone password", password),
    ),
    h(
      "div",
      { class: "field" },
      autoAnswer,
      h(
        "p",
        { class: "hint", id: `auto-answer-hint-${a.user_id}` },
        "Calls offered to this agent are answered at once, with no click on Answer.",
      ),
    ),
    h(
      "div",
      { class: "form-actions" },
      h(
        "button",
        { type: "submit", class: "btn btn-primary", "aria-label": `Save CTI for ${a.name}` },
        "Save",
      ),
      a.cti_id
        ? h(
            "button",
            {
              type: "button",
              class: "btn btn-ghost",
              "aria-label": `Unassign CTI for ${a.name}`,
              onclick: async () => {
                const ok = await confirmDialog({
                  title: "Unassign CTI",
                  message: `${a.name} will no longer be able to log in to CTI.`,
                  confirmLabel: "Unassign",
                  danger: true,
                });
                if (!ok) return;
                try {
                  await api.del(`/api/admin/cti/agents/${a.user_id}`);
                  await reload();
                } catch (err) {
                  status.fail(errorText(err));
                }
              },
            },
            "Unassign",
          )
        : null,
      status,
    ),
  );
  return form;
}
