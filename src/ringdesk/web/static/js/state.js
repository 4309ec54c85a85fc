// The app's shared state: who is logged in, their CTI state, the feed's connection.
// Views subscribe to a key and re-render when it changes.

/** @typedef {import("./types.js").Me} Me */

/** @type {Record<string, any>} */
const values = {
  me: null, // Me
  cti: null, // AgentState from the API
  connection: "idle", // "idle" | "open" | "reconnecting"
  board: null, // the /api/board body
  notice: null, // {kind: "error"|"info", text}: the widget's last message
};

/** @type {Map<string, Set<(value: any) => void>>} */
const listeners = new Map();

/** @param {string} key */
export function get(key) {
  return values[key];
}

/** @param {string} key @param {any} value */
export function set(key, value) {
  values[key] = value;
  for (const fn of listeners.get(key) || []) fn(value);
}

/**
 * @param {string} key
 * @param {(value: any) => void} fn
 * @returns {() => void} unsubscribe
 */
export function subscribe(key, fn) {
  if (!listeners.has(key)) listeners.set(key, new Set());
  const set_ = /** @type {Set<(value: any) => void>} */ (listeners.get(key));
  set_.add(fn);
  return () => set_.delete(fn);
}

/** Forget everything on logout. */
export function reset() {
  for (const key of Object.keys(values)) set(key, key === "connection" ? "idle" : null);
}
