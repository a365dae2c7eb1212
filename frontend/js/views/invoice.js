// Invoice view: status, amounts, lines, payments, timeline and the actions the status allows.

import { call } from "../api.js";
import { h, icon, mount } from "../dom.js";
import { countryName, date, dateTime, eventLabel, isZero, money, today } from "../format.js";
import { clients, entities, invalidate, navigate } from "../state.js";
import { badge, button, confirmDialog, describeError, field, loading, openDialog, toast, withBusy } from "../ui.js";

const OPEN_LIKE = new Set(["open", "sent", "overdue"]);
const CREDIT_KINDS = new Set(["credit_note", "self_billed_credit_note"]);
const SELF_BILLED = new Set(["self_billed_invoice", "self_billed_credit_note"]);

/** Which actions the invoice's status allows (the server has the last word). */
export function allowedActions(inv) {
  const st = inv.status;
  const isCredit = CREDIT_KINDS.has(inv.kind);
  const hasPayments = (inv.payments || []).length > 0 || !isZero(inv.amount_paid);
  const a = new Set();
  if (st === "draft") {
    a.add("edit").add("finalize").add("pdf").add("delete").add("duplicate");
    return a;
  }
  a.add("pdf");
  if (isCredit) {
    if (st !== "void") a.add("send");
    if (Number(inv.refund_due || 0) > 0) a.add("refund");
    return a;
  }
  a.add("duplicate");
  if (OPEN_LIKE.has(st)) a.add("send").add("payment");
  if (OPEN_LIKE.has(st) && !SELF_BILLED.has(inv.kind)) a.add("uncollectible"); // the entity owes a self-billed one
  if (OPEN_LIKE.has(st) && !hasPayments) a.add("void");
  if (st === "uncollectible") a.add("payment");
  if (["open", "sent", "overdue", "paid", "uncollectible"].includes(st)) a.add("credit");
  return a;
}

function partyBlock(title, p) {
  if (!p) return h("div", { class: "party-block" }, h("h3", { text: title }), h("p", { class: "muted", text: "—" }));
  const addr = p.address || {};
  return h(
    "div",
    { class: "party-block" },
    h("h3", { text: title }),
    h("p", { class: "party-name", text: p.name || "" }),
    addr.line1 ? h("p", { text: addr.line1 }) : null,
    addr.line2 ? h("p", { text: addr.line2 }) : null,
    addr.city || addr.postal_code ? h("p", { text: [addr.postal_code, addr.city].filter(Boolean).join(" ") }) : null,
    addr.country ? h("p", { text: countryName(addr.country) }) : null,
    p.vat_number ? h("p", { class: "muted small", text: `VAT ${p.vat_number}` }) : null,
    p.email ? h("p", { class: "muted small", text: p.email }) : null,
  );
}

/** "Viewed": the customer opened the hosted page (a mail scanner that opens links counts too). */
function viewedBadge(inv) {
  if (!inv.viewed_at) return null;
  return h("span", {
    class: "badge badge-viewed",
    dataset: { badge: "viewed" },
    title: `The customer page was first opened on ${dateTime(inv.viewed_at)} (mail scanners that open links count as well)`,
    text: "Viewed",
  });
}

async function copyCustomerLink(url) {
  try {
    await navigator.clipboard.writeText(url);
    toast("Customer link copied", "success");
  } catch {
    // no clipboard (an insecure origin, a refused permission): show the link to copy by hand
    const input = h("input", { class: "input", type: "text", readonly: true, value: url, "aria-label": "Customer link" });
    openDialog({ title: "Customer link", body: [h("p", { class: "muted", text: "Copy this link and send it to your customer." }), input], cancelLabel: "Close" });
    input.select();
  }
}

function amountCard(label, value, tone = "") {
  return h("div", { class: `amount-card ${tone}` }, h("span", { class: "amount-label", text: label }), h("span", { class: "amount-value", text: value }));
}

async function downloadPdf(inv, btn) {
  await withBusy(
    btn,
    async () => {
      try {
        const res = await call("invoice.pdf", { invoice_id: inv.id });
        const a = h("a", { href: res.url, download: res.filename || `${inv.number || inv.id}.pdf`, hidden: true });
        document.body.append(a);
        a.click();
        a.remove();
      } catch (err) {
        toast(describeError(err), "error");
      }
    },
    "Preparing PDF…",
  );
}

/** The e-invoice formats offered for download (invoice.einvoice). */
export const EINVOICE_DOWNLOADS = [
  ["cii", "Factur-X XML"],
  ["xrechnung", "XRechnung"],
  ["ubl", "Peppol UBL"],
];

