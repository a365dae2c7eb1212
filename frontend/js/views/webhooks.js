// Webhooks: endpoints that hear about every invoice change, signed (Standard Webhooks).
// The list (add, disable/enable, delete), the signing secret shown once, and one endpoint's
// deliveries log with "Redeliver".

import { call, listAll } from "../api.js";
import { h, icon, mount } from "../dom.js";
import { dateTime } from "../format.js";
import { navigate } from "../state.js";
import { confirmDialog, describeError, emptyState, field, loading, openDialog, pageHeader, toast, withBusy } from "../ui.js";

const EVENT_TYPES = [
  "invoice.created",
  "invoice.updated",
  "invoice.deleted",
  "invoice.finalized",
  "invoice.sent",
  "invoice.viewed",
  "invoice.payment_recorded",
  "invoice.paid",
  "invoice.overdue",
  "invoice.reminder_sent",
  "invoice.voided",
  "invoice.marked_uncollectible",
  "invoice.credited",
  "invoice.refund_recorded",
];

function statusBadge(hook) {
  const label = hook.status === "enabled" ? "Enabled" : hook.disabled_reason === "failing" ? "Disabled: failing" : "Disabled";
  return h("span", { class: `badge badge-hook-${hook.status}`, text: label });
}

function eventsSummary(events) {
  if (!events || events.includes("*")) return "All events";
  return events.length <= 2 ? events.join(", ") : `${events.length} event types`;
}

function eventPicker() {
  const all = h("input", { type: "checkbox", id: "wh-all", checked: true, dataset: { collect: "no" } });
  const boxes = EVENT_TYPES.map((t) => h("input", { type: "checkbox", value: t, id: `wh-${t}`, dataset: { collect: "no" }, disabled: true }));
  all.addEventListener("change", () => boxes.forEach((b) => (b.disabled = all.checked)));
  const node = h(
    "fieldset",
    { class: "fieldset webhook-events" },
    h("legend", { text: "Events" }),
    h("div", { class: "field field-check" }, h("label", { for: "wh-all" }, all, " All events, including types added later")),
    h(
      "div",
      { class: "event-grid" },
      boxes.map((b, i) => h("label", { for: b.id, class: "event-check" }, b, " ", h("span", { class: "mono small", text: EVENT_TYPES[i] }))),
    ),
  );
  node.value = () => (all.checked ? ["*"] : boxes.filter((b) => b.checked).map((b) => b.value));
  return node;
}

async function showSecret(created) {
  const secretInput = h("input", { type: "text", readonly: true, class: "mono key-value", value: created.secret, "aria-label": "Signing secret", id: "webhook-secret" });
  const copy = h("button", { type: "button", class: "btn btn-secondary", text: "Copy" });
  copy.addEventListener("click", async () => {
    secretInput.select();
    try {
      await navigator.clipboard.writeText(created.secret);
      copy.textContent = "Copied";
    } catch {
      copy.textContent = "Press Ctrl+C";
    }
  });
  await openDialog({
    title: "Endpoint added: its signing secret",
    body: [
      h("p", { class: "banner banner-warning", text: "Copy this secret now. It is shown only once; Billow keeps it encrypted and never shows it again." }),
      h("div", { class: "key-row" }, secretInput, copy),
      h("p", { class: "muted small", text: "Verify each delivery's webhook-signature header with it (any Standard Webhooks library). Deliveries are retried for 3 days; use webhook-id to ignore repeats." }),
    ],
    cancelLabel: "Done",
  });
}

async function addEndpoint(main) {
  const picker = eventPicker();
  const created = await openDialog({
    title: "Add a webhook endpoint",
    wide: true,
    body: [
      field({ label: "Endpoint URL", name: "url", required: true, type: "url", placeholder: "https://erp.example.com/hooks/billow", hint: "Must be https:// and reachable from the internet.", wide: true }),
      field({ label: "Description", name: "description", placeholder: "e.g. ERP sync", wide: true }),
      picker,
    ],
    submitLabel: "Add endpoint",
    onSubmit: (_f, v) => call("webhook.create", { url: v.url || "", events: picker.value(), ...(v.description ? { description: v.description } : {}) }, { idempotent: true }),
  });
  if (!created) return;
  await showSecret(created);
  renderWebhooks(main);
}

