// Shared, cached account data (entities, clients, products) and navigation.

import { call, listAll } from "./api.js";

const cache = { entities: null, clients: null, products: null };

export async function entities(refresh = false) {
  if (refresh || !cache.entities) cache.entities = await listAll("entity.list");
  return cache.entities;
}

export async function clients(refresh = false) {
  if (refresh || !cache.clients) cache.clients = await listAll("client.list");
  return cache.clients;
}

export async function products(refresh = false) {
  if (refresh || !cache.products) cache.products = await listAll("product.list");
  return cache.products;
}

export function invalidate(what = null) {
  if (what) cache[what] = null;
  else for (const k of Object.keys(cache)) cache[k] = null;
}

/** id → client name, from the cache. */
export async function clientNames() {
  const map = new Map();
  for (const c of await clients()) map.set(c.id, c.name);
  return map;
}

export function navigate(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

/**
 * Put a list view's search and filters in the URL, but only while that list is still the page
 * shown. A debounced search or filter fires up to a few hundred milliseconds late: when the user
 * has meanwhile clicked a row, the hash already names the record, and rewriting it back to the
 * list would make the router render the list again instead of the record. Returns whether the
 * list is still current (a stale load then does nothing at all).
 */
export function replaceListUrl(section, query) {
  const { parts } = route();
  if (parts.length !== 1 || parts[0] !== section) return false;
  history.replaceState(null, "", `#/${section}${query ? `?${query}` : ""}`);
  return true;
}

/** The current route: path segments and query parameters of the hash. */
export function route() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = raw.split("?");
  return { parts: path.split("/").filter(Boolean), params: new URLSearchParams(query) };
}

export async function currentUser() {
  return call("auth.me");
}
