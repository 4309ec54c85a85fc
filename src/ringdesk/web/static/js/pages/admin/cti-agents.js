// CTI Agent Management: each agent's CTI ID (their phone's SIP user), CTI number (what colleagues
// dial to reach them), phone password, Auto Answer, and whether their phone is registered now.

import { api } from "../../api.js";
import { checkbox, field, h } from "../../dom.js";
import { isPhoneNumber } from "../../format.js";
import * as ui from "../../ui/form.js";
import { adminShell } from "./shell.js";

/** @typedef {import("../../types.js").CtiAgent} CtiAgent */

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
  const load = () =>
    ui.renderLoaded(
      list,
      () => api.get("/api/admin/cti/agents"),
      (/** @type {CtiAgent[]} */ agents) =>
        agents.length
          ? agents.map((a) => agentRow(a, load))
          : h("p", { class: "muted" }, "No agents yet."),
    );
  await load();
  // Registration comes and goes; keep the indicator fresh without touching what is being typed.
  const timer = window.setInterval(async () => {
    try {
      /** @type {CtiAgent[]} */
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

/** @param {CtiAgent} a @param {() => Promise<void>} reload */
function agentRow(a, reload) {
  const off = { autocomplete: "off" };
  const ctiId = ui.input("text", "cti_id", { value: a.cti_id || "", maxlength: 32, ...off });
  const ctiNumber = ui.phoneInput("cti_number", { value: a.cti_number || "", ...off });
  const password = ui.input("password", "phone_password", {
    maxlength: 100,
    autocomplete: "new-password",
    placeholder: a.has_phone_password ? "Unchanged" : "Not set",
  });
  // Auto Answer: for agents on a headset, offered calls connect with no click on Answer.
  const autoAnswer = checkbox("Auto Answer", Boolean(a.auto_answer), { name: "auto_answer" });
  autoAnswer.input.setAttribute("aria-describedby", `auto-answer-hint-${a.user_id}`);
  const status = ui.saveStatus();
  const form = ui.formWith(
    {
      class: "card agent-row",
      dataset: { user: String(a.user_id) },
      "aria-label": `CTI assignment for ${a.name}`,
    },
    async () => {
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
      /** @type {{cti_id: string, cti_number: string, auto_answer: boolean, phone_password?: string}} */
      const body = { cti_id: id, cti_number: number, auto_answer: autoAnswer.input.checked };
      if (password.value) body.phone_password = password.value;
      await ui.saveForm(form, status.fail, async () => {
        await api.put(`/api/admin/cti/agents/${a.user_id}`, body);
        password.value = "";
        password.placeholder =
          body.phone_password || a.has_phone_password ? "Unchanged" : "Not set";
        status.ok("Saved.");
      });
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
    ui.formActions(
      ui.submitButton("Save", { "aria-label": `Save CTI for ${a.name}` }),
      a.cti_id
        ? ui.button("Unassign", {
            class: "btn btn-ghost",
            "aria-label": `Unassign CTI for ${a.name}`,
            onclick: ui.confirmed(
              {
                title: "Unassign CTI",
                message: `${a.name} will no longer be able to log in to CTI.`,
                confirmLabel: "Unassign",
                danger: true,
              },
              status.fail,
              async () => {
                await api.del(`/api/admin/cti/agents/${a.user_id}`);
                await reload();
              },
            ),
          })
        : null,
      status,
    ),
  );
  return form;
}
