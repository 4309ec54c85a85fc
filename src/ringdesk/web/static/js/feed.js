// The WebSocket feed: one socket per logged-in user. It keeps the last sequence number and, after
// a drop, reconnects with `since=<seq>` so the server replays what we missed. The token goes in
// the first message, not the URL: URLs end up in server and proxy logs.

import { getToken, sessionEnded } from "./api.js";
import * as state from "./state.js";

/** @typedef {{seq?: number, type: string, data?: any}} FeedMessage */

/** @type {WebSocket | null} */
let socket = null;
let lastSeq = 0;
let attempt = 0;
let stopped = true;
/** @type {number | undefined} */
let retryTimer;
/** @type {number | undefined} */
let pingTimer;
/** @type {number | undefined} */
let stableTimer;
const STABLE_MS = 1000;
const SESSION_ENDED = 1008; // the server closed the feed: the session is over, log in again
/** @type {Set<(msg: FeedMessage) => void>} */
const handlers = new Set();
/** @type {Set<() => void>} */
const reconnectHandlers = new Set();

/** Receive every message. @param {(msg: FeedMessage) => void} fn */
export function onMessage(fn) {
  handlers.add(fn);
  return () => handlers.delete(fn);
}

/** Called after the socket is open again following a drop (views refetch to be sure). @param {() => void} fn */
export function onReconnect(fn) {
  reconnectHandlers.add(fn);
  return () => reconnectHandlers.delete(fn);
}

export function lastSequence() {
  return lastSeq;
}

export function start() {
  stopped = false;
  attempt = 0;
  lastSeq = 0;
  connect();
}

export function stop() {
  stopped = true;
  clearTimeout(retryTimer);
  clearInterval(pingTimer);
  clearTimeout(stableTimer);
  if (socket) {
    socket.onclose = null;
    socket.close();
    socket = null;
  }
  state.set("connection", "idle");
}

function connect() {
  const token = getToken();
  if (!token || stopped) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const since = lastSeq ? `?since=${lastSeq}` : "";
  const ws = new WebSocket(`${scheme}://${location.host}/api/ws${since}`);
  socket = ws;
  const wasDropped = attempt > 0;
  ws.onopen = () => {
    ws.send(JSON.stringify({ type: "auth", token }));
    clearInterval(pingTimer);
    // Keep-alive so proxies do not close an idle socket, and so a dead one is noticed.
    pingTimer = window.setInterval(() => send({ type: "ping" }), 20000);
    if (!wasDropped) {
      state.set("connection", "open");
      return;
    }
    for (const fn of reconnectHandlers) fn();
    // After a drop, call it back only once the socket has stayed up a moment: a server that
    // accepts and at once closes again must not make the banner flicker or reset the backoff.
    clearTimeout(stableTimer);
    stableTimer = window.setTimeout(() => {
      if (socket !== ws) return;
      attempt = 0;
      state.set("connection", "open");
    }, STABLE_MS);
  };
  ws.onmessage = (event) => {
    /** @type {FeedMessage} */
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch {
      return;
    }
    if (msg.type === "resync") lastSeq = 0; // our seq is unknown to the server: start over
    if (typeof msg.seq === "number") {
      if (msg.seq <= lastSeq) return; // already seen (replay overlap)
      lastSeq = msg.seq;
    }
    if (msg.type === "pong" || msg.type === "ready") return;
    for (const fn of handlers) fn(msg);
  };
  ws.onclose = (event) => {
    clearInterval(pingTimer);
    clearTimeout(stableTimer);
    if (socket !== ws || stopped) return;
    socket = null;
    if (event.code === SESSION_ENDED) {
      // Logged out elsewhere, password or role changed, or expired: retrying cannot help.
      stop();
      sessionEnded();
      return;
    }
    state.set("connection", "reconnecting");
    attempt += 1;
    // Back off up to 5 s, with jitter so a restarted server is not hit by every agent at once.
    const delay = Math.min(5000, 300 * 2 ** Math.min(attempt, 5)) * (0.75 + Math.random() / 2);
    retryTimer = window.setTimeout(connect, delay);
  };
}

/** @param {any} msg */
function send(msg) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
}