async function downloadEinvoice(inv, format, btn) {
  await withBusy(
    btn,
    async () => {
      try {
        const res = await call("invoice.einvoice", { invoice_id: inv.id, format });
        const a = h("a", { href: res.url, download: res.filename, hidden: true });
        document.body.append(a);
        a.click();
        a.remove();
      } catch (err) {
        // 422: the document lacks what this format needs; the details name fields and BT ids
        const details = err.details?.length ? ` ${err.details.map((d) => d.message).join(" · ")}` : "";
        toast(`${describeError(err)}${details}`, "error");
      }
    },
    "Preparing…",
  );
}

/** A disclosure menu ("More") holding the less frequent actions; Escape or a click outside closes it. */
function moreMenu(items) {
  if (!items.length) return null;
  const list = h("div", { class: "menu-list", id: `more-${Math.random().toString(36).slice(2, 8)}`, hidden: true, role: "group", "aria-label": "More actions" }, items);
  const toggle = h("button", { type: "button", class: "btn btn-secondary", "aria-expanded": "false", "aria-controls": list.id }, "More", h("span", { class: "caret", "aria-hidden": "true", text: "▾" }));
  const wrap = h("div", { class: "menu" }, toggle, list);
  const close = (focusToggle = false) => {
    list.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
    document.removeEventListener("click", outside, true);
    if (focusToggle) toggle.focus();
  };
  const outside = (ev) => {
    if (!wrap.contains(ev.target)) close();
  };
  toggle.addEventListener("click", () => {
    if (list.hidden) {
      list.hidden = false;
      toggle.setAttribute("aria-expanded", "true");
      document.addEventListener("click", outside, true);
      list.querySelector("button")?.focus();
    } else close();
  });
  wrap.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && !list.hidden) {
      ev.stopPropagation();
      close(true);
    }
  });
  list.addEventListener("click", (ev) => {
    if (ev.target.closest("button")) close();
  });
  return wrap;
}

function actorLabel(actor) {
  if (!actor) return "";
  const text = String(actor);
  if (text.startsWith("user:")) return text.slice(5);
  if (text.startsWith("apikey:") || text.startsWith("key:")) return "API key";
  if (text === "system" || text.startsWith("scheduler") || text.startsWith("overdue")) return "Billow";
  return text;
}

