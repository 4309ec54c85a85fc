// IVR menus: a prompt (typed text spoken by the server, or the default), a choice per digit
// (a service's queue or voicemail, another menu, an outside number, repeat, hang up), the time
// a caller has to choose, the tries, and what happens when they choose nothing.

import { api, getBlob } from "../../api.js";
import { field, h, render, select } from "../../dom.js";
import { navigate } from "../../router.js";
import * as ui from "../../ui/form.js";
import { table, tableCard } from "../../ui/table.js";
import { errorText, toast } from "../../ui/toast.js";
import { adminShell } from "./shell.js";

/** @typedef {import("../../types.js").Menu} Menu */
/** @typedef {import("../../types.js").MenuStep} MenuStep */
/** @typedef {import("../../types.js").MenuKey} MenuKey */
/** @typedef {import("../../types.js").MenuAction} MenuAction */
/** @typedef {import("../../types.js").Service} Service */

/** @type {Array<[MenuAction, string]>} */
const ACTIONS = [
  ["queue", "Queue of a service"],
  ["menu", "Another menu"],
  ["voicemail", "Voicemail of a service"],
  ["forward", "Forward to a number"],
  ["repeat", "Repeat the menu"],
  ["hang_up", "Say goodbye and hang up"],
];
const DIGITS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*", "#"];

/** @param {MenuStep} step @param {Service[]} services @param {Menu[]} menus */
function stepText(step, services, menus) {
  const label = (ACTIONS.find(([a]) => a === step.action) || ["", step.action])[1];
  if (step.action === "queue" || step.action === "voicemail") {
    const s = services.find((x) => x.id === step.target);
    return `${label}: ${s ? s.name : step.target}`;
  }
  if (step.action === "menu") {
    const m = menus.find((x) => x.id === step.target);
    return `${label}: ${m ? m.name : step.target}`;
  }
  if (step.action === "forward") return `${label}: ${step.number}`;
  return label;
}

/** @param {HTMLElement} main */
export async function menusView(main) {
  const content = adminShell(main, "/admin/menus", "Menus");
  const loaded = await ui.loadOrExplain(content, () =>
    Promise.all([api.get("/api/admin/menus"), api.get("/api/admin/services")]),
  );
  if (loaded === undefined) return;
  /** @type {[Menu[], Service[]]} */
  const [menus, services] = loaded;
  const name = ui.input("text", "name", { required: true, maxlength: 200 });
  const status = ui.saveStatus();
  const form = ui.formWith(
    { class: "card inline-form" },
    async () => {
      if (!name.value.trim()) {
        status.fail("A menu needs a name.");
        return;
      }
      await ui.saveForm(form, status.fail, async () => {
        /** @type {Menu} */
        const created = await api.post("/api/admin/menus", { name: name.value.trim() });
        toast(`Menu ${created.name} created.`, "success");
        void navigate(`/admin/menus/${created.id}`);
      });
    },
    h("h2", { class: "card-title" }, "New menu"),
    field("Menu name", name),
    ui.submitButton("Create menu"),
    status,
  );
  const usedBy = (/** @type {Menu} */ m) =>
    services
      .filter((s) => s.menu_id === m.id)
      .map((s) => s.name)
      .join(", ") || "–";
  content.append(
    h(
      "p",
      { class: "muted small" },
      "A service's calls hear its menu first (set under Services, “Menu first”); " +
        "a digit leads to a queue, another menu, voicemail or an outside number.",
    ),
    tableCard(
      table(
        { class: "table" },
        ["Menu", "Choices", "Heard first by"],
        menus.length
          ? menus.map((m) =>
              h(
                "tr",
                { dataset: { menu: String(m.id) } },
                h("td", null, h("a", { href: `/admin/menus/${m.id}` }, m.name)),
                h(
                  "td",
                  null,
                  m.choices.map((c) => `${c.digit}: ${stepText(c, services, menus)}`).join("; ") ||
                    "–",
                ),
                h("td", null, usedBy(m)),
              ),
            )
          : [h("tr", null, h("td", { colspan: 3, class: "empty" }, "No menus yet."))],
      ),
    ),
    form,
  );
}

/**
 * The controls of one step: the action, and the target (a service or a menu) or the number it
 * needs; `read()` gives the step.
 * @param {MenuStep} step @param {Service[]} services @param {Menu[]} menus @param {string} what
 */
