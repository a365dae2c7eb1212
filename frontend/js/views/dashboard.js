// Dashboard: what is owed, what is late, what came in; the latest invoices.

import { call } from "../api.js";
import { h, icon, mount } from "../dom.js";
import { money, STATUSES, statusLabel } from "../format.js";
import { clientNames, entities, products } from "../state.js";
import { emptyState, loading, pageHeader } from "../ui.js";
import { invoiceTable } from "./invoices.js";

function amountOf(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === "object") return v.amount ?? v.total ?? v.sum ?? v.amount_due ?? null;
  return v;
}

function countOf(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === "object") return v.count ?? null;
  if (typeof v === "number") return v;
  return null;
}

/** Read report.summary defensively: figures may be plain strings or {amount, count}. */
export function readSummary(s) {
  const byStatus = s.by_status || s.statuses || s.counts || {};
  const status = {};
  for (const st of STATUSES) {
    const v = byStatus[st];
    status[st] = { count: countOf(v), amount: amountOf(v) };
  }
  return {
    currency: s.currency,
    outstanding: amountOf(s.outstanding ?? s.outstanding_amount),
    outstandingCount: countOf(s.outstanding) ?? s.outstanding_count ?? null,
    overdue: amountOf(s.overdue ?? s.overdue_amount),
    overdueCount: countOf(s.overdue) ?? s.overdue_count ?? status.overdue.count,
    paid30: amountOf(s.paid_last_30_days ?? s.paid_30_days ?? s.paid_last_30d ?? s.paid_recent),
    paid30Count: countOf(s.paid_last_30_days ?? s.paid_30_days) ?? null,
    status,
  };
}

function statCard(label, value, sub, tone, href) {
  return h(
    "a",
    { class: `stat stat-${tone}`, href },
    h("span", { class: "stat-label", text: label }),
    h("span", { class: "stat-value", text: value }),
    h("span", { class: "stat-sub muted", text: sub }),
  );
}

const BUCKET_LABELS = { current: "Not yet due", "1-30": "1–30 days late", "31-60": "31–60 days", "61-90": "61–90 days", "90+": "Over 90 days" };

/** Open receivables by days past due (report.aging), in the dashboard's currency. */
export function agingCard(report, currency) {
  const block = (report?.currencies || []).find((c) => c.currency === currency);
  const buckets = report?.buckets || Object.keys(BUCKET_LABELS);
  return h(
    "section",
    { class: "card aging", "aria-label": "Receivables aging" },
    h("h2", { class: "card-title", text: "Receivables aging" }),
    block
      ? h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "table aging-table" },
            h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Client" }), ...buckets.map((b) => h("th", { scope: "col", class: "num", text: b })), h("th", { scope: "col", class: "num", text: "Total" }))),
            h(
              "tbody",
              {},
              block.clients.slice(0, 5).map((c) =>
                h(
                  "tr",
                  {},
                  h("td", {}, h("a", { href: `#/clients/${encodeURIComponent(c.client_id)}`, text: c.name })),
                  ...buckets.map((b) => h("td", { class: `num${b !== "current" && Number(c[b]) ? " tone-danger" : ""}`, text: Number(c[b]) ? money(c[b], currency) : "—", title: BUCKET_LABELS[b] })),
                  h("td", { class: "num", text: money(c.total, currency) }),
                ),
              ),
            ),
            h(
              "tfoot",
              {},
              h("tr", {}, h("th", { scope: "row", text: "All clients" }), ...buckets.map((b) => h("td", { class: "num", text: money(block.total[b], currency) })), h("td", { class: "num", text: money(block.total.total, currency) })),
            ),
          ),
        )
      : h("p", { class: "muted", text: `Nothing open in ${currency}.` }),
  );
}

let chosenEntity = "";

