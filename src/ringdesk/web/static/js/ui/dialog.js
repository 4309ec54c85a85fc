// Modal dialogs on the native <dialog> element: showModal() makes the page behind inert (so Tab
// stays inside), Escape closes, and focus returns to whatever opened the dialog.

import { field, h, newId } from "../dom.js";

/**
 * @typedef {{dialog: HTMLDialogElement, body: HTMLElement, close: (value?: any) => void,
 *   closed: Promise<any>}} DialogHandle
 */

/**
 * @param {{title: string, className?: string, onClose?: (value: any) => void}} options
 * @returns {DialogHandle}
 */
export function openDialog({ title, className = "", onClose }) {
  const opener = document.activeElement;
  const titleId = newId("dlg-title");
  const body = h("div", { class: "dialog-body" });
  const dialog = /** @type {HTMLDialogElement} */ (
    h(
      "dialog",
      { class: `dialog ${className}`, "aria-labelledby": titleId },
      h(
        "header",
        { class: "dialog-head" },
        h("h2", { id: titleId }, title),
        h(
          "button",
          { type: "button", class: "icon-btn", "aria-label": "Close", onclick: () => close() },
          "✕",
        ),
      ),
      body,
    )
  );
  /** @type {(value: any) => void} */
  let resolve = () => {};
  /** @type {Promise<any>} */
  const closed = new Promise((r) => {
    resolve = r;
  });
  let result;
  let done = false;
  /** @param {any} [value] */
  function close(value) {
    if (done) return;
    done = true;
    result = value;
    if (dialog.open) dialog.close();
    dialog.remove();
    if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
    if (onClose) onClose(result);
    resolve(result);
  }
  // Escape fires "cancel"; we close ourselves so cleanup always runs once.
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    close();
  });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, body, close, closed };
}

/**
 * Ask before something that cannot be undone.
 * @param {{title: string, message: string, confirmLabel: string, danger?: boolean}} options
 * @returns {Promise<boolean>}
 */
export function confirmDialog({ title, message, confirmLabel, danger = false }) {
  const d = openDialog({ title, className: "dialog-small" });
  const cancel = h(
    "button",
    { type: "button", class: "btn", onclick: () => d.close(false) },
    "Cancel",
  );
  const ok = h(
    "button",
    {
      type: "button",
      class: `btn ${danger ? "btn-danger" : "btn-primary"}`,
      onclick: () => d.close(true),
    },
    confirmLabel,
  );
  d.body.append(h("p", null, message), h("div", { class: "dialog-actions" }, cancel, ok));
  // The safe choice has focus, so a stray Enter does not disconnect a customer.
  cancel.focus();
  return d.closed.then((v) => v === true);
}

/**
 * Ask for one line of text (e.g. a new label).
 * @param {{title: string, label: string, value: string, confirmLabel: string}} options
 * @returns {Promise<string | null>}
 */
export function promptDialog({ title, label, value, confirmLabel }) {
  const d = openDialog({ title, className: "dialog-small" });
  const input = /** @type {HTMLInputElement} */ (
    h("input", { type: "text", value, required: true, maxlength: 100 })
  );
  const form = h(
    "form",
    {
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault();
        const text = input.value.trim();
        if (text) d.close(text);
      },
    },
    field(label, input),
    h(
      "div",
      { class: "dialog-actions" },
      h("button", { type: "button", class: "btn", onclick: () => d.close(null) }, "Cancel"),
      h("button", { type: "submit", class: "btn btn-primary" }, confirmLabel),
    ),
  );
  d.body.append(form);
  input.focus();
  input.select();
  return d.closed.then((v) => (typeof v === "string" ? v : null));
}