function stepControls(step, services, menus, what) {
  const action = select(ACTIONS, step.action, { name: "action", "aria-label": `${what} action` });
  /** @type {Array<[string, string]>} */
  const serviceOptions = services.map((s) => [String(s.id), s.name]);
  /** @type {Array<[string, string]>} */
  const menuOptions = menus.map((m) => [String(m.id), m.name]);
  const service = select(serviceOptions, String(step.target ?? ""), {
    name: "target",
    "aria-label": `${what} service`,
  });
  const menu = select(menuOptions, String(step.target ?? ""), {
    name: "target",
    "aria-label": `${what} menu`,
  });
  const number = ui.phoneInput("number", {
    value: step.number || "",
    "aria-label": `${what} number`,
  });
  const sync = () => {
    const a = action.value;
    service.hidden = a !== "queue" && a !== "voicemail";
    menu.hidden = a !== "menu";
    number.hidden = a !== "forward";
  };
  action.addEventListener("change", sync);
  sync();
  /** @returns {MenuStep} */
  const read = () => {
    const a = /** @type {MenuAction} */ (action.value);
    const target =
      a === "queue" || a === "voicemail"
        ? Number(service.value) || null
        : a === "menu"
          ? Number(menu.value) || null
          : null;
    return { action: a, target, number: a === "forward" ? number.value.trim() || null : null };
  };
  return { elements: [action, service, menu, number], read };
}

/** @param {HTMLElement} main @param {Record<string, string>} params */
export async function menuView(main, params) {
  const content = adminShell(main, "/admin/menus", "Menu");
  const id = params.id;
  const loaded = await ui.loadOrExplain(content, () =>
    Promise.all([
      api.get(`/api/admin/menus/${encodeURIComponent(id)}`),
      api.get("/api/admin/services"),
      api.get("/api/admin/menus"),
    ]),
  );
  if (loaded === undefined) return;
  /** @type {[Menu, Service[], Menu[]]} */
  const [menu, services, menus] = loaded;
  const heading = main.querySelector("h1");
  if (heading) heading.textContent = menu.name;
  document.title = `${menu.name} · Admin · Ringdesk`;
  content.append(
    h("p", null, h("a", { href: "/admin/menus", class: "back-link" }, "← All menus")),
    menuForm(menu, services, menus),
    dangerZone(menu),
  );
}