function listView(main, hooks) {
  const add = h("button", { type: "button", class: "btn btn-primary" }, icon("plus"), " Add endpoint");
  add.addEventListener("click", () => addEndpoint(main));
  const rows = hooks.map((w) => {
    const toggle = h("button", { type: "button", class: "btn btn-ghost btn-sm", text: w.status === "enabled" ? "Disable" : "Enable", "aria-label": `${w.status === "enabled" ? "Disable" : "Enable"} ${w.url}` });
    toggle.addEventListener("click", () =>
      withBusy(toggle, async () => {
        try {
          await call("webhook.update", { webhook_id: w.id, version: w.version, status: w.status === "enabled" ? "disabled" : "enabled" });
          toast(w.status === "enabled" ? "Endpoint disabled" : "Endpoint enabled", "success");
          renderWebhooks(main);
        } catch (err) {
          toast(describeError(err), "error");
        }
      }),
    );
    const remove = h("button", { type: "button", class: "btn btn-danger-ghost btn-sm", text: "Delete", "aria-label": `Delete ${w.url}` });
    remove.addEventListener("click", async () => {
      if (!(await confirmDialog("Delete this endpoint?", `${w.url} stops receiving events at once.`, "Delete endpoint", true))) return;
      try {
        await call("webhook.delete", { webhook_id: w.id });
        toast("Endpoint deleted", "success");
        renderWebhooks(main);
      } catch (err) {
        toast(describeError(err), "error");
      }
    });
    return h(
      "tr",
      {},
      h(
        "td",
        {},
        h("a", { href: `#/webhooks/${encodeURIComponent(w.id)}`, class: "mono webhook-url", text: w.url }),
        w.description ? h("div", { class: "muted small", text: w.description }) : null,
      ),
      h("td", { text: eventsSummary(w.events) }),
      h("td", {}, statusBadge(w)),
      h("td", { text: dateTime(w.created_at) }),
      h("td", { class: "row-actions" }, h("a", { href: `#/webhooks/${encodeURIComponent(w.id)}`, class: "btn btn-ghost btn-sm", text: "Deliveries" }), toggle, remove),
    );
  });
  mount(
    main,
    pageHeader("Webhooks", [add], "Billow posts every invoice change to these endpoints, signed, and retries for 3 days."),
    h(
      "section",
      { class: "card" },
      hooks.length
        ? h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              { class: "table" },
              h("thead", {}, h("tr", {}, ["Endpoint", "Events", "Status", "Added", ""].map((t) => h("th", { scope: "col", text: t })))),
              h("tbody", {}, rows),
            ),
          )
        : emptyState("No endpoints yet", "Add an endpoint to let your other systems hear about invoices as they are created, sent and paid."),
    ),
  );
}

function outcome(a) {
  if (a.status_code && a.status_code >= 200 && a.status_code < 300) return h("span", { class: "badge badge-paid", text: `${a.status_code} OK` });
  return h("span", { class: "delivery-error", text: a.error || `HTTP ${a.status_code}` });
}

async function deliveriesView(main, webhookId) {
  const hook = await call("webhook.get", { webhook_id: webhookId });
  const page = await call("webhook.deliveries", { webhook_id: webhookId, limit: 100 });
  const refresh = h("button", { type: "button", class: "btn btn-secondary" }, "Refresh");
  refresh.addEventListener("click", () => deliveriesView(main, webhookId));
  const rows = page.items.map((a) => {
    const again = h("button", { type: "button", class: "btn btn-ghost btn-sm", text: "Redeliver", "aria-label": `Redeliver ${a.event_type} ${a.event_id}` });
    again.addEventListener("click", () =>
      withBusy(again, async () => {
        try {
          await call("webhook.redeliver", { webhook_id: webhookId, event_id: a.event_id });
          toast("Sent again shortly, with the same webhook-id", "success");
        } catch (err) {
          toast(describeError(err), "error");
        }
      }),
    );
    return h(
      "tr",
      {},
      h("td", { text: dateTime(a.at) }),
      h("td", {}, h("span", { class: "mono small", text: a.event_type }), h("div", { class: "muted small mono", text: a.event_id })),
      h("td", { class: "num", text: String(a.attempt) }),
      h("td", {}, outcome(a)),
      h("td", { class: "num", text: `${a.duration_ms} ms` }),
      h("td", { text: a.next_attempt_at ? dateTime(a.next_attempt_at) : "—" }),
      h("td", { class: "row-actions" }, hook.status === "enabled" ? again : null),
    );
  });
  mount(
    main,
    h("a", { href: "#/webhooks", class: "back-link" }, icon("back"), " Webhooks"),
    pageHeader("Deliveries", [refresh], hook.url),
    h("p", {}, statusBadge(hook), " ", h("span", { class: "muted", text: eventsSummary(hook.events) })),
    h(
      "section",
      { class: "card" },
      page.items.length
        ? h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              { class: "table deliveries" },
              h("thead", {}, h("tr", {}, ["When", "Event", "Attempt", "Result", "Took", "Next try", ""].map((t, i) => h("th", { scope: "col", class: i === 2 || i === 4 ? "num" : null, text: t })))),
              h("tbody", {}, rows),
            ),
          )
        : emptyState("No deliveries yet", "Attempts appear here as soon as an event is sent to this endpoint."),
    ),
  );
}

export async function renderWebhooks(main, webhookId = null) {
  mount(main, pageHeader("Webhooks"), loading());
  if (webhookId) {
    try {
      await deliveriesView(main, webhookId);
    } catch (err) {
      if (err.code === "not_found") navigate("#/webhooks");
      else throw err;
    }
    return null;
  }
  listView(main, await listAll("webhook.list"));
  return null;
}
