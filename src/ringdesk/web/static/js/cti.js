// The agent's CTI: every widget action goes through here. Each API call returns the new
// AgentState, which becomes the single source of what the widget shows.

import { api, query } from "./api.js";
import { failureText } from "./format.js";
import * as state from "./state.js";

/** @param {string} text @param {"error" | "info"} [kind] */
export function notify(text, kind = "error") {
  state.set("notice", { kind, text, at: Date.now() });
}

export function clearNotice() {
  state.set("notice", null);
}

/**
 * Counts AgentStates pushed by the feed. An HTTP answer can be older than a feed message that
 * overtook it (the server publishes before it replies, on another connection): such an answer
 * is dropped, since the feed is in order and carries every change.
 */
let feedVersion = 0;

/** An AgentState from the feed (always the newest). @param {any} agentState */
export function setAgentState(agentState) {
  if (agentState && typeof agentState === "object" && "status" in agentState) {
    feedVersion += 1;
    state.set("cti", agentState);
  }
}

/**
 * An AgentState from an HTTP answer to a request sent when the feed was at `version`.
 * @param {any} agentState
 * @param {number} version
 */
function applyAnswer(agentState, version) {
  if (version !== feedVersion) return;
  if (agentState && typeof agentState === "object" && "status" in agentState) {
    state.set("cti", agentState);
  }
}

export async function refreshState() {
  const version = feedVersion;
  try {
    applyAnswer(await api.get("/api/cti/state"), version);
  } catch (error) {
    // Admins without CTI may get an error here; the widget explains instead.
    if (!state.get("cti")) state.set("cti", { logged_in: false, status: "logged_out" });
    return error;
  }
  return null;
}

/**
 * Run one CTI request; its AgentState answer replaces ours, an error becomes the notice.
 * @param {() => Promise<any>} send
 * @returns {Promise<boolean>} whether it worked
 */
async function act(send) {
  const version = feedVersion;
  try {
    const result = await send();
    clearNotice();
    applyAnswer(result, version);
    return true;
  } catch (error) {
    notify(error instanceof Error ? error.message : String(error));
    return false;
  }
}

/** @param {string} callId */
const callPath = (callId) => `/api/calls/${encodeURIComponent(callId)}`;

export const cti = {
  login: () => act(() => api.post("/api/cti/login")),
  logout: () => act(() => api.post("/api/cti/logout")),
  /** @param {"business" | "ready" | "rest"} status */
  setStatus: (status) => act(() => api.put("/api/cti/status", { status })),
  /** @param {string} callId */
  answer: (callId) => act(() => api.post(`${callPath(callId)}/answer`)),
  /** @param {{service_id: number, number: string, calling_number: string}} body */
  dial: (body) => act(() => api.post("/api/calls/dial", body)),
  /** @param {string} callId */
  hold: (callId) => act(() => api.post(`${callPath(callId)}/hold/start`)),
  /** @param {string} callId */
  resume: (callId) => act(() => api.post(`${callPath(callId)}/hold/stop`)),
  /** @param {string} callId @param {{number: string} | {agent_id: number}} target */
  transfer: (callId, target) => act(() => api.post(`${callPath(callId)}/transfer`, target)),
  /** @param {string} callId */
  connectToCustomer: (callId) => act(() => api.post(`${callPath(callId)}/transfer/complete`)),
  /** @param {string} callId */
  cancelTransfer: (callId) => act(() => api.post(`${callPath(callId)}/transfer/cancel`)),
  /** @param {string} callId */
  forceDisconnect: (callId) => act(() => api.post(`${callPath(callId)}/force-disconnect`)),
  /** @param {string} callId */
  end: (callId) => act(() => api.post(`${callPath(callId)}/end`)),
};

/** @param {string} q */
export function readyAgents(q) {
  return api.get(`/api/cti/ready-agents${query({ q })}`);
}

export const favorites = {
  list: () => api.get("/api/me/favorites"),
  /** @param {string} label @param {string} number */
  add: (label, number) => api.post("/api/me/favorites", { label, number }),
  /** @param {number} id @param {{label?: string, number?: string}} changes */
  update: (id, changes) => api.patch(`/api/me/favorites/${id}`, changes),
  /** @param {number} id */
  remove: (id) => api.del(`/api/me/favorites/${id}`),
};

/** A WS `call_failed` message, in plain words. @param {{reason: string, message?: string}} data */
export function showCallFailed(data) {
  notify(failureText(data.reason, data.message));
}
