// Trunks: the provider trunks outbound calls go out on, tried by priority, each with its
// registration, caller-ID form and number formats. Passwords are write-only.

import { api } from "../../api.js";
import { checkbox, field, h, select } from "../../dom.js";
import { openDialog } from "../../ui/dialog.js";
import * as ui from "../../ui/form.js";
import { table } from "../../ui/table.js";
import { adminShell } from "./shell.js";

/** @typedef {import("../../types.js").Trunk} Trunk */
/** @typedef {import("../../ui/form.js").SaveStatus} SaveStatus */

/** @type {Array<[string, string]>} */
const TRANSPORTS = [
  ["udp", "UDP"],
  ["tcp", "TCP"],
  ["tls", "TLS (certificate checked)"],
  ["auto", "Auto (NAPTR/SRV in DNS)"],
];

/** @type {Array<[string, string]>} */
const IDENTITY = [
  ["pai", "P-Asserted-Identity"],
  ["rpid", "Remote-Party-ID"],
  ["none", "From only"],
];

/** @type {Array<[string, string]>} */
const FORMATS = [
  ["e164", "E.164 with + (+49301234567)"],
  ["e164_plain", "E.164 without + (49301234567)"],
  ["national", "National (0301234567)"],
];

/** @type {Record<string, string>} */
const REGISTRATION = {
  off: "Not used",
  unregistered: "Not yet",
  registering: "Registering",
  registered: "Registered",
  failed: "Failed",
};

/** @param {HTMLElement} main */
export async function trunksView(main) {
  const content = adminShell(main, "/admin/trunks", "Trunks");
  const tableBox = h("div", { class: "card table-wrap" });
  const status = ui.saveStatus();
  const load = () =>
    ui.renderLoaded(
      tableBox,
      () => api.get("/api/admin/trunks"),
      (/** @type {Trunk[]} */ trunks) => trunksTable(trunks, load, status),
    );
  const form = trunkForm(null, load);
  form.classList.add("card", "settings-form");
  content.append(tableBox, status, form);
  await load();
}

/** @param {Trunk[]} trunks @param {() => Promise<void>} reload @param {SaveStatus} status */
function trunksTable(trunks, reload, status) {
  if (!trunks.length) {
    return h(
      "p",
      { class: "empty" },
      "No trunk yet. Until one is added here, a trunk set the old way (before this release, " +
        "or by the demo) is the only one used; without it, outbound calls cannot go out.",
    );
  }
  return table(
    { class: "table" },
    ["Priority", "Name", "Host", "Registration", "Enabled", ""],
    trunks.map((t) =>
      h(
        "tr",
        { dataset: { trunk: String(t.id) } },
        h("td", null, String(t.priority)),
        h("td", null, t.name),
        h(
          "td",
          { class: "mono" },
          t.port ? `${t.host}:${t.port}` : t.host,
          ` (${t.transport.toUpperCase()})`,
          t.located.length ? h("span", { class: "hint" }, ` → ${t.located.join(", ")}`) : null,
          t.last_error ? h("div", { class: "hint", role: "status" }, t.last_error) : null,
        ),
        h(
          "td",
          { title: t.registration_error || "" },
          REGISTRATION[t.registration] || t.registration,
          t.registration_error ? h("span", { class: "hint" }, ` (${t.registration_error})`) : null,
        ),
        h("td", null, t.enabled ? "Yes" : "No"),
        h(
          "td",
          { class: "row-actions" },
          ui.button("Edit", {
            class: "btn btn-small",
            "aria-label": `Edit ${t.name}`,
            onclick: () => editTrunk(t, reload),
          }),
          ui.button("Delete", {
            class: "btn btn-small btn-ghost",
            "aria-label": `Delete ${t.name}`,
            onclick: ui.confirmed(
              {
                title: "Delete trunk",
                message: `Delete the trunk ${t.name}? Calls no longer go out on it.`,
                confirmLabel: "Delete",
                danger: true,
              },
              status.fail,
              async () => {
                await api.del(`/api/admin/trunks/${t.id}`);
                status.ok(`${t.name} deleted.`);
                await reload();
              },
            ),
          }),
        ),
      ),
    ),
  );
}

/** @param {Trunk} trunk @param {() => Promise<void>} reload */
function editTrunk(trunk, reload) {
  const d = openDialog({ title: `Edit ${trunk.name}` });
  d.body.append(
    trunkForm(trunk, async () => {
      d.close();
      await reload();
    }),
  );
}

/**
 * The form of a new trunk (`trunk` null) or of an existing one.
 * @param {Trunk | null} trunk
 * @param {() => Promise<void>} saved
 */
