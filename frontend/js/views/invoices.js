// Invoices list: search, status tabs, filters, sortable columns, paging.

import { call } from "../api.js";
import { debounce, h, icon, mount } from "../dom.js";
import { date, isNegative, money, STATUSES, statusLabel } from "../format.js";
import { clientNames, clients, entities, navigate, replaceListUrl } from "../state.js";
import { badge, describeError, emptyState, field, loading, pageHeader } from "../ui.js";

const COLUMNS = [
  ["number", "Number", "number"],
  ["client_name", "Client", "client_name"],
  ["issue_date", "Issued", "issue_date"],
  ["due_date", "Due", "due_date"],
  ["status", "Status", null],
  ["total", "Total", "total"],
  ["amount_due", "Amount due", null],
];

/** Name of the buyer of an invoice: frozen copy first, then the client list. */
export function buyerName(inv, names) {
  // a self-billed document's client is its seller (the supplier)
  const party = String(inv.kind || "").startsWith("self_billed") ? inv.seller : inv.buyer;
  return party?.name || names.get(inv.client_id) || "—";
}

/**
 * The invoices table. With `sort` ({by, order}) and `onSort(by)` the column headers become
 * sort buttons carrying aria-sort.
 */
export function invoiceTable(items, names, sort = null, onSort = null) {
  const head = h(
    "tr",
    {},
    COLUMNS.map(([key, label, sortKey]) => {
      const numeric = key === "total" || key === "amount_due";
      const th = h("th", { scope: "col", class: numeric ? "num" : null });
      if (sort && onSort && sortKey) {
        const active = sort.by === sortKey;
        th.setAttribute("aria-sort", active ? (sort.order === "asc" ? "ascending" : "descending") : "none");
        const btn = h(
          "button",
          { type: "button", class: `sort${active ? " sort-active" : ""}`, dataset: { sort: sortKey } },
          label,
          h("span", { class: "sort-arrow", "aria-hidden": "true", text: active ? (sort.order === "asc" ? "▲" : "▼") : "↕" }),
        );
        btn.addEventListener("click", () => onSort(sortKey));
        th.append(btn);
      } else th.textContent = label;
      return th;
    }),
  );
  const rows = items.map((inv) => {
    const href = inv.status === "draft" ? `#/invoices/${encodeURIComponent(inv.id)}/edit` : `#/invoices/${encodeURIComponent(inv.id)}`;
    const tr = h(
      "tr",
      { class: "row-link", dataset: { id: inv.id } },
      h(
        "td",
        { class: "cell-number" },
        h("a", { href, text: inv.number || "Draft" }),
        inv.kind === "credit_note" ? h("span", { class: "tag", text: "Credit note" }) : null,
        String(inv.kind || "").startsWith("self_billed") ? h("span", { class: "tag", text: "Self-billed" }) : null,
      ),
      h("td", { class: "cell-client", text: buyerName(inv, names) }),
      h("td", { text: date(inv.issue_date) }),
      h("td", { text: date(inv.due_date) }),
      h("td", {}, badge(inv.status, inv.kind)),
      h("td", { class: `num${isNegative(inv.total) ? " negative" : ""}`, text: money(inv.total, inv.currency) }),
      h("td", { class: "num", text: ["draft", "void", "credited"].includes(inv.status) || inv.kind === "credit_note" ? "—" : money(inv.amount_due, inv.currency) }),
    );
    tr.addEventListener("click", (ev) => {
      if (ev.target.closest("a, button")) return;
      navigate(href);
    });
    return tr;
  });
  return h("div", { class: "table-wrap" }, h("table", { class: "table invoices-table" }, h("thead", {}, head), h("tbody", {}, rows)));
}

const TABS = [["", "All"], ["draft", "Drafts"], ["open,sent,overdue", "Outstanding"], ...STATUSES.filter((s) => s !== "draft").map((s) => [s, statusLabel(s)])];

