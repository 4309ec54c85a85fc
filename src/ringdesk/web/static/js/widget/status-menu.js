// The status button: a menu button (WAI-ARIA menu pattern) offering Business / Ready / Rest.

import { h } from "../dom.js";
import { CHOSEN } from "../format.js";

/**
 * @param {{chosen: string, disabled: boolean, onPick: (status: any) => void}} options
 * @returns {HTMLElement}
 */
export function statusMenu({ chosen, disabled, onPick }) {
  const items = CHOSEN.map(([value, label, help]) =>
    h(
      "li",
      {
        role: "menuitemradio",
        tabindex: "-1",
        "aria-checked": String(value === chosen),
        class: `menu-item status-${value}`,
        dataset: { value, key: `status-${value}` },
      },
      h("span", { class: "dot", "aria-hidden": "true" }),
      h("span", { class: "menu-label" }, label),
      h("span", { class: "menu-help" }, help),
    ),
  );
  const menu = h(
    "ul",
    { role: "menu", class: "menu", "aria-label": "Status", hidden: true },
    items,
  );
  const button = /** @type {HTMLButtonElement} */ (
    h(
      "button",
      {
        type: "button",
        class: "btn status-btn",
        "aria-haspopup": "menu",
        "aria-expanded": "false",
        disabled,
        dataset: { key: "status-button" },
      },
      "Status",
      h("span", { class: "caret", "aria-hidden": "true" }, "▾"),
    )
  );
  const wrap = h("div", { class: "menu-wrap" }, button, menu);

  /** @param {boolean} open @param {number} [focusIndex] */
  function setOpen(open, focusIndex = 0) {
    menu.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    if (open) {
      const start = Math.max(
        0,
        items.findIndex((i) => i.getAttribute("aria-checked") === "true"),
      );
      items[focusIndex >= 0 ? focusIndex : start].focus();
    }
  }
  /** @param {HTMLElement} item */
  function pick(item) {
    setOpen(false);
    button.focus();
    onPick(item.dataset.value);
  }
  button.addEventListener("click", () => {
    const start = items.findIndex((i) => i.getAttribute("aria-checked") === "true");
    setOpen(Boolean(menu.hidden), start);
  });
  button.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      setOpen(true, e.key === "ArrowDown" ? 0 : items.length - 1);
    }
  });
  menu.addEventListener("click", (e) => {
    const item = e.target instanceof Element ? e.target.closest("[role=menuitemradio]") : null;
    if (item instanceof HTMLElement) pick(item);
  });
  menu.addEventListener("keydown", (e) => {
    const index = items.indexOf(/** @type {HTMLElement} */ (document.activeElement));
    if (e.key === "ArrowDown") items[(index + 1) % items.length].focus();
    else if (e.key === "ArrowUp") items[(index - 1 + items.length) % items.length].focus();
    else if (e.key === "Home") items[0].focus();
    else if (e.key === "End") items[items.length - 1].focus();
    else if (e.key === "Enter" || e.key === " ") {
      if (index >= 0) pick(items[index]);
    } else if (e.key === "Escape" || e.key === "Tab") {
      setOpen(false);
      if (e.key === "Escape") button.focus();
      if (e.key === "Tab") return;
    } else return;
    e.preventDefault();
    e.stopPropagation();
  });
  wrap.addEventListener("focusout", (e) => {
    if (!(e.relatedTarget instanceof Node) || !wrap.contains(e.relatedTarget)) {
      menu.hidden = true;
      button.setAttribute("aria-expanded", "false");
    }
  });
  return wrap;
}
