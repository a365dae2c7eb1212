// Search: one list across invoices, credit notes, quotes, recurring schedules, clients and
// payments, by amount, date, identifier or text (the `search` action). The conditions live in
// the URL (#/search?q=…&min=…), so a search can be bookmarked and the back button returns to it.

import { call } from "../api.js";
import { h, icon, mount } from "../dom.js";
import { date, money } from "../format.js";
import { navigate } from "../state.js";
import { clearErrors, emptyState, field, fieldset, loading, pageHeader, showError } from "../ui.js";

const TYPE_LABELS = {
  invoice: "Invoice",
  credit_note: "Credit note",
  quote: "Quote",
  recurring: "Recurring",
  client: "Client",
  payment: "Payment",
};
const AMOUNT_LABELS = { total: "Total", amount_due: "Amount due", paid: "Paid", refund_due: "Refund due" };
const DATE_LABELS = { issue: "Issued", due: "Due", supply: "Supplied", paid: "Paid", created: "Created", valid_until: "Valid until", next: "Next" };
const ID_LABELS = { number: "Number", po_number: "PO number", payment_reference: "Payment reference", vat_number: "VAT number", iban: "IBAN", buyer_reference: "Buyer reference" };

// URL parameter -> API field path (the form fields are named by the API path, so a 422 lands next to its field)
const PARAMS = {
  q: "q",
  min: "amounts.min",
  max: "amounts.max",
  currency: "amounts.currency",
  amount: "amounts.label",
  from: "dates.from",
  to: "dates.to",
  date: "dates.label",
  id: "identifiers.value",
  id_type: "identifiers.type",
  type: "types",
};

function options(labels, any) {
  return [["", any], ...Object.entries(labels)];
}

/** Where a result opens. */
export function recordHref(item) {
  const id = encodeURIComponent(item.id);
  switch (item.type) {
    case "invoice":
    case "credit_note":
      return `#/invoices/${id}`;
    case "payment":
      return `#/invoices/${encodeURIComponent(item.invoice_id)}`;
    case "quote":
      return `#/quotes/${id}`;
    case "recurring":
      return `#/recurring/${id}`;
    default:
      return `#/clients/${id}`;
  }
}

/** The API request of the URL's parameters. */
function request(params, page) {
  const body = { page, limit: 20 };
  const get = (k) => (params.get(k) || "").trim();
  if (get("q")) body.q = get("q");
  const amounts = { min: get("min"), max: get("max"), currency: get("currency"), label: get("amount") };
  const dates = { from: get("from"), to: get("to"), label: get("date") };
  const clean = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v));
  if (amounts.min || amounts.max || amounts.currency) body.amounts = clean(amounts);
  if (dates.from || dates.to) body.dates = clean(dates);
  if (get("id")) body.identifiers = clean({ value: get("id"), type: get("id_type") });
  if (get("type")) body.types = [get("type")];
  return body;
}

function facetList(item) {
  const parts = [];
  for (const a of item.amounts) parts.push(h("span", { class: "facet" }, h("span", { class: "muted", text: `${AMOUNT_LABELS[a.label]} ` }), money(a.value, a.currency)));
  for (const d of item.dates) parts.push(h("span", { class: "facet" }, h("span", { class: "muted", text: `${DATE_LABELS[d.label]} ` }), date(d.value)));
  return parts;
}

