// CTI Agent Management: each agent's CTI ID (their phone's SIP user), CTI number (what colleagues
// dial to reach them), phone password, Auto Answer, and whether their phone is registered now.

import { api } from "../../api.js";
import { checkbox, field, h } from "../../dom.js";
import { isPhoneNumber } from "../../format.js";
import * as ui from "../../ui/form.js";
import { adminShell } from "./shell.js";

/** @typedef {import("../../types.js").CtiAgent} CtiAgent */
/** @typedef {CtiAgent & {generated_phone_password: string | null}} CtiAgentSaved */

// The server refuses shorter ones: a short phone password falls to online guessing.
const MIN_PHONE_PASSWORD = 10;

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
    minlength: MIN_PHONE_PASSWORD,
    autocomplete: "new-password",
    placeholder: a.has_phone_password ? "Unchanged" : "Not set",
  });
  // Auto Answer: for agents on a headset, offered calls connect with no click on Answer.
  const autoAnswer = checkbox("Auto Answer", Boolean(a.auto_answer), { name: "auto_answer" });
  autoAnswer.input.setAttribute("aria-describedby", `auto-answer-hint-${a.user_id}`);
  // A desk phone that does not answer by itself: it rings with the offer, picking it up answers.
  const ringOnOffer = checkbox("Phone rings with the offer", Boolean(a.ring_on_offer), {
    name: "ring_on_offer",
  });
  ringOnOffer.input.setAttribute("aria-describedby", `ring-on-offer-hint-${a.user_id}`);
  // The browser phone (SIP over WebSocket from the page): the agent may then choose it.
  const browserPhone = checkbox("Allow the browser phone", Boolean(a.browser_phone_allowed), {
    name: "browser_phone_allowed",
  });
  const status = ui.saveStatus();
  // A generated password is shown here once, to copy into the phone; it is never shown again.
  const shown = h("div", { class: "generated-password", hidden: true, role: "status" });
  /** @param {boolean} generate */
  const save = async (generate) => {
    status.clear();
    shown.hidden = true;
    shown.replaceChildren();
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
    if (!generate && password.value && password.value.length < MIN_PHONE_PASSWORD) {
      status.fail(`The phone password needs at least ${MIN_PHONE_PASSWORD} characters.`);
      password.setAttribute("aria-invalid", "true");
      return;
    }
    /** @type {{cti_id: string, cti_number: string, auto_answer: boolean, ring_on_offer: boolean, browser_phone_allowed: boolean, phone_password?: string, generate_phone_password?: boolean}} */
    const body = {
      cti_id: id,
      cti_number: number,
      auto_answer: autoAnswer.input.checked,
      ring_on_offer: ringOnOffer.input.checked,
      browser_phone_allowed: browserPhone.input.checked,
    };
    if (generate) body.generate_phone_password = true;
    else if (password.value) body.phone_password = password.value;
    await ui.saveForm(form, status.fail, async () => {
      /** @type {CtiAgentSaved} */
      const saved = await api.put(`/api/admin/cti/agents/${a.user_id}`, body);
      password.value = "";
      password.removeAttribute("aria-invalid");
      password.placeholder =
        body.phone_password || generate || a.has_phone_password ? "Unchanged" : "Not set";
      if (saved.generated_phone_password) showOnce(shown, saved.generated_phone_password);
      status.ok("Saved.");
    });
  };
  const form = ui.formWith(
    {
      class: "card agent-row",
      dataset: { user: String(a.user_id) },
      "aria-label": `CTI assignment for ${a.name}`,
    },
    () => save(false),
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
      { class: "field" },
      ringOnOffer,
      h(
        "p",
        { class: "hint", id: `ring-on-offer-hint-${a.user_id}` },
        "For a SIP phone that does not answer by itself: it rings as soon as a call is offered, " +
          "and picking it up answers the call.",
      ),
    ),
    h("div", { class: "field" }, browserPhone),
    shown,
    ui.formActions(
      ui.submitButton("Save", { "aria-label": `Save CTI for ${a.name}` }),
      ui.button("Generate password", {
        class: "btn btn-ghost",
        "aria-label": `Generate a phone password for ${a.name}`,
        onclick: () => save(true),
      }),
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

/** The generated password with a Copy button; shown this once.
 * @param {HTMLElement} box @param {string} secret */
function showOnce(box, secret) {
  const value = h("code", { class: "secret" }, secret);
  const copy = ui.button("Copy", {
    class: "btn btn-ghost",
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(secret);
        copy.textContent = "Copied";
      } catch {
        // No clipboard (plain HTTP): select the text so Ctrl+C copies it.
        const range = document.createRange();
        range.selectNodeContents(value);
        window.getSelection()?.removeAllRanges();
        window.getSelection()?.addRange(range);
      }
    },
  });
  box.replaceChildren(
    h("p", null, "New phone password (shown only now; copy it into the phone):"),
    value,
    copy,
  );
  box.hidden = false;
}
