// Keyboard shortcuts for the call buttons, anywhere in the app: Alt+A Answer, Alt+H Hold or
// Resume, Alt+T Transfer, Alt+E End. Matched by the physical key (event.code), so they work
// on any keyboard layout and while typing in a ticket field (Alt+letter types nothing there on
// Windows and Linux); a key is taken only when its button can be used right now, otherwise the
// browser and the page keep it. Each click goes through the widget's own button, so a
// shortcut does exactly what the button does.

import { h } from "../dom.js";
import { openDialog } from "../ui/dialog.js";

/** [key code, what it shows, the widget button's data-key(s), what it does] */
export const SHORTCUTS = [
  ["KeyA", "Alt+A", ["answer"], "Answer the incoming call"],
  ["KeyH", "Alt+H", ["hold-resume"], "Hold, or Resume the held call (also your end of a consultation)"],
  ["KeyT", "Alt+T", ["transfer"], "Transfer (opens the Transfer dialog)"],
  ["KeyE", "Alt+E", ["end", "end-consultation"], "End the call (or your consultation)"],
];

/** @type {((e: KeyboardEvent) => void) | null} */
let handler = null;

/**
 * Listen on the document; `panel` is the widget, whose buttons the keys press.
 * @param {HTMLElement} panel
 * @param {() => void} open opens the widget (a shortcut shows what it did)
 */
export function startShortcuts(panel, open) {
  stopShortcuts();
  handler = (e) => {
    if (!e.altKey || e.ctrlKey || e.metaKey || e.shiftKey || e.repeat) return;
    const entry = SHORTCUTS.find(([code]) => code === e.code);
    if (!entry) return;
    if (document.querySelector("dialog[open]")) return; // a dialog has the keyboard
    for (const key of entry[2]) {
      const button = panel.querySelector(`button[data-key="${key}"]`);
      if (button instanceof HTMLButtonElement && !button.disabled) {
        e.preventDefault();
        open();
        button.click();
        return;
      }
    }
  };
  document.addEventListener("keydown", handler);
}

export function stopShortcuts() {
  if (handler) document.removeEventListener("keydown", handler);
  handler = null;
}

/** The aria-keyshortcuts value of a button's data-key ("" when it has none). @param {string} key */
export function shortcutFor(key) {
  const entry = SHORTCUTS.find(([, , keys]) => keys.includes(key));
  return entry ? entry[1] : "";
}

/** The "Keyboard shortcuts" help. */
export function openShortcutHelp() {
  const d = openDialog({ title: "Keyboard shortcuts", className: "dialog-shortcuts" });
  d.body.append(
    h(
      "p",
      { class: "muted" },
      "They work on every page, also while you type in a ticket, whenever the button is shown.",
    ),
    h(
      "dl",
      { class: "shortcut-list" },
      SHORTCUTS.map(([, keys, , what]) => [h("dt", null, h("kbd", null, keys)), h("dd", null, what)]),
    ),
  );
}
