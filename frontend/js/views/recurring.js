// Recurring invoices: the schedules (list with next date), the editor (lines, interval,
// start, end), and a schedule's page (periods issued, pause / resume / cancel, timeline).

import { call, listAll } from "../api.js";
import { h, icon, mount } from "../dom.js";
import { date, dateTime, money } from "../format.js";
import { clients, entities, navigate } from "../state.js";
import { clearErrors, collect, confirmDialog, describeError, emptyState, field, fieldset, formError, loading, pageHeader, showError, toast, withBusy } from "../ui.js";

const INTERVALS = [
  ["week", "Week"],
  ["month", "Month"],
  ["quarter", "Quarter"],
  ["year", "Year"],
];
const STATUS_LABELS = { active: "Active", paused: "Paused", ended: "Ended", cancelled: "Cancelled" };
const EVENT_LABELS = {
  created: "Schedule created",
  updated: "Schedule updated",
  paused: "Paused",
  resumed: "Resumed",
  cancelled: "Cancelled",
  ended: "Ended (last period issued)",
  invoice_issued: "Invoice issued",
  issue_failed: "Invoice could not be issued",
};

function statusBadge(status) {
  return h("span", { class: `badge badge-rec-${status}`, text: STATUS_LABELS[status] || status });
}

/** "Every month", "Every 2 weeks". */
export function everyText(rec) {
  const n = Number(rec.interval_count || 1);
  return n === 1 ? `Every ${rec.interval}` : `Every ${n} ${rec.interval}s`;
}

function endText(rec) {
  if (rec.count) return `${rec.count} invoices`;
  if (rec.end_date) return `until ${date(rec.end_date)}`;
  return "until cancelled";
}

// --- list ------------------------------------------------------------------------------------

export async function renderRecurringList(main) {
  mount(main, pageHeader("Recurring"), loading());
  const items = await listAll("recurring.list", { sort_by: "created_at" });
  const newBtn = h("a", { href: "#/recurring/new", class: "btn btn-primary" }, icon("plus"), " New schedule");
  const rows = items.map((r) =>
    h(
      "tr",
      { dataset: { id: r.id } },
      h("td", {}, h("a", { href: `#/recurring/${encodeURIComponent(r.id)}`, text: r.client_name || r.client_id })),
      h("td", { text: everyText(r) }),
      h("td", { class: "num", text: money(r.total, r.currency) }),
      h("td", { class: "next-date", text: r.next_date ? date(r.next_date) : "—" }),
      h("td", { class: "num", text: String(r.issued_count || 0) }),
      h("td", {}, statusBadge(r.status)),
    ),
  );
  mount(
    main,
    pageHeader("Recurring", [newBtn], "Invoices issued on the first day of each period by the daily run."),
    h(
      "section",
      { class: "card" },
      items.length
        ? h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              { class: "table", id: "recurring-table" },
              h("thead", {}, h("tr", {}, ["Client", "Interval", "Amount", "Next invoice", "Issued", "Status"].map((t, i) => h("th", { scope: "col", class: i === 2 || i === 4 ? "num" : null, text: t })))),
              h("tbody", {}, rows),
            ),
          )
        : emptyState("No recurring invoices yet", "Bill retainers, subscriptions and rent automatically: one invoice per period, never twice.", newBtn),
    ),
  );
  return null;
}

// --- editor ----------------------------------------------------------------------------------

function lineRow(line, index, onRemove) {
  const n = index + 1;
  const remove = h("button", { type: "button", class: "btn btn-ghost btn-sm", "aria-label": `Remove line ${n}`, text: "Remove" });
  remove.addEventListener("click", onRemove);
  const named = (what) => ({ "aria-label": `Line ${n} ${what}` });
  return h(
    "div",
    { class: "rec-line grid" },
    field({ label: "Description", name: `lines[${index}].description`, value: line.description, required: true, wide: true, attrs: named("description") }),
    field({ label: "Quantity", name: `lines[${index}].quantity`, value: line.quantity ?? "1", attrs: { inputmode: "decimal", ...named("quantity") } }),
    field({ label: "Unit price", name: `lines[${index}].unit_price`, value: line.unit_price, required: true, attrs: { inputmode: "decimal", ...named("unit price") }, placeholder: "0.00" }),
    field({ label: "Unit", name: `lines[${index}].unit`, value: line.unit, placeholder: "month, hour…", attrs: named("unit") }),
    h("div", { class: "field rec-line-remove" }, remove),
  );
}

