// One clock for every live timer on the page: elements carry data-since (count up from an ISO
// time) or data-until (count down to one) and are refreshed twice a second.

import { clock, ms } from "../format.js";

function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll("[data-since]")) {
    const t = ms(/** @type {HTMLElement} */ (el).dataset.since);
    el.textContent = t ? clock((now - t) / 1000) : "–";
  }
  for (const el of document.querySelectorAll("[data-until]")) {
    const t = ms(/** @type {HTMLElement} */ (el).dataset.until);
    const left = t ? Math.max(0, Math.ceil((t - now) / 1000)) : 0;
    el.textContent = `${left} s`;
    const bar = el.closest("[data-countdown]");
    if (bar instanceof HTMLElement) {
      const total = Number(bar.dataset.countdown) || 1;
      bar.style.setProperty("--left", String(Math.min(1, left / total)));
    }
  }
}

let started = false;
export function startTicker() {
  if (started) return;
  started = true;
  window.setInterval(tick, 500);
}

/** Fill timers right away after a render, not half a second later. */
export const tickNow = tick;
