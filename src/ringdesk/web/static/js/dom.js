// Tiny DOM helpers. Every text goes through textContent, never innerHTML, so data from the
// server (customer names, notes) can never inject markup.

/**
 * Build an element: h("button", {class: "btn", onclick: fn}, "Label", child, ...).
 * Attributes starting with "on" become listeners; `dataset`, `style` objects are merged;
 * boolean true/false toggle the attribute; null/undefined are skipped.
 * @param {string} tag
 * @param {Record<string, any> | null} [attrs]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "style" && typeof value === "object") {
      Object.assign(el.style, value);
    } else if (key === "value" || key === "checked" || key === "selected") {
      // Properties, not attributes, so the live value is what the user sees.
      /** @type {any} */ (el)[key] = value;
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

/** @param {Node} parent @param {any[]} children */
function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

/**
 * Replace the content of `container` with `children`, keeping keyboard focus on the element
 * with the same data-key if there was one (re-rendering must not throw a keyboard user out).
 * @param {HTMLElement} container
 * @param {...any} children
 */
export function render(container, ...children) {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && container.contains(active) ? active.dataset.key : "";
  container.replaceChildren();
  append(container, children);
  if (key) {
    const again = container.querySelector(`[data-key="${CSS.escape(key)}"]`);
    // The control is gone (the call ended, say): land on the first one left, not on <body>.
    const fallback = container.querySelector("button:not([disabled]), [href], input, select");
    if (again instanceof HTMLElement) again.focus();
    else if (fallback instanceof HTMLElement) fallback.focus();
  }
}

let uid = 0;
/** A unique id for label/aria wiring. @param {string} prefix */
export function newId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

/**
 * A labelled form field: the wrapper with the label, the control and an optional hint.
 * @param {string} label
 * @param {HTMLElement} control
 * @param {string} [hint]
 */
export function field(label, control, hint) {
  const id = control.id || newId("f");
  control.id = id;
  const hintEl = hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl);
}

/**
 * A checkbox with its label to the right; the <input> is `result.input` (a label's own
 * `control` property is read-only).
 * @param {string} label
 * @param {boolean} checked
 * @param {Record<string, any>} [attrs]
 */
export function checkbox(label, checked, attrs = {}) {
  const input = /** @type {HTMLInputElement} */ (
    h("input", { type: "checkbox", checked, ...attrs })
  );
  const wrap = h("label", { class: "check" }, input, h("span", null, label));
  return Object.assign(wrap, { input });
}

/**
 * A <select> from [value, label] pairs.
 * @param {Array<[string, string]>} options
 * @param {string} selected
 * @param {Record<string, any>} [attrs]
 */
export function select(options, selected, attrs = {}) {
  return /** @type {HTMLSelectElement} */ (
    h(
      "select",
      attrs,
      options.map(([value, label]) => h("option", { value, selected: value === selected }, label)),
    )
  );
}
