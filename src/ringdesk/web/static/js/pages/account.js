// The signed-in user's own account: who they are, and two-step sign-in (TOTP) with its
// recovery codes. The authenticator app scans a QR code of the otpauth:// address (the server
// makes its modules, this page draws them as one SVG path); the secret and the address are
// shown too, to type or paste where a camera is no option.

import { api } from "../api.js";
import { field, h, render } from "../dom.js";
import * as ui from "../ui/form.js";
import * as state from "../state.js";

/** @typedef {import("../types.js").TotpStatus} TotpStatus */
/** @typedef {import("../types.js").TotpEnrolment} TotpEnrolment */
/** @typedef {import("../types.js").RecoveryCodes} RecoveryCodes */

/** @param {HTMLElement} main */
export async function accountView(main) {
  document.title = "Your account · Ringdesk";
  const me = state.get("me");
  const required = me.totp_setup_required
    ? h(
        "p",
        { class: "callout callout-warn", role: "status" },
        "Admins need two-step sign-in on this server: set it up below to continue.",
      )
    : null;
  const section = h("section", { class: "card settings-form", "aria-labelledby": "totp-title" });
  main.append(
    h(
      "div",
      { class: "account" },
      h("h1", null, "Your account"),
      required,
      h(
        "section",
        { class: "card settings-form" },
        h("h2", { class: "card-title" }, "Profile"),
        h(
          "dl",
          { class: "account-facts" },
          h("dt", null, "Name"),
          h("dd", null, me.name),
          h("dt", null, "Username"),
          h("dd", { class: "mono" }, me.username),
          h("dt", null, "Role"),
          h(
          "dd",
          null,
          me.role === "admin" ? "Admin" : me.role === "supervisor" ? "Supervisor" : "Agent",
        ),
        ),
      ),
      section,
    ),
  );
  await showTotp(section);
}

/** @param {HTMLElement} section */
async function showTotp(section) {
  await ui.renderLoaded(
    section,
    () => /** @type {Promise<TotpStatus>} */ (api.get("/api/me/totp")),
    (status) => (status.enabled ? totpOn(section, status) : totpOff(section)),
  );
}

function title() {
  return h("h2", { class: "card-title", id: "totp-title" }, "Two-step sign-in");
}

/** Off (or set up but never confirmed): start with the password. @param {HTMLElement} section */
function totpOff(section) {
  const password = ui.input("password", "password", {
    maxlength: 200,
    autocomplete: "current-password",
  });
  const status = ui.saveStatus();
  const form = ui.formWith(
    {},
    async () => {
      if (!password.value) {
        status.fail("Enter your password to start.");
        return;
      }
      await ui.saveForm(form, status.fail, async () => {
        const started = /** @type {TotpEnrolment} */ (
          await api.post("/api/me/totp", { password: password.value })
        );
        render(section, enrolment(section, started));
      });
    },
    field("Your password", password, "Asked again because this changes how you sign in."),
    ui.formActions(ui.submitButton("Set up two-step sign-in"), status),
  );
  return [
    title(),
    h(
      "p",
      null,
      "Off. With two-step sign-in, logging in also asks for a 6-digit code from an " +
        "authenticator app on your phone (any app for TOTP codes), so a stolen password " +
        "alone is not enough.",
    ),
    form,
  ];
}

const SVG = "http://www.w3.org/2000/svg";
const QUIET = 4; // modules of light margin around the code, as the QR standard asks

/**
 * The QR code as an inline SVG: a light square and one dark path of the modules, each row's
 * runs of dark modules one rectangle. Built with DOM calls (nothing parsed), so the CSP's
 * strict img-src and script-src are untouched.
 * @param {string[]} rows "1" dark, "0" light, without the quiet zone
 */
function qrCode(rows) {
  const size = rows.length + 2 * QUIET;
  /** @type {string[]} */
  const runs = [];
  rows.forEach((row, y) => {
    for (const match of row.matchAll(/1+/g)) {
      const x = /** @type {number} */ (match.index);
      const n = match[0].length;
      runs.push(`M${x + QUIET} ${y + QUIET}h${n}v1h-${n}z`);
    }
  });
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
  svg.setAttribute("class", "totp-qr");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "QR code for your authenticator app");
  svg.setAttribute("shape-rendering", "crispEdges");
  svg.dataset.totp = "qr";
  const light = document.createElementNS(SVG, "rect");
  light.setAttribute("width", String(size));
  light.setAttribute("height", String(size));
  light.setAttribute("fill", "#fff");
  const dark = document.createElementNS(SVG, "path");
  dark.setAttribute("d", runs.join(""));
  dark.setAttribute("fill", "#000");
  svg.append(light, dark);
  return svg;
}

/**
 * The QR code (or the secret) to put into the app, then a code from the app to turn it on.
 * @param {HTMLElement} section @param {TotpEnrolment} started
 */