/** The form's values as recurring.create parameters (lines are read separately). */
function toParams(values, endMode) {
  const params = {
    entity_id: values.entity_id,
    client_id: values.client_id,
    interval: values.interval,
    interval_count: values.interval_count ? Number(values.interval_count) : 1,
    start_date: values.start_date,
    auto_advance: Boolean(values.auto_advance),
  };
  if (values.notes) params.notes = values.notes;
  if (endMode === "count" && values.count) params.count = Number(values.count);
  if (endMode === "end_date" && values.end_date) params.end_date = values.end_date;
  return params;
}

function readLines(form, count) {
  const lines = [];
  for (let i = 0; i < count; i += 1) {
    const line = {};
    for (const name of ["description", "quantity", "unit_price", "unit"]) {
      const el = form.querySelector(`[data-field="lines[${i}].${name}"]`);
      const v = el ? el.value.trim() : "";
      if (v) line[name] = v;
    }
    lines.push(line);
  }
  return lines;
}

export async function renderRecurringEditor(main, id) {
  mount(main, pageHeader(id ? "Edit schedule" : "New schedule"), loading());
  const [ents, cls, rec] = await Promise.all([entities(), clients(), id ? call("recurring.get", { recurring_id: id }) : null]);
  const current = rec || {
    entity_id: ents[0]?.id,
    interval: "month",
    interval_count: 1,
    start_date: new Date().toISOString().slice(0, 10),
    lines: [{ quantity: "1" }],
    auto_advance: false,
  };
  let lines = (current.lines || []).map((l) => ({ ...l }));
  if (!lines.length) lines = [{ quantity: "1" }];
  let endMode = current.count ? "count" : current.end_date ? "end_date" : "never";
  const locked = Boolean(rec && rec.issued_count);

  const linesBox = h("div", { class: "rec-lines" });
  const form = h("form", { class: "card form", novalidate: true, id: "recurring-form" });
  const drawLines = () => {
    mount(
      linesBox,
      lines.map((line, i) =>
        lineRow(line, i, () => {
          lines = readLines(form, lines.length);
          lines.splice(i, 1);
          if (!lines.length) lines.push({ quantity: "1" });
          drawLines();
        }),
      ),
    );
  };
  const addLine = h("button", { type: "button", class: "btn btn-secondary btn-sm" }, icon("plus"), " Add line");
  addLine.addEventListener("click", () => {
    lines = readLines(form, lines.length);
    lines.push({ quantity: "1" });
    drawLines();
  });

  const endSelect = field({
    label: "Ends",
    name: "end_mode",
    options: [
      ["never", "When cancelled"],
      ["count", "After a number of invoices"],
      ["end_date", "On a date"],
    ],
    value: endMode,
  });
  endSelect.control.dataset.collect = "no";
  const countField = field({ label: "Number of invoices", name: "count", type: "number", value: current.count, attrs: { min: "1" } });
  const endDateField = field({ label: "Last period starts by", name: "end_date", type: "date", value: current.end_date });
  const showEnd = () => {
    countField.hidden = endMode !== "count";
    endDateField.hidden = endMode !== "end_date";
  };
  endSelect.control.addEventListener("change", () => {
    endMode = endSelect.control.value;
    showEnd();
  });
  showEnd();

  const lockHint = locked ? "Fixed once an invoice has been issued." : "";
  const schedule = fieldset(
    "Schedule",
    [
      field({ label: "Every", name: "interval_count", type: "number", value: current.interval_count || 1, attrs: { min: "1", disabled: locked || null } }),
      field({ label: "Interval", name: "interval", options: INTERVALS, value: current.interval, attrs: { disabled: locked || null } }),
      field({ label: "First period starts", name: "start_date", type: "date", value: current.start_date, required: true, attrs: { disabled: locked || null } }),
      endSelect,
      countField,
      endDateField,
      field({ label: "Finalize and send each invoice automatically", name: "auto_advance", type: "checkbox", value: current.auto_advance, wide: true }),
    ],
    `Each invoice is issued on the first day of its period and covers that period.${lockHint ? ` The interval and the first period are ${lockHint.charAt(0).toLowerCase()}${lockHint.slice(1)}` : ""}`,
  );
  if (locked) schedule.classList.add("fieldset-locked");
  const parties = fieldset("Parties", [
    field({ label: "Company", name: "entity_id", options: ents.map((e) => [e.id, e.name]), value: current.entity_id, required: true }),
    field({ label: "Client", name: "client_id", options: [["", "Choose a client…"], ...cls.filter((c) => !c.archived).map((c) => [c.id, c.name])], value: current.client_id, required: true }),
  ]);
  const submit = h("button", { type: "submit", class: "btn btn-primary", text: id ? "Save schedule" : "Create schedule" });
  const cancel = h("a", { href: id ? `#/recurring/${encodeURIComponent(id)}` : "#/recurring", class: "btn btn-secondary", text: "Cancel" });
  mount(
    form,
    formError(),
    parties,
    schedule,
    h("fieldset", { class: "fieldset" }, h("legend", { text: "Lines" }), linesBox, addLine),
    fieldset("Notes", [field({ label: "Notes on each invoice", name: "notes", type: "textarea", value: current.notes, wide: true })]),
    h("div", { class: "form-actions" }, cancel, submit),
  );
  drawLines();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const values = collect(form, rec);
    const params = toParams(values, endMode);
    params.lines = readLines(form, lines.length);
    if (!params.client_id) delete params.client_id;
    try {
      const saved = await withBusy(submit, () => {
        if (!id) return call("recurring.create", params, { idempotent: true });
        const update = { recurring_id: id, version: rec.version, lines: params.lines, auto_advance: params.auto_advance, notes: values.notes ?? null, client_id: params.client_id, entity_id: params.entity_id };
        if (!locked) Object.assign(update, { interval: params.interval, interval_count: params.interval_count, start_date: params.start_date });
        update.count = endMode === "count" ? params.count ?? null : null;
        update.end_date = endMode === "end_date" ? params.end_date ?? null : null;
        return call("recurring.update", update);
      });
      toast(id ? "Schedule saved" : "Schedule created", "success");
      navigate(`#/recurring/${encodeURIComponent(saved.id)}`);
    } catch (err) {
      showError(form, err);
    }
  });
  mount(main, h("header", { class: "page-head" }, h("div", { class: "page-title" }, h("a", { href: "#/recurring", class: "back-link" }, icon("back"), " Recurring"), h("h1", { text: id ? "Edit schedule" : "New schedule" }))), form);
  return null;
}

