// Table building blocks: the head row of column headings, the table, its card.

import { h } from "../dom.js";

/**
 * A <thead> of one row; a string becomes a column heading, anything else is put in as it is.
 * @param {any[]} cells
 */
export function tableHead(cells) {
  return h(
    "thead",
    null,
    h(
      "tr",
      null,
      cells.map((c) => (typeof c === "string" ? h("th", { scope: "col" }, c) : c)),
    ),
  );
}

/**
 * A table: the head (see tableHead()), the body's rows and an optional <tfoot>.
 * @param {Record<string, any>} attrs of the <table>
 * @param {any[]} headings
 * @param {any[]} rows
 * @param {any} [foot]
 */
export function table(attrs, headings, rows, foot = null) {
  return h("table", attrs, tableHead(headings), h("tbody", null, rows), foot);
}

/** A table in a card that scrolls sideways when narrow. @param {HTMLElement} tableEl */
export function tableCard(tableEl) {
  return h("div", { class: "table-wrap card" }, tableEl);
}
