// CTI Settings: the switch's SIP domain (trunks: trunks.js), codecs, queue music, login and pickup rules,
// Automatic Outbound Ticket Creation, wrap-up, recording, and the sounds and prompts (text spoken
// by the server or a WAV upload, listened to here).

import { api, getBlob } from "../../api.js";
import { checkbox, field, h, render, select } from "../../dom.js";
import * as ui from "../../ui/form.js";
import { errorText } from "../../ui/toast.js";
import { adminShell } from "./shell.js";

/** @typedef {import("../../types.js").CtiSettings} CtiSettings */
/** @typedef {import("../../types.js").Prompt} Prompt */

/** What each global sound or prompt is for. @type {Record<string, string>} */
const HELP = {
  hold_music: "Played to the customer while on hold.",
  queue_music: "Played while the caller waits for an agent.",
  force_disconnect: "Played before a forced disconnect.",
  overflow: "Played when the maximum queue wait is reached.",
  closed: "Played outside the opening hours and on holidays.",
  menu: "A menu's prompt until the menu has its own.",
  menu_invalid: "Played when a caller keys a digit a menu has no choice for.",
  goodbye: "Played before a menu hangs up.",
  queue_message: "Played in the queue at each announcement interval.",
  voicemail: "Played before the caller leaves a message.",
  voicemail_saved: "Played after the message is saved.",
  callback_offer: "Played with the queue announcements where a service offers callbacks.",
  callback_confirm: "After the number is read out: confirm it, give another or keep waiting.",
  callback_number: "Asks the caller to key in the number to call back, then #.",
  callback_invalid: "Played when the keyed number cannot be called.",
  callback_booked: "Played before the caller is let go; the callback keeps their place.",
  recording_notice:
    "Heard once by a caller whose call is recorded, as they join the queue (where the notice " +
    "is on).",
  queue_position:
    "Said at join and each interval: {position} becomes the caller's place, {wait} the expected " +
    "wait (sentences with {wait} are left out until calls have been answered). Play says it for " +
    "place 3.",
};
/** Music is played as it is: an upload or the built-in sound, never text. */
const MUSIC = new Set(["hold_music", "queue_music"]);
/** Said with each caller's figures: typed text only, never an upload. */
const TEXT_ONLY = new Set(["queue_position"]);

/** @param {HTMLElement} main */
export async function ctiSettingsView(main) {
  const content = adminShell(main, "/admin/cti-settings", "CTI Settings");
  /** @type {CtiSettings | undefined} */
  const settings = await ui.loadOrExplain(content, () => api.get("/api/admin/cti/settings"));
  if (settings === undefined) return;
  content.append(settingsForm(settings), soundsCard());
}

/** @type {Array<[string, string]>} */
const CODECS = [
  ["PCMU", "G.711 µ-law (PCMU)"],
  ["PCMA", "G.711 A-law (PCMA)"],
];

/** @type {Array<[string, string]>} */
const QUEUE_MODES = [
  ["early_media", "Early media (before answering the caller)"],
  ["answered", "Answer the caller, then play"],
];

/** @type {Array<[string, string]>} */
const LOGIN_STATUSES = [
  ["business", "Business"],
  ["ready", "Ready"],
  ["rest", "Rest"],
];

/** @type {Array<[string, string]>} */
const TIMEOUT_STATUSES = [
  ["rest", "Rest"],
  ["business", "Business"],
];

