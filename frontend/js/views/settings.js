// Settings: companies (branding, numbering, reminders), API keys, account.

import { call, getEmail, listAll } from "../api.js";
import { h, icon, mount } from "../dom.js";
import { countryName, dateTime } from "../format.js";
import { entities, navigate } from "../state.js";
import { collect, confirmDialog, describeError, field, formError, loading, openDialog, pageHeader, showError, toast, withBusy } from "../ui.js";
import { entityFields, entityPayload, previewNumber } from "./entity_form.js";

const TABS = [
  ["entities", "Companies"],
  ["keys", "API keys"],
  ["account", "Account"],
];

function tabs(active) {
  return h(
    "nav",
    { class: "tabs", "aria-label": "Settings sections" },
    TABS.map(([key, label]) => h("a", { href: `#/settings/${key}`, class: "tab", text: label, "aria-current": key === active ? "page" : null })),
  );
}

async function entitiesTab(body, entityId) {
  if (entityId) return entityEditor(body, entityId);
  const list = await entities(true);
  const add = h("a", { href: "#/settings/entities/new", class: "btn btn-secondary" }, icon("plus"), " Add company");
  mount(
    body,
    h(
      "div",
      { class: "entity-cards" },
      list.map((e) =>
        h(
          "a",
          { class: "entity-card", href: `#/settings/entities/${encodeURIComponent(e.id)}` },
          h("span", { class: "entity-swatch", style: null }),
          h(
            "div",
            { class: "entity-card-body" },
            h("strong", { text: e.name }),
            h("span", { class: "muted small", text: [e.address?.city, countryName(e.address?.country)].filter(Boolean).join(", ") }),
            h("span", { class: "muted small", text: `${e.currency} · numbers like ${previewNumber(e.invoice_number_pattern)}${e.vat_number ? ` · VAT ${e.vat_number}` : ""}` }),
          ),
          e.logo ? h("img", { class: "entity-logo", src: e.logo, alt: "" }) : null,
          h("span", { class: "entity-edit", "aria-hidden": "true", text: "Edit ›" }),
        ),
      ),
    ),
    h("div", { class: "form-actions" }, add),
  );
  // brand colours are user data; set them through the style API, not markup
  body.querySelectorAll(".entity-swatch").forEach((el, i) => {
    if (/^#[0-9a-fA-F]{6}$/.test(list[i].brand_color || "")) el.style.background = list[i].brand_color;
  });
  return null;
}

async function entityEditor(body, entityId) {
  const isNew = entityId === "new";
  const entity = isNew ? {} : await call("entity.get", { entity_id: entityId });
  let current = entity;
  const save = h("button", { type: "submit", class: "btn btn-primary", text: isNew ? "Create company" : "Save changes" });
  const form = h(
    "form",
    { class: "entity-form", novalidate: true },
    h("div", { class: "form-title" }, h("a", { href: "#/settings/entities", class: "back-link" }, icon("back"), " Companies"), h("h2", { text: isNew ? "New company" : entity.name })),
    formError(),
    entityFields(entity, true),
    h("div", { class: "form-actions sticky-actions" }, save),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const payload = entityPayload(form, collect(form, isNew ? null : current), isNew ? null : current);
    if (!payload) return;
    try {
      const res = await withBusy(
        save,
        () => (isNew ? call("entity.create", payload, { idempotent: true }) : call("entity.update", { entity_id: current.id, version: current.version, ...payload })),
        "Saving…",
      );
      current = res;
      await entities(true);
      toast(isNew ? "Company created" : "Settings saved", "success");
      if (isNew) navigate(`#/settings/entities/${encodeURIComponent(res.id)}`);
    } catch (err) {
      showError(form, err);
    }
  });
  mount(body, form);
  return null;
}

