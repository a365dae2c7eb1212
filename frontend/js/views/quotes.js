// Quotes: list (status tabs, search), editor (draft), and the quote page (finalize, send,
// the customer link, PDF, convert into an invoice, status and timeline).

import { call, listAll } from "../api.js";
import { debounce, h, icon, mount } from "../dom.js";
import { date, dateTime, money } from "../format.js";
import { clientNames, clients, entities, navigate, replaceListUrl } from "../state.js";
import { button, clearErrors, describeError, emptyState, field, formError, loading, openDialog, pageHeader, setFieldError, showError, toast, withBusy } from "../ui.js";

export const QUOTE_STATUSES = ["draft", "open", "accepted", "declined", "expired", "converted"];
const LABELS = { draft: "Draft", open: "Open", accepted: "Accepted", declined: "Declined", expired: "Expired", converted: "Converted" };
// colours of the invoice badges that mean the same thing to the eye
const TONES = { draft: "draft", open: "open", accepted: "paid", declined: "void", expired: "overdue", converted: "credited" };
const EVENTS = {
  created: "Draft created",
  updated: "Draft updated",
  finalized: "Finalized",
  pdf_rendered: "PDF rendered",
  sent: "Sent to the client",
  send_failed: "Sending failed",
  accepted: "Accepted",
  declined: "Declined",
  expired: "Expired",
  converted: "Converted into an invoice",
};

export function quoteBadge(status) {
  return h("span", { class: `badge badge-${TONES[status] || "draft"}`, dataset: { status }, text: LABELS[status] || status });
}

// --- list ------------------------------------------------------------------------------------