/** @param {CtiSettings} s */
function settingsForm(s) {
  /** @param {string} name @param {string | null} value @param {Record<string, any>} [attrs] */
  const text = (name, value, attrs = {}) =>
    ui.input("text", name, { value: value ?? "", maxlength: 200, ...attrs });
  const num = ui.numberInput;
  const sipDomain = text("sip_domain", s.sip_domain);
  const anySource = checkbox(
    "Accept inbound calls from any address (not only the trunk)",
    Boolean(s.allow_any_source),
    {
      name: "allow_any_source",
    },
  );
  const perSource = num("max_calls_per_source", s.max_calls_per_source, { min: 1, max: 10000 });
  const totalCalls = num("max_calls_total", s.max_calls_total, { min: 1, max: 100000 });
  const queued = num("max_queued_per_service", s.max_queued_per_service, { min: 0, max: 100000 });
  const absent = num("absent_logout_seconds", s.absent_logout_seconds, { min: 0, max: 86400 });
  const codecs = CODECS.map(([value, label]) =>
    checkbox(label, (s.codecs || []).includes(value), { name: "codecs", value }),
  );
  /** A <select> named `name` of these options, showing the setting or else `fallback`. */
  const choice = (
    /** @type {keyof CtiSettings} */ name,
    /** @type {Array<[string, string]>} */ options,
    /** @type {string} */ fallback,
  ) => select(options, String(s[name] || fallback), { name });
  const queueMode = choice("queue_music_mode", QUEUE_MODES, "early_media");
  const loginStatus = choice("default_login_status", LOGIN_STATUSES, "business");
  const pickup = num("pickup_seconds", s.pickup_seconds, { min: 1, max: 600 });
  const timeoutStatus = choice("pickup_timeout_status", TIMEOUT_STATUSES, "rest");
  const maxMissed = num("max_missed_offers", s.max_missed_offers, { min: 1, max: 100 });
  const autoTicket = checkbox(
    "Automatic Outbound Ticket Creation (open the ticket when the call is placed)",
    Boolean(s.outbound_ticket_on_dial),
    { name: "outbound_ticket_on_dial" },
  );
  const wrapUp = num("wrap_up_seconds", s.wrap_up_seconds, { min: 1, max: 86400 });
  const record = checkbox(
    "Record calls (both directions, attached to the ticket)",
    Boolean(s.record_calls),
    { name: "record_calls" },
  );
  const notice = checkbox(
    "Tell callers: play the \"This call may be recorded\" prompt before the queue",
    s.recording_notice !== false,
    { name: "recording_notice" },
  );
  const retention = num("recording_retention_days", s.recording_retention_days, {
    min: 0,
    max: 36500,
  });
  const ownRecordings = checkbox(
    "Agents hear the recordings of their own calls",
    s.agents_hear_own_recordings !== false,
    { name: "agents_hear_own_recordings" },
  );
  const supervisorNotice = checkbox(
    "Agents see when a supervisor listens",
    s.supervisor_notice !== false,
    { name: "supervisor_notice" },
  );
  const status = ui.saveStatus();
  const form = ui.formWith(
    { class: "card settings-form" },
    async () => {
      status.clear();
      const chosenCodecs = codecs.filter((c) => c.input.checked).map((c) => c.input.value);
      if (!chosenCodecs.length) {
        status.fail("Choose at least one codec.");
        return;
      }
      const body = {
        ...s,
        sip_domain: sipDomain.value.trim(),
        allow_any_source: anySource.input.checked,
        max_calls_per_source: ui.numberOrNull(perSource),
        max_calls_total: ui.numberOrNull(totalCalls),
        max_queued_per_service: ui.numberOrNull(queued),
        codecs: chosenCodecs,
        queue_music_mode: queueMode.value,
        default_login_status: loginStatus.value,
        pickup_seconds: ui.numberOrNull(pickup),
        pickup_timeout_status: timeoutStatus.value,
        max_missed_offers: ui.numberOrNull(maxMissed),
        outbound_ticket_on_dial: autoTicket.input.checked,
        wrap_up_seconds: ui.numberOrNull(wrapUp),
        absent_logout_seconds: ui.numberOrNull(absent),
        record_calls: record.input.checked,
        recording_notice: notice.input.checked,
        recording_retention_days: ui.numberOrNull(retention) ?? 0,
        agents_hear_own_recordings: ownRecordings.input.checked,
        supervisor_notice: supervisorNotice.input.checked,
      };
      await ui.saveForm(form, status.fail, async () => {
        Object.assign(s, await api.put("/api/admin/cti/settings", body));
        status.ok("Saved.");
      });
    },
    h("h2", { class: "card-title" }, "Switch"),
    h(
      "div",
      { class: "grid-2" },
      field("SIP domain", sipDomain, "Phones register as <CTI ID>@this domain."),
    ),
    h(
      "p",
      { class: "hint" },
      "Provider trunks (host, credentials, registration, caller ID) are set on the ",
      h("a", { href: "/admin/trunks" }, "Trunks"),
      " page.",
    ),
    anySource,
    h(
      "div",
      { class: "grid-2" },
      field(
        "Calls per source address",
        perSource,
        "Live inbound calls from one address other than the trunk; more are refused as busy.",
      ),
      field(
        "Calls in total",
        totalCalls,
        "Live inbound calls, the trunk's included; more are refused (503, try later).",
      ),
      field(
        "Waiting calls per service",
        queued,
        "Callers one service's queue may hold; more are refused as busy (0: only when an " +
          "agent is Ready).",
      ),
    ),
    h("fieldset", { class: "fieldset" }, h("legend", null, "Codecs"), codecs),
    field("Queue music mode", queueMode),
    h("h2", { class: "card-title" }, "Agents and calls"),
    h(
      "div",
      { class: "grid-2" },
      field("Status after CTI Login", loginStatus),
      field(
        "Call pickup time (seconds)",
        pickup,
        "How long a call rings at an agent before it is reassigned.",
      ),
      field(
        "Status after an unanswered call",
        timeoutStatus,
        "Scenario: where the agent who let it ring goes.",
      ),
      field(
        "Log out agents whose browser is gone after (seconds)",
        absent,
        "No page of theirs open this long (and no call): logged out of CTI, so calls stop " +
          "ringing an empty desk (0: never).",
      ),
      field("Maximum missed calls in a row", maxMissed, "Then the agent is paused."),
      field(
        "Wrap-up limit (seconds)",
        wrapUp,
        "Back to Ready automatically; empty: the agent chooses.",
      ),
    ),
    autoTicket,
    h("h2", { class: "card-title" }, "Recording and listening"),
    record,
    h(
      "p",
      { class: "hint" },
      "Each service may say otherwise (Record / Do not record) on its Services page.",
    ),
    notice,
    field(
      "Keep recordings for (days)",
      retention,
      "Call recordings and voicemails older than this are deleted, the ticket says so " +
        "(0: kept forever).",
    ),
    ownRecordings,
    supervisorNotice,
    ui.formActions(ui.submitButton("Save"), status),
  );
  return form;
}

