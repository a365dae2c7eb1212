// Entry point: configuration, sign-in by magic link, the app shell and the hash router.

import { call, clearSession, getEmail, getKey, loadConfig, onBusy, onUnauthenticated, setSession } from "./api.js";
import { h, icon, mount } from "./dom.js";
import { entities, invalidate, navigate, route } from "./state.js";
import { describeError, toast } from "./ui.js";
import { renderBooks } from "./views/books.js";
import { renderClient, renderClients } from "./views/clients.js";
import { renderDashboard } from "./views/dashboard.js";
import { renderEditor } from "./views/editor.js";
import { renderInvoice } from "./views/invoice.js";
import { renderInvoices } from "./views/invoices.js";
import { renderProducts } from "./views/products.js";
import { renderRecurring, renderRecurringEditor, renderRecurringList } from "./views/recurring.js";
import { renderQuote, renderQuoteEditor, renderQuotes } from "./views/quotes.js";
import { renderSettings } from "./views/settings.js";
import { renderSetup } from "./views/setup.js";
import { renderSignIn } from "./views/signin.js";
import { renderWebhooks } from "./views/webhooks.js";
import { renderSearch, searchBox } from "./views/search.js";

const root = document.getElementById("app");
let leaveCurrent = null;
let shell = null;

const NAV = [
  ["dashboard", "Dashboard", "#/dashboard", "dashboard"],
  ["invoices", "Invoices", "#/invoices", "invoices"],
  ["recurring", "Recurring", "#/recurring", "recurring"],
  ["quotes", "Quotes", "#/quotes", "quotes"],
  ["clients", "Clients", "#/clients", "clients"],
  ["products", "Products", "#/products", "products"],
  ["settings", "Settings", "#/settings", "settings"],
  ["webhooks", "Webhooks", "#/webhooks", "webhooks"],
  ["books", "Books", "#/books", "books"],
];

function buildShell() {
  const main = h("main", { id: "main", class: "main", tabindex: "-1" });
  const nav = h(
    "nav",
    { class: "nav", "aria-label": "Main" },
    h(
      "ul",
      {},
      NAV.map(([key, label, href, ic]) =>
        h("li", {}, h("a", { href, class: "nav-link", dataset: { nav: key } }, icon(ic), h("span", { text: label }))),
      ),
    ),
  );
  const menuToggle = h(
    "button",
    { type: "button", class: "menu-toggle", "aria-label": "Menu", "aria-expanded": "false", "aria-controls": "sidebar" },
    icon("menu"),
  );
  const signOut = h("button", { type: "button", class: "btn btn-ghost btn-sm signout" }, icon("logout"), " Sign out");
  signOut.addEventListener("click", async () => {
    try {
      await call("auth.logout");
    } catch {
      // the key may already be gone; signing out locally is what matters
    }
    clearSession();
    invalidate();
    location.replace(location.pathname);
  });
  const sidebar = h(
    "aside",
    { class: "sidebar", id: "sidebar" },
    h("div", { class: "brand" }, h("span", { class: "brand-mark", "aria-hidden": "true", text: "b" }), h("span", { class: "brand-name", text: "Billow" })),
    h("a", { href: "#/invoices/new", class: "btn btn-primary btn-block new-invoice" }, icon("plus"), " New invoice"),
    searchBox(),
    nav,
    h("div", { class: "account" }, h("span", { class: "account-email", title: getEmail(), text: getEmail() }), signOut),
  );
  menuToggle.addEventListener("click", () => {
    const open = sidebar.classList.toggle("open");
    menuToggle.setAttribute("aria-expanded", String(open));
  });
  sidebar.addEventListener("click", (ev) => {
    if (ev.target.closest("a")) {
      sidebar.classList.remove("open");
      menuToggle.setAttribute("aria-expanded", "false");
    }
  });
  const topbar = h(
    "header",
    { class: "topbar" },
    menuToggle,
    h("div", { class: "brand" }, h("span", { class: "brand-mark", "aria-hidden": "true", text: "b" }), h("span", { class: "brand-name", text: "Billow" })),
  );
  const skip = h("a", { href: "#main", class: "skip-link", text: "Skip to content" });
  skip.addEventListener("click", (ev) => {
    ev.preventDefault();
    main.focus();
  });
  const layout = h("div", { class: "layout" }, skip, topbar, sidebar, main);
  mount(root, layout);
  return { main, nav };
}

let renderSeq = 0;

