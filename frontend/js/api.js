// Client for the Billow action API: one endpoint, POST {"action": ..., ...}, Bearer key.

const KEY_STORAGE = "billow.key";
const EMAIL_STORAGE = "billow.email";

let apiUrl = "/api";
let inflight = 0;
const busyListeners = new Set();
const authListeners = new Set();

/** An error answered by the API: HTTP status, `code`, `message`, `details[{field, message}]`. */
export class ApiError extends Error {
  constructor(status, code, message, details = [], retryAfter = null) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.details = Array.isArray(details) ? details : [];
    this.retryAfter = retryAfter;
  }
}

/** Load `config.json` (apiUrl). A missing file means the defaults. */
export async function loadConfig() {
  try {
    const res = await fetch("config.json", { cache: "no-store" });
    if (res.ok) {
      const cfg = await res.json();
      if (cfg && typeof cfg.apiUrl === "string" && cfg.apiUrl) apiUrl = cfg.apiUrl;
    }
  } catch {
    // no config file: same-origin /api
  }
  return { apiUrl };
}

export function getKey() {
  return localStorage.getItem(KEY_STORAGE);
}

export function getEmail() {
  return localStorage.getItem(EMAIL_STORAGE) || "";
}

export function setSession(key, email) {
  localStorage.setItem(KEY_STORAGE, key);
  if (email) localStorage.setItem(EMAIL_STORAGE, email);
}

export function clearSession() {
  localStorage.removeItem(KEY_STORAGE);
  localStorage.removeItem(EMAIL_STORAGE);
}

/** Called with (count) whenever the number of requests in flight changes. */
export function onBusy(fn) {
  busyListeners.add(fn);
}

/** Called when the server says the key no longer works (401). */
export function onUnauthenticated(fn) {
  authListeners.add(fn);
}

function setInflight(delta) {
  inflight += delta;
  for (const fn of busyListeners) fn(inflight);
}

function newIdempotencyKey() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Call one action. `options.idempotent` adds an Idempotency-Key header so that a retried
 * click on "Record payment" never records twice.
 */
export async function call(action, params = {}, options = {}) {
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  const key = getKey();
  if (key && !action.startsWith("auth.login") && action !== "auth.verify") {
    headers.Authorization = `Bearer ${key}`;
  }
  if (options.idempotent) headers["Idempotency-Key"] = options.idempotencyKey || newIdempotencyKey();
  setInflight(1);
  let res;
  try {
    res = await fetch(apiUrl, {
      method: "POST",
      headers,
      body: JSON.stringify({ action, ...params }),
      credentials: "omit",
    });
  } catch (err) {
    throw new ApiError(0, "network_error", "Could not reach the server. Check your connection and try again.");
  } finally {
    setInflight(-1);
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    const e = (body && body.error) || {};
    const err = new ApiError(
      res.status,
      e.code || `http_${res.status}`,
      e.message || `The server answered ${res.status}.`,
      e.details || [],
      res.headers.get("Retry-After"),
    );
    if (res.status === 401 && err.code === "unauthenticated") {
      for (const fn of authListeners) fn(err);
    }
    throw err;
  }
  return body;
}

/** Fetch every page of a list action (bounded), returning the items. */
export async function listAll(action, params = {}, maxPages = 10) {
  const items = [];
  for (let page = 1; page <= maxPages; page += 1) {
    const res = await call(action, { ...params, limit: 100, page });
    items.push(...(res.items || []));
    if (!res.pages || page >= res.pages) break;
  }
  return items;
}
