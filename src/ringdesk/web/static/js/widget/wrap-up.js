// The wrap-up code (disposition) of the call the agent is wrapping up, in Business (Ticket
// Processing): one button per code of the call's service (AgentState.wrap_up). Where one is
// required, the server refuses Ready until it is picked (409 disposition_required, its sentence
// shown as any refusal); the wrap-up time limit still ends it without one.

import { api } from "../api.js";
import { h } from "../dom.js";
import { notify, refreshState } from "../cti.js";

/**
 * @typedef {{call_id: string, service_id: number, codes: Array<{id: number, label: string}>,
 *   required: boolean, picked: number | null}} WrapUp
 */

/** @param {number} codeId */
async function pick(codeId) {
  try {
    await api.put("/api/cti/disposition", { code_id: codeId });
  } catch (error) {
    notify(error instanceof Error ? error.message : String(error));
  }
  await refreshState();
}

/** The codes to pick from, or nothing when the service has none. @param {WrapUp | null | undefined} wrap */
export function wrapUpBlock(wrap) {
  if (!wrap || !wrap.codes.length) return null;
  const heading = wrap.required ? "Wrap-up code (required)" : "Wrap-up code";
  const picked = wrap.codes.find((c) => c.id === wrap.picked);
  return h(
    "fieldset",
    { class: "wrap-up", dataset: { testid: "wrap-up" } },
    h("legend", null, heading),
    h(
      "div",
      { class: "wrap-up-codes", role: "group" },
      wrap.codes.map((code) =>
        h(
          "button",
          {
            type: "button",
            class: code.id === wrap.picked ? "btn btn-small btn-primary" : "btn btn-small",
            "aria-pressed": code.id === wrap.picked ? "true" : "false",
            onclick: () => void pick(code.id),
          },
          code.label,
        ),
      ),
    ),
    h(
      "p",
      { class: "muted small", dataset: { testid: "wrap-up-picked" } },
      picked
        ? `Picked: ${picked.label}`
        : wrap.required
          ? "Pick one before you choose Ready."
          : "Optional.",
    ),
  );
}