async function render() {
  const seq = ++renderSeq;
  if (!getKey()) {
    leaveCurrent = null;
    shell = null;
    renderSignIn(root);
    return;
  }
  if (leaveCurrent) {
    const leave = leaveCurrent;
    leaveCurrent = null;
    try {
      await leave();
    } catch {
      // leaving never blocks navigation
    }
  }
  if (seq !== renderSeq) return;
  const { parts, params } = route();
  const section = parts[0] || "dashboard";
  if (section === "setup") {
    shell = null;
    const leave = await renderSetup(root);
    if (seq === renderSeq) leaveCurrent = leave || null;
    return;
  }
  // first run: nothing works without a company to invoice from
  try {
    if (!(await entities()).length) {
      if (seq === renderSeq) navigate("#/setup");
      return;
    }
  } catch {
    if (!getKey()) return; // 401: onUnauthenticated already showed the sign-in page
  }
  if (seq !== renderSeq) return;
  if (!shell || !document.body.contains(shell.main)) shell = buildShell();
  for (const a of shell.nav.querySelectorAll("a")) {
    if (a.dataset.nav === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  // Each render gets its own container: a slow, superseded view writes into a detached node
  // instead of over the page the user has moved on to.
  const view = h("div", { class: "view" });
  mount(shell.main, view);
  window.scrollTo(0, 0);
  try {
    let leave = null;
    if (section === "dashboard") leave = await renderDashboard(view);
    else if (section === "invoices" && parts[1] === "new") leave = await renderEditor(view, null, params);
    else if (section === "invoices" && parts[1] && parts[2] === "edit") leave = await renderEditor(view, parts[1], params);
    else if (section === "invoices" && parts[1]) leave = await renderInvoice(view, parts[1]);
    else if (section === "invoices") leave = await renderInvoices(view, params);
    else if (section === "quotes" && parts[1] === "new") leave = await renderQuoteEditor(view, null);
    else if (section === "quotes" && parts[1] && parts[2] === "edit") leave = await renderQuoteEditor(view, parts[1]);
    else if (section === "quotes" && parts[1]) leave = await renderQuote(view, parts[1]);
    else if (section === "quotes") leave = await renderQuotes(view, params);
    else if (section === "clients" && parts[1]) leave = await renderClient(view, parts[1]);
    else if (section === "clients") leave = await renderClients(view, params);
    else if (section === "recurring" && parts[1] === "new") leave = await renderRecurringEditor(view, null);
    else if (section === "recurring" && parts[1] && parts[2] === "edit") leave = await renderRecurringEditor(view, parts[1]);
    else if (section === "recurring" && parts[1]) leave = await renderRecurring(view, parts[1]);
    else if (section === "recurring") leave = await renderRecurringList(view);
    else if (section === "products") leave = await renderProducts(view);
    else if (section === "settings") leave = await renderSettings(view, parts[1] || "entities", parts[2]);
    else if (section === "webhooks") leave = await renderWebhooks(view, parts[1] || null);
    else if (section === "books") leave = await renderBooks(view);
    else if (section === "search") leave = await renderSearch(view, params);
    else navigate("#/dashboard");
    if (seq === renderSeq) leaveCurrent = leave || null;
    else if (leave) await leave();
  } catch (err) {
    if (!getKey() || seq !== renderSeq) return;
    mount(view, h("div", { class: "empty" }, h("h2", { text: "This page could not be loaded" }), h("p", { class: "muted", text: describeError(err) })));
  }
  if (seq !== renderSeq) return;
  const heading = view.querySelector("h1");
  if (heading) document.title = `${heading.textContent} · Billow`;
}

async function verifyToken(token) {
  mount(root, h("div", { class: "auth-page" }, h("div", { class: "auth-card" }, h("p", { class: "loading", role: "status", text: "Signing you in…" }))));
  const clean = location.pathname;
  try {
    const res = await call("auth.verify", { token });
    setSession(res.key, res.email);
    history.replaceState(null, "", `${clean}#/dashboard`);
    return null;
  } catch (err) {
    history.replaceState(null, "", clean);
    return err.code === "invalid_token"
      ? "This sign-in link has expired or was already used. Enter your email to get a new one."
      : describeError(err);
  }
}

async function boot() {
  await loadConfig();
  onBusy((n) => document.body.classList.toggle("is-loading", n > 0));
  onUnauthenticated(() => {
    clearSession();
    invalidate();
    toast("Your session has ended. Please sign in again.", "error");
    render();
  });
  const token = new URLSearchParams(location.search).get("token");
  if (token) {
    const problem = await verifyToken(token);
    if (problem) {
      renderSignIn(root, problem);
      window.addEventListener("hashchange", render);
      return;
    }
  }
  window.addEventListener("hashchange", render);
  await render();
}

boot();
