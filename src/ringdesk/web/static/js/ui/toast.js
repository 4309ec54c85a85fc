// Short messages in the corner, read out by screen readers (the region is aria-live).

import { h } from "../dom.js";

/** @type {HTMLElement | null} */
let region = null;

function ensureRegion() {
  if (!region || !region.isConnected) {
    region = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(region);
  }
  return region;
}

/**
 * @param {string} text
 * @param {"info" | "success" | "error"} [kind]
 * @param {number} [ms] how long it stays
 */
export function toast(text, kind = "info", ms = 5000) {
  const item = h(
    "div",
    { class: `toast toast-${kind}` },
    h("span", null, text),
    h(
      "button",
      { type: "button", class: "icon-btn", "aria-label": "Dismiss", onclick: () => item.remove() },
      "✕",
    ),
  );
  ensureRegion().append(item);
  window.setTimeout(() => item.remove(), ms);
}

/** @param {unknown} error */
export function errorText(error) {
  if (error && typeof error === "object" && "message" in error) return String(error.message);
  return String(error);
}
