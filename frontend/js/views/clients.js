// Clients: list with search, create/edit, VAT verification through VIES.

import { call } from "../api.js";
import { debounce, h, icon, mount } from "../dom.js";
import { countries, countryName, CURRENCIES, date, dateTime } from "../format.js";
import { clientNames, entities, invalidate, navigate, replaceListUrl } from "../state.js";
import {
  collect,
  confirmDialog,
  describeError,
  emptyState,
  field,
  fieldset,
  formError,
  loading,
  openDialog,
  pageHeader,
  showError,
  toast,
  withBusy,
} from "../ui.js";
import { EAS_SCHEMES, EINVOICE_FORMATS, electronicAddress } from "../einvoice.js";
import { invoiceTable } from "./invoices.js";

function clientFields(c = {}, defaultCountry = "DE") {
  const addr = c.address || {};
  return [
    fieldset("Client", [
      field({ label: "Name", name: "name", required: true, value: c.name }),
      field({ label: "Contact person", name: "contact_name", value: c.contact_name }),
      field({ label: "Email", name: "email", type: "email", value: c.email, hint: "Invoices are sent here." }),
      field({ label: "VAT number", name: "vat_number", value: c.vat_number, placeholder: "FR40303265045" }),
    ]),
    fieldset("Address", [
      field({ label: "Street and number", name: "address.line1", value: addr.line1, wide: true }),
      field({ label: "Address line 2", name: "address.line2", value: addr.line2, wide: true }),
      field({ label: "Postal code", name: "address.postal_code", value: addr.postal_code }),
      field({ label: "City", name: "address.city", value: addr.city }),
      field({ label: "Region", name: "address.region", value: addr.region }),
      field({ label: "Country", name: "address.country", required: true, options: countries(), value: addr.country || defaultCountry }),
    ]),
    fieldset("E-invoicing", [
      field({
        label: "E-invoice format",
        name: "einvoice_format",
        options: EINVOICE_FORMATS,
        value: c.einvoice_format || "facturx",
        hint: "What this client receives: every PDF is a Factur-X; XRechnung and Peppol add their XML.",
      }),
      field({ label: "Buyer reference", name: "buyer_reference", value: c.buyer_reference, placeholder: "04011000-1234512345-06", hint: "BT-10, e.g. the Leitweg-ID of a German public buyer." }),
      field({ label: "Electronic address scheme", name: "electronic_address.scheme", options: EAS_SCHEMES, value: c.electronic_address?.scheme || "" }),
      field({ label: "Electronic address", name: "electronic_address.value", value: c.electronic_address?.value, placeholder: "0403170701", hint: "BT-49: where e-invoices reach the client (Peppol ID, Leitweg-ID, e-mail)." }),
      field({ label: "Registration number", name: "registration_number", value: c.registration_number, hint: "BT-47, e.g. the commercial register number." }),
      field({ label: "Phone", name: "phone", type: "tel", value: c.phone }),
    ]),
    fieldset("Self-billing (this client as a supplier)", [
      field({
        label: "Agreement reference",
        name: "self_billing.agreement_reference",
        value: c.self_billing?.agreement_reference,
        placeholder: "SBA-2026-01",
        hint: "The supplier agreed that you issue its invoices (VAT Directive art. 224).",
      }),
      field({ label: "Agreement valid from", name: "self_billing.valid_from", type: "date", value: c.self_billing?.valid_from }),
      field({ label: "Agreement valid to", name: "self_billing.valid_to", type: "date", value: c.self_billing?.valid_to, hint: "Empty: until further notice." }),
    ]),
    fieldset("Invoicing", [
      field({ label: "Currency", name: "currency", options: [["", "Company default"], ...CURRENCIES.map((x) => [x, x])], value: c.currency || "" }),
      field({ label: "Language", name: "locale", value: c.locale, placeholder: "en", hint: "Language of invoices and mails." }),
      field({ label: "Payment terms (days)", name: "payment_terms_days", type: "number", value: c.payment_terms_days ?? "", attrs: { min: 0 } }),
      field({ label: "Notes", name: "notes", type: "textarea", value: c.notes, wide: true }),
    ]),
  ];
}