export async function renderSearch(main, params) {
  const value = (k) => params.get(k) || "";
  const form = h(
    "form",
    { class: "search-form", novalidate: true, "aria-label": "Search every record" },
    h("div", { class: "toolbar" }, h("div", { class: "search" }, icon("search"), h("input", { type: "search", name: "q", dataset: { field: "q" }, class: "search-input", placeholder: "Number, client, reference…", "aria-label": "Text", value: value("q") }))),
    fieldset("Amount", [
      field({ label: "From", name: "amounts.min", value: value("min"), placeholder: "1000", attrs: { inputmode: "decimal" } }),
      field({ label: "To", name: "amounts.max", value: value("max"), attrs: { inputmode: "decimal" } }),
      field({ label: "Currency", name: "amounts.currency", value: value("currency"), placeholder: "EUR" }),
      field({ label: "Which amount", name: "amounts.label", options: options(AMOUNT_LABELS, "Any amount"), value: value("amount") }),
    ]),
    fieldset("Date", [
      field({ label: "From", name: "dates.from", type: "date", value: value("from") }),
      field({ label: "To", name: "dates.to", type: "date", value: value("to") }),
      field({ label: "Which date", name: "dates.label", options: options(DATE_LABELS, "Any date"), value: value("date") }),
    ]),
    fieldset("Identifier", [
      field({ label: "Exactly", name: "identifiers.value", value: value("id"), placeholder: "PO-4711" }),
      field({ label: "Kind", name: "identifiers.type", options: options(ID_LABELS, "Any identifier"), value: value("id_type") }),
      field({ label: "Record type", name: "types", options: options(TYPE_LABELS, "Every record"), value: value("type") }),
    ]),
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn btn-primary" }, icon("search"), " Search")),
  );
  const results = h("div", { class: "results", "aria-live": "polite" });
  mount(main, pageHeader("Search"), h("section", { class: "card" }, form, results));

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const query = new URLSearchParams();
    for (const [param, name] of Object.entries(PARAMS)) {
      const control = form.querySelector(`[data-field="${name}"]`);
      if (control && control.value.trim()) query.set(param, control.value.trim());
    }
    navigate(`#/search?${query}`);
  });

  const body = request(params, 1);
  const asked = Object.keys(body).some((k) => !["page", "limit"].includes(k));
  if (!asked) {
    mount(results, emptyState("Find any record", "By amount, date, identifier or text: invoices, credit notes, quotes, schedules, clients and payments."));
    return null;
  }
  let page = 1;
  const load = async () => {
    clearErrors(form);
    mount(results, loading("Searching…"));
    let res;
    try {
      res = await call("search", request(params, page));
    } catch (err) {
      mount(results);
      showError(form, err);
      return;
    }
    if (!res.items.length) {
      mount(results, emptyState("Nothing found", "No record matches every condition."));
      return;
    }
    const rows = res.items.map((item) => {
      const href = recordHref(item);
      const tr = h(
        "tr",
        { class: "row-link", dataset: { type: item.type, id: item.id } },
        h("td", {}, h("span", { class: `badge badge-${item.type}`, text: TYPE_LABELS[item.type] })),
        h("td", {}, h("a", { href, text: item.title })),
        h("td", { class: "facets" }, facetList(item)),
        h("td", {}, item.identifiers.map((i) => h("div", { class: "small" }, h("span", { class: "muted", text: `${ID_LABELS[i.type]} ` }), h("span", { class: "mono", text: i.value })))),
      );
      tr.addEventListener("click", (ev) => {
        if (!ev.target.closest("a")) navigate(href);
      });
      return tr;
    });
    const prev = h("button", { type: "button", class: "btn btn-secondary btn-sm", text: "Previous", disabled: res.page <= 1 });
    const next = h("button", { type: "button", class: "btn btn-secondary btn-sm", text: "Next", disabled: res.page >= res.pages });
    prev.addEventListener("click", () => {
      page -= 1;
      load();
    });
    next.addEventListener("click", () => {
      page += 1;
      load();
    });
    mount(
      results,
      h("p", { class: "muted small", role: "status", text: `${res.total} ${res.total === 1 ? "record" : "records"}` }),
      h(
        "div",
        { class: "table-wrap" },
        h("table", { class: "table search-results" }, h("thead", {}, h("tr", {}, ["Type", "Record", "Amounts and dates", "Identifiers"].map((t) => h("th", { scope: "col", text: t })))), h("tbody", {}, rows)),
      ),
      res.pages > 1 ? h("div", { class: "pager" }, h("span", { class: "muted", text: `page ${res.page} of ${res.pages}` }), h("div", { class: "pager-buttons" }, prev, next)) : null,
    );
  };
  await load();
  return null;
}

/** The search box of the app shell: text goes to the search page. */
export function searchBox() {
  const input = h("input", { type: "search", name: "q", class: "search-input", placeholder: "Search everything", "aria-label": "Search everything" });
  const form = h("form", { class: "search shell-search", role: "search" }, icon("search"), input);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = input.value.trim();
    navigate(q ? `#/search?${new URLSearchParams({ q })}` : "#/search");
    input.value = "";
  });
  return form;
}