/** @param {Menu} menu @param {Service[]} services @param {Menu[]} menus */
function menuForm(menu, services, menus) {
  const name = ui.input("text", "name", { value: menu.name, maxlength: 200, required: true });
  const prompt = /** @type {HTMLTextAreaElement} */ (
    h("textarea", { name: "prompt_text", rows: 3, maxlength: 1000 })
  );
  prompt.value = menu.prompt.text;
  const promptHint = h("p", { class: "hint" }, promptKind(menu));
  const audio = /** @type {HTMLAudioElement} */ (
    h("audio", { controls: true, preload: "none", "aria-label": "Menu prompt player" })
  );
  audio.hidden = true;
  const status = ui.saveStatus();
  const listen = ui.button("▶ Listen", {
    class: "btn btn-small",
    "aria-label": "Listen to the menu prompt",
    onclick: async () => {
      try {
        const blob = await getBlob(`/api/admin/cti/sounds/menu.${menu.id}`);
        if (audio.src) URL.revokeObjectURL(audio.src);
        audio.src = URL.createObjectURL(blob);
        audio.hidden = false;
        await audio.play();
      } catch (err) {
        // Autoplay policies may refuse play(); the controls are there then.
        if (!(err instanceof DOMException)) status.fail(errorText(err));
      }
    },
  });
  const timeout = ui.input("number", "timeout_seconds", {
    value: menu.timeout_seconds,
    min: 1,
    max: 60,
    step: 1,
  });
  const tries = ui.numberInput("max_tries", menu.max_tries, { min: 1, max: 10 });
  const rows = h("tbody");
  /** @type {Array<HTMLElement & {read: () => MenuKey}>} */
  let keys = [];
  /** @param {MenuKey} key */
  const addKey = (key) => {
    const digit = select(
      DIGITS.map((d) => [d, d]),
      key.digit,
      { name: "digit", "aria-label": "Digit" },
    );
    const step = stepControls(key, services, menus, "Choice");
    const row = h(
      "tr",
      { class: "choice-row" },
      h("td", null, digit),
      h("td", null, h("div", { class: "step-controls" }, step.elements)),
      h(
        "td",
        null,
        ui.button("Remove", {
          class: "btn btn-small btn-ghost",
          "aria-label": "Remove this choice",
          onclick: () => {
            row.remove();
            keys = keys.filter((k) => k.isConnected);
          },
        }),
      ),
    );
    const withRead = Object.assign(row, {
      read: () => /** @type {MenuKey} */ ({ digit: digit.value, ...step.read() }),
    });
    keys.push(withRead);
    rows.append(withRead);
  };
  for (const key of menu.choices) addKey(key);
  const fallback = stepControls(menu.fallback, services, menus, "Fallback");
  const form = ui.formWith(
    { class: "card settings-form" },
    async () => {
      status.clear();
      keys = keys.filter((k) => k.isConnected);
      const body = {
        name: name.value.trim(),
        timeout_seconds: ui.numberOrNull(timeout) ?? 6,
        max_tries: ui.numberOrNull(tries) ?? 3,
        fallback: fallback.read(),
        choices: keys.map((k) => k.read()),
        /** @type {string | undefined} */
        prompt_text: undefined,
      };
      const text = prompt.value.trim();
      if (text && (menu.prompt.kind === "text" || text !== menu.prompt.text)) {
        body.prompt_text = text;
      }
      await ui.saveForm(form, status.fail, async () => {
        /** @type {Menu} */
        const saved = await api.put(`/api/admin/menus/${menu.id}`, body);
        Object.assign(menu, saved);
        render(promptHint, promptKind(saved));
        status.ok("Menu saved.");
      });
    },
    h("h2", { class: "card-title" }, "Menu"),
    field("Menu name", name),
    field("Prompt", prompt),
    promptHint,
    h("div", { class: "sound-actions" }, listen, audio),
    h("h3", { class: "card-subtitle" }, "Choices"),
    h(
      "table",
      { class: "table choices-table", "aria-label": "Choices" },
      h(
        "thead",
        null,
        h("tr", null, h("th", null, "Digit"), h("th", null, "Leads to"), h("th", null, "")),
      ),
      rows,
    ),
    h(
      "div",
      { class: "form-actions" },
      ui.button("Add choice", {
        class: "btn btn-small",
        onclick: () => {
          const used = new Set(keys.filter((k) => k.isConnected).map((k) => k.read().digit));
          const free = DIGITS.find((d) => !used.has(d)) || "1";
          addKey({ digit: free, action: "queue", target: services[0]?.id ?? null, number: null });
        },
      }),
    ),
    field("Time to choose (seconds)", timeout, "After the prompt ends."),
    field("Tries", tries, "How often the prompt is played before the fallback."),
    h(
      "fieldset",
      { class: "fieldset" },
      h("legend", null, "When the caller chooses nothing"),
      h("div", { class: "step-controls" }, fallback.elements),
    ),
    ui.formActions(ui.submitButton("Save menu"), status),
  );
  return form;
}

/** @param {Menu} menu */
function promptKind(menu) {
  if (menu.prompt.kind === "upload") return "An uploaded WAV (CTI Settings, Sounds and prompts).";
  if (menu.prompt.kind === "text") return "Spoken from this text.";
  return "The default prompt; type a text to have it spoken instead.";
}

/** @param {Menu} menu */
function dangerZone(menu) {
  const status = ui.saveStatus();
  return h(
    "section",
    { class: "card danger-zone" },
    h("h2", { class: "card-title" }, "Delete menu"),
    h(
      "p",
      { class: "muted small" },
      "A menu a service or another menu leads to cannot be deleted.",
    ),
    ui.button("Delete menu", {
      class: "btn btn-danger-outline",
      onclick: ui.confirmed(
        {
          title: "Delete menu",
          message: `Delete ${menu.name}? This cannot be undone.`,
          confirmLabel: "Delete",
          danger: true,
        },
        status.fail,
        async () => {
          await api.del(`/api/admin/menus/${menu.id}`);
          toast(`${menu.name} deleted.`, "success");
          void navigate("/admin/menus");
        },
      ),
    }),
    status,
  );
}