// --- one schedule ----------------------------------------------------------------------------

export async function renderRecurring(main, id) {
  mount(main, pageHeader("Schedule"), loading());
  const [rec, timeline] = await Promise.all([call("recurring.get", { recurring_id: id }), call("recurring.timeline", { recurring_id: id })]);
  const act = (name, question, detail, label, danger = false) => {
    const btn = h("button", { type: "button", class: `btn ${danger ? "btn-danger" : "btn-secondary"}`, text: label, dataset: { action: name } });
    btn.addEventListener("click", async () => {
      if (question && !(await confirmDialog(question, detail, label, danger))) return;
      try {
        await withBusy(btn, () => call(`recurring.${name}`, { recurring_id: id }));
        toast(`Schedule ${STATUS_LABELS[{ pause: "paused", resume: "active", cancel: "cancelled" }[name]].toLowerCase()}`, "success");
        renderRecurring(main, id);
      } catch (err) {
        toast(describeError(err), "error");
      }
    });
    return btn;
  };
  const actions = [];
  if (rec.status === "active" || rec.status === "paused") {
    actions.push(h("a", { href: `#/recurring/${encodeURIComponent(id)}/edit`, class: "btn btn-secondary", text: "Edit" }));
  }
  if (rec.status === "active") actions.push(act("pause", null, "", "Pause"));
  if (rec.status === "paused") actions.push(act("resume", null, "", "Resume"));
  if (rec.status === "active" || rec.status === "paused") {
    actions.push(act("cancel", "Cancel this schedule?", "No further invoice is issued. Invoices already issued stay as they are.", "Cancel schedule", true));
  }

  const meta = h(
    "dl",
    { class: "meta" },
    [
      ["Next invoice", rec.next_date ? date(rec.next_date) : "—"],
      ["Interval", everyText(rec)],
      ["First period", date(rec.start_date)],
      ["Ends", endText(rec)],
      ["Invoices issued", String(rec.issued_count || 0)],
      ["Each invoice", rec.auto_advance ? "Finalized and sent" : "Left as a draft"],
    ].map(([k, v]) => h("div", {}, h("dt", { text: k }), h("dd", { text: v, dataset: { meta: k } }))),
  );
  const linesTable = h(
    "table",
    { class: "table" },
    h("thead", {}, h("tr", {}, ["Description", "Qty", "Unit price"].map((t, i) => h("th", { scope: "col", class: i ? "num" : null, text: t })))),
    h(
      "tbody",
      {},
      (rec.lines || []).map((l) => h("tr", {}, h("td", { text: l.description || l.product_id || "" }), h("td", { class: "num", text: `${l.quantity ?? 1}${l.unit ? ` ${l.unit}` : ""}` }), h("td", { class: "num", text: l.unit_price ? money(l.unit_price, rec.currency) : "—" }))),
    ),
    h("tfoot", {}, h("tr", { class: "grand" }, h("th", { scope: "row", colspan: "2", text: "Total per invoice" }), h("td", { class: "num", text: money(rec.total, rec.currency) }))),
  );
  const events = (timeline.events || []).slice().reverse();
  const issued = (timeline.events || []).filter((e) => e.type === "invoice_issued");
  const periods = h(
    "section",
    { class: "card" },
    h("h2", { class: "card-title", text: "Invoices issued" }),
    issued.length
      ? h(
          "ul",
          { class: "payments", id: "issued-periods" },
          issued
            .slice()
            .reverse()
            .map((e) =>
              h(
                "li",
                {},
                h("a", { href: `#/invoices/${encodeURIComponent(e.data.invoice_id)}`, text: e.data.number || "Draft" }),
                h("span", { class: "muted", text: `${date(e.data.period.start)} – ${date(e.data.period.end)}` }),
              ),
            ),
        )
      : h("p", { class: "muted", text: rec.next_date ? `The first invoice is issued on ${date(rec.next_date)}.` : "No invoice was issued." }),
  );
  const timelineCard = h(
    "section",
    { class: "card" },
    h("h2", { class: "card-title", text: "Timeline" }),
    h(
      "ol",
      { class: "timeline" },
      events.map((e) =>
        h(
          "li",
          { class: `event event-${e.type}` },
          h("span", { class: "event-dot", "aria-hidden": "true" }),
          h("div", {}, h("p", { class: "event-title", text: EVENT_LABELS[e.type] || e.type }), e.data?.period ? h("p", { class: "small", text: `${date(e.data.period.start)} – ${date(e.data.period.end)}` }) : null, e.type === "issue_failed" ? h("p", { class: "small", text: e.data.message }) : null, h("p", { class: "muted small", text: dateTime(e.at) })),
        ),
      ),
    ),
  );
  mount(
    main,
    h(
      "header",
      { class: "page-head" },
      h(
        "div",
        { class: "page-title" },
        h("a", { href: "#/recurring", class: "back-link" }, icon("back"), " Recurring"),
        h("div", { class: "title-row" }, h("h1", { text: rec.client_name || "Schedule" }), statusBadge(rec.status)),
        h("p", { class: "muted", text: `${everyText(rec)} · ${money(rec.total, rec.currency)}` }),
      ),
      h("div", { class: "page-actions" }, actions),
    ),
    rec.last_error
      ? h(
          "p",
          { class: "banner banner-warning", role: "alert", id: "issue-error" },
          `The invoice due ${date(rec.next_date)} could not be issued (${date(rec.last_error.date)}): ${rec.last_error.message}. Fix the schedule; the next daily run tries again.`,
        )
      : null,
    h(
      "div",
      { class: "split" },
      h("div", { class: "split-main" }, h("section", { class: "card doc" }, meta, linesTable, rec.notes ? h("p", { class: "notes", text: rec.notes }) : null), periods),
      h("div", { class: "split-side" }, timelineCard),
    ),
  );
  return null;
}