/** `self_billing` from its three fields: all empty removes the agreement. */
function selfBilling(out, original) {
  const sb = out.self_billing;
  if (sb && !sb.agreement_reference && !sb.valid_from && !sb.valid_to) {
    if (original?.self_billing) out.self_billing = null;
    else delete out.self_billing;
  }
  return out;
}

function clientPayload(values, original = null) {
  const out = selfBilling(electronicAddress({ ...values }, original), original);
  if (typeof out.payment_terms_days === "string") out.payment_terms_days = Number(out.payment_terms_days);
  return out;
}

/** The VIES evidence for a client's VAT number. */
export function vatEvidence(v) {
  if (!v) return h("p", { class: "muted", text: "Not verified yet." });
  const label = { valid: "Valid", invalid: "Invalid", unavailable: "Could not be checked" }[v.status] || v.status;
  return h(
    "div",
    { class: "vat-evidence" },
    h("p", {}, h("span", { class: `vat-chip vat-${v.status}`, text: label }), " ", h("span", { class: "muted small", text: `checked ${dateTime(v.checked_at)}` })),
    h(
      "dl",
      { class: "meta meta-1" },
      v.name ? h("div", {}, h("dt", { text: "Registered name" }), h("dd", { text: v.name })) : null,
      v.address ? h("div", {}, h("dt", { text: "Registered address" }), h("dd", { class: "pre", text: v.address })) : null,
      v.request_identifier ? h("div", {}, h("dt", { text: "Consultation number" }), h("dd", { class: "mono", text: v.request_identifier })) : null,
      h("div", {}, h("dt", { text: "Checked on" }), h("dd", { text: date(v.checked_at) })),
    ),
  );
}

export async function newClientDialog() {
  const ents = await entities();
  const created = await openDialog({
    title: "New client",
    wide: true,
    body: clientFields({}, ents[0]?.address?.country || "DE"),
    submitLabel: "Create client",
    onSubmit: (_f, v) => call("client.create", clientPayload(v), { idempotent: true }),
  });
  if (created) invalidate("clients");
  return created;
}

