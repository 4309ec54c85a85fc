// The admin area's frame: a heading, a sub-navigation of the settings pages and the content.

import { h } from "../../dom.js";
import * as state from "../../state.js";

export const ADMIN_PAGES = [
  ["/admin/services", "Services"],
  ["/admin/menus", "Menus"],
  ["/admin/cti-settings", "CTI Settings"],
  ["/admin/trunks", "Trunks"],
  ["/admin/webhooks", "Webhooks"],
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
  // A supervisor reaches the reports only (of the services they lead), at /reports.
  if (state.get("me")?.role !== "admin") {
    const content = h("div", { class: "admin-content" });
    main.append(h("div", { class: "admin-main" }, h("h1", null, title), content));
    return content;
  }
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
