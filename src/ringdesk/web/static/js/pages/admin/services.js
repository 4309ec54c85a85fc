// Services: the contract options (Use Phone CTI – IB / OB), inbound number, routing, queue limits,
// agents' phone permission, the registered calling numbers, and what the caller meets: opening
// hours and holidays, what a closed service does, the menu heard first, queue announcements.

import { api } from "../../api.js";
import { checkbox, field, h, render, select } from "../../dom.js";
import { isPhoneNumber } from "../../format.js";
import { navigate } from "../../router.js";
import * as ui from "../../ui/form.js";
import { table, tableCard, tableHead } from "../../ui/table.js";
import { errorText, toast } from "../../ui/toast.js";
import { dispositionsCard } from "./dispositions.js";
import { adminShell } from "./shell.js";

/** @typedef {import("../../types.js").Service} Service */
/** @typedef {import("../../types.js").ServiceAgent} ServiceAgent */
/** @typedef {import("../../types.js").CallingNumber} CallingNumber */
/** @typedef {import("../../types.js").DialPlan} DialPlan */
/** @typedef {import("../../types.js").ServiceHours} ServiceHours */
/** @typedef {import("../../types.js").WeeklyHours} WeeklyHours */
/** @typedef {import("../../types.js").HolidayDays} HolidayDays */
/** @typedef {import("../../types.js").Menu} Menu */

/**
 * Countries whose numbering the dial plan knows by their calling code, trunk prefix and
 * international prefixes; "Other" leaves the three fields to the admin.
 * @type {Array<[string, string, string, string]>} [key, label, calling code, trunk prefix]
 */
const COUNTRIES = [
  ["", "Not set (numbers are sent as dialled)", "", "0"],
  ["49", "Germany (+49)", "49", "0"],
  ["43", "Austria (+43)", "43", "0"],
  ["41", "Switzerland (+41)", "41", "0"],
  ["33", "France (+33)", "33", "0"],
  ["31", "Netherlands (+31)", "31", "0"],
  ["44", "United Kingdom (+44)", "44", "0"],
  ["1", "USA / Canada (+1)", "1", "1"],
  ["other", "Other…", "", "0"],
];
/** International prefixes per calling code: the NANP uses 011, the others 00. */
const INTERNATIONAL = /** @type {Record<string, string>} */ ({ 1: "011", "": "00, 011" });

/** @type {Array<[string, string]>} */
const STRATEGIES = [
  ["longest_idle", "Longest idle agent first"],
  ["round_robin", "Round robin"],
  ["fewest_calls", "Fewest calls today"],
  ["ring_all", "Ring all Ready agents"],
];

/** @type {Array<[string, string]>} */
const OVERFLOW = [
  ["none", "Keep waiting"],
  ["hang_up_with_message", "Play the overflow message and hang up"],
  ["forward", "Forward to a number"],
];

/** A service's recording choice: null follows the global setting. @type {Array<[string, string]>} */
const RECORDING = [
  ["", "As the global setting"],
  ["true", "Record"],
  ["false", "Do not record"],
];