export async function renderClients(main, params) {
  const search = h("input", { type: "search", class: "search-input", placeholder: "Search clients", "aria-label": "Search clients", value: params.get("q") || "" });
  const results = h("div", { class: "results", "aria-live": "polite" });
  const newBtn = h("button", { type: "button", class: "btn btn-primary" }, icon("plus"), " New client");
  newBtn.addEventListener("click", async () => {
    const c = await newClientDialog();
    if (c) {
      toast(`Client ${c.name} created`, "success");
      navigate(`#/clients/${encodeURIComponent(c.id)}`);
    }
  });
  mount(main, pageHeader("Clients", [newBtn]), h("section", { class: "card" }, h("div", { class: "toolbar" }, h("div", { class: "search" }, icon("search"), search)), results));
  let page = 1;
  let seq = 0;
  const load = async () => {
    const mine = ++seq;
    const q = search.value.trim();
    if (!replaceListUrl("clients", q ? `q=${encodeURIComponent(q)}` : "")) return;
    mount(results, loading());
    let res;
    try {
      res = await call("client.list", { ...(q ? { q } : {}), limit: 25, page });
    } catch (err) {
      if (mine === seq) mount(results, h("div", { class: "form-error", role: "alert", text: describeError(err) }));
      return;
    }
    if (mine !== seq) return;
    const items = res.items || [];
    if (!items.length) {
      mount(results, q ? emptyState("No matching clients", "Try another name or email.") : emptyState("No clients yet", "Add the companies and people you invoice.", null));
      return;
    }
    const rows = items.map((c) => {
      const href = `#/clients/${encodeURIComponent(c.id)}`;
      const tr = h(
        "tr",
        { class: "row-link" },
        h("td", {}, h("a", { href, text: c.name }), c.contact_name ? h("div", { class: "muted small", text: c.contact_name }) : null),
        h("td", { text: c.email || "—" }),
        h("td", { text: countryName(c.address?.country) }),
        h(
          "td",
          {},
          c.vat_number ? h("span", { class: "mono", text: c.vat_number }) : h("span", { class: "muted", text: "—" }),
          c.vat_verification ? [" ", h("span", { class: `vat-chip vat-${c.vat_verification.status}`, text: c.vat_verification.status })] : null,
        ),
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
      h(
        "div",
        { class: "table-wrap" },
        h("table", { class: "table" }, h("thead", {}, h("tr", {}, ["Name", "Email", "Country", "VAT number"].map((t) => h("th", { scope: "col", text: t })))), h("tbody", {}, rows)),
      ),
      res.pages > 1 ? h("div", { class: "pager" }, h("span", { class: "muted", text: `${res.total} clients · page ${res.page} of ${res.pages}` }), h("div", { class: "pager-buttons" }, prev, next)) : null,
    );
  };
  const onSearch = debounce(() => {
    page = 1;
    load();
  }, 300);
  search.addEventListener("input", onSearch);
  await load();
  search.focus();
  return () => onSearch.cancel();
}

export async function renderClient(main, id) {
  mount(main, loading());
  let client = await call("client.get", { client_id: id });
  const [invoices, names] = await Promise.all([call("invoice.list", { client_id: id, limit: 10 }), clientNames()]);
  const save = h("button", { type: "submit", class: "btn btn-primary", text: "Save changes" });
  const form = h("form", { class: "client-form", novalidate: true }, formError(), clientFields(client), h("div", { class: "form-actions" }, save));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      client = await withBusy(save, () => call("client.update", { client_id: client.id, version: client.version, ...clientPayload(collect(form, client), client) }), "Saving…");
      invalidate("clients");
      toast("Client saved", "success");
      renderVat();
      title.textContent = client.name;
    } catch (err) {
      showError(form, err);
    }
  });

  const vatBox = h("div", { class: "vat-box" });
  const verify = h("button", { type: "button", class: "btn btn-secondary", dataset: { action: "verify-vat" } }, icon("check"), " Verify VAT");
  const vatError = h("div", { class: "form-error", role: "alert", hidden: true });
  function renderVat() {
    verify.disabled = !client.vat_number;
    mount(
      vatBox,
      client.vat_number ? h("p", {}, h("span", { class: "mono", text: client.vat_number })) : h("p", { class: "muted", text: "Add a VAT number to verify it with the EU VIES service." }),
      vatEvidence(client.vat_verification),
    );
  }
  renderVat();
  verify.addEventListener("click", () =>
    withBusy(
      verify,
      async () => {
        vatError.hidden = true;
        try {
          client = await call("client.verify_vat", { client_id: client.id });
          invalidate("clients");
          renderVat();
          const st = client.vat_verification?.status;
          toast(st === "valid" ? "VAT number is valid" : `VAT number is ${st || "unchecked"}`, st === "valid" ? "success" : "info");
        } catch (err) {
          const detail = err.details?.[0]?.message;
          vatError.textContent = `${describeError(err)}${detail && err.code === "validation_error" ? ` ${detail}` : ""}`;
          vatError.hidden = false;
        }
      },
      "Asking VIES…",
    ),
  );

  const archive = h("button", { type: "button", class: "btn btn-ghost", text: "Archive client" });
  archive.addEventListener("click", async () => {
    if (!(await confirmDialog(`Archive ${client.name}?`, "Archived clients are hidden from lists; their invoices stay.", "Archive"))) return;
    try {
      await call("client.archive", { client_id: client.id });
      invalidate("clients");
      toast("Client archived", "success");
      navigate("#/clients");
    } catch (err) {
      toast(describeError(err), "error");
    }
  });
  const newInvoice = h("a", { href: `#/invoices/new?client_id=${encodeURIComponent(client.id)}`, class: "btn btn-primary" }, icon("plus"), " New invoice");
  const title = h("h1", { text: client.name });
  mount(
    main,
    h(
      "header",
      { class: "page-head" },
      h("div", { class: "page-title" }, h("a", { href: "#/clients", class: "back-link" }, icon("back"), " Clients"), title),
      h("div", { class: "page-actions" }, archive, newInvoice),
    ),
    h(
      "div",
      { class: "split" },
      h("div", { class: "split-main" }, h("section", { class: "card" }, form)),
      h(
        "div",
        { class: "split-side" },
        h("section", { class: "card" }, h("h2", { class: "card-title", text: "VAT verification" }), vatBox, vatError, verify),
        h(
          "section",
          { class: "card" },
          h("h2", { class: "card-title", text: "Recent invoices" }),
          invoices.items?.length ? invoiceTable(invoices.items, names) : h("p", { class: "muted", text: "No invoices for this client yet." }),
        ),
      ),
    ),
  );
  return null;
}
