// The REST client: one place that adds the token, parses errors and reports a lost session.

const TOKEN_KEY = "ringdesk.token";

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {Array<{field: string, message: string}>} [fields]
   * @param {Record<string, any>} [details] the whole error answer (e.g. a pending_token)
   */
  constructor(status, code, message, fields = [], details = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.details = details;
  }
}

/** @type {() => void} */
let onUnauthorized = () => {};

/** Called when the server says the token is no longer good (401). @param {() => void} fn */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/** The session is over (the feed was closed for it): same as a 401 from the API. */
export function sessionEnded() {
  onUnauthorized();
}

export function getToken() {
  return localStorage.getItem(TOKEN_KEY) || "";
}

/** @param {string} token */
export function setToken(token) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

/**
 * Call the API. JSON in and out; FormData bodies are sent as multipart.
 * @param {string} method
 * @param {string} path
 * @param {any} [body]
 * @returns {Promise<any>}
 */
export async function request(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json" };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  /** @type {RequestInit} */
  const init = { method, headers };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "network_error", "The server cannot be reached. Check your connection.");
  }
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    // A 401 from the login's own steps is a wrong answer there, not a lost session.
    if (response.status === 401 && !path.startsWith("/api/auth/login")) onUnauthorized();
    const code = (data && data.code) || `http_${response.status}`;
    const message = (data && data.message) || `The server answered ${response.status}.`;
    throw new ApiError(response.status, code, message, (data && data.fields) || [], data || {});
  }
  return data;
}

/** GET a binary resource with the token (an <audio> element cannot send a header). @param {string} path */
export async function getBlob(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${getToken()}` } });
  if (!response.ok) {
    const data = await response.json().catch(() => null);
    throw new ApiError(
      response.status,
      (data && data.code) || `http_${response.status}`,
      (data && data.message) || `The server answered ${response.status}.`,
    );
  }
  return response.blob();
}

export const api = {
  /** @param {string} path */
  get: (path) => request("GET", path),
  /** @param {string} path @param {any} [body] */
  post: (path, body) => request("POST", path, body),
  /** @param {string} path @param {any} body */
  put: (path, body) => request("PUT", path, body),
  /** @param {string} path @param {any} body */
  patch: (path, body) => request("PATCH", path, body),
  /** @param {string} path */
  del: (path) => request("DELETE", path),
};

/** A query string from an object, leaving out empty values. @param {Record<string, any>} params */
export function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== "" && value !== null && value !== undefined) q.set(key, String(value));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}