async function keysTab(body) {
  const items = await listAll("apikey.list");
  const create = h("button", { type: "button", class: "btn btn-primary" }, icon("plus"), " Create API key");
  create.addEventListener("click", async () => {
    const created = await openDialog({
      title: "Create an API key",
      body: field({ label: "Name", name: "name", required: true, placeholder: "e.g. Accounting sync", hint: "So you can tell your keys apart." }),
      submitLabel: "Create key",
      onSubmit: (_f, v) => call("apikey.create", { name: v.name || "" }, { idempotent: true }),
    });
    if (!created) return;
    const keyInput = h("input", { type: "text", readonly: true, class: "mono key-value", value: created.key, "aria-label": "New API key", id: "new-api-key" });
    const copy = h("button", { type: "button", class: "btn btn-secondary", text: "Copy" });
    copy.addEventListener("click", async () => {
      keyInput.select();
      try {
        await navigator.clipboard.writeText(created.key);
        copy.textContent = "Copied";
      } catch {
        copy.textContent = "Press Ctrl+C";
      }
    });
    await openDialog({
      title: `API key “${created.name}”`,
      body: [
        h("p", { class: "banner banner-warning", text: "Copy this key now. It is shown only once; Billow keeps only a hash of it." }),
        h("div", { class: "key-row" }, keyInput, copy),
        h("p", { class: "muted small", text: "Use it as: Authorization: Bearer <key>" }),
      ],
      cancelLabel: "Done",
    });
    keysTab(body);
  });
  const rows = items.map((k) => {
    const revoke = h("button", { type: "button", class: "btn btn-danger-ghost btn-sm", text: "Revoke", "aria-label": `Revoke ${k.name}` });
    revoke.addEventListener("click", async () => {
      if (!(await confirmDialog(`Revoke “${k.name}”?`, "Anything using this key stops working at once.", "Revoke key", true))) return;
      await withBusy(revoke, async () => {
        try {
          await call("apikey.revoke", { apikey_id: k.id });
          toast("Key revoked", "success");
          keysTab(body);
        } catch (err) {
          toast(describeError(err), "error");
        }
      });
    });
    return h("tr", {}, h("td", { text: k.name }), h("td", { text: dateTime(k.created_at) }), h("td", { text: k.last_used_at ? dateTime(k.last_used_at) : "Never" }), h("td", { class: "row-actions" }, revoke));
  });
  mount(
    body,
    h("p", { class: "muted", text: "API keys let your other systems create and read invoices through the Billow API." }),
    items.length
      ? h(
          "div",
          { class: "table-wrap" },
          h("table", { class: "table" }, h("thead", {}, h("tr", {}, ["Name", "Created", "Last used", ""].map((t) => h("th", { scope: "col", text: t })))), h("tbody", {}, rows)),
        )
      : h("p", { class: "empty-inline muted", text: "No API keys yet." }),
    h("div", { class: "form-actions" }, create),
  );
  return null;
}

async function accountTab(body) {
  let me = null;
  try {
    me = await call("auth.me");
  } catch {
    me = { email: getEmail() };
  }
  mount(
    body,
    h(
      "dl",
      { class: "meta meta-1" },
      h("div", {}, h("dt", { text: "Signed in as" }), h("dd", { text: me.email || "—" })),
      h("div", {}, h("dt", { text: "Account" }), h("dd", { class: "mono", text: me.account_id || "—" })),
    ),
  );
  return null;
}

export async function renderSettings(main, tab, sub) {
  const body = h("div", { class: "settings-body" });
  const active = TABS.some(([k]) => k === tab) ? tab : "entities";
  mount(main, pageHeader("Settings"), tabs(active), h("section", { class: "card" }, body));
  mount(body, loading());
  try {
    if (active === "entities") await entitiesTab(body, sub);
    else if (active === "keys") await keysTab(body);
    else await accountTab(body);
  } catch (err) {
    mount(body, h("div", { class: "form-error", role: "alert", text: describeError(err) }));
  }
  return null;
}

