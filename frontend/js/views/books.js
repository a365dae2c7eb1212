// Books: the journal entries Billow posted for a company and a period, and the exports an
// accountant imports (CSV, DATEV EXTF Buchungsstapel, SIE 4).

import { call } from "../api.js";
import { h, icon, mount } from "../dom.js";
import { date, money, today } from "../format.js";
import { entities } from "../state.js";
import { button, describeError, emptyState, field, loading, pageHeader, toast, withBusy } from "../ui.js";

const TYPES = {
  finalize: "Issued",
  payment: "Payment",
  credit: "Credit note",
  refund: "Refund",
  void: "Void (reversal)",
  uncollectible: "Written off",
};

/** Export formats: [format, button label, what it is for]. */
export const EXPORTS = [
  ["csv", "CSV", "Every entry and line, every currency as posted"],
  ["datev", "DATEV", "EXTF Buchungsstapel for DATEV (EUR, one fiscal year)"],
  ["sie", "SIE 4", "SIE 4I for Swedish bookkeeping programs (one fiscal year)"],
];

const PAGE = 100;
const CHARTS = { skr03: "SKR03", skr04: "SKR04", bas: "BAS", generic: "Generic" };

/** The entity's chart: its choice, else its country's default (DE SKR03, SE BAS). */
function chartName(entity) {
  const chosenChart = entity?.chart_of_accounts || { DE: "skr03", SE: "bas" }[entity?.address?.country] || "generic";
  return CHARTS[chosenChart] || chosenChart;
}
let chosen = { entity: "", from: "", to: "" };

function yearBounds() {
  const year = today().slice(0, 4);
  return [`${year}-01-01`, `${year}-12-31`];
}

function entryRows(entry) {
  const lines = entry.lines || [];
  return lines.map((line, i) =>
    h(
      "tr",
      { class: i === 0 ? "entry-first" : null, dataset: { entry: entry.id } },
      h("td", { text: i === 0 ? date(entry.date) : "" }),
      h(
        "td",
        {},
        i === 0 && entry.document_id
          ? h("a", { href: `#/invoices/${encodeURIComponent(entry.document_id)}`, text: entry.document_number || entry.document_id })
          : "",
      ),
      h("td", { text: i === 0 ? TYPES[entry.type] || entry.type : "" }),
      h("td", { class: "mono", text: line.account }),
      h("td", { class: "muted small", text: (line.role || "").replaceAll("_", " ") }),
      h("td", { class: "num", text: Number(line.debit) ? money(line.debit, entry.currency) : "" }),
      h("td", { class: "num", text: Number(line.credit) ? money(line.credit, entry.currency) : "" }),
      h("td", { class: "mono small", text: line.vat_code || "" }),
    ),
  );
}

function entriesTable(items) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table ledger-table", "aria-label": "Journal entries" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Date", "Document", "Entry", "Account", "For", "Debit", "Credit", "VAT code"].map((t, i) => h("th", { scope: "col", class: i === 5 || i === 6 ? "num" : null, text: t })),
        ),
      ),
      h("tbody", {}, items.flatMap(entryRows)),
    ),
  );
}

async function download(format, params, btn) {
  await withBusy(
    btn,
    async () => {
      try {
        const res = await call("ledger.export", { ...params, format });
        const a = h("a", { href: res.url, download: res.filename, hidden: true });
        document.body.append(a);
        a.click();
        a.remove();
        toast(`${res.filename} downloaded`, "success");
      } catch (err) {
        // 422: a period across fiscal years, entries in another currency without a rate ...
        const details = err.details?.length ? ` ${err.details.map((d) => `${d.field}: ${d.message}`).join(" · ")}` : "";
        toast(`${describeError(err)}${details}`, "error");
      }
    },
    "Preparing…",
  );
}

export async function renderBooks(main) {
  mount(main, pageHeader("Books"), loading());
  const ents = await entities();
  const [yearFrom, yearTo] = yearBounds();
  if (!ents.some((e) => e.id === chosen.entity)) chosen.entity = ents[0]?.id || "";
  const entityField = field({ label: "Company", name: "entity_id", options: ents.map((e) => [e.id, e.name]), value: chosen.entity });
  const fromField = field({ label: "From", name: "from", type: "date", value: chosen.from || yearFrom });
  const toField = field({ label: "To", name: "to", type: "date", value: chosen.to || yearTo });
  const show = button("Show entries", { variant: "secondary", type: "submit" });
  const filters = h("form", { class: "card books-filters", "aria-label": "Period" }, h("div", { class: "grid grid-4" }, entityField, fromField, toField, h("div", { class: "field field-action" }, show)));
  const results = h("section", { class: "card", "aria-label": "Entries" });
  const exportsBox = h("section", { class: "card" });

  const params = () => ({ entity_id: entityField.control.value, from: fromField.control.value, to: toField.control.value });

  function renderExports() {
    const entity = ents.find((e) => e.id === entityField.control.value);
    mount(
      exportsBox,
      h("h2", { class: "card-title", text: "Export for your accountant" }),
      h("p", { class: "muted small", text: `Chart of accounts: ${chartName(entity)} · entries of the period above` }),
      h(
        "div",
        { class: "ledger-exports", role: "group", "aria-label": "Ledger exports" },
        EXPORTS.map(([format, label, hint]) => {
          const b = button(label, { title: hint }, icon("download"));
          b.dataset.action = `export-${format}`;
          b.addEventListener("click", () => download(format, params(), b));
          return b;
        }),
      ),
    );
  }

  async function load(page = 1, before = []) {
    chosen = { entity: entityField.control.value, from: fromField.control.value, to: toField.control.value };
    if (page === 1) mount(results, loading());
    let res;
    try {
      res = await call("ledger.entries", { ...params(), limit: PAGE, page });
    } catch (err) {
      mount(results, h("p", { class: "form-error", role: "alert", text: describeError(err) }));
      return;
    }
    const items = [...before, ...(res.items || [])];
    if (!items.length) {
      mount(results, emptyState("No entries in this period", "Entries are posted when you finalize, record payments and refunds, credit, void or write off invoices."));
      return;
    }
    const more = res.page < res.pages ? button("Load more", { variant: "ghost" }) : null;
    if (more) more.addEventListener("click", () => load(page + 1, items));
    mount(
      results,
      h("div", { class: "card-head" }, h("h2", { text: "Journal entries" }), h("span", { class: "muted", text: `${res.total} entr${res.total === 1 ? "y" : "ies"}` })),
      entriesTable(items),
      more,
    );
  }

  filters.addEventListener("submit", (ev) => {
    ev.preventDefault();
    load();
  });
  entityField.control.addEventListener("change", () => {
    renderExports();
    load();
  });
  renderExports();
  mount(main, pageHeader("Books", [], "Journal entries posted with every invoice event"), filters, exportsBox, results);
  await load();
  return null;
}
