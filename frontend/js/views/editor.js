// Invoice editor with autosave: every change is saved (debounced) with the record's
// `version`; a stale version is a clear conflict message, never a silent overwrite.

import { ApiError, call } from "../api.js";
import { debounce, h, icon, mount } from "../dom.js";
import { countries, countryName, CURRENCIES, date, dateTime, money } from "../format.js";
import { clients, entities, invalidate, navigate, products } from "../state.js";
import {
  clearErrors,
  confirmDialog,
  describeError,
  field,
  formError,
  loading,
  openDialog,
  setFieldError,
  showError,
  toast,
  withBusy,
} from "../ui.js";

const AUTOSAVE_MS = 800;
const RETRY_MS = 5000;
const EXEMPT_AUTO = new Set(["AE", "K", "G", "O"]);

function normRate(v) {
  if (v === null || v === undefined || v === "") return "";
  let s = String(v).trim();
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  return s;
}

let lineSeq = 0;
function newLine(values = {}) {
  lineSeq += 1;
  return {
    key: `l${lineSeq}`,
    description: "",
    quantity: "1",
    unit: "",
    unit_price: "",
    discount_percent: "",
    product_id: "",
    vat_rate: "",
    vat_category: "",
    vatExplicit: false,
    unit_code: "",
    unitCodeTouched: false,
    period_start: "",
    period_end: "",
    metadataText: "",
    server: null,
    ...values,
  };
}

/** A line from the server becomes an editable line; VAT counts as explicit only when it differs from the automatic default. */
function lineFromServer(l, entity) {
  const auto =
    EXEMPT_AUTO.has(l.vat_category) ||
    (l.vat_category === "S" && entity && normRate(l.vat_rate) === normRate(entity.default_vat_rate));
  return newLine({
    description: l.description || "",
    quantity: l.quantity ?? "1",
    unit: l.unit || "",
    unit_price: l.unit_price ?? "",
    discount_percent: l.discount_percent && normRate(l.discount_percent) !== "0" ? normRate(l.discount_percent) : "",
    product_id: l.product_id || "",
    vat_rate: auto ? "" : normRate(l.vat_rate),
    vat_category: auto ? "" : l.vat_category || "",
    vatExplicit: !auto,
    unit_code: l.unit_code || "",
    period_start: l.period?.start || "",
    period_end: l.period?.end || "",
    metadataText: metadataToText(l.metadata),
    server: l,
  });
}

// ---- a line's e-invoice details: unit code (BT-130), period (BG-26), attributes (BG-32)

/** Common UN/ECE Rec. 20 codes offered while typing (the server checks the full list). */
const UNIT_CODES = [
  ["C62", "one (piece)"],
  ["H87", "piece"],
  ["HUR", "hour"],
  ["MIN", "minute"],
  ["DAY", "day"],
  ["WEE", "week"],
  ["MON", "month"],
  ["ANN", "year"],
  ["KGM", "kilogram"],
  ["MTR", "metre"],
  ["MTK", "square metre"],
  ["LTR", "litre"],
  ["KMT", "kilometre"],
  ["SET", "set"],
  ["LS", "lump sum"],
  ["E48", "service unit"],
];

function metadataToText(metadata) {
  return Object.entries(metadata || {})
    .map(([k, v]) => `${k}: ${v}`)
    .join("\n");
}

/** "key: value" (or "key = value") per line → {key: value}; blank lines are skipped. */
function metadataFromText(text) {
  const out = {};
  for (const raw of String(text || "").split("\n")) {
    const row = raw.trim();
    if (!row) continue;
    const cut = row.search(/[:=]/);
    const key = (cut < 0 ? row : row.slice(0, cut)).trim();
    out[key] = cut < 0 ? "" : row.slice(cut + 1).trim();
  }
  return out;
}

/** What the closed "More" of a line shows: its unit code, period and attribute count. */
function moreSummary(line) {
  const parts = [];
  if (line.unit_code) parts.push(`Unit ${line.unit_code.trim().toUpperCase()}`);
  if (line.period_start || line.period_end) parts.push(`${line.period_start ? date(line.period_start) : "…"} – ${line.period_end ? date(line.period_end) : "…"}`);
  const count = Object.keys(metadataFromText(line.metadataText)).length;
  if (count) parts.push(`${count} attribute${count === 1 ? "" : "s"}`);
  return parts.join(" · ");
}

function vatLabel(t) {
  const rate = normRate(t.vat_rate);
  const names = { S: `VAT ${rate}%`, Z: "Zero rated", E: "Exempt", AE: "Reverse charge", K: "Intra-community supply", G: "Export outside the EU", O: "Not subject to VAT" };
  return names[t.vat_category] || `VAT ${rate}%`;
}

