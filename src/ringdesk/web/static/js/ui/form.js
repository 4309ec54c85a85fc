// Form building blocks of the admin pages: typed inputs, the submit row and its status line,
// per-field errors from a 422, and the load, save and confirm-then-act steps they all take.

import { h, newId, render } from "../dom.js";
import { confirmDialog } from "./dialog.js";
import { errorText } from "./toast.js";

/**
 * An <input> of this type and name, with more attributes as h() takes them.
 * @param {string} type @param {string} name @param {Record<string, any>} [attrs]
 */
export function input(type, name, attrs = {}) {
  return /** @type {HTMLInputElement} */ (h("input", { type, name, ...attrs }));
}

/** A phone number input. @param {string} name @param {Record<string, any>} [attrs] */
export function phoneInput(name, attrs = {}) {
  return input("tel", name, { maxlength: 21, ...attrs });
}

/**
 * A whole-number input, empty for null.
 * @param {string} name @param {number | null} value @param {Record<string, any>} [attrs]
 */
export function numberInput(name, value, attrs = {}) {
  return input("number", name, { value: value ?? "", step: 1, ...attrs });
}

/**
 * A form the browser does not validate (the page says what is wrong) and whose submit stays on
 * the page: `onSubmit` runs instead.
 * @param {Record<string, any>} attrs
 * @param {() => void | Promise<void>} onSubmit
 * @param {...any} children
 */
export function formWith(attrs, onSubmit, ...children) {
  return h(
    "form",
    {
      ...attrs,
      novalidate: true,
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        await onSubmit();
      },
    },
    ...children,
  );
}

/** A plain (non-submit) button. @param {string} label @param {Record<string, any>} attrs */
export function button(label, attrs) {
  return h("button", { type: "button", ...attrs }, label);
}

/** The form's primary button. @param {string} label @param {Record<string, any>} [attrs] */
export function submitButton(label, attrs = {}) {
  return h("button", { type: "submit", class: "btn btn-primary", ...attrs }, label);
}

/** The row under a form: its buttons and status line. @param {...any} children */
export function formActions(...children) {
  return h("div", { class: "form-actions" }, ...children);
}

/** What went wrong, as an alert. @param {unknown} err */
export function errorCallout(err) {
  return h("p", { class: "callout callout-error", role: "alert" }, errorText(err));
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

/** A number input's value as a number or null when empty. @param {HTMLInputElement} control */
export function numberOrNull(control) {
  const v = control.value.trim();
  return v === "" ? null : Number(v);
}

/** The words a person sees for a control: its label's text. @param {Element} control */
function labelOf(control) {
  const labels = /** @type {HTMLInputElement} */ (control).labels;
  const label = labels && labels.length ? labels[0] : control.closest("label");
  const text = label ? (label.firstChild?.textContent || label.textContent || "").trim() : "";
  return text.replace(/\s*\*$/, "");
}

/**
 * Show every per-field validation error of a 422 at once: each control it names is marked and
 * gets its message under it, and the summary names the fields as their labels do ("Port: must
 * be at most 65535. Name: must not be empty."). Returns the summary, or null when the error
 * names no field of this form.
 * @param {HTMLElement} form
 * @param {unknown} err
 * @returns {string | null}
 */
export function markFieldErrors(form, err) {
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of form.querySelectorAll(".field-error")) el.remove();
  const fields =
    err && typeof err === "object" && "fields" in err ? /** @type {any[]} */ (err.fields) : [];
  const said = [];
  for (const f of fields || []) {
    // "body.sources.0": the list's field, not its index.
    const name = String(f.field || "")
      .split(".")
      .filter((part) => !/^\d+$/.test(part))
      .pop();
    if (!name) continue;
    const control = form.querySelector(`[name="${CSS.escape(name)}"]`);
    const message = String(f.message || "is not valid");
    if (!control) {
      said.push(`${name.replace(/_/g, " ")}: ${message}.`);
      continue;
    }
    control.setAttribute("aria-invalid", "true");
    const label = labelOf(control) || name.replace(/_/g, " ");
    const note = h("span", { class: "field-error", id: newId("err") }, message);
    control.setAttribute("aria-describedby", note.id);
    control.insertAdjacentElement("afterend", note);
    said.push(`${label}: ${message}.`);
  }
  return said.length ? said.join(" ") : null;
}

/**
 * Run `action`; when it throws, `fail` gets the error's text.
 * @param {(text: string) => void} fail
 * @param {() => Promise<void>} action
 */
export async function attempt(fail, action) {
  try {
    await action();
  } catch (err) {
    fail(errorText(err));
  }
}

/**
 * Save a form: after `action` the marks of an earlier refusal go; when the server refuses, the
 * fields it names are marked and `fail` gets its message.
 * @param {HTMLElement} form
 * @param {(text: string) => void} fail
 * @param {() => Promise<void>} action
 */
export async function saveForm(form, fail, action) {
  try {
    await action();
    markFieldErrors(form, null);
  } catch (err) {
    // A 422 is about the fields: each named by its label. Another refusal (a 409 naming a
    // field) is a rule, and the server's sentence says it best.
    const summary = markFieldErrors(form, err);
    const invalid = err && typeof err === "object" && "status" in err && err.status === 422;
    fail(invalid && summary ? summary : errorText(err));
  }
}

/**
 * A click handler that asks first and then runs `action` (see attempt()).
 * @param {Parameters<typeof confirmDialog>[0]} question
 * @param {(text: string) => void} fail
 * @param {() => Promise<void>} action
 */
export function confirmed(question, fail, action) {
  return async () => {
    const ok = await confirmDialog(question);
    if (!ok) return;
    await attempt(fail, action);
  };
}

/**
 * The page's data, or undefined after putting the error on the page.
 * @template T
 * @param {HTMLElement} content
 * @param {() => Promise<T>} load
 * @returns {Promise<T | undefined>}
 */
export async function loadOrExplain(content, load) {
  try {
    return await load();
  } catch (err) {
    content.append(errorCallout(err));
    return undefined;
  }
}

/**
 * Render into `container` what `show` makes of what `load` fetched, or, when that fails, what
 * `failed` makes of the error.
 * @template T
 * @param {HTMLElement} container
 * @param {() => Promise<T>} load
 * @param {(value: T) => any} show
 * @param {(err: unknown) => any} [failed]
 */
export async function renderLoaded(container, load, show, failed = errorCallout) {
  try {
    render(container, show(await load()));
  } catch (err) {
    render(container, failed(err));
  }
}

/**
 * A Copy button for `text` (a secret shown once). Without a clipboard (plain HTTP) it selects
 * `shown`, the element showing the text, so Ctrl+C copies it.
 * @param {string} text @param {HTMLElement} shown @param {string} what named in its label
 */
export function copyButton(text, shown, what) {
  const copy = button("Copy", {
    class: "btn btn-ghost",
    "aria-label": `Copy the ${what}`,
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(text);
        copy.textContent = "Copied";
      } catch {
        const range = document.createRange();
        range.selectNodeContents(shown);
        window.getSelection()?.removeAllRanges();
        window.getSelection()?.addRange(range);
      }
    },
  });
  return copy;
}