export async function renderInvoices(main, params) {
  const state = {
    q: params.get("q") || "",
    status: params.get("status") || "",
    client_id: params.get("client_id") || "",
    entity_id: params.get("entity_id") || "",
    issued_from: params.get("issued_from") || "",
    issued_to: params.get("issued_to") || "",
    min_total: params.get("min_total") || "",
    max_total: params.get("max_total") || "",
    sort_by: params.get("sort_by") || "created_at",
    sort_order: params.get("sort_order") || "desc",
    page: Number(params.get("page") || 1),
  };
  mount(main, pageHeader("Invoices"), loading());
  const [cls, ents, names] = await Promise.all([clients(), entities(), clientNames()]);

  const results = h("div", { class: "results", "aria-live": "polite" });
  const tabs = h("nav", { class: "tabs", "aria-label": "Filter by status" });
  const search = h("input", {
    type: "search",
    class: "search-input",
    placeholder: "Search number, client or email",
    "aria-label": "Search invoices",
    value: state.q,
  });
  const filterFields = {
    client_id: field({ label: "Client", name: "client_id", options: [["", "All clients"], ...cls.map((c) => [c.id, c.name])], value: state.client_id }),
    entity_id: field({ label: "Company", name: "entity_id", options: [["", "All companies"], ...ents.map((e) => [e.id, e.name])], value: state.entity_id }),
    issued_from: field({ label: "Issued from", name: "issued_from", type: "date", value: state.issued_from }),
    issued_to: field({ label: "Issued to", name: "issued_to", type: "date", value: state.issued_to }),
    min_total: field({ label: "Min total", name: "min_total", value: state.min_total, attrs: { inputmode: "decimal" } }),
    max_total: field({ label: "Max total", name: "max_total", value: state.max_total, attrs: { inputmode: "decimal" } }),
  };
  if (ents.length < 2) filterFields.entity_id.hidden = true;
  const activeFilters = () => Object.keys(filterFields).filter((k) => state[k]).length;
  const filterToggle = h("button", { type: "button", class: "btn btn-secondary", "aria-expanded": "false", "aria-controls": "invoice-filters" });
  const filterPanel = h("div", { class: "filters", id: "invoice-filters", hidden: true }, Object.values(filterFields));
  const clearBtn = h("button", { type: "button", class: "btn btn-ghost btn-sm", text: "Clear filters" });
  filterPanel.append(h("div", { class: "filters-actions" }, clearBtn));
  const setToggleLabel = () => {
    const n = activeFilters();
    filterToggle.textContent = n ? `Filters (${n})` : "Filters";
  };
  setToggleLabel();
  if (activeFilters()) {
    filterPanel.hidden = false;
    filterToggle.setAttribute("aria-expanded", "true");
  }
  filterToggle.addEventListener("click", () => {
    filterPanel.hidden = !filterPanel.hidden;
    filterToggle.setAttribute("aria-expanded", String(!filterPanel.hidden));
  });

  const syncUrl = () => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(state)) {
      if (v && !(k === "page" && v === 1) && !(k === "sort_by" && v === "created_at") && !(k === "sort_order" && v === "desc")) p.set(k, String(v));
    }
    return replaceListUrl("invoices", p.toString());
  };

  let seq = 0;
  const load = async () => {
    if (!syncUrl()) return; // the user has left the list: a late search or filter does nothing
    renderTabs();
    setToggleLabel();
    const mine = ++seq;
    const req = { limit: 20, page: state.page, sort_by: state.sort_by, sort_order: state.sort_order };
    if (state.q) req.q = state.q;
    if (state.status) req.status = state.status.includes(",") ? state.status.split(",") : state.status;
    for (const k of Object.keys(filterFields)) if (state[k]) req[k] = state[k];
    results.setAttribute("aria-busy", "true");
    let res;
    try {
      res = await call("invoice.list", req);
    } catch (err) {
      if (mine !== seq) return;
      results.removeAttribute("aria-busy");
      mount(results, h("div", { class: "form-error", role: "alert", text: describeError(err) }));
      return;
    }
    if (mine !== seq) return;
    results.removeAttribute("aria-busy");
    const items = res.items || [];
    if (!items.length) {
      const filtered = state.q || state.status || activeFilters();
      mount(
        results,
        filtered
          ? emptyState("No matching invoices", "Try another search or clear the filters.")
          : emptyState("No invoices yet", "Your invoices will appear here.", h("a", { href: "#/invoices/new", class: "btn btn-primary", text: "Create an invoice" })),
      );
      return;
    }
    const first = (res.page - 1) * res.limit + 1;
    const last = first + items.length - 1;
    const prev = h("button", { type: "button", class: "btn btn-secondary btn-sm", text: "Previous", disabled: res.page <= 1 });
    const next = h("button", { type: "button", class: "btn btn-secondary btn-sm", text: "Next", disabled: res.page >= res.pages });
    prev.addEventListener("click", () => {
      state.page -= 1;
      load();
    });
    next.addEventListener("click", () => {
      state.page += 1;
      load();
    });
    mount(
      results,
      invoiceTable(items, names, { by: state.sort_by, order: state.sort_order }, (by) => {
        if (state.sort_by === by) state.sort_order = state.sort_order === "asc" ? "desc" : "asc";
        else {
          state.sort_by = by;
          state.sort_order = by === "client_name" || by === "number" ? "asc" : "desc";
        }
        state.page = 1;
        load().then(() => results.querySelector(`[data-sort="${by}"]`)?.focus());
      }),
      h(
        "div",
        { class: "pager" },
        h("span", { class: "muted pager-info", text: `${first}–${last} of ${res.total} · page ${res.page} of ${res.pages}` }),
        h("div", { class: "pager-buttons" }, prev, next),
      ),
    );
  };

  function renderTabs() {
    mount(
      tabs,
      TABS.map(([value, label]) => {
        const a = h("a", { href: `#/invoices${value ? `?status=${value}` : ""}`, class: "tab", text: label, dataset: { status: value } });
        if (value === state.status) a.setAttribute("aria-current", "true");
        a.addEventListener("click", (ev) => {
          ev.preventDefault();
          state.status = value;
          state.page = 1;
          load();
        });
        return a;
      }),
    );
  }

  const onSearch = debounce(() => {
    state.q = search.value.trim();
    state.page = 1;
    load();
  }, 300);
  search.addEventListener("input", onSearch);
  search.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") onSearch.flush();
  });
  const onFilter = debounce(() => {
    let changed = false;
    for (const [k, f] of Object.entries(filterFields)) {
      const value = f.control.value.trim();
      if (state[k] !== value) changed = true;
      state[k] = value;
    }
    if (!changed) return; // e.g. the 'change' a text field fires when it loses focus
    state.page = 1;
    load();
  }, 350);
  for (const f of Object.values(filterFields)) {
    f.control.addEventListener("change", onFilter);
    f.control.addEventListener("input", onFilter);
  }
  clearBtn.addEventListener("click", () => {
    onFilter.cancel();
    for (const [k, f] of Object.entries(filterFields)) {
      f.control.value = "";
      state[k] = "";
    }
    state.page = 1;
    load();
  });

  const newBtn = h("a", { href: "#/invoices/new", class: "btn btn-primary" }, icon("plus"), " New invoice");
  mount(
    main,
    pageHeader("Invoices", [newBtn]),
    h(
      "section",
      { class: "card" },
      tabs,
      h("div", { class: "toolbar" }, h("div", { class: "search" }, icon("search"), search), filterToggle),
      filterPanel,
      results,
    ),
  );
  await load();
  return () => {
    onSearch.cancel();
    onFilter.cancel();
  };
}