export async function renderEditor(main, invoiceId, params) {
  mount(main, loading());
  const [ents, cls, prods] = await Promise.all([entities(), clients(), products()]);
  if (!ents.length) {
    navigate("#/setup");
    return null;
  }
  let inv = null;
  if (invoiceId) {
    inv = await call("invoice.get", { invoice_id: invoiceId });
    if (inv.status !== "draft") {
      navigate(`#/invoices/${encodeURIComponent(inv.id)}`);
      return null;
    }
  }
  const entityById = (id) => ents.find((e) => e.id === id) || null;
  const startEntity = inv ? entityById(inv.entity_id) : ents[0];
  let lines = inv && inv.lines?.length ? inv.lines.map((l) => lineFromServer(l, startEntity)) : [newLine()];

  // ---- status / autosave state
  let dirty = false;
  let changeCount = 0;
  let saving = null; // promise while a save is in flight
  let again = false;
  let conflict = false;
  let lastError = null;
  let retryTimer = null;
  const saveState = h("div", { class: "save-state", role: "status", "aria-live": "polite" });
  const setSaveState = (kind, text) => {
    saveState.className = `save-state save-${kind}`;
    saveState.dataset.state = kind;
    mount(saveState, h("span", { class: "dot", "aria-hidden": "true" }), h("span", { text }));
  };
  setSaveState(inv ? "saved" : "idle", inv ? `Saved · ${dateTime(inv.updated_at)}` : "Not saved yet");

  const conflictBanner = h("div", { class: "banner banner-warning", role: "alert", hidden: true });
  const banner = formError();

  // ---- header fields
  const entityField = field({ label: "From", name: "entity_id", options: ents.map((e) => [e.id, e.name]), value: inv?.entity_id || ents[0].id });
  const clientOptions = () => [["", "Choose a client…"], ...cls.map((c) => [c.id, c.name])];
  const clientField = field({ label: "Bill to", name: "client_id", required: true, options: clientOptions(), value: inv?.client_id || params?.get("client_id") || "" });
  const addClient = h("button", { type: "button", class: "btn btn-ghost btn-sm" }, icon("plus"), " New client");
  // Self-billing: the company issues the invoice on behalf of a supplier that agreed to it;
  // the kind is chosen when the draft is created and fixed afterwards.
  const kindField = field({
    label: "Document",
    name: "kind",
    options: [
      ["invoice", "Invoice to a client"],
      ["self_billed_invoice", "Self-billed invoice (issued for a supplier)"],
    ],
    value: inv?.kind || params?.get("kind") || "invoice",
    hint: "Self-billing: the supplier agreed that you issue its invoices; it is the seller on the document.",
  });
  kindField.control.dataset.collect = "no";
  if (inv) kindField.control.disabled = true;
  const selfBilled = () => kindField.control.value === "self_billed_invoice";
  function applyKind() {
    const label = clientField.querySelector("label");
    if (label) label.textContent = selfBilled() ? "Supplier (seller)" : "Bill to";
    const current = clientField.control.value;
    const eligible = selfBilled() ? cls.filter((c) => c.self_billing) : cls;
    mount(
      clientField.control,
      [["", selfBilled() ? "Choose a supplier with an agreement…" : "Choose a client…"], ...eligible.map((c) => [c.id, c.name])].map(([v, t]) => h("option", { value: v, text: t })),
    );
    clientField.control.value = eligible.some((c) => c.id === current) ? current : "";
    entityField.querySelector("label").textContent = selfBilled() ? "Buyer (your company)" : "From";
  }
  const currencyField = field({
    label: "Currency",
    name: "currency",
    options: CURRENCIES.map((c) => [c, c]),
    value: inv?.currency || startEntity.currency || "EUR",
  });
  let currencyTouched = Boolean(inv);
  const issueField = field({ label: "Issue date", name: "issue_date", type: "date", value: inv?.issue_date || "", hint: "Empty: the day you finalize." });
  const supplyField = field({ label: "Supply date", name: "supply_date", type: "date", value: inv?.supply_date || "" });
  const dueField = field({ label: "Due date", name: "due_date", type: "date", value: inv?.due_date || "", hint: "Empty: issue date + payment terms." });
  const poField = field({ label: "PO number", name: "po_number", value: inv?.po_number || "" });
  const buyerRefField = field({ label: "Buyer reference", name: "buyer_reference", value: inv?.buyer_reference || "", hint: "BT-10; empty: the client's (e.g. a Leitweg-ID)." });
  const periodStartField = field({ label: "Period from", name: "period.start", type: "date", value: inv?.period?.start || "" });
  const periodEndField = field({ label: "Period to", name: "period.end", type: "date", value: inv?.period?.end || "" });
  const notesField = field({ label: "Notes", name: "notes", type: "textarea", value: inv?.notes ?? (inv ? "" : startEntity.default_notes || ""), wide: true });
  const termsField = field({ label: "Terms", name: "terms", type: "textarea", value: inv?.terms || "", wide: true });
  const clientInfo = h("div", { class: "client-info muted small" });

  const currency = () => currencyField.control.value || "EUR";

  // ---- lines
  const linesBody = h("div", { class: "lines-body" });
  const productOptions = [["", "Product…"], ...prods.map((p) => [p.id, p.name])];

  function lineRow(line, index) {
    const n = index + 1;
    const mk = (name, label, value, attrs = {}) => {
      const input = h("input", {
        type: "text",
        name,
        value,
        "aria-label": `Line ${n} ${label}`,
        dataset: { field: `lines[${index}].${name}` },
        ...attrs,
      });
      input.addEventListener("input", () => {
        line[name] = input.value;
        if (name === "vat_rate") {
          line.vatExplicit = input.value.trim() !== "";
          line.vat_category = "";
          checkRate(line);
        }
        changed();
      });
      return input;
    };
    const product = h("select", { "aria-label": `Line ${n} product`, dataset: { field: `lines[${index}].product_id` }, class: "line-product", hidden: !prods.length });
    for (const [v, t] of productOptions) product.append(h("option", { value: v, text: t, selected: v === line.product_id }));
    const desc = h("textarea", { rows: 1, "aria-label": `Line ${n} description`, dataset: { field: `lines[${index}].description` }, class: "line-desc", placeholder: "Description" });
    desc.value = line.description;
    desc.addEventListener("input", () => {
      line.description = desc.value;
      changed();
    });
    const qty = mk("quantity", "quantity", line.quantity, { inputmode: "decimal", class: "num" });
    const unit = mk("unit", "unit", line.unit, { placeholder: "unit", class: "line-unit" });
    const price = mk("unit_price", "unit price", line.unit_price, { inputmode: "decimal", class: "num", placeholder: "0.00" });
    const discount = mk("discount_percent", "discount percent", line.discount_percent, { inputmode: "decimal", class: "num", placeholder: "0" });
    const vatPlaceholder = line.server ? normRate(line.server.vat_rate) : "auto";
    const vat = mk("vat_rate", "VAT percent", line.vat_rate, { inputmode: "decimal", class: "num", placeholder: vatPlaceholder });
    product.addEventListener("change", () => {
      const p = prods.find((x) => x.id === product.value);
      line.product_id = product.value;
      if (p) {
        line.description = line.description && line.description !== p.name ? line.description : p.description ? `${p.name} — ${p.description}` : p.name;
        line.unit_price = p.unit_price ?? line.unit_price;
        line.unit = p.unit || line.unit;
        if (p.vat_rate !== null && p.vat_rate !== undefined && p.vat_rate !== "") {
          line.vat_rate = normRate(p.vat_rate);
          line.vatExplicit = false;
        }
        desc.value = line.description;
        price.value = line.unit_price;
        unit.value = line.unit;
        if (line.vat_rate) vat.value = line.vat_rate;
      }
      changed();
    });
    const amount = h("output", { class: "line-amount num", "aria-label": `Line ${n} amount`, text: line.server ? money(line.server.net_amount, currency()) : "—" });
    const vatNote = h("span", { class: "line-vatnote muted small", text: line.server && line.server.vat_category !== "S" ? vatLabel(line.server) : "" });
    const remove = h("button", { type: "button", class: "icon-btn", "aria-label": `Remove line ${n}`, title: "Remove line" }, icon("trash"));
    remove.addEventListener("click", () => {
      lines = lines.filter((l) => l !== line);
      if (!lines.length) lines = [newLine()];
      renderLines();
      changed();
      linesBody.querySelector(".line-desc")?.focus();
    });
    const more = lineMore(line, index);
    const err = h("p", { class: "field-error line-error", role: "alert", hidden: true });
    // a rate that is none of the seller country's: warned about, never refused
    const rateWarn = h("p", { class: "line-warning", role: "status", hidden: true, id: `line-warn-${line.key}` });
    for (const ctl of [desc, qty, unit, price, discount, vat, product, ...more.controls]) ctl.setAttribute("aria-describedby", `line-err-${line.key}`);
    err.id = `line-err-${line.key}`;
    vat.setAttribute("aria-describedby", `line-err-${line.key} line-warn-${line.key}`);
    line.els = { amount, vat, vatNote, rateWarn, unitCode: more.unitCode, moreInfo: more.info };
    queueMicrotask(() => checkRate(line));
    return h(
      "div",
      { class: "line", dataset: { key: line.key } },
      h("div", { class: "line-main" }, h("div", { class: "line-desc-wrap" }, desc, product), vatNote),
      h("label", { class: "cell cell-qty" }, h("span", { class: "cell-label", text: "Qty" }), qty),
      h("label", { class: "cell cell-unit" }, h("span", { class: "cell-label", text: "Unit" }), unit),
      h("label", { class: "cell cell-price" }, h("span", { class: "cell-label", text: "Price" }), price),
      h("label", { class: "cell cell-disc" }, h("span", { class: "cell-label", text: "Disc. %" }), discount),
      h("label", { class: "cell cell-vat" }, h("span", { class: "cell-label", text: "VAT %" }), vat),
      h("div", { class: "cell cell-amount" }, h("span", { class: "cell-label", text: "Amount" }), amount),
      h("div", { class: "cell cell-remove" }, remove),
      more.element,
      err,
      rateWarn,
    );
  }

  /** The line's "More" disclosure: unit code, line period and attributes, closed by default. */
  function lineMore(line, index) {
    const n = index + 1;
    const info = h("span", { class: "line-more-info", text: moreSummary(line) });
    const refresh = () => {
      info.textContent = moreSummary(line);
    };
    const input = (name, label, value, attrs = {}) => {
      const el = h(attrs.rows ? "textarea" : "input", {
        name,
        "aria-label": `Line ${n} ${label}`,
        dataset: { field: `lines[${index}].${name}` },
        ...attrs,
      });
      el.value = value;
      return el;
    };
    const unitCode = input("unit_code", "unit code", line.unit_code, { type: "text", list: "unit-codes", class: "line-unit-code", maxlength: 3, autocapitalize: "characters", spellcheck: "false", placeholder: "auto" });
    unitCode.addEventListener("input", () => {
      line.unit_code = unitCode.value;
      line.unitCodeTouched = true;
      refresh();
      changed();
    });
    const start = input("period.start", "period from", line.period_start, { type: "date" });
    const end = input("period.end", "period to", line.period_end, { type: "date" });
    for (const [el, key] of [[start, "period_start"], [end, "period_end"]]) {
      el.addEventListener("input", () => {
        line[key] = el.value;
        refresh();
        changed();
      });
    }
    const meta = input("metadata", "attributes", line.metadataText, { rows: 2, class: "line-meta", placeholder: "colour: blue\nticket: T-42" });
    meta.addEventListener("input", () => {
      line.metadataText = meta.value;
      refresh();
      changed();
    });
    const cell = (label, control, hint = "") =>
      h("label", { class: "more-cell" }, h("span", { class: "more-label", text: label }), control, hint ? h("span", { class: "more-hint", text: hint }) : null);
    const element = h(
      "details",
      { class: "line-more", open: Boolean(line.unit_code && line.unitCodeTouched) || line.period_start || line.period_end || line.metadataText ? true : null },
      h("summary", {}, h("span", { class: "line-more-title", text: "More" }), info),
      h(
        "div",
        { class: "line-more-body" },
        cell("Unit code", unitCode, "Rec. 20; empty: from the unit"),
        cell("Period from", start),
        cell("Period to", end),
        cell("Attributes", meta, "one per line, name: value (at most 20)"),
      ),
    );
    return { element, info, unitCode, controls: [unitCode, start, end, meta] };
  }

  // ---- VAT rates of the seller's country (vat.rates), to warn about a rate like "0.25"
  const ratesByCountry = new Map();
  entityField.control.addEventListener("change", () => {
    for (const l of lines) checkRate(l);
  });
  function sellerCountry() {
    return ents.find((e) => e.id === entityField.control.value)?.address?.country || "";
  }
  function checkRate(line) {
    const warn = line.els?.rateWarn;
    const country = sellerCountry();
    const typed = String(line.vat_rate ?? "").trim().replace(",", ".");
    if (!warn) return;
    if (!typed || !country || Number.isNaN(Number(typed))) {
      warn.hidden = true;
      return;
    }
    if (!ratesByCountry.has(country)) ratesByCountry.set(country, call("vat.rates", { country }).catch(() => ({ rates: [] })));
    ratesByCountry.get(country).then((info) => {
      if (String(line.vat_rate ?? "").trim().replace(",", ".") !== typed) return; // typed on meanwhile
      const known = !info.rates.length || info.rates.some((r) => Number(r) === Number(typed));
      warn.hidden = known;
      warn.textContent = known ? "" : `${typed} % is not a VAT rate of ${countryName(country)} (${info.rates.join(" %, ")} %). It will be used as typed: check it before finalizing.`;
    });
  }

  function renderLines() {
    mount(linesBody, lines.map((l, i) => lineRow(l, i)));
  }

  const addLine = h("button", { type: "button", class: "btn btn-secondary btn-sm add-line" }, icon("plus"), " Add line");
  addLine.addEventListener("click", () => {
    lines.push(newLine());
    renderLines();
    linesBody.lastElementChild.querySelector(".line-desc").focus();
  });

  // ---- totals (exactly as the server computed them)
  const totalsBox = h("div", { class: "totals", "aria-live": "polite" });
  function renderTotals() {
    if (!inv) {
      mount(totalsBox, h("p", { class: "muted small", text: "Totals appear once the draft is saved." }));
      return;
    }
    const cur = inv.currency;
    const rows = [h("div", { class: "totals-row" }, h("span", { text: "Subtotal" }), h("span", { class: "num", dataset: { total: "subtotal" }, text: money(inv.subtotal, cur) }))];
    for (const t of inv.tax_breakdown || []) {
      rows.push(
        h(
          "div",
          { class: "totals-row muted" },
          h("span", { text: `${vatLabel(t)} on ${money(t.taxable_amount, cur)}` }),
          h("span", { class: "num", text: money(t.tax_amount, cur) }),
        ),
      );
    }
    rows.push(h("div", { class: "totals-row totals-grand" }, h("span", { text: "Total" }), h("span", { class: "num", dataset: { total: "total" }, text: money(inv.total, cur) })));
    mount(totalsBox, rows);
    totalsBox.classList.toggle("stale", dirty);
  }

  // ---- payload
  const optional = (ctl, key) => {
    const v = ctl.value.trim();
    if (v) return v;
    return inv && inv[key] ? null : undefined;
  };
  let sentLines = [];
  function payload() {
    const body = {
      entity_id: entityField.control.value,
      client_id: clientField.control.value,
      currency: currency(),
    };
    if (!inv && selfBilled()) body.kind = "self_billed_invoice";
    for (const [ctl, key] of [
      [issueField.control, "issue_date"],
      [supplyField.control, "supply_date"],
      [dueField.control, "due_date"],
      [poField.control, "po_number"],
      [buyerRefField.control, "buyer_reference"],
      [notesField.control, "notes"],
      [termsField.control, "terms"],
    ]) {
      const v = optional(ctl, key);
      if (v !== undefined) body[key] = v;
    }
    const [start, end] = [periodStartField.control.value, periodEndField.control.value];
    if (start || end) body.period = { start, end };
    else if (inv?.period) body.period = null;
    sentLines = lines.filter((l) => l.description.trim() || String(l.unit_price).trim() || l.product_id);
    body.lines = sentLines.map((l) => {
      const out = { description: l.description.trim(), quantity: String(l.quantity).trim() || "1" };
      if (String(l.unit_price).trim()) out.unit_price = String(l.unit_price).trim();
      if (l.product_id) out.product_id = l.product_id;
      if (l.unit.trim()) out.unit = l.unit.trim();
      // the unit code: as typed; else the stored one while the unit is unchanged; else the
      // server derives it from the unit (a changed unit re-derives its code)
      const code = String(l.unit_code || "").trim().toUpperCase();
      if (code && (l.unitCodeTouched || (l.server && (l.server.unit || "") === l.unit.trim()))) out.unit_code = code;
      if (l.period_start || l.period_end) {
        out.period = {};
        if (l.period_start) out.period.start = l.period_start;
        if (l.period_end) out.period.end = l.period_end;
      }
      const metadata = metadataFromText(l.metadataText);
      if (Object.keys(metadata).length) out.metadata = metadata;
      if (String(l.discount_percent).trim()) out.discount_percent = String(l.discount_percent).trim();
      if (l.vatExplicit && String(l.vat_rate).trim()) {
        out.vat_rate = String(l.vat_rate).trim();
        if (l.vat_category) out.vat_category = l.vat_category;
      }
      return out;
    });
    return body;
  }

  // ---- errors: "lines[2].quantity" refers to the n-th *sent* line
  const form = h("form", { class: "editor", novalidate: true });
  form.addEventListener("submit", (ev) => ev.preventDefault()); // Enter never reloads the page
  function showSaveError(err, heading = "The draft could not be saved.") {
    clearErrors(form);
    for (const el of form.querySelectorAll(".line-error")) {
      el.hidden = true;
      el.textContent = "";
    }
    const loose = [];
    let first = null;
    for (const d of err.details || []) {
      const m = /^lines\[(\d+)\](?:\.([\w.]+))?/.exec(d.field || "");
      if (m) {
        const line = sentLines[Number(m[1])];
        const row = line && linesBody.querySelector(`[data-key="${line.key}"]`);
        if (row) {
          const top = m[2]?.split(".")[0];
          const ctl =
            (m[2] && (row.querySelector(`[data-field$=".${CSS.escape(m[2])}"]`) || row.querySelector(`[data-field$=".${top}"], [data-field*=".${top}."]`))) ||
            row.querySelector(".line-desc");
          ctl.setAttribute("aria-invalid", "true");
          const more = ctl.closest("details");
          if (more) more.open = true;
          const errEl = row.querySelector(".line-error");
          errEl.textContent = `${errEl.textContent ? `${errEl.textContent} ` : ""}${m[2] ? `${m[2].replaceAll(/[._]/g, " ")}: ` : ""}${d.message}`;
          errEl.hidden = false;
          first = first || ctl;
          continue;
        }
      }
      const ctl = d.field && form.querySelector(`[data-field="${CSS.escape(d.field)}"]`);
      if (ctl) {
        setFieldError(ctl, d.message);
        first = first || ctl;
      } else loose.push(d);
    }
    if (loose.length || !first) {
      const who = (field) => (/^(seller|entity)\b/.test(field) ? "Your company" : /^(buyer|client)\b/.test(field) ? "Client" : null);
      const human = (d) => {
        const f = String(d.field || "");
        const owner = who(f);
        const rest = f
          .replace(/^(seller|entity|buyer|client)\.?/, "")
          .replaceAll(/[._]/g, " ")
          .replace(/\b(vat|iban|bic|po)\b/g, (m) => m.toUpperCase())
          .trim();
        const label = owner ? `${owner}${rest ? ` — ${rest}` : ""}` : rest;
        return label ? `${label}: ${d.message}` : d.message;
      };
      const looseDetails = loose;
      const fixLinks = [];
      if (looseDetails.some((d) => who(String(d.field || "")) === "Your company")) {
        fixLinks.push(h("a", { href: `#/settings/entities/${encodeURIComponent(entityField.control.value)}`, text: "Edit your company details" }));
      }
      if (looseDetails.some((d) => who(String(d.field || "")) === "Client") && clientField.control.value) {
        fixLinks.push(h("a", { href: `#/clients/${encodeURIComponent(clientField.control.value)}`, text: "Edit the client" }));
      }
      mount(
        banner,
        h("strong", { text: first || !(err.details || []).length ? describeError(err) : heading }),
        looseDetails.length ? h("ul", { class: "error-list" }, looseDetails.map((d) => h("li", { text: human(d) }))) : null,
        fixLinks.length ? h("p", { class: "error-links" }, fixLinks.map((a, i) => [i ? " · " : null, a])) : null,
      );
      banner.hidden = false;
    }
    return first;
  }

  // ---- autosave
  const canSave = () => entityField.control.value && clientField.control.value;
  async function doSave() {
    if (conflict) return;
    if (!canSave()) {
      setSaveState("idle", "Choose a client to start saving");
      return;
    }
    const body = payload();
    if (!inv && !body.lines.length) {
      setSaveState("idle", "Add a line to save the draft");
      return;
    }
    const atChange = changeCount;
    setSaveState("saving", "Saving…");
    try {
      const res = inv
        ? await call("invoice.update", { invoice_id: inv.id, version: inv.version, ...body })
        : await call("invoice.create", body, { idempotent: true });
      const created = !inv;
      inv = res;
      lastError = null;
      banner.hidden = true;
      clearErrors(form);
      for (const el of form.querySelectorAll(".line-error")) el.hidden = true;
      if (created) {
        history.replaceState(null, "", `#/invoices/${encodeURIComponent(inv.id)}/edit`);
        title.textContent = selfBilled() ? "Draft self-billed invoice" : "Draft invoice";
        deleteBtn.hidden = false;
        previewBtn.hidden = false;
      }
      (res.lines || []).forEach((sl, i) => {
        const line = sentLines[i];
        if (!line) return;
        line.server = sl;
        if (line.els) {
          line.els.amount.textContent = money(sl.net_amount, res.currency);
          line.els.vat.placeholder = normRate(sl.vat_rate);
          line.els.vatNote.textContent = sl.vat_category && sl.vat_category !== "S" ? vatLabel(sl) : "";
          if (changeCount === atChange || !line.unitCodeTouched) {
            line.unit_code = sl.unit_code || "";
            line.unitCodeTouched = false;
            if (document.activeElement !== line.els.unitCode) line.els.unitCode.value = line.unit_code;
            line.els.moreInfo.textContent = moreSummary(line);
          }
        }
      });
      if (changeCount === atChange) {
        dirty = false;
        setSaveState("saved", `Saved · ${dateTime(res.updated_at)}`);
      } else setSaveState("dirty", "Unsaved changes");
      renderTotals();
    } catch (err) {
      lastError = err;
      if (err instanceof ApiError && err.code === "conflict") {
        conflict = true;
        setSaveState("error", "Not saved: changed elsewhere");
        showConflict();
      } else if (err instanceof ApiError && err.code === "invalid_state") {
        conflict = true;
        setSaveState("error", "Not saved: no longer a draft");
        mount(
          conflictBanner,
          h("strong", { text: "This invoice is no longer a draft. " }),
          "It was finalized or deleted elsewhere, so it can't be edited. ",
          h("a", { href: `#/invoices/${encodeURIComponent(inv.id)}`, text: "Open the invoice" }),
        );
        conflictBanner.hidden = false;
      } else if (err instanceof ApiError && err.code === "validation_error") {
        setSaveState("error", "Not saved: check the highlighted fields");
        showSaveError(err);
      } else {
        // offline or a server hiccup: keep the edits and try again shortly
        setSaveState("error", `Not saved: ${describeError(err)} Retrying…`);
        clearTimeout(retryTimer);
        retryTimer = setTimeout(() => {
          if (dirty && !conflict && document.body.contains(form)) save();
        }, RETRY_MS);
      }
    }
  }

  async function save() {
    if (saving) {
      again = true;
      return saving;
    }
    saving = doSave();
    try {
      await saving;
    } finally {
      saving = null;
    }
    if (again) {
      again = false;
      await save();
    }
  }

  const scheduleSave = debounce(save, AUTOSAVE_MS);

  function changed() {
    dirty = true;
    changeCount += 1;
    if (!conflict) setSaveState("dirty", "Unsaved changes");
    totalsBox.classList.add("stale");
    scheduleSave();
  }

  /** Save now (cancel the debounce) and tell whether everything is stored. */
  async function flush() {
    scheduleSave.cancel();
    if (dirty || saving) await save();
    while (saving) await saving;
    return !dirty && !conflict && !lastError;
  }

  function showConflict() {
    const reload = h("button", { type: "button", class: "btn btn-secondary btn-sm", text: "Load the latest version" });
    const overwrite = h("button", { type: "button", class: "btn btn-ghost btn-sm", text: "Keep my changes" });
    reload.addEventListener("click", () => {
      dirty = false;
      navigate(`#/invoices/${encodeURIComponent(inv.id)}/edit`);
    });
    overwrite.addEventListener("click", async () => {
      await withBusy(overwrite, async () => {
        const latest = await call("invoice.get", { invoice_id: inv.id });
        inv = { ...inv, version: latest.version, status: latest.status };
        conflict = false;
        conflictBanner.hidden = true;
        changed();
        await flush();
      });
    });
    mount(
      conflictBanner,
      h("div", {}, h("strong", { text: "Someone else changed this draft. " }), "Your latest edits were not saved. Load their version, or keep yours and save over it."),
      h("div", { class: "banner-actions" }, reload, overwrite),
    );
    conflictBanner.hidden = false;
    const box = conflictBanner.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) conflictBanner.scrollIntoView({ block: "start" });
  }

  for (const f of [entityField, clientField, currencyField, issueField, supplyField, dueField, poField, buyerRefField, periodStartField, periodEndField, notesField, termsField]) {
    f.control.addEventListener("input", changed);
  }
  currencyField.control.addEventListener("input", () => {
    currencyTouched = true;
  });

  function updateClientInfo() {
    const c = cls.find((x) => x.id === clientField.control.value);
    if (!c) {
      mount(clientInfo);
      return;
    }
    const addr = c.address || {};
    const parts = [c.email, [addr.postal_code, addr.city].filter(Boolean).join(" "), addr.country ? countries().find(([k]) => k === addr.country)?.[1] : null, c.vat_number ? `VAT ${c.vat_number}` : null].filter(Boolean);
    mount(
      clientInfo,
      parts.join(" · "),
      c.vat_verification ? h("span", { class: `vat-chip vat-${c.vat_verification.status}`, text: `VAT ${c.vat_verification.status} (${date(c.vat_verification.checked_at)})` }) : null,
    );
    if (!currencyTouched && !inv) {
      const ent = entityById(entityField.control.value);
      currencyField.control.value = c.currency || ent?.currency || "EUR";
    }
  }
  clientField.control.addEventListener("change", updateClientInfo);
  clientField.control.addEventListener("input", updateClientInfo);
  kindField.control.addEventListener("change", () => {
    applyKind();
    updateClientInfo();
    changed();
  });
  if (selfBilled()) applyKind();
  updateClientInfo();

  addClient.addEventListener("click", async () => {
    const ent = entityById(entityField.control.value);
    const created = await openDialog({
      title: "New client",
      body: h(
        "div",
        { class: "grid" },
        field({ label: "Name", name: "name", required: true }),
        field({ label: "Email", name: "email", type: "email" }),
        field({ label: "Street and number", name: "address.line1", wide: true }),
        field({ label: "Postal code", name: "address.postal_code" }),
        field({ label: "City", name: "address.city" }),
        field({ label: "Country", name: "address.country", required: true, options: countries(), value: ent?.address?.country || "DE" }),
        field({ label: "VAT number", name: "vat_number" }),
      ),
      submitLabel: "Create client",
      onSubmit: (_f, values) => call("client.create", values, { idempotent: true }),
    });
    if (created) {
      invalidate("clients");
      cls.push(created);
      clientField.control.append(h("option", { value: created.id, text: created.name }));
      clientField.control.value = created.id;
      updateClientInfo();
      changed();
      toast(`Client ${created.name} created`, "success");
    }
  });

  // ---- actions
  const title = h("h1", { text: inv ? (selfBilled() ? "Draft self-billed invoice" : "Draft invoice") : "New invoice" });
  const finalizeBtn = h("button", { type: "button", class: "btn btn-primary" }, icon("check"), " Finalize");
  const previewBtn = h("a", { class: "btn btn-secondary", hidden: !inv, href: inv ? `#/invoices/${encodeURIComponent(inv.id)}` : "#/invoices" , text: "Preview" });
  const deleteBtn = h("button", { type: "button", class: "btn btn-ghost", hidden: !inv }, icon("trash"), " Delete draft");
  previewBtn.addEventListener("click", async (ev) => {
    ev.preventDefault();
    await flush();
    if (inv) navigate(`#/invoices/${encodeURIComponent(inv.id)}`);
  });
  finalizeBtn.addEventListener("click", () =>
    withBusy(finalizeBtn, async () => {
      const ok = await flush();
      if (!ok || !inv) {
        if (!inv) setSaveState("error", "Choose a client and add a line first");
        return;
      }
      try {
        const res = await call("invoice.finalize", { invoice_id: inv.id }, { idempotent: true });
        dirty = false;
        toast(`Invoice ${res.number || ""} finalized`, "success");
        navigate(`#/invoices/${encodeURIComponent(res.id)}`);
      } catch (err) {
        const first = showSaveError(err, "This invoice can't be finalized yet. Please fix:");
        if (first) first.focus();
        else banner.focus?.();
      }
    }, "Finalizing…"),
  );
  deleteBtn.addEventListener("click", async () => {
    if (!inv) return;
    if (!(await confirmDialog("Delete this draft?", "The draft and its lines are removed. This cannot be undone.", "Delete draft", true))) return;
    scheduleSave.cancel();
    try {
      await call("invoice.delete", { invoice_id: inv.id });
      dirty = false;
      conflict = true; // nothing more to save
      toast("Draft deleted", "success");
      navigate("#/invoices");
    } catch (err) {
      toast(describeError(err), "error");
    }
  });

  const beforeUnload = (ev) => {
    if (dirty || saving) {
      scheduleSave.flush();
      ev.preventDefault();
      ev.returnValue = "";
    }
  };
  window.addEventListener("beforeunload", beforeUnload);

  renderLines();
  renderTotals();
  mount(
    form,
    h(
      "section",
      { class: "card editor-parties" },
      h("div", { class: "party" }, kindField, entityField),
      h("div", { class: "party" }, h("div", { class: "party-client" }, clientField, addClient), clientInfo),
    ),
    h("section", { class: "card" }, h("h2", { class: "card-title", text: "Details" }), h("div", { class: "grid grid-4" }, issueField, supplyField, dueField, currencyField, poField, buyerRefField, periodStartField, periodEndField)),
    h(
      "section",
      { class: "card lines-card" },
      h("h2", { class: "card-title", text: "Lines" }),
      h(
        "div",
        { class: "lines-head", "aria-hidden": "true" },
        h("span", { text: "Description" }),
        h("span", { class: "num", text: "Qty" }),
        h("span", { text: "Unit" }),
        h("span", { class: "num", text: "Price" }),
        h("span", { class: "num", text: "Disc. %" }),
        h("span", { class: "num", text: "VAT %" }),
        h("span", { class: "num", text: "Amount" }),
        h("span", {}),
      ),
      linesBody,
      h("datalist", { id: "unit-codes" }, UNIT_CODES.map(([code, name]) => h("option", { value: code, text: `${code} — ${name}` }))),
      h("div", { class: "lines-foot" }, addLine, totalsBox),
    ),
    h("section", { class: "card" }, h("h2", { class: "card-title", text: "Notes and terms" }), h("div", { class: "grid" }, notesField, termsField)),
  );
  mount(
    main,
    h(
      "div",
      { class: "editor-bar" },
      h(
        "header",
        { class: "page-head" },
        h("div", { class: "page-title" }, h("a", { href: "#/invoices", class: "back-link" }, icon("back"), " Invoices"), title, saveState),
        h("div", { class: "page-actions" }, deleteBtn, previewBtn, finalizeBtn),
      ),
      banner,
      conflictBanner,
    ),
    form,
  );
  if (!clientField.control.value) clientField.control.focus();

  return async () => {
    window.removeEventListener("beforeunload", beforeUnload);
    if (!conflict) await flush();
  };
}