function enrolment(section, started) {
  const secret = h("code", { class: "secret", "data-totp": "secret" }, started.secret);
  const uri = h("code", { class: "secret secret-wrap", "data-totp": "uri" }, started.uri);
  const code = ui.input("text", "code", {
    inputmode: "numeric",
    autocomplete: "one-time-code",
    maxlength: 8,
  });
  const status = ui.saveStatus();
  const form = ui.formWith(
    {},
    async () => {
      const value = code.value.replace(/\s+/g, "");
      if (!/^[0-9]{6}$/.test(value)) {
        status.fail("Enter the 6 digits your app shows.");
        return;
      }
      await ui.saveForm(form, status.fail, async () => {
        const saved = /** @type {RecoveryCodes} */ (
          await api.post("/api/me/totp/confirm", { code: value })
        );
        render(section, recoveryCodes(section, saved.recovery_codes, "Two-step sign-in is on."));
      });
    },
    field("Code from the app", code, "The 6 digits it shows now, to prove it has the key."),
    ui.formActions(ui.submitButton("Turn on"), status),
  );
  return [
    title(),
    h(
      "ol",
      { class: "steps" },
      h(
        "li",
        null,
        "In your authenticator app, add an account and scan this QR code:",
        qrCode(started.qr),
        h("p", null, "No camera? Enter this key instead (or paste the address):"),
        h("div", { class: "secret-row" }, secret, ui.copyButton(started.secret, secret, "key")),
        h("div", { class: "secret-row" }, uri, ui.copyButton(started.uri, uri, "address")),
      ),
      h("li", null, "Enter the code the app shows now below."),
    ),
    form,
  ];
}

/**
 * The recovery codes, shown this once.
 * @param {HTMLElement} section @param {string[]} codes @param {string} heading
 */
function recoveryCodes(section, codes, heading) {
  const list = h(
    "ol",
    { class: "recovery-codes mono", "aria-label": "Recovery codes" },
    codes.map((c) => h("li", null, c)),
  );
  return [
    title(),
    h("p", { class: "callout callout-info", role: "status" }, heading),
    h(
      "p",
      null,
      "Save these recovery codes somewhere safe (a password manager, or on paper). Each one " +
        "signs you in once if your phone is lost. They are shown only now.",
    ),
    list,
    ui.formActions(
      ui.copyButton(codes.join("\n"), list, "recovery codes"),
      ui.button("I have saved them", {
        class: "btn btn-primary",
        onclick: () => {
          // An admin who had to set it up first: start the whole session now.
          if (state.get("me")?.totp_setup_required) location.assign("/");
          else void showTotp(section);
        },
      }),
    ),
  ];
}

/** On: new recovery codes, or turn it off. @param {HTMLElement} section @param {TotpStatus} status */
function totpOn(section, status) {
  const left = status.recovery_codes_left;
  return [
    title(),
    h(
      "p",
      null,
      h("span", { class: "badge badge-on" }, "On"),
      ` Logging in asks for a code from your authenticator app. ${left} recovery code` +
        `${left === 1 ? "" : "s"} left.`,
    ),
    left <= 3
      ? h(
          "p",
          { class: "callout callout-warn" },
          "Few recovery codes are left: make new ones below.",
        )
      : null,
    newCodesForm(section),
    turnOffForm(section),
  ];
}

/** @param {HTMLElement} section */
function newCodesForm(section) {
  const code = ui.input("text", "code", {
    inputmode: "numeric",
    autocomplete: "one-time-code",
    maxlength: 8,
  });
  const status = ui.saveStatus();
  const form = ui.formWith(
    { class: "subform", "aria-label": "New recovery codes" },
    async () => {
      const value = code.value.replace(/\s+/g, "");
      if (!/^[0-9]{6}$/.test(value)) {
        status.fail("Enter the 6 digits your app shows.");
        return;
      }
      await ui.saveForm(form, status.fail, async () => {
        const saved = /** @type {RecoveryCodes} */ (
          await api.post("/api/me/totp/recovery-codes", { code: value })
        );
        render(
          section,
          recoveryCodes(section, saved.recovery_codes, "New recovery codes: the old ones no longer work."),
        );
      });
    },
    h("h3", null, "New recovery codes"),
    field("Code from the app", code),
    ui.formActions(ui.submitButton("Make new recovery codes", { class: "btn" }), status),
  );
  return form;
}

/** @param {HTMLElement} section */
function turnOffForm(section) {
  const password = ui.input("password", "password", {
    maxlength: 200,
    autocomplete: "current-password",
  });
  const code = ui.input("text", "code", { autocomplete: "one-time-code", maxlength: 40 });
  const status = ui.saveStatus();
  const form = ui.formWith(
    { class: "subform", "aria-label": "Turn off two-step sign-in" },
    async () => {
      const value = code.value.replace(/\s+/g, "");
      if (!password.value || !value) {
        status.fail("Enter your password and a code.");
        return;
      }
      await ui.saveForm(form, status.fail, async () => {
        await api.post("/api/me/totp/disable", {
          password: password.value,
          ...(/^[0-9]{6}$/.test(value) ? { code: value } : { recovery_code: value }),
        });
        await showTotp(section);
      });
    },
    h("h3", null, "Turn off"),
    h("div", { class: "grid-2" }, [
      field("Your password", password),
      field("Code from the app", code, "Or one of your recovery codes."),
    ]),
    ui.formActions(
      ui.submitButton("Turn off two-step sign-in", { class: "btn btn-danger" }),
      status,
    ),
  );
  return form;
}