export async function renderQuotes(main, params) {
  const state = { q: params.get("q") || "", status: params.get("status") || "", page: Number(params.get("page") || 1) };
  const newBtn = h("a", { href: "#/quotes/new", class: "btn btn-primary" }, icon("plus"), " New quote");
  mount(main, pageHeader("Quotes", [newBtn]), loading());
  const names = await clientNames();
  const results = h("div", { class: "results", "aria-live": "polite" });
  const tabs = h("nav", { class: "tabs", "aria-label": "Filter by status" });
  const search = h("input", { type: "search", class: "search-input", placeholder: "Search number, client or email", "aria-label": "Search quotes", value: state.q });

  const renderTabs = () => {
    mount(
      tabs,
      [["", "All"], ...QUOTE_STATUSES.map((s) => [s, LABELS[s]])].map(([value, label]) => {
        const a = h("a", { href: `#/quotes${value ? `?status=${value}` : ""}`, class: "tab", text: label, dataset: { status: value } });
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
  };

  let seq = 0;
  const load = async () => {
    const query = new URLSearchParams();
    if (state.q) query.set("q", state.q);
    if (state.status) query.set("status", state.status);
    if (state.page > 1) query.set("page", String(state.page));
    if (!replaceListUrl("quotes", query.toString())) return;
    renderTabs();
    const mine = ++seq;
    const req = { limit: 20, page: state.page };
    if (state.q) req.q = state.q;
    if (state.status) req.status = state.status;
    try {
      const res = await call("quote.list", req);
      if (mine !== seq) return;
      if (!res.items.length) {
        mount(results, emptyState(state.q || state.status ? "No quotes match" : "No quotes yet", "A quote becomes an invoice once your client accepts it.", state.q || state.status ? null : h("a", { href: "#/quotes/new", class: "btn btn-primary", text: "Create a quote" })));
        return;
      }
      mount(results, quoteTable(res.items, names), pager(res));
    } catch (err) {
      if (mine === seq) mount(results, h("p", { class: "form-error", text: describeError(err) }));
    }
  };
  const pager = (res) => {
    if (res.pages <= 1) return null;
    const prev = button("Previous", { disabled: state.page <= 1 });
    const next = button("Next", { disabled: state.page >= res.pages });
    prev.addEventListener("click", () => { state.page -= 1; load(); });
    next.addEventListener("click", () => { state.page += 1; load(); });
    return h("div", { class: "pager" }, prev, h("span", { class: "muted", text: `Page ${res.page} of ${res.pages}` }), next);
  };
  search.addEventListener("input", debounce(() => { state.q = search.value.trim(); state.page = 1; load(); }, 250));
  mount(main, pageHeader("Quotes", [newBtn]), h("div", { class: "toolbar" }, h("div", { class: "search" }, icon("search"), search)), tabs, results);
  await load();
}

function quoteTable(items, names) {
  const head = h("tr", {}, ["Number", "Client", "Issued", "Valid until", "Status", "Total"].map((t, i) => h("th", { scope: "col", class: i === 5 ? "num" : null, text: t })));
  const rows = items.map((q) => {
    const href = q.status === "draft" ? `#/quotes/${encodeURIComponent(q.id)}/edit` : `#/quotes/${encodeURIComponent(q.id)}`;
    const tr = h(
      "tr",
      { class: "row-link", dataset: { id: q.id } },
      h("td", { class: "cell-number" }, h("a", { href, text: q.number || "Draft" })),
      h("td", { class: "cell-client", text: q.buyer?.name || q.client_name || names.get(q.client_id) || "—" }),
      h("td", { text: date(q.issue_date) }),
      h("td", { text: date(q.valid_until) }),
      h("td", {}, quoteBadge(q.status)),
      h("td", { class: "num", text: money(q.total, q.currency) }),
    );
    tr.addEventListener("click", (ev) => {
      if (!ev.target.closest("a, button")) navigate(href);
    });
    return tr;
  });
  return h("div", { class: "table-wrap" }, h("table", { class: "table quotes-table" }, h("thead", {}, head), h("tbody", {}, rows)));
}

// --- editor ----------------------------------------------------------------------------------

function lineRow(line, index, onRemove, currency) {
  const n = index + 1;
  const errId = `quote-line-${n}-err`; // "-err": where setFieldError puts the message
  const input = (key, label, value, attrs = {}) =>
    h("input", { type: "text", value: value ?? "", "aria-label": `Line ${n} ${label}`, "aria-describedby": errId, dataset: { field: `lines[${index}].${key}` }, ...attrs });
  const desc = h("textarea", { rows: 1, class: "line-desc", placeholder: "Description", "aria-label": `Line ${n} description`, "aria-describedby": errId, dataset: { field: `lines[${index}].description` } });
  desc.value = line.description || "";
  const discount = line.discount_percent && Number(line.discount_percent) !== 0 ? line.discount_percent : "";
  const remove = h("button", { type: "button", class: "icon-btn", "aria-label": `Remove line ${n}`, title: "Remove line" }, icon("trash"));
  remove.addEventListener("click", onRemove);
  return h(
    "div",
    { class: "line quote-line" },
    h("div", { class: "line-main" }, h("div", { class: "line-desc-wrap" }, desc)),
    h("label", { class: "cell cell-qty" }, h("span", { class: "cell-label", text: "Qty" }), input("quantity", "quantity", line.quantity ?? "1", { inputmode: "decimal", class: "num" })),
    h("label", { class: "cell cell-unit" }, h("span", { class: "cell-label", text: "Unit" }), input("unit", "unit", line.unit, { placeholder: "unit", class: "line-unit" })),
    h("label", { class: "cell cell-price" }, h("span", { class: "cell-label", text: "Price" }), input("unit_price", "unit price", line.unit_price, { inputmode: "decimal", class: "num", placeholder: "0.00" })),
    h("label", { class: "cell cell-disc" }, h("span", { class: "cell-label", text: "Disc. %" }), input("discount_percent", "discount percent", discount, { inputmode: "decimal", class: "num", placeholder: "0" })),
    h("label", { class: "cell cell-vat" }, h("span", { class: "cell-label", text: "VAT %" }), input("vat_rate", "VAT percent", line.vatExplicit === false ? "" : line.vat_rate, { inputmode: "decimal", class: "num", placeholder: line.vat_rate ? String(Number(line.vat_rate)) : "auto" })),
    h("div", { class: "cell cell-amount" }, h("span", { class: "cell-label", text: "Amount" }), h("output", { class: "line-amount num", "aria-label": `Line ${n} amount`, text: line.net_amount ? money(line.net_amount, currency) : "—" })),
    h("div", { class: "cell cell-remove" }, remove),
    h("p", { class: "field-error line-error", id: errId, role: "alert", hidden: true }),
  );
}

/** The editor's lines as API input (the lines[i].x controls), empty rows left out. */
function readLines(container) {
  const lines = [];
  for (const row of container.querySelectorAll(".quote-line")) {
    const line = {};
    for (const el of row.querySelectorAll("[data-field]")) {
      const key = el.dataset.field.split(".").pop();
      const value = el.value.trim();
      if (value !== "") line[key] = value;
    }
    if (line.description || line.unit_price) lines.push(line); // a row left empty is no line
  }
  return lines;
}

export async function renderQuoteEditor(main, id) {
  mount(main, loading());
  const [ents, cls, quote] = await Promise.all([entities(), clients(), id ? call("quote.get", { quote_id: id }) : null]);
  if (quote && quote.status !== "draft") {
    navigate(`#/quotes/${encodeURIComponent(quote.id)}`);
    return null;
  }
  const active = cls.filter((c) => !c.archived);
  if (!active.length) {
    mount(main, pageHeader(id ? "Edit quote" : "New quote"), emptyState("No clients yet", "Add a client first: a quote is made out to one.", h("a", { href: "#/clients", class: "btn btn-primary", text: "Add a client" })));
    return null;
  }
  const form = h("form", { class: "form quote-form", novalidate: true });
  const entityField = field({ label: "Company", name: "entity_id", options: ents.map((e) => [e.id, e.name]), value: quote?.entity_id || ents[0]?.id });
  if (ents.length < 2) entityField.hidden = true;
  const clientField = field({ label: "Client", name: "client_id", required: true, options: [["", "Choose a client"], ...active.map((c) => [c.id, c.name])], value: quote?.client_id || "" });
  const validField = field({ label: "Valid until", name: "valid_until", type: "date", value: quote?.valid_until || "", hint: "Default: 30 days after the quote date" });
  const poField = field({ label: "Client reference (PO)", name: "po_number", value: quote?.po_number || "" });
  const notesField = field({ label: "Notes", name: "notes", type: "textarea", value: quote?.notes || "", wide: true });
  const linesBox = h("div", { class: "lines-body quote-lines" });
  let current = quote;
  // a rate the user typed is sent again; one the server chose (vat_defaulted) stays automatic
  const fromServer = (q) => q.lines.map((l) => ({ ...l, vatExplicit: !l.vat_defaulted }));
  let lines = quote?.lines?.length ? fromServer(quote) : [{ quantity: "1" }];
  const drawLines = () => {
    mount(
      linesBox,
      lines.map((l, i) =>
        lineRow(
          l,
          i,
          () => {
            lines = readLines(linesBox);
            lines.splice(i, 1);
            if (!lines.length) lines.push({ quantity: "1" });
            drawLines();
          },
          current?.currency || "EUR",
        ),
      ),
    );
  };
  drawLines();
  const addLine = button("Add line", { class: "btn btn-secondary btn-sm" }, icon("plus"));
  addLine.addEventListener("click", () => {
    lines = [...readLines(linesBox), { quantity: "1" }];
    drawLines();
    linesBox.querySelector(".quote-line:last-child input")?.focus();
  });
  const totals = h("p", { class: "quote-totals", "aria-live": "polite", text: quote ? `Total ${money(quote.total, quote.currency)}` : "" });
  const save = h("button", { type: "submit", class: "btn btn-secondary", text: "Save draft" });
  const finalize = h("button", { type: "button", class: "btn btn-primary", text: "Finalize quote" });

  const params = () => {
    const p = {
      entity_id: entityField.control.value,
      client_id: clientField.control.value,
      lines: readLines(linesBox),
    };
    for (const [name, fld] of [["valid_until", validField], ["po_number", poField], ["notes", notesField]]) {
      const value = fld.control.value.trim();
      if (value) p[name] = value;
      else if (current && current[name]) p[name] = null;
    }
    return p;
  };
  const persist = async () => {
    clearErrors(form);
    const p = params();
    if (!p.client_id) {
      setFieldError(clientField.control, "Choose the client the quote is for.");
      clientField.control.focus();
      throw new Error("choose a client");
    }
    current = current ? await call("quote.update", { quote_id: current.id, version: current.version, ...p }) : await call("quote.create", p, { idempotent: true });
    totals.textContent = `Total ${money(current.total, current.currency)}`;
    lines = fromServer(current);
    drawLines();
    history.replaceState(null, "", `#/quotes/${encodeURIComponent(current.id)}/edit`);
    return current;
  };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    await withBusy(save, async () => {
      try {
        await persist();
        toast("Draft saved");
      } catch (err) {
        if (err.status !== undefined) showError(form, err);
      }
    });
  });
  finalize.addEventListener("click", async () => {
    await withBusy(finalize, async () => {
      try {
        const saved = await persist();
        const done = await call("quote.finalize", { quote_id: saved.id });
        toast(`Quote ${done.number} finalized`);
        navigate(`#/quotes/${encodeURIComponent(done.id)}`);
      } catch (err) {
        if (err.status !== undefined) showError(form, err);
      }
    });
  });
  form.append(
    formError(),
    h("fieldset", { class: "fieldset" }, h("legend", { text: "Quote" }), h("div", { class: "grid" }, entityField, clientField, validField, poField)),
    h(
      "section",
      { class: "card lines-card" },
      h("h2", { class: "card-title", text: "Lines" }),
      h(
        "div",
        { class: "lines-head", "aria-hidden": "true" },
        ["Description", "Qty", "Unit", "Price", "Disc. %", "VAT %", "Amount", ""].map((t, i) => h("span", { class: [1, 3, 4, 5, 6].includes(i) ? "num" : null, text: t })),
      ),
      linesBox,
      h("div", { class: "lines-foot" }, addLine, totals),
    ),
    h("fieldset", { class: "fieldset" }, h("legend", { text: "Notes" }), h("div", { class: "grid" }, notesField)),
    h("div", { class: "form-actions" }, save, finalize),
  );
  const back = h("a", { href: "#/quotes", class: "back-link" }, icon("back"), " Quotes");
  mount(main, h("header", { class: "page-head" }, h("div", { class: "page-title" }, back, h("h1", { text: id ? "Edit quote" : "New quote" }))), form);
  return null;
}

// --- one quote ---------------------------------------------------------------------------------

async function downloadPdf(q, btn) {
  await withBusy(btn, async () => {
    try {
      const res = await call("quote.pdf", { quote_id: q.id });
      const a = h("a", { href: res.url, download: res.filename, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
    } catch (err) {
      toast(describeError(err), "error");
    }
  });
}

function linesTable(q) {
  const cur = q.currency;
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table lines-table" },
      h("thead", {}, h("tr", {}, ["Description", "Qty", "Unit price", "VAT", "Amount"].map((t, i) => h("th", { scope: "col", class: i ? "num" : null, text: t })))),
      h(
        "tbody",
        {},
        q.lines.map((l) =>
          h(
            "tr",
            {},
            h("td", { text: l.description || "" }),
            h("td", { class: "num", text: `${l.quantity}${l.unit ? ` ${l.unit}` : ""}` }),
            h("td", { class: "num", text: money(l.unit_price, cur) }),
            h("td", { class: "num", text: `${l.vat_rate}%` }),
            h("td", { class: "num", text: money(l.net_amount, cur) }),
          ),
        ),
      ),
      h(
        "tfoot",
        {},
        h("tr", {}, h("th", { scope: "row", colspan: "4", text: "Subtotal" }), h("td", { class: "num", text: money(q.subtotal, cur) })),
        q.tax_breakdown.map((t) => h("tr", { class: "muted" }, h("th", { scope: "row", colspan: "4", text: `VAT ${t.vat_rate}% on ${money(t.taxable_amount, cur)}` }), h("td", { class: "num", text: money(t.tax_amount, cur) }))),
        h("tr", { class: "grand" }, h("th", { scope: "row", colspan: "4", text: "Total" }), h("td", { class: "num", dataset: { total: q.total }, text: money(q.total, cur) })),
      ),
    ),
  );
}

function statusNote(q) {
  if (q.status === "open") return `Waiting for the client's answer; valid until ${date(q.valid_until)}.`;
  if (q.status === "accepted") return `Accepted by ${q.accepted_by} on ${dateTime(q.accepted_at)}. Convert it into an invoice when the work is done.`;
  if (q.status === "declined") return `Declined on ${dateTime(q.declined_at)}${q.decline_reason ? `: “${q.decline_reason}”` : "."}`;
  if (q.status === "expired") return `Expired: it was valid until ${date(q.valid_until)}.`;
  if (q.status === "converted") return "Converted into an invoice.";
  return "";
}

export async function renderQuote(main, id) {
  mount(main, loading());
  const [q, timeline] = await Promise.all([call("quote.get", { quote_id: id }), call("quote.timeline", { quote_id: id })]);
  if (q.status === "draft") {
    navigate(`#/quotes/${encodeURIComponent(q.id)}/edit`);
    return null;
  }
  const reload = () => navigate(`#/quotes/${encodeURIComponent(q.id)}`);
  const actions = [];
  const pdfBtn = button("Download PDF", {}, icon("download"));
  pdfBtn.addEventListener("click", () => downloadPdf(q, pdfBtn));
  actions.push(pdfBtn);
  if (q.status === "open" || q.status === "accepted") {
    const sendBtn = button(q.sent_at ? "Send again" : "Send to client", { variant: q.status === "open" ? "primary" : "secondary" }, icon("mail"));
    sendBtn.addEventListener("click", async () => {
      const sent = await openDialog({
        title: `Send quote ${q.number}`,
        body: [
          field({ label: "To", name: "to", type: "email", value: q.buyer?.email || "", hint: "Default: the client's email address" }),
          field({ label: "Message", name: "message", type: "textarea", value: "" }),
        ],
        submitLabel: "Send",
        onSubmit: (_form, values) => call("quote.send", { quote_id: q.id, ...values }, { idempotent: true }),
      });
      if (sent) {
        toast(`Quote ${q.number} sent`);
        reload();
      }
    });
    actions.push(sendBtn);
    const convertBtn = button("Convert to invoice", { variant: q.status === "accepted" ? "primary" : "secondary" }, icon("invoices"));
    convertBtn.addEventListener("click", async () => {
      await withBusy(convertBtn, async () => {
        try {
          const invoice = await call("quote.convert", { quote_id: q.id }, { idempotent: true });
          toast(`Draft invoice created from quote ${q.number}`);
          navigate(`#/invoices/${encodeURIComponent(invoice.id)}/edit`);
        } catch (err) {
          toast(describeError(err), "error");
        }
      });
    });
    actions.push(convertBtn);
  }
  const link = q.hosted_quote_url
    ? h(
        "section",
        { class: "card" },
        h("h2", { class: "card-title", text: "Customer link" }),
        h("p", { class: "muted small", text: "Your client views the quote here and accepts it with their name, or declines it. The link is in the mail sent with the quote." }),
        h("p", {}, h("a", { href: q.hosted_quote_url, class: "hosted-link", target: "_blank", rel: "noopener noreferrer", text: q.hosted_quote_url })),
      )
    : null;
  const invoiceLink = q.invoice_id ? h("p", {}, "Invoice: ", h("a", { href: `#/invoices/${encodeURIComponent(q.invoice_id)}/edit`, dataset: { link: "invoice" }, text: "open the invoice" })) : null;
  const meta = h(
    "dl",
    { class: "meta" },
    [["Quote date", date(q.issue_date)], ["Valid until", date(q.valid_until)], ["Client reference", q.po_number || "—"], ["Sent", q.sent_at ? dateTime(q.sent_at) : "Not yet"]].map(([k, v]) => h("div", {}, h("dt", { text: k }), h("dd", { text: v }))),
  );
  const events = h(
    "section",
    { class: "card" },
    h("h2", { class: "card-title", text: "Timeline" }),
    h(
      "ol",
      { class: "timeline" },
      timeline.events.map((e) =>
        h(
          "li",
          { class: `event event-${e.type}` },
          h("span", { class: "event-dot", "aria-hidden": "true" }),
          h("div", {}, h("p", { class: "event-title", text: EVENTS[e.type] || e.type }), h("p", { class: "muted small", text: `${dateTime(e.at)}${e.actor?.startsWith("customer") ? " · by the client" : ""}` })),
        ),
      ),
    ),
  );
  mount(
    main,
    h(
      "header",
      { class: "page-head" },
      h("div", { class: "page-title" }, h("a", { href: "#/quotes", class: "back-link" }, icon("back"), " Quotes"), h("div", { class: "title-row" }, h("h1", { text: `Quote ${q.number}` }), quoteBadge(q.status))),
      h("div", { class: "page-actions" }, actions),
    ),
    h("p", { class: "status-note", dataset: { status: q.status }, text: statusNote(q) }),
    invoiceLink,
    h("section", { class: "card doc" }, h("p", { class: "party-name", text: `For ${q.buyer?.name || ""}` }), meta, linesTable(q), q.notes ? h("p", { class: "notes", text: q.notes }) : null),
    link,
    events,
  );
  return null;
}

/** All quotes of the account (for other views, e.g. a dashboard count). */
export function allQuotes(params = {}) {
  return listAll("quote.list", params);
}
