// The admin area's frame: a heading, a sub-navigation of the settings pages and the content.

import { h } from "../../dom.js";

export const ADMIN_PAGES = [
  ["/admin/services", "Services"],
  ["/admin/cti-settings", "CTI Settings"],
  ["/admin/cti-agents", "CTI Agent Management"],
  ["/admin/users", "Users"],
  ["/admin/reports", "Reports"],
];

/**
 * @param {HTMLElement} main
 * @param {string} active path of the current page
 * @param {string} title
 * @returns {HTMLElement} where the page puts its content
 */
export function adminShell(main, active, title) {
  document.title = `${title} · Admin · Ringdesk`;
  const content = h("div", { class: "admin-content" });
  main.append(
    h(
      "div",
      { class: "admin" },
      h(
        "nav",
        { class: "admin-nav", "aria-label": "Settings" },
        h("p", { class: "admin-nav-title" }, "Global Management"),
        h(
          "ul",
          null,
          ADMIN_PAGES.map(([href, label]) =>
            h(
              "li",
              null,
              h("a", { href, "aria-current": active.startsWith(href) ? "page" : null }, label),
            ),
          ),
        ),
      ),
      h("div", { class: "admin-main" }, h("h1", null, title), content),
    ),
  );
  return content;
}

/**
 * @typedef {HTMLElement & {ok: (text: string) => void, fail: (text: string) => void,
 *   clear: () => void}} SaveStatus
 */

/**
 * The status line beside a Save button: "Saved." or the error, read out by screen readers.
 * @returns {SaveStatus}
 */
export function saveStatus() {
  const el = h("span", { class: "save-status", role: "status", "aria-live": "polite" });
  return Object.assign(el, {
    ok(/** @type {string} */ text) {
      el.className = "save-status is-ok";
      el.textContent = text;
    },
    fail(/** @type {string} */ text) {
      el.className = "save-status is-error";
      el.textContent = text;
    },
    clear() {
      el.className = "save-status";
      el.textContent = "";
    },
  });
}

/** A number input's value as a number or null when empty. @param {HTMLInputElement} input */
export function numberOrNull(input) {
  const v = input.value.trim();
  return v === "" ? null : Number(v);
}

/**
 * Show per-field validation errors from a 422 next to the controls (by name).
 * @param {HTMLElement} form
 * @param {unknown} err
 */
export function markFieldErrors(form, err) {
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  const fields =
    err && typeof err === "object" && "fields" in err ? /** @type {any[]} */ (err.fields) : [];
  for (const f of fields || []) {
    const name = String(f.field || "")
      .split(".")
      .pop();
    if (!name) continue;
    const control = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (control) control.setAttribute("aria-invalid", "true");
  }
}