function soundsCard() {
  const list = h("ul", { class: "sounds" });
  const own = h("ul", { class: "sounds" });
  const ownGroup = h(
    "details",
    { class: "prompt-group" },
    h("summary", null, "Each service's and each menu's own prompts"),
    h(
      "p",
      { class: "muted small" },
      "Until set, these say what the global prompt above says.",
    ),
    own,
  );
  void ui.renderLoaded(
    list,
    () => api.get("/api/admin/cti/prompts"),
    (/** @type {Prompt[]} */ prompts) => {
      const global = prompts.filter((p) => !p.name.includes("."));
      render(
        own,
        prompts.filter((p) => p.name.includes(".")).map((p) => soundRow(p)),
      );
      return global.map((p) => soundRow(p));
    },
  );
  return h(
    "section",
    { class: "card", "aria-labelledby": "sounds-title" },
    h("h2", { id: "sounds-title", class: "card-title" }, "Sounds and prompts"),
    h(
      "p",
      { class: "muted small" },
      "What callers hear. A prompt is spoken from its text by the server (edit and Save text), " +
        "or an uploaded WAV file (any rate; converted to G.711 for calls). Music is upload-only. " +
        "Restore default puts back the built-in sound or text.",
    ),
    list,
    ownGroup,
  );
}

/** @param {Prompt} prompt */
function kindText(prompt) {
  if (prompt.kind === "upload") return "Uploaded WAV";
  if (prompt.kind === "text") return "Spoken from your text";
  return MUSIC.has(prompt.name) ? "Built-in sound" : "Default text";
}