export async function renderInvoice(main, id) {
  mount(main, loading());
  const [inv, timeline, cls, ents] = await Promise.all([
    call("invoice.get", { invoice_id: id }),
    call("invoice.timeline", { invoice_id: id }).catch(() => ({ events: [] })),
    clients(),
    entities(),
  ]);
  const cur = inv.currency;
  const client = cls.find((c) => c.id === inv.client_id);
  const entity = ents.find((e) => e.id === inv.entity_id);
  const buyer = inv.buyer || client;
  const seller = inv.seller || entity;
  const isCredit = CREDIT_KINDS.has(inv.kind);
  const isSelfBilled = SELF_BILLED.has(inv.kind);
  const allowed = allowedActions(inv);
  const reload = () => navigate(`#/invoices/${encodeURIComponent(inv.id)}`);

  // ---- action handlers
  const act = async (btn, fn, success, busyText) => {
    await withBusy(
      btn,
      async () => {
        try {
          const res = await fn();
          if (res === null) return;
          if (success) toast(success, "success");
          invalidate("clients");
          reload();
        } catch (err) {
          toast(describeError(err), "error");
        }
      },
      busyText,
    );
  };

  const actions = [];
  const more = [];
  if (allowed.has("edit")) actions.push(h("a", { href: `#/invoices/${encodeURIComponent(inv.id)}/edit`, class: "btn btn-secondary", text: "Edit draft" }));
  if (allowed.has("finalize")) {
    const b = button("Finalize", { variant: "primary" }, icon("check"));
    b.addEventListener("click", () => act(b, () => call("invoice.finalize", { invoice_id: inv.id }, { idempotent: true }), "Invoice finalized", "Finalizing…"));
    actions.push(b);
  }
  if (allowed.has("pdf")) {
    // a draft's PDF is a preview (marked DRAFT, live company and client details)
    const b = button(inv.status === "draft" ? "Preview PDF" : "Download PDF", {}, icon("download"));
    b.dataset.action = "pdf";
    b.addEventListener("click", () => downloadPdf(inv, b));
    actions.push(b);
    const group = h("div", { class: "einvoice-downloads", role: "group", "aria-label": "E-invoice downloads" }, h("span", { class: "muted", text: "E-invoice:" }));
    for (const [format, label] of EINVOICE_DOWNLOADS) {
      const e = button(label, {}, icon("download"));
      e.dataset.action = `einvoice-${format}`;
      e.addEventListener("click", () => downloadEinvoice(inv, format, e));
      group.append(e);
    }
    actions.push(group);
  }
  if (inv.hosted_invoice_url) {
    // the customer's page (no sign-in): copied, never opened here, so the owner's own
    // visit does not count as the customer's view
    const b = button("Copy customer link", {}, icon("link"));
    b.dataset.action = "copy-link";
    b.title = "The page where your customer sees this document, pays by QR code and downloads it";
    b.addEventListener("click", () => copyCustomerLink(inv.hosted_invoice_url));
    actions.push(b);
    const r = button("Replace customer link");
    r.dataset.action = "rotate-link";
    r.addEventListener("click", async () => {
      if (!(await confirmDialog("Replace the customer link?", "The current link stops working at once (also the one in mails already sent). Share the new link with your customer.", "Replace link"))) return;
      act(r, () => call("invoice.rotate_link", { invoice_id: inv.id }, { idempotent: true }), "Customer link replaced");
    });
    more.push(r);
  }
  if (allowed.has("send")) {
    const b = button(inv.status === "sent" ? "Send again" : "Send", { variant: allowed.has("payment") && inv.status === "sent" ? "secondary" : "primary" }, icon("mail"));
    b.dataset.action = "send";
    b.addEventListener("click", async () => {
      const res = await openDialog({
        title: `Send ${isCredit ? "credit note" : "invoice"} ${inv.number || ""}`,
        body: h(
          "div",
          { class: "grid grid-1" },
          field({ label: "To", name: "to", type: "email", value: buyer?.email || client?.email || "", required: true, hint: inv.hosted_invoice_url ? "The PDF is attached; the mail also links to the customer page." : "The PDF is attached." }),
          field({ label: "Cc", name: "cc", type: "email" }),
          field({
            label: "Message",
            name: "message",
            type: "textarea",
            rows: 5,
            value: `Hello,\n\nplease find attached ${isCredit ? "credit note" : "invoice"} ${inv.number || ""} for ${money(inv.total, cur)}.\n\nKind regards,\n${seller?.name || ""}`,
          }),
        ),
        submitLabel: "Send",
        onSubmit: (_f, v) => {
          const params = { invoice_id: inv.id, to: v.to };
          if (v.cc) params.cc = v.cc.split(/[,;\s]+/).filter(Boolean);
          if (v.message) params.message = v.message;
          return call("invoice.send", params, { idempotent: true });
        },
      });
      if (res) {
        toast(res.status === "sent" ? "Invoice sent" : "Sending failed — see the timeline", res.status === "sent" ? "success" : "error");
        reload();
      }
    });
    actions.push(b);
  }
  if (allowed.has("payment")) {
    const b = button("Record payment", { variant: "primary" });
    b.dataset.action = "payment";
    b.addEventListener("click", async () => {
      const res = await openDialog({
        title: "Record a payment",
        body: h(
          "div",
          { class: "grid" },
          field({ label: `Amount (${cur})`, name: "amount", value: inv.amount_due, required: true, attrs: { inputmode: "decimal" }, hint: `Due: ${money(inv.amount_due, cur)}` }),
          field({ label: "Paid on", name: "paid_on", type: "date", value: today() }),
          field({ label: "Method", name: "method", options: [["bank_transfer", "Bank transfer"], ["card", "Card"], ["cash", "Cash"], ["direct_debit", "Direct debit"], ["other", "Other"]] }),
          field({ label: "Reference", name: "reference" }),
        ),
        submitLabel: "Record payment",
        onSubmit: (_f, v) => call("invoice.record_payment", { invoice_id: inv.id, ...v }, { idempotent: true }),
      });
      if (res) {
        toast(res.status === "paid" ? "Paid in full" : `Payment recorded · ${money(res.amount_due, cur)} still due`, "success");
        reload();
      }
    });
    actions.push(b);
  }
  if (allowed.has("refund")) {
    const b = button("Record refund", { variant: "primary" });
    b.dataset.action = "refund";
    b.addEventListener("click", async () => {
      const res = await openDialog({
        title: isSelfBilled ? "Record the refund from the supplier" : "Record a refund to the client",
        body: h(
          "div",
          { class: "grid" },
          field({ label: `Amount (${cur})`, name: "amount", value: inv.refund_due, required: true, attrs: { inputmode: "decimal" }, hint: `Owed: ${money(inv.refund_due, cur)}` }),
          field({ label: "Paid on", name: "paid_on", type: "date", value: today() }),
          field({ label: "Method", name: "method", options: [["bank_transfer", "Bank transfer"], ["card", "Card"], ["cash", "Cash"], ["other", "Other"]] }),
          field({ label: "Reference", name: "reference" }),
        ),
        submitLabel: "Record refund",
        onSubmit: (_f, v) => call("invoice.record_refund", { invoice_id: inv.id, ...v }, { idempotent: true }),
      });
      if (res) {
        toast(isZero(res.refund_due) ? "Refund settled" : `Refund recorded · ${money(res.refund_due, cur)} still owed`, "success");
        reload();
      }
    });
    actions.push(b);
  }
  if (allowed.has("duplicate") && !isSelfBilled) {
    const b = button("Duplicate");
    b.dataset.action = "duplicate";
    b.addEventListener("click", () =>
      withBusy(b, async () => {
        try {
          const copy = await call("invoice.duplicate", { invoice_id: inv.id }, { idempotent: true });
          toast("Copied to a new draft", "success");
          navigate(`#/invoices/${encodeURIComponent(copy.id)}/edit`);
        } catch (err) {
          toast(describeError(err), "error");
        }
      }),
    );
    more.push(b);
  }
  if (allowed.has("credit")) {
    const b = button("Credit note");
    b.dataset.action = "credit";
    b.addEventListener("click", async () => {
      const lineInputs = (inv.lines || []).map((l, i) => {
        const input = h("input", {
          type: "text",
          inputmode: "decimal",
          class: "num",
          value: l.quantity,
          "aria-label": `Quantity to credit of line ${i + 1}: ${l.description}`,
          dataset: { field: `lines[${i}].quantity`, collect: "no" },
        });
        return { line: l, index: i, input };
      });
      const everything = h("input", { type: "radio", name: "credit_scope", value: "all", id: "credit-all", checked: true, dataset: { collect: "no" } });
      const some = h("input", { type: "radio", name: "credit_scope", value: "lines", id: "credit-lines", dataset: { collect: "no" } });
      const linesBox = h(
        "div",
        { class: "credit-lines", hidden: true },
        h(
          "table",
          { class: "table" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Line" }), h("th", { scope: "col", class: "num", text: "Invoiced" }), h("th", { scope: "col", class: "num", text: "Credit qty" }))),
          h(
            "tbody",
            {},
            lineInputs.map(({ line, input }) => h("tr", {}, h("td", { text: line.description }), h("td", { class: "num", text: `${line.quantity}${line.unit ? ` ${line.unit}` : ""}` }), h("td", { class: "num" }, input))),
          ),
        ),
      );
      const toggle = () => {
        linesBox.hidden = !some.checked;
      };
      everything.addEventListener("change", toggle);
      some.addEventListener("change", toggle);
      const res = await openDialog({
        title: `Credit note for ${inv.number}`,
        wide: true,
        body: [
          h("p", { class: "muted", text: `Issues a finalized credit note with its own number. Invoice total ${money(inv.total, cur)}${isZero(inv.credited_amount) ? "" : `, already credited ${money(inv.credited_amount, cur)}`}.` }),
          field({ label: "Reason", name: "reason", required: true, type: "textarea", rows: 2, placeholder: "e.g. Cancelled order, price correction" }),
          h(
            "fieldset",
            { class: "fieldset radio-group" },
            h("legend", { text: "What to credit" }),
            h("label", { for: "credit-all" }, everything, " Everything that remains"),
            h("label", { for: "credit-lines" }, some, " Selected quantities"),
          ),
          linesBox,
        ],
        submitLabel: "Issue credit note",
        onSubmit: (_f, v) => {
          const params = { invoice_id: inv.id, reason: v.reason || "" };
          if (some.checked) {
            params.lines = lineInputs
              .filter(({ input }) => input.value.trim() && !isZero(input.value.trim()))
              .map(({ line, index, input }) => ({ ...(line.id ? { line_id: line.id } : { line_index: index }), quantity: input.value.trim() }));
          }
          return call("invoice.credit", params, { idempotent: true });
        },
      });
      if (res) {
        toast(`Credit note ${res.number || ""} issued`, "success");
        navigate(`#/invoices/${encodeURIComponent(res.id)}`);
      }
    });
    more.push(b);
  }
  if (allowed.has("uncollectible")) {
    const b = button("Mark uncollectible");
    b.dataset.action = "uncollectible";
    b.addEventListener("click", async () => {
      if (!(await confirmDialog("Mark as uncollectible?", "Use this when you no longer expect payment. A later payment still marks it paid.", "Mark uncollectible"))) return;
      act(b, () => call("invoice.mark_uncollectible", { invoice_id: inv.id }, { idempotent: true }), "Marked uncollectible");
    });
    more.push(b);
  }
  if (allowed.has("void")) {
    const b = button("Void", { variant: "danger-ghost" });
    b.dataset.action = "void";
    b.addEventListener("click", async () => {
      const res = await openDialog({
        title: `Void invoice ${inv.number}?`,
        body: [
          h("p", { class: "muted", text: "The invoice stays in your records with its number, marked void. This cannot be undone." }),
          field({ label: "Reason", name: "reason", type: "textarea", rows: 2 }),
        ],
        submitLabel: "Void invoice",
        danger: true,
        onSubmit: (_f, v) => call("invoice.void", { invoice_id: inv.id, ...(v.reason ? { reason: v.reason } : {}) }, { idempotent: true }),
      });
      if (res) {
        toast("Invoice voided", "success");
        reload();
      }
    });
    more.push(b);
  }
  if (allowed.has("delete")) {
    const b = button("Delete draft", { variant: "danger-ghost" });
    b.addEventListener("click", async () => {
      if (!(await confirmDialog("Delete this draft?", "This cannot be undone.", "Delete draft", true))) return;
      act(b, async () => {
        await call("invoice.delete", { invoice_id: inv.id });
        navigate("#/invoices");
        return null;
      });
    });
    more.push(b);
  }

  // ---- content
  const kindName = isCredit ? (isSelfBilled ? "Self-billed credit note" : "Credit note") : isSelfBilled ? "Self-billed invoice" : "Invoice";
  const titleText = `${kindName} ${inv.number || "(draft)"}`;
  const amounts = h(
    "section",
    { class: "amounts", "aria-label": "Amounts" },
    amountCard("Total", money(inv.total, cur)),
    !isCredit ? amountCard("Paid", money(inv.amount_paid, cur), "tone-success") : null,
    !isCredit && !isZero(inv.credited_amount) ? amountCard("Credited", money(inv.credited_amount, cur)) : null,
    isCredit && !isZero(inv.refund_due || "0") ? amountCard(isSelfBilled ? "Refund owed to you" : "Refund due", money(inv.refund_due, cur), "tone-danger") : null,
    !isCredit ? amountCard("Amount due", ["void", "credited"].includes(inv.status) ? "—" : money(inv.amount_due, cur), OPEN_LIKE.has(inv.status) && !isZero(inv.amount_due) ? (inv.status === "overdue" ? "tone-danger" : "tone-primary") : "") : null,
    amountCard(inv.status === "draft" ? "Due" : "Due date", date(inv.due_date)),
  );

  const linesTable = h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table lines-table" },
      h(
        "thead",
        {},
        h("tr", {}, ["Description", "Qty", "Unit price", "Disc.", "VAT", "Amount"].map((t, i) => h("th", { scope: "col", class: i ? "num" : null, text: t }))),
      ),
      h(
        "tbody",
        {},
        (inv.lines || []).map((l) =>
          h(
            "tr",
            {},
            h("td", { text: l.description }),
            h("td", { class: "num", text: `${l.quantity}${l.unit ? ` ${l.unit}` : ""}` }),
            h("td", { class: "num", text: money(l.unit_price, cur) }),
            h("td", { class: "num", text: l.discount_percent && !isZero(l.discount_percent) ? `${l.discount_percent}%` : "—" }),
            h("td", { class: "num", text: l.vat_category && l.vat_category !== "S" ? `${l.vat_category} ${l.vat_rate}%` : `${l.vat_rate}%` }),
            h("td", { class: "num", text: money(l.net_amount, cur) }),
          ),
        ),
      ),
      h(
        "tfoot",
        {},
        h("tr", {}, h("th", { scope: "row", colspan: "5", text: "Subtotal" }), h("td", { class: "num", text: money(inv.subtotal, cur) })),
        (inv.tax_breakdown || []).map((t) =>
          h(
            "tr",
            { class: "muted" },
            h("th", { scope: "row", colspan: "5", text: `${t.vat_category === "S" ? `VAT ${t.vat_rate}%` : `${t.exemption_reason || t.vat_category} (${t.vat_rate}%)`} on ${money(t.taxable_amount, cur)}` }),
            h("td", { class: "num", text: money(t.tax_amount, cur) }),
          ),
        ),
        h("tr", { class: "grand" }, h("th", { scope: "row", colspan: "5", text: "Total" }), h("td", { class: "num", text: money(inv.total, cur) })),
      ),
    ),
  );

  const payments = (inv.payments || []).length
    ? h(
        "section",
        { class: "card" },
        h("h2", { class: "card-title", text: "Payments" }),
        h(
          "ul",
          { class: "payments" },
          inv.payments.map((p) =>
            h(
              "li",
              {},
              h("span", { class: "pay-amount", text: money(p.amount, cur) }),
              h("span", { class: "muted", text: `${date(p.paid_on)}${p.method ? ` · ${p.method.replaceAll("_", " ")}` : ""}${p.reference ? ` · ${p.reference}` : ""}` }),
            ),
          ),
        ),
      )
    : null;

  const events = (timeline.events || []).slice().reverse();
  const timelineCard = h(
    "section",
    { class: "card" },
    h("h2", { class: "card-title", text: "Timeline" }),
    events.length
      ? h(
          "ol",
          { class: "timeline" },
          events.map((e) => {
            const d = e.data || {};
            const extra = [d.amount ? money(d.amount, cur) : null, d.to ? `to ${[d.to].flat().join(", ")}` : null, d.number || null, d.level ? `level ${d.level}` : null, d.reason || null, d.error || null]
              .filter(Boolean)
              .join(" · ");
            return h(
              "li",
              { class: `event event-${e.type}` },
              h("span", { class: "event-dot", "aria-hidden": "true" }),
              h("div", {}, h("p", { class: "event-title", text: eventLabel(e.type) }), extra ? h("p", { class: "small", text: extra }) : null, h("p", { class: "muted small", text: `${dateTime(e.at)}${e.actor ? ` · ${actorLabel(e.actor)}` : ""}` })),
            );
          }),
        )
      : h("p", { class: "muted", text: "No events yet." }),
  );

  const meta = h(
    "dl",
    { class: "meta" },
    [
      ["Issued", date(inv.issue_date)],
      ["Supplied", date(inv.supply_date)],
      ["Due", date(inv.due_date)],
      ["Payment reference", inv.payment_reference || "—"],
      inv.po_number ? ["PO number", inv.po_number] : null,
      ["Currency", cur],
    ]
      .filter(Boolean)
      .map(([k, v]) => h("div", {}, h("dt", { text: k }), h("dd", { text: v }))),
  );

  let originalNumber = null;
  if (inv.original_invoice_id) {
    try {
      originalNumber = (await call("invoice.get", { invoice_id: inv.original_invoice_id, fields: ["id", "number"] })).number;
    } catch {
      originalNumber = null;
    }
  }
  const original = inv.original_invoice_id
    ? h("p", { class: "muted" }, "Credits invoice ", h("a", { href: `#/invoices/${encodeURIComponent(inv.original_invoice_id)}`, text: originalNumber || "the original invoice", dataset: { link: "original" } }))
    : null;

  mount(
    main,
    h(
      "header",
      { class: "page-head" },
      h(
        "div",
        { class: "page-title" },
        h("a", { href: "#/invoices", class: "back-link" }, icon("back"), " Invoices"),
        h("div", { class: "title-row" }, h("h1", { text: titleText }), badge(inv.status, inv.kind), viewedBadge(inv)),
        h("p", { class: "muted", text: (isSelfBilled ? seller : buyer)?.name ? `${(isSelfBilled ? seller : buyer).name}${inv.issue_date ? ` · issued ${date(inv.issue_date)}` : ""}` : "" }),
        original,
      ),
      h("div", { class: "page-actions" }, moreMenu(more), actions),
    ),
    amounts,
    h(
      "div",
      { class: "split" },
      h(
        "div",
        { class: "split-main" },
        h("section", { class: "card doc" }, h("div", { class: "parties" }, partyBlock(isSelfBilled ? "Seller (supplier)" : "From", seller), partyBlock(isSelfBilled ? "Buyer (you)" : "Bill to", buyer)), isSelfBilled ? h("p", { class: "tag self-billing", text: "Self-billing" }) : null, meta, linesTable, inv.notes ? h("p", { class: "notes", text: inv.notes }) : null),
        payments,
      ),
      h("div", { class: "split-side" }, timelineCard),
    ),
  );
  return null;
}