export async function renderDashboard(main) {
  mount(main, pageHeader("Dashboard"), loading());
  const ents = await entities();
  if (chosenEntity && !ents.some((e) => e.id === chosenEntity)) chosenEntity = "";
  const entity = ents.find((e) => e.id === chosenEntity) || null;
  const currency = (entity || ents[0])?.currency || "EUR";
  const scope = entity ? { entity_id: entity.id } : {};
  const [summaryRaw, latest, names, prods, agingRaw] = await Promise.all([
    call("report.summary", { currency, ...scope }),
    call("invoice.list", { limit: 8, sort_by: "created_at", sort_order: "desc", ...scope }),
    clientNames(),
    products(),
    call("report.aging", { currency, ...scope }).catch(() => null),
  ]);
  const s = readSummary(summaryRaw || {});
  const cur = s.currency || currency;
  const plural = (n, one) => (n === null || n === undefined ? "" : `${n} ${one}${n === 1 ? "" : "s"}`);
  const stats = h(
    "section",
    { class: "stats", "aria-label": "Summary" },
    statCard("Outstanding", money(s.outstanding ?? "0", cur), plural(s.outstandingCount, "invoice") || "Open, sent and overdue", "primary", "#/invoices?status=open,sent,overdue"),
    statCard("Overdue", money(s.overdue ?? "0", cur), plural(s.overdueCount, "invoice") || "Past the due date", "danger", "#/invoices?status=overdue"),
    statCard("Paid in the last 30 days", money(s.paid30 ?? "0", cur), plural(s.paid30Count, "payment") || "Received", "success", "#/invoices?status=paid"),
  );
  const items = latest.items || [];
  const anyCount = STATUSES.some((st) => s.status[st].count);
  const byStatus = h(
    "section",
    { class: "card" },
    h("h2", { class: "card-title", text: "By status" }),
    anyCount
      ? h(
          "ul",
          { class: "status-list", "aria-label": "Invoices by status" },
          STATUSES.filter((st) => s.status[st].count).map((st) =>
            h(
              "li",
              {},
              h(
                "a",
                { href: `#/invoices?status=${st}` },
                h("span", { class: `status-dot dot-${st}`, "aria-hidden": "true" }),
                h("span", { class: "status-name", text: statusLabel(st) }),
                h("span", { class: "status-count muted", text: String(s.status[st].count) }),
                h("span", { class: "status-sum num", text: s.status[st].amount !== null ? money(s.status[st].amount, cur) : "" }),
              ),
            ),
          ),
        )
      : h("p", { class: "muted", text: "Nothing to report yet." }),
  );
  const [clientCount, productCount] = [names.size, prods.length];
  const steps = [
    ["Set up your company", true, "#/settings/entities"],
    ["Add your first client", clientCount > 0, "#/clients"],
    ["Save a product or service", productCount > 0, "#/products"],
    ["Create and finalize an invoice", anyCount && STATUSES.some((st) => st !== "draft" && s.status[st].count), "#/invoices/new"],
  ];
  const checklist = steps.every(([, done]) => done)
    ? null
    : h(
        "section",
        { class: "card" },
        h("h2", { class: "card-title", text: "Getting started" }),
        h(
          "ol",
          { class: "checklist" },
          steps.map(([label, done, href]) =>
            h(
              "li",
              { class: done ? "done" : null },
              h("span", { class: "check", "aria-hidden": "true" }, done ? icon("check") : null),
              done ? h("span", { text: label }) : h("a", { href, text: label }),
              done ? h("span", { class: "visually-hidden", text: " (done)" }) : null,
            ),
          ),
        ),
      );
  const newBtn = h("a", { href: "#/invoices/new", class: "btn btn-primary" }, icon("plus"), " New invoice");
  let switcher = null;
  if (ents.length > 1) {
    switcher = h("select", { "aria-label": "Company", class: "entity-switcher" });
    for (const [v, t] of [["", "All companies"], ...ents.map((e) => [e.id, e.name])]) switcher.append(h("option", { value: v, text: t, selected: v === chosenEntity }));
    switcher.addEventListener("change", () => {
      chosenEntity = switcher.value;
      renderDashboard(main);
    });
  }
  const subtitle = ents.length > 1 ? `${entity ? entity.name : "All companies"} · figures in ${cur}` : ents[0] ? `${ents[0].name} · figures in ${cur}` : null;
  mount(
    main,
    pageHeader("Dashboard", [switcher, newBtn], subtitle),
    stats,
    h(
      "div",
      { class: "split" },
      h(
        "section",
        { class: "card split-main" },
        h("div", { class: "card-head" }, h("h2", { text: "Latest invoices" }), h("a", { href: "#/invoices", class: "link", text: "View all" })),
        items.length
          ? invoiceTable(items, names)
          : emptyState("No invoices yet", "Create your first invoice: pick a client, add lines, and Billow does the sums.", h("a", { href: "#/invoices/new", class: "btn btn-primary", text: "Create an invoice" })),
      ),
      h("div", { class: "split-side" }, checklist, byStatus),
    ),
    agingCard(agingRaw, cur),
  );
  return null;
}
