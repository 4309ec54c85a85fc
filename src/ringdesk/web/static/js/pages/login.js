// The login page. On success the app loads the session and goes where the user was heading.

import { ApiError, api, setToken } from "../api.js";
import { field, h } from "../dom.js";

/**
 * @param {HTMLElement} main
 * @param {(user: any) => Promise<void>} onLoggedIn
 */
export function loginView(main, onLoggedIn) {
  document.title = "Log in · Ringdesk";
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
  const error = h("p", { class: "form-error", role: "alert" });
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
        form,
      ),
    ),
  );
  username.focus();
}