function trunkForm(trunk, saved) {
  /** @param {string} name @param {string | null | undefined} value @param {Record<string, any>} [attrs] */
  const text = (name, value, attrs = {}) =>
    ui.input("text", name, { value: value ?? "", maxlength: 200, autocomplete: "off", ...attrs });
  const name = text("name", trunk?.name, { maxlength: 100 });
  const host = text("host", trunk?.host);
  const port = ui.numberInput("port", trunk?.port ?? 5060, { min: 0, max: 65535 });
  const transport = select(TRANSPORTS, trunk?.transport ?? "udp", { name: "transport" });
  // Auto is located by DNS: the port goes to 0 with it.
  transport.addEventListener("change", () => {
    if (transport.value === "auto") port.value = "0";
  });
  const priority = ui.numberInput("priority", trunk?.priority ?? 1, { min: 1, max: 1000 });
  const username = text("username", trunk?.username, { maxlength: 128 });
  const password = ui.input("password", "password", {
    maxlength: 128,
    autocomplete: "new-password",
    placeholder: trunk?.has_password ? "Set (type a new one to replace it)" : "Not set",
  });
  const authUser = text("auth_username", trunk?.auth_username, { maxlength: 128 });
  const realm = text("realm", trunk?.realm);
  const register = checkbox("Register with the provider", trunk?.register ?? false, {
    name: "register",
  });
  const expires = ui.numberInput("register_expires", trunk?.register_expires ?? 3600, {
    min: 60,
    max: 86400,
  });
  const enabled = checkbox("Enabled", trunk?.enabled ?? true, { name: "enabled" });
  const identity = select(IDENTITY, trunk?.identity_header ?? "pai", { name: "identity_header" });
  const fromDomain = text("from_domain", trunk?.from_domain);
  const privacy = checkbox(
    "Withheld numbers go as anonymous (Privacy: id)",
    trunk?.privacy_withheld ?? true,
    { name: "privacy_withheld" },
  );
  const format = select(FORMATS, trunk?.number_format ?? "e164", { name: "number_format" });
  const country = text("country_code", trunk?.country_code, { maxlength: 4, inputmode: "numeric" });
  const sources = /** @type {HTMLTextAreaElement} */ (
    h("textarea", { name: "sources", rows: 2, maxlength: 1000, spellcheck: "false" })
  );
  sources.value = (trunk?.sources || []).join("\n");
  const status = ui.saveStatus();
  const form = ui.formWith(
    {},
    async () => {
      status.clear();
      /** @type {Record<string, any>} */
      const body = {
        name: name.value.trim(),
        host: host.value.trim(),
        port: ui.numberOrNull(port),
        transport: transport.value,
        priority: ui.numberOrNull(priority),
        username: username.value.trim() || null,
        auth_username: authUser.value.trim() || null,
        realm: realm.value.trim() || null,
        register: register.input.checked,
        register_expires: ui.numberOrNull(expires),
        enabled: enabled.input.checked,
        identity_header: identity.value,
        from_domain: fromDomain.value.trim() || null,
        privacy_withheld: privacy.input.checked,
        number_format: format.value,
        country_code: country.value.trim() || null,
        sources: sources.value
          .split(/[\s,]+/)
          .map((s) => s.trim())
          .filter(Boolean),
      };
      if (password.value) body.password = password.value; // omitted: the stored one stays
      await ui.saveForm(form, status.fail, async () => {
        if (trunk) await api.put(`/api/admin/trunks/${trunk.id}`, body);
        else await api.post("/api/admin/trunks", body);
        status.ok(`${body.name} saved.`);
        password.value = "";
        await saved();
      });
    },
    trunk ? null : h("h2", { class: "card-title" }, "New trunk"),
    h(
      "div",
      { class: "grid-2" },
      field("Name", name),
      field("Priority", priority, "Calls try the enabled trunks from the lowest number up."),
      field("Host", host, "Your provider's SIP server or gateway."),
      field("Port", port, "0: found by DNS (SRV records of the host, RFC 3263)."),
      field(
        "Transport",
        transport,
        "TLS: the provider's certificate must be valid for the host. " +
          "Auto: DNS (NAPTR, then SRV) names the transport; needs a host name and port 0.",
      ),
      field("Username", username),
      field("Password", password),
      field("Auth username", authUser, "Only when the provider gives one besides the username."),
      field("Realm", realm, "Answer only this realm's challenges (empty: any)."),
      field("Registration expiry (seconds)", expires),
    ),
    register,
    enabled,
    h("h3", { class: "card-subtitle" }, "Caller ID and numbers"),
    h(
      "div",
      { class: "grid-2" },
      field("Caller ID header", identity, "Besides From, whose user is the calling number."),
      field("From domain", fromDomain, "The host in From the provider expects (empty: its host)."),
      field("Number format out", format),
      field(
        "Country code",
        country,
        "Caller numbers from this trunk become E.164 with it (49 for Germany).",
      ),
    ),
    privacy,
    field(
      "Other sources",
      sources,
      "Addresses this provider sends calls from, one per line: 192.0.2.7 or 192.0.2.7:5060.",
    ),
    ui.formActions(ui.submitButton(trunk ? "Save" : "Add trunk"), status),
  );
  return form;
}