/** @param {Prompt} prompt */
function soundRow(prompt) {
  const { name, label } = prompt;
  const music = MUSIC.has(name.split(".")[0]);
  const textOnly = TEXT_ONLY.has(name.split(".")[0]);
  const help = HELP[name] || "";
  const path = `/api/admin/cti/sounds/${name}`;
  const audio = /** @type {HTMLAudioElement} */ (
    h("audio", { controls: true, preload: "none", "aria-label": `${label} player` })
  );
  audio.hidden = true;
  const status = ui.saveStatus();
  const kind = h("span", { class: "badge prompt-kind" }, kindText(prompt));
  let objectUrl = "";
  async function load() {
    const blob = await getBlob(path);
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = URL.createObjectURL(blob);
    audio.src = objectUrl;
    audio.hidden = false;
  }
  /** @param {Prompt} now */
  const show = (now) => {
    Object.assign(prompt, now);
    kind.textContent = kindText(now);
    if (text) text.value = now.text;
  };
  /** After a change on the server: say so, and play the new sound from now on. @param {string} said */
  const changed = async (said) => {
    status.ok(said);
    objectUrl = "";
    /** @type {Prompt[]} */
    const prompts = await api.get("/api/admin/cti/prompts");
    const now = prompts.find((p) => p.name === name);
    if (now) show(now);
    await load();
  };
  const play = ui.button("▶ Play", {
    class: "btn btn-small",
    "aria-label": `Play ${label}`,
    onclick: async () => {
      try {
        if (!objectUrl) await load();
        await audio.play();
      } catch (err) {
        // Autoplay policies may refuse play(); the controls are there then.
        if (err instanceof DOMException) audio.hidden = false;
        else status.fail(errorText(err));
      }
    },
  });
  const text = music
    ? null
    : /** @type {HTMLTextAreaElement} */ (
        h("textarea", {
          name: `text-${name}`,
          rows: 2,
          maxlength: 1000,
          "aria-label": `Text of ${label}`,
        })
      );
  if (text) text.value = prompt.text;
  const saveText = text
    ? ui.button("Save text", {
        class: "btn btn-small btn-primary",
        "aria-label": `Save text of ${label}`,
        onclick: async () => {
          const value = text.value.trim();
          if (!value) {
            status.fail("Type what the caller should hear.");
            return;
          }
          await ui.attempt(status.fail, async () => {
            await api.put(`/api/admin/cti/prompts/${name}`, { text: value });
            await changed("Text saved.");
          });
        },
      })
    : null;
  const file = ui.input("file", name, { accept: ".wav,audio/wav,audio/x-wav" });
  const upload = ui.button("Upload", {
    class: "btn btn-small",
    "aria-label": `Upload ${label}`,
    onclick: async () => {
      const chosen = file.files && file.files[0];
      if (!chosen) {
        status.fail("Choose a WAV file first.");
        return;
      }
      const data = new FormData();
      data.append("file", chosen, chosen.name);
      await ui.attempt(status.fail, async () => {
        await api.put(path, data);
        file.value = "";
        await changed("Uploaded.");
      });
    },
  });
  const restore = ui.button("Restore default", {
    class: "btn btn-small btn-ghost",
    "aria-label": `Restore default ${label}`,
    onclick: ui.confirmed(
      {
        title: "Restore default",
        message: `Replace the ${label.toLowerCase()} with the default?`,
        confirmLabel: "Restore default",
      },
      status.fail,
      async () => {
        await api.del(path);
        await changed("Default restored.");
      },
    ),
  });
  return h(
    "li",
    { class: "sound", dataset: { sound: name } },
    h(
      "div",
      { class: "sound-head" },
      h("strong", null, label),
      kind,
      h("span", { class: "muted small" }, help),
    ),
    text ? h("div", { class: "sound-actions" }, text, saveText) : null,
    h("div", { class: "sound-actions" }, play, audio),
    textOnly
      ? h("div", { class: "sound-actions" }, restore)
      : h(
          "div",
          { class: "sound-actions" },
          field(`New ${label.toLowerCase()} (WAV)`, file),
          upload,
          restore,
        ),
    status,
  );
}
