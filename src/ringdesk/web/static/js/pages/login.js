// The login page. On success the app loads the session and goes where the user was heading.
// An account with two-step sign-in gets a second step: the code from the authenticator app, or
// one of the recovery codes.

import { ApiError, api, setToken } from "../api.js";
import { field, h, render } from "../dom.js";

/**
 * @param {HTMLElement} main
 * @param {(user: any) => Promise<void>} onLoggedIn
 */
export function loginView(main, onLoggedIn) {
  document.title = "Log in · Ringdesk";
  const step = h("div", { class: "login-step" });
  main.append(
    h(
      "div",
      { class: "login-page" },
      h(
        "div",
        { class: "login-card" },
        h(
          "div",
          { class: "brand brand-large" },
          h("span", { class: "brand-mark", "aria-hidden": "true" }),
          "Ringdesk",
        ),
        h("h1", null, "Log in"),
        h("p", { class: "muted" }, "The contact center desktop for your team."),
        step,
      ),
    ),
  );
  passwordStep(step, onLoggedIn, "");
}

/**
 * @param {HTMLElement} step
 * @param {(user: any) => Promise<void>} onLoggedIn
 * @param {string} notice said above the form (why the user is back here)
 */
function passwordStep(step, onLoggedIn, notice) {
  const username = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "text",
      name: "username",
      autocomplete: "username",
      required: true,
      maxlength: 100,
    })
  );
  const password = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "password",
      name: "password",
      autocomplete: "current-password",
      required: true,
      maxlength: 200,
    })
  );
  const error = h("p", { class: "form-error", role: "alert" }, notice);
  const submit = /** @type {HTMLButtonElement} */ (
    h("button", { type: "submit", class: "btn btn-primary btn-block" }, "Log in")
  );
  const form = h(
    "form",
    {
      class: "login-form",
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        error.textContent = "";
        if (!username.value.trim() || !password.value) {
          error.textContent = "Enter your username and password.";
          return;
        }
        submit.disabled = true;
        submit.textContent = "Logging in…";
        try {
          const result = await api.post("/api/auth/login", {
            username: username.value.trim(),
            password: password.value,
          });
          setToken(result.token);
          await onLoggedIn(result.user);
        } catch (err) {
          if (err instanceof ApiError && err.code === "second_factor_required") {
            codeStep(step, onLoggedIn, String(err.details.pending_token || ""));
            return;
          }
          error.textContent =
            err instanceof ApiError && (err.status === 401 || err.status === 400)
              ? "Wrong username or password."
              : err instanceof Error
                ? err.message
                : String(err);
          password.select();
        } finally {
          submit.disabled = false;
          submit.textContent = "Log in";
        }
      },
    },
    field("Username", username),
    field("Password", password),
    error,
    submit,
  );
  render(step, form);
  username.focus();
}

/**
 * The second step: a code from the authenticator app, or a recovery code.
 * @param {HTMLElement} step
 * @param {(user: any) => Promise<void>} onLoggedIn
 * @param {string} pendingToken what the password step answered; good for five minutes
 */
function codeStep(step, onLoggedIn, pendingToken) {
  let recovery = false;
  const code = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "text",
      name: "code",
      inputmode: "numeric",
      autocomplete: "one-time-code",
      maxlength: 8,
      required: true,
    })
  );
  const recoveryCode = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "text",
      name: "recovery_code",
      autocomplete: "off",
      spellcheck: false,
      maxlength: 40,
      required: true,
    })
  );
  const codeField = field("Authentication code", code, "The 6 digits your app shows now.");
  const recoveryField = field(
    "Recovery code",
    recoveryCode,
    "One of the codes you saved when you set up two-step sign-in. Each works once.",
  );
  recoveryField.hidden = true;
  const intro = h(
    "p",
    { class: "login-intro" },
    "Two-step sign-in is on for this account. Enter the code from your authenticator app.",
  );
  const error = h("p", { class: "form-error", role: "alert" });
  const submit = /** @type {HTMLButtonElement} */ (
    h("button", { type: "submit", class: "btn btn-primary btn-block" }, "Verify")
  );
  const toggle = h(
    "button",
    {
      type: "button",
      class: "btn btn-ghost btn-block",
      onclick: () => {
        recovery = !recovery;
        codeField.hidden = recovery;
        recoveryField.hidden = !recovery;
        toggle.textContent = recovery ? "Use the authenticator app" : "Use a recovery code";
        intro.textContent = recovery
          ? "Enter one of your recovery codes."
          : "Two-step sign-in is on for this account. Enter the code from your authenticator app.";
        error.textContent = "";
        (recovery ? recoveryCode : code).focus();
      },
    },
    "Use a recovery code",
  );
  const startOver = h(
    "button",
    {
      type: "button",
      class: "btn btn-ghost btn-block",
      onclick: () => passwordStep(step, onLoggedIn, ""),
    },
    "Start over",
  );
  const form = h(
    "form",
    {
      class: "login-form",
      novalidate: true,
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        error.textContent = "";
        const control = recovery ? recoveryCode : code;
        const value = control.value.replace(/\s+/g, "");
        if (!recovery && !/^[0-9]{6}$/.test(value)) {
          error.textContent = "Enter the 6 digits your authenticator app shows.";
          control.focus();
          return;
        }
        if (recovery && !value) {
          error.textContent = "Enter one of your recovery codes.";
          control.focus();
          return;
        }
        submit.disabled = true;
        submit.textContent = "Verifying…";
        try {
          const result = await api.post("/api/auth/login/second-factor", {
            pending_token: pendingToken,
            ...(recovery ? { recovery_code: value } : { code: value }),
          });
          setToken(result.token);
          await onLoggedIn(result.user);
        } catch (err) {
          if (err instanceof ApiError && err.code === "second_factor_expired") {
            passwordStep(step, onLoggedIn, "That sign-in has expired. Log in again.");
            return;
          }
          error.textContent = err instanceof Error ? err.message : String(err);
          control.select();
        } finally {
          submit.disabled = false;
          submit.textContent = "Verify";
        }
      },
    },
    intro,
    codeField,
    recoveryField,
    error,
    submit,
    toggle,
    startOver,
  );
  render(step, form);
  code.focus();
}