/** @param {HTMLElement} main */
export async function servicesView(main) {
  const content = adminShell(main, "/admin/services", "Services");
  /** @type {Service[] | undefined} */
  const services = await ui.loadOrExplain(content, () => api.get("/api/admin/services"));
  if (services === undefined) return;
  const name = ui.input("text", "name", { required: true, maxlength: 100 });
  const inbound = ui.phoneInput("inbound_number");
  const status = ui.saveStatus();
  const form = ui.formWith(
    { class: "card inline-form" },
    async () => {
      if (!name.value.trim()) {
        status.fail("A service needs a name.");
        return;
      }
      if (inbound.value && !isPhoneNumber(inbound.value.trim())) {
        status.fail("The inbound number must be a phone number.");
        return;
      }
      await ui.saveForm(form, status.fail, async () => {
        /** @type {{name: string, inbound_number?: string}} */
        const body = { name: name.value.trim() };
        if (inbound.value.trim()) body.inbound_number = inbound.value.trim();
        /** @type {Service} */
        const created = await api.post("/api/admin/services", body);
        toast(`Service ${created.name} created.`, "success");
        void navigate(`/admin/services/${created.id}`);
      });
    },
    h("h2", { class: "card-title" }, "New service"),
    field("Service name", name),
    field("Inbound number", inbound),
    ui.submitButton("Create service"),
    status,
  );
  content.append(
    tableCard(
      table(
        { class: "table" },
        ["Service", "Inbound number", "IB", "OB", "Strategy"],
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
  /** @type {Service | undefined} */
  const service = await ui.loadOrExplain(content, () =>
    api.get(`/api/admin/services/${encodeURIComponent(id)}`),
  );
  if (service === undefined) return;
  const heading = main.querySelector("h1");
  if (heading) heading.textContent = service.name;
  document.title = `${service.name} · Admin · Ringdesk`;
  content.append(
    h("p", null, h("a", { href: "/admin/services", class: "back-link" }, "← All services")),
    contractForm(service),
    h("div", { class: "two-col" }, permissions(service), callingNumbers(service)),
    callerForm(service),
    hoursCard(service),
    dispositionsCard(service),
    dialPlanForm(service),
    dangerZone(service),
  );
}

/** @param {Service} service */
function contractForm(service) {
  const name = ui.input("text", "name", {
    value: service.name,
    maxlength: 100,
    required: true,
  });
  const ib = checkbox("Use Phone CTI – IB (Inbound)", Boolean(service.inbound_enabled), {
    name: "inbound_enabled",
  });
  const ob = checkbox("Use Phone CTI – OB (Outbound)", Boolean(service.outbound_enabled), {
    name: "outbound_enabled",
  });
  const inbound = ui.phoneInput("inbound_number", { value: service.inbound_number || "" });
  const strategy = select(STRATEGIES, service.strategy || "longest_idle", { name: "strategy" });
  const maxWait = ui.numberInput("max_wait_seconds", service.max_wait_seconds, { min: 1 });
  const overflow = select(OVERFLOW, service.overflow_action || "none", {
    name: "overflow_action",
  });
  const overflowNumber = ui.phoneInput("overflow_number", {
    value: service.overflow_number || "",
  });
  const level = ui.numberInput("service_level_seconds", service.service_level_seconds ?? 20, {
    min: 1,
  });
  const overflowNumberField = field("Overflow number", overflowNumber);
  const syncOverflow = () => {
    overflowNumberField.hidden = overflow.value !== "forward";
  };
  overflow.addEventListener("change", syncOverflow);
  syncOverflow();
  const status = ui.saveStatus();
  const form = ui.formWith(
    { class: "card settings-form" },
    async () => {
      status.clear();
      const body = {
        name: name.value.trim(),
        inbound_number: inbound.value.trim() || null,
        inbound_enabled: ib.input.checked,
        outbound_enabled: ob.input.checked,
        strategy: strategy.value,
        max_wait_seconds: ui.numberOrNull(maxWait),
        overflow_action: overflow.value,
        overflow_number: overflow.value === "forward" ? overflowNumber.value.trim() || null : null,
        service_level_seconds: ui.numberOrNull(level) ?? 20,
      };
      await ui.saveForm(form, status.fail, async () => {
        Object.assign(service, await api.patch(`/api/admin/services/${service.id}`, body));
        status.ok("Saved.");
      });
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
    ui.formActions(ui.submitButton("Save"), status),
  );
  return form;
}

/** The entries of a list typed one per line (or comma-separated). @param {string} text */
function lines(text) {
  return text
    .split(/[\n,]/)
    .map((line) => line.trim())
    .filter(Boolean);
}

/** @param {string} name @param {string[]} values */
function listArea(name, values) {
  const area = /** @type {HTMLTextAreaElement} */ (
    h("textarea", { name, rows: 4, maxlength: 2000, spellcheck: "false", class: "mono" })
  );
  area.value = values.join("\n");
  return area;
}

/**
 * The dial plan: which numbers the service's agents may call (Dial up and transfers to outside
 * numbers). The server checks every field; a refusal names it.
 * @param {Service} service
 */
function dialPlanForm(service) {
  /** @type {DialPlan} */
  const plan = service.dial_plan;
  const known = COUNTRIES.find(([key]) => key === (plan.country_code || ""));
  const country = select(
    COUNTRIES.map(([key, label]) => [key, label]),
    known ? known[0] : "other",
    { name: "country" },
  );
  const code = ui.input("text", "country_code", {
    value: plan.country_code || "",
    maxlength: 3,
    inputmode: "numeric",
    class: "mono",
  });
  const trunk = ui.input("text", "national_prefix", {
    value: plan.national_prefix,
    maxlength: 3,
    inputmode: "numeric",
    class: "mono",
  });
  const intl = ui.input("text", "international_prefixes", {
    value: plan.international_prefixes.join(", "),
    maxlength: 30,
    class: "mono",
  });
  const custom = h(
    "div",
    { class: "field-group" },
    field("Country calling code", code, "Without + or 00, e.g. 49."),
    field("National trunk prefix", trunk, "Replaced by +country code: 030 … becomes +4930 …"),
    field("International prefixes", intl, "Numbers starting with these are international."),
  );
  const syncCountry = () => {
    const chosen = COUNTRIES.find(([key]) => key === country.value);
    custom.hidden = country.value !== "other";
    if (!chosen || country.value === "other") return;
    code.value = chosen[2];
    trunk.value = chosen[3];
    intl.value = INTERNATIONAL[chosen[2]] ?? "00";
  };
  country.addEventListener("change", syncCountry);
  custom.hidden = country.value !== "other";
  const international = checkbox(
    "Allow international numbers",
    Boolean(plan.allow_international),
    { name: "allow_international" },
  );
  const premium = checkbox(
    "Allow premium-rate numbers (the prefixes below)",
    Boolean(plan.allow_premium),
    { name: "allow_premium" },
  );
  const premiumList = listArea("premium_prefixes", plan.premium_prefixes);
  const allowed = listArea("allowed_patterns", plan.allowed_patterns);
  const blocked = listArea("blocked_patterns", plan.blocked_patterns);
  const status = ui.saveStatus();
  const form = ui.formWith(
    { class: "card settings-form", "aria-labelledby": "dial-plan-title" },
    async () => {
      status.clear();
      /** @type {DialPlan} */
      const body = {
        country_code: code.value.trim() || null,
        national_prefix: trunk.value.trim(),
        international_prefixes: lines(intl.value),
        allow_international: international.input.checked,
        allow_premium: premium.input.checked,
        premium_prefixes: lines(premiumList.value),
        allowed_patterns: lines(allowed.value),
        blocked_patterns: lines(blocked.value),
      };
      await ui.saveForm(form, status.fail, async () => {
        /** @type {Service} */
        const saved = await api.patch(`/api/admin/services/${service.id}`, { dial_plan: body });
        Object.assign(service, saved);
        premiumList.value = saved.dial_plan.premium_prefixes.join("\n");
        allowed.value = saved.dial_plan.allowed_patterns.join("\n");
        blocked.value = saved.dial_plan.blocked_patterns.join("\n");
        status.ok("Dial plan saved.");
      });
    },
    h("h2", { id: "dial-plan-title", class: "card-title" }, "Dial Plan"),
    h(
      "p",
      { class: "muted small" },
      "Which numbers agents may call for this service (Dial up and transfers to outside " +
        "numbers). National numbers are allowed; international and premium-rate numbers and " +
        "service codes (*…, #…) are refused unless allowed here.",
    ),
    field("Country", country),
    custom,
    h("fieldset", { class: "fieldset" }, h("legend", null, "Allow"), international, premium),
    field(
      "Premium-rate prefixes",
      premiumList,
      "One per line, e.g. +1900 or 0900 (with the country set, 0900 means +49900). X is any digit.",
    ),
    field(
      "Always allowed",
      allowed,
      "Numbers starting with these are allowed even if international, premium or a code.",
    ),
    field("Always blocked", blocked, "Numbers starting with these are refused, whatever else."),
    ui.formActions(ui.submitButton("Save dial plan"), status),
  );
  return form;
}

/** @param {Service} service */
function permissions(service) {
  const list = h("ul", { class: "rows" });
  const status = ui.saveStatus();
  /** @param {ServiceAgent} a */
  const agentItem = (a) => {
    const box = checkbox(a.name, Boolean(a.phone_permission), {
      "aria-label": `Phone permission for ${a.name}`,
    });
    box.input.addEventListener("change", async () => {
      box.input.disabled = true;
      try {
        await api.put(`/api/admin/services/${service.id}/agents/${a.user_id}`, {
          phone_permission: box.input.checked,
        });
        status.ok(`${a.name}: phone permission ${box.input.checked ? "granted" : "removed"}.`);
      } catch (err) {
        box.input.checked = !box.input.checked;
        status.fail(errorText(err));
      } finally {
        box.input.disabled = false;
      }
    });
    return h("li", { class: "row", dataset: { user: String(a.user_id) } }, box);
  };
  void ui.renderLoaded(
    list,
    () => api.get(`/api/admin/services/${service.id}/agents`),
    (/** @type {ServiceAgent[]} */ agents) =>
      agents.length
        ? agents.map(agentItem)
        : emptyItem("No agents yet. Add users with the agent role."),
    (err) => emptyItem(errorText(err)),
  );
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

/** The one item of an empty list. @param {string} text */
function emptyItem(text) {
  return h("li", { class: "empty" }, text);
}

/** @param {Service} service */
function callingNumbers(service) {
  const list = h("ul", { class: "rows" });
  const status = ui.saveStatus();
  const number = ui.phoneInput("number", { required: true });
  const label = ui.input("text", "label", { maxlength: 100 });
  const base = `/api/admin/services/${service.id}/calling-numbers`;
  /** @param {CallingNumber} n */
  const numberItem = (n) =>
    h(
      "li",
      { class: "row", dataset: { number: n.number } },
      h(
        "span",
        { class: "row-main" },
        h("strong", { class: "mono" }, n.number),
        h("span", { class: "muted" }, n.label || ""),
      ),
      ui.button("Remove", {
        class: "btn btn-small",
        "aria-label": `Remove ${n.number}`,
        onclick: ui.confirmed(
          {
            title: "Remove calling number",
            message: `Agents will no longer be able to call out as ${n.number}.`,
            confirmLabel: "Remove",
            danger: true,
          },
          status.fail,
          async () => {
            await api.del(`${base}/${n.id}`);
            status.ok(`${n.number} removed.`);
            await load();
          },
        ),
      }),
    );
  const load = () =>
    ui.renderLoaded(
      list,
      () => api.get(base),
      (/** @type {CallingNumber[]} */ numbers) =>
        numbers.length
          ? numbers.map(numberItem)
          : emptyItem("No calling number: agents cannot dial out for this service."),
      (err) => emptyItem(errorText(err)),
    );
  void load();
  const form = ui.formWith(
    { class: "inline-form" },
    async () => {
      const value = number.value.replace(/[\s().-]/g, "");
      if (!isPhoneNumber(value)) {
        number.setAttribute("aria-invalid", "true");
        status.fail("Enter a phone number.");
        return;
      }
      number.removeAttribute("aria-invalid");
      await ui.attempt(status.fail, async () => {
        await api.post(base, { number: value, label: label.value.trim() });
        number.value = "";
        label.value = "";
        status.ok(`${value} registered.`);
        await load();
      });
    },
    field("Number", number),
    field("Label", label),
    ui.submitButton("Add number"),
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

/** @param {Service} service */
function dangerZone(service) {
  return h(
    "section",
    { class: "card danger-zone" },
    h("h2", { class: "card-title" }, "Delete service"),
    h("p", { class: "muted small" }, "Its tickets stay; calls to its number are no longer taken."),
    ui.button("Delete service", {
      class: "btn btn-danger-outline",
      onclick: ui.confirmed(
        {
          title: "Delete service",
          message: `Delete ${service.name}? This cannot be undone.`,
          confirmLabel: "Delete",
          danger: true,
        },
        (text) => toast(text, "error"),
        async () => {
          await api.del(`/api/admin/services/${service.id}`);
          toast(`${service.name} deleted.`, "success");
          void navigate("/admin/services");
        },
      ),
    }),
  );
}

// ---- what the caller meets ---------------------------------------------------------------------

/** Common IANA time zones; the server accepts any IANA name (typed under "Other…"). */
const ZONES = [
  "UTC",
  "Europe/London",
  "Europe/Dublin",
  "Europe/Lisbon",
  "Europe/Berlin",
  "Europe/Vienna",
  "Europe/Zurich",
  "Europe/Paris",
  "Europe/Amsterdam",
  "Europe/Madrid",
  "Europe/Rome",
  "Europe/Stockholm",
  "Europe/Warsaw",
  "Europe/Helsinki",
  "Europe/Athens",
  "Europe/Istanbul",
  "America/New_York",
  "America/Chicago",
  "America/Denver",
  "America/Los_Angeles",
  "America/Toronto",
  "America/Sao_Paulo",
  "Asia/Dubai",
  "Asia/Kolkata",
  "Asia/Singapore",
  "Asia/Tokyo",
  "Australia/Sydney",
];
const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/** @type {Array<[string, string]>} */
const CLOSED_ACTIONS = [
  ["message", "Play the closed message and hang up"],
  ["voicemail", "Voicemail"],
  ["forward", "Forward to a number"],
];

const changeTime = new Intl.DateTimeFormat(undefined, {
  weekday: "short",
  day: "numeric",
  month: "short",
  hour: "2-digit",
  minute: "2-digit",
});

/**
 * "Open now (closes Tue, 1 Dec, 17:00)" or "Closed now (opens …)".
 * @param {{open_now: boolean, next_change: number | null}} state
 */
export function openNowText(state) {
  const word = state.open_now ? "Open now" : "Closed now";
  if (state.next_change === null) return word;
  const when = changeTime.format(new Date(state.next_change * 1000));
  return `${word} (${state.open_now ? "closes" : "opens"} ${when})`;
}

/** @param {{open_now: boolean, next_change: number | null}} state */
function openBadge(state) {
  return h(
    "span",
    {
      class: `badge ${state.open_now ? "badge-on" : "badge-off"}`,
      dataset: { open: String(state.open_now) },
    },
    openNowText(state),
  );
}

/**
 * A time zone chooser: a select of common zones and "Other…" with a text input.
 * @param {string} value
 */
function zoneChooser(value) {
  const known = ZONES.includes(value);
  /** @type {Array<[string, string]>} */
  const options = ZONES.map((z) => [z, z.replace(/_/g, " ")]);
  options.push(["other", "Other…"]);
  const zone = select(options, known ? value : "other", { name: "timezone_choice" });
  const other = ui.input("text", "timezone", {
    value: known ? "" : value,
    maxlength: 64,
    placeholder: "e.g. America/Mexico_City",
    "aria-label": "Time zone name",
  });
  other.hidden = known;
  zone.addEventListener("change", () => {
    other.hidden = zone.value !== "other";
  });
  return {
    element: h(
      "div",
      { class: "zone-chooser" },
      field("Time zone", zone, "The opening hours and holidays are in this time zone."),
      other,
    ),
    select: zone,
    value: () => (zone.value === "other" ? other.value.trim() : zone.value),
  };
}

/**
 * When closed, the menu heard first, the queue announcements and callbacks.
 * @param {Service} service
 */
function callerForm(service) {
  const closed = select(CLOSED_ACTIONS, service.closed_action || "message", {
    name: "closed_action",
  });
  const closedNumber = ui.phoneInput("closed_number", { value: service.closed_number || "" });
  const closedNumberField = field("Forward to", closedNumber);
  const syncClosed = () => {
    closedNumberField.hidden = closed.value !== "forward";
  };
  closed.addEventListener("change", syncClosed);
  syncClosed();
  const menu = select([["", "None: straight to the queue"]], "", { name: "menu_id" });
  void api.get("/api/admin/menus").then(
    (/** @type {Menu[]} */ menus) => {
      for (const m of menus) {
        const chosen = m.id === service.menu_id;
        menu.append(h("option", { value: String(m.id), selected: chosen }, m.name));
      }
    },
    (err) => status.fail(errorText(err)),
  );
  const position = checkbox(
    "Announce the caller's position and expected wait",
    service.announce_position,
    { name: "announce_position" },
  );
  const message = checkbox("Play the queue message", service.announce_message, {
    name: "announce_message",
  });
  const every = ui.numberInput("announce_every_seconds", service.announce_every_seconds, {
    min: 0,
    max: 3600,
  });
  const callback = checkbox(
    "Offer callbacks (press 1 while waiting)",
    Boolean(service.callback_enabled),
    { name: "callback_enabled" },
  );
  const retry = ui.numberInput("callback_retry_seconds", service.callback_retry_seconds ?? 300, {
    min: 30,
    max: 86400,
  });
  const attempts = ui.numberInput("callback_max_attempts", service.callback_max_attempts ?? 3, {
    min: 1,
    max: 10,
  });
  const callbackFields = h(
    "div",
    { class: "field-group" },
    field("Retry after (seconds)", retry, "When the customer does not answer (10 to 86400)."),
    field("Attempts", attempts, "Calls to the customer in all before the callback fails (1 to 10)."),
  );
  const syncCallback = () => {
    callbackFields.hidden = !callback.input.checked;
  };
  const own = service.record_calls;
  const recording = select(RECORDING, own === null || own === undefined ? "" : String(own), {
    name: "record_calls",
  });
  callback.input.addEventListener("change", syncCallback);
  syncCallback();
  const status = ui.saveStatus();
  const form = ui.formWith(
    { class: "card settings-form", "aria-labelledby": "caller-title" },
    async () => {
      status.clear();
      const body = {
        closed_action: closed.value,
        closed_number: closed.value === "forward" ? closedNumber.value.trim() || null : null,
        menu_id: menu.value ? Number(menu.value) : null,
        announce_position: position.input.checked,
        announce_message: message.input.checked,
        announce_every_seconds: ui.numberOrNull(every) ?? 0,
        callback_enabled: callback.input.checked,
        callback_retry_seconds: ui.numberOrNull(retry) ?? 300,
        callback_max_attempts: ui.numberOrNull(attempts) ?? 3,
        record_calls: recording.value === "" ? null : recording.value === "true",
      };
      await ui.saveForm(form, status.fail, async () => {
        Object.assign(service, await api.patch(`/api/admin/services/${service.id}`, body));
        status.ok("Saved.");
      });
    },
    h("h2", { id: "caller-title", class: "card-title" }, "What the caller meets"),
    field("When closed", closed, "Outside the opening hours and on holidays."),
    closedNumberField,
    field("Menu first", menu, "Calls to the inbound number hear this menu before the queue."),
    h(
      "fieldset",
      { class: "fieldset" },
      h("legend", null, "Announcements in the queue"),
      position,
      message,
    ),
    field("Every (seconds)", every, "0: only when the caller joins the queue."),
    h(
      "fieldset",
      { class: "fieldset" },
      h("legend", null, "Callbacks"),
      callback,
      h(
        "p",
        { class: "muted small" },
        "Heard with the announcements. The caller keeps their place in the queue and is " +
          "called back from the service's calling number when an agent is free.",
      ),
    ),
    callbackFields,
    field(
      "Record calls",
      recording,
      "Conversations with an agent, both directions, kept with the ticket. The global " +
        "setting is on CTI Settings, with the notice callers hear.",
    ),
    ui.formActions(ui.submitButton("Save"), status),
  );
  return form;
}

/** A row's Remove button. @param {() => void} onclick */
function removeButton(onclick) {
  return ui.button("Remove", { class: "btn btn-small btn-ghost", onclick });
}

/**
 * One row of the week table: a day, from, to and Remove.
 * @param {WeeklyHours} range
 * @param {() => void} onRemove
 */
function rangeRow(range, onRemove) {
  const day = select(
    WEEKDAYS.map((d, i) => [String(i), d]),
    String(range.weekday),
    { name: "weekday", "aria-label": "Day" },
  );
  const start = ui.input("time", "start", { value: range.start, "aria-label": "From" });
  const end = ui.input("time", "end", {
    value: range.end === "24:00" ? "00:00" : range.end,
    "aria-label": "To",
  });
  const row = h(
    "tr",
    { class: "hours-row" },
    h("td", null, day),
    h("td", null, start),
    h("td", null, end),
    h("td", null, removeButton(() => {
      row.remove();
      onRemove();
    })),
  );
  /** @returns {WeeklyHours} */
  // An end of 00:00 is midnight at the end of the day ("24:00" to the server).
  const read = () => ({
    weekday: Number(day.value),
    start: start.value,
    end: end.value === "00:00" ? "24:00" : end.value,
  });
  return Object.assign(row, { read });
}

/**
 * One holiday: name, from, to, yearly, Remove.
 * @param {HolidayDays} holiday
 */
function holidayRow(holiday) {
  const name = ui.input("text", "holiday_name", {
    value: holiday.name,
    maxlength: 200,
    "aria-label": "Holiday",
  });
  const first = ui.input("date", "first", { value: holiday.first, "aria-label": "From" });
  const last = ui.input("date", "last", { value: holiday.last, "aria-label": "To" });
  const yearly = checkbox("Every year", holiday.yearly, { name: "yearly" });
  const row = h(
    "tr",
    { class: "holiday-row" },
    h("td", null, name),
    h("td", null, first),
    h("td", null, last),
    h("td", null, yearly),
    h("td", null, removeButton(() => row.remove())),
  );
  /** @returns {HolidayDays} */
  const read = () => ({
    name: name.value.trim(),
    first: first.value,
    last: last.value || first.value,
    yearly: yearly.input.checked,
  });
  return Object.assign(row, { read });
}

/**
 * Opening hours (a week table of ranges), holidays and the time zone, saved together with one
 * PUT that replaces the calendar; the badge says whether the service is open now.
 * @param {Service} service
 */
function hoursCard(service) {
  const card = h("section", { class: "card settings-form", "aria-labelledby": "hours-title" });
  const badge = h("p", { class: "open-now" }, openBadge(service));
  const path = `/api/admin/services/${service.id}/hours`;
  const status = ui.saveStatus();
  const weekBody = h("tbody");
  const holidayBody = h("tbody");
  const emptyWeek = h(
    "p",
    { class: "muted small" },
    "No opening hours: open at all hours (except on holidays).",
  );
  /** @type {Array<HTMLElement & {read: () => WeeklyHours}>} */
  let ranges = [];
  /** @type {Array<HTMLElement & {read: () => HolidayDays}>} */
  let holidays = [];
  const syncEmpty = () => {
    ranges = ranges.filter((r) => r.isConnected);
    emptyWeek.hidden = ranges.length > 0;
  };
  /** @param {WeeklyHours} range */
  const addRange = (range) => {
    const row = rangeRow(range, syncEmpty);
    ranges.push(row);
    weekBody.append(row);
    syncEmpty();
  };
  /** @param {HolidayDays} holiday */
  const addHoliday = (holiday) => {
    const row = holidayRow(holiday);
    holidays.push(row);
    holidayBody.append(row);
  };
  const zone = zoneChooser(service.timezone || "UTC");
  const form = ui.formWith(
    {},
    async () => {
      status.clear();
      holidays = holidays.filter((r) => r.isConnected);
      syncEmpty();
      const body = {
        timezone: zone.value(),
        weekly: ranges.map((r) => r.read()),
        holidays: holidays.map((r) => r.read()),
      };
      await ui.saveForm(form, status.fail, async () => {
        /** @type {ServiceHours} */
        const saved = await api.put(path, body);
        service.timezone = saved.timezone;
        service.open_now = saved.open_now;
        service.next_change = saved.next_change;
        render(badge, openBadge(saved));
        status.ok("Opening hours saved.");
      });
    },
    zone.element,
    h("h3", { class: "card-subtitle" }, "Opening hours"),
    h(
      "table",
      { class: "table hours-table", "aria-label": "Opening hours" },
      tableHead(["Day", "From", "To", ""]),
      weekBody,
    ),
    emptyWeek,
    h(
      "div",
      { class: "form-actions" },
      ui.button("Add hours", {
        class: "btn btn-small",
        onclick: () => addRange({ weekday: 0, start: "09:00", end: "17:00" }),
      }),
      ui.button("Add Monday–Friday 9–17", {
        class: "btn btn-small btn-ghost",
        onclick: () => {
          for (let d = 0; d < 5; d += 1) addRange({ weekday: d, start: "09:00", end: "17:00" });
        },
      }),
    ),
    h("p", { class: "muted small" }, "A range that ends before it starts runs past midnight."),
    h("h3", { class: "card-subtitle" }, "Holidays"),
    h(
      "table",
      { class: "table hours-table", "aria-label": "Holidays" },
      tableHead(["Name", "From", "To", "Yearly", ""]),
      holidayBody,
    ),
    h(
      "div",
      { class: "form-actions" },
      ui.button("Add holiday", {
        class: "btn btn-small",
        onclick: () => {
          const today = new Date().toISOString().slice(0, 10);
          addHoliday({ name: "Holiday", first: today, last: today, yearly: false });
        },
      }),
    ),
    ui.formActions(ui.submitButton("Save opening hours"), status),
  );
  card.append(
    h("h2", { id: "hours-title", class: "card-title" }, "Opening hours and holidays"),
    badge,
    form,
  );
  void api.get(path).then(
    (/** @type {ServiceHours} */ hours) => {
      for (const r of hours.weekly) addRange(r);
      for (const d of hours.holidays) addHoliday(d);
      render(badge, openBadge(hours));
    },
    (err) => status.fail(errorText(err)),
  );
  return card;
}
