// The entity (the company you invoice from) form, shared by first-run setup and settings.

import { h } from "../dom.js";
import { EAS_SCHEMES, electronicAddress } from "../einvoice.js";
import { countries, CURRENCIES, currencyFor, currencyName, EU_VAT_RATES, guessCountry } from "../format.js";
import { clearErrors, field, fieldset, setFieldError } from "../ui.js";

export const LOGO_MAX_BYTES = 512 * 1024;

/** "INV-{YYYY}-{SEQ:4}" → "INV-2026-0001" */
export function previewNumber(pattern, seq = 1) {
  const now = new Date();
  const yyyy = String(now.getFullYear());
  return String(pattern || "")
    .replaceAll("{YYYY}", yyyy)
    .replaceAll("{YY}", yyyy.slice(2))
    .replaceAll("{MM}", String(now.getMonth() + 1).padStart(2, "0"))
    .replaceAll("{DD}", String(now.getDate()).padStart(2, "0"))
    .replace(/\{SEQ(?::(\d+))?\}/g, (_, width) => String(seq).padStart(Number(width || 1), "0"));
}

function logoField(entity) {
  const hidden = h("input", { type: "hidden", name: "logo", dataset: { field: "logo" }, value: entity.logo || "" });
  const errId = `logo-err-${Math.random().toString(36).slice(2, 8)}`;
  const file = h("input", {
    type: "file",
    id: `${errId}-file`,
    accept: "image/png,image/jpeg",
    class: "file-input",
    "aria-describedby": `${errId}-hint ${errId}`,
    dataset: { collect: "no" },
  });
  const preview = h("img", { class: "logo-preview", alt: "Logo preview", hidden: !entity.logo });
  if (entity.logo) preview.src = entity.logo;
  const placeholder = h("div", { class: "logo-placeholder", hidden: Boolean(entity.logo), text: "No logo" });
  const remove = h("button", { type: "button", class: "btn btn-ghost btn-sm", text: "Remove", hidden: !entity.logo });
  const err = h("p", { class: "field-error", id: errId, role: "alert", hidden: true });
  // errors for "logo" land on the hidden input's describedby
  hidden.setAttribute("aria-describedby", errId);
  file.addEventListener("change", () => {
    err.hidden = true;
    err.textContent = "";
    const f = file.files && file.files[0];
    if (!f) return;
    if (!["image/png", "image/jpeg"].includes(f.type)) {
      setFieldError(hidden, "Choose a PNG or JPEG image.");
      file.value = "";
      return;
    }
    if (f.size > LOGO_MAX_BYTES) {
      setFieldError(hidden, `The logo is ${Math.ceil(f.size / 1024)} KiB; the limit is 512 KiB.`);
      file.value = "";
      return;
    }
    const reader = new FileReader();
    reader.addEventListener("load", () => {
      hidden.value = String(reader.result);
      preview.src = hidden.value;
      preview.hidden = false;
      placeholder.hidden = true;
      remove.hidden = false;
      hidden.dispatchEvent(new Event("input", { bubbles: true }));
    });
    reader.readAsDataURL(f);
  });
  remove.addEventListener("click", () => {
    hidden.value = "";
    preview.removeAttribute("src");
    preview.hidden = true;
    placeholder.hidden = false;
    remove.hidden = true;
    file.value = "";
  });
  return h(
    "div",
    { class: "field field-wide" },
    h("label", { for: file.id, text: "Logo" }),
    h("div", { class: "logo-row" }, h("div", { class: "logo-box" }, preview, placeholder), h("div", {}, file, remove)),
    h("p", { class: "hint", id: `${errId}-hint`, text: "PNG or JPEG, up to 512 KiB. Shown at the top of your invoices." }),
    err,
    hidden,
  );
}

/**
 * Build the entity form's fieldsets. `full` adds the settings-only fields (legal details,
 * reminders, payment reference, rounding...).
 */
export function entityFields(entity = {}, full = false) {
  const country = entity.address?.country || guessCountry();
  const addr = entity.address || {};
  const bank = entity.bank || {};
  const countryField = field({ label: "Country", name: "address.country", required: true, options: countries(), value: country });
  const vatRate = field({
    label: "Default VAT rate (%)",
    name: "default_vat_rate",
    value: entity.default_vat_rate ?? EU_VAT_RATES[country] ?? "0",
    attrs: { inputmode: "decimal" },
    hint: "Used for lines to buyers in your own country.",
  });
  let vatTouched = Boolean(entity.id);
  vatRate.control.addEventListener("input", () => {
    vatTouched = true;
  });
  const currency = field({
    label: "Currency",
    name: "currency",
    options: CURRENCIES.map((c) => [c, `${c} — ${currencyName(c)}`]),
    value: entity.currency || currencyFor(country),
  });
  let currencyTouched = Boolean(entity.id);
  currency.control.addEventListener("change", () => {
    currencyTouched = true;
  });
  // Until the user sets them, the VAT rate and the currency follow the company's country.
  countryField.control.addEventListener("change", () => {
    const rate = EU_VAT_RATES[countryField.control.value];
    if (!vatTouched && rate) vatRate.control.value = rate;
    if (!currencyTouched) currency.control.value = currencyFor(countryField.control.value);
  });
  const pattern = field({
    label: "Invoice number pattern",
    name: "invoice_number_pattern",
    value: entity.invoice_number_pattern || "INV-{YYYY}-{SEQ:4}",
    hint: "",
  });
  const patternHint = pattern.querySelector(".hint") || h("p", { class: "hint" });
  const updatePreview = () => {
    patternHint.textContent = `Looks like ${previewNumber(pattern.control.value)} · use {YYYY}, {YY}, {MM}, {DD}, {SEQ:4}`;
  };
  if (!patternHint.parentElement) {
    patternHint.id = `${pattern.control.id}-hint`;
    pattern.control.setAttribute("aria-describedby", `${patternHint.id} ${pattern.control.getAttribute("aria-describedby")}`);
    pattern.control.after(patternHint);
  }
  pattern.control.addEventListener("input", updatePreview);
  updatePreview();
  const color = field({ label: "Brand colour", name: "brand_color", type: "color", value: entity.brand_color || "#2F5BEA", hint: "Accent colour of your invoices." });

  const sets = [
    fieldset("Company", [
      field({ label: "Company name", name: "name", required: true, value: entity.name, autocomplete: "organization" }),
      full ? field({ label: "Legal name", name: "legal_name", value: entity.legal_name, hint: "If different from the name above." }) : null,
      field({ label: "Email", name: "email", type: "email", value: entity.email, hint: "Replies to your invoices go here." }),
      full ? field({ label: "Phone", name: "phone", type: "tel", value: entity.phone }) : null,
      full ? field({ label: "Website", name: "website", type: "url", value: entity.website }) : null,
    ]),
    fieldset("Address", [
      field({ label: "Street and number", name: "address.line1", required: true, value: addr.line1, wide: true, autocomplete: "address-line1" }),
      full ? field({ label: "Address line 2", name: "address.line2", value: addr.line2, wide: true }) : null,
      field({ label: "Postal code", name: "address.postal_code", required: true, value: addr.postal_code, autocomplete: "postal-code" }),
      field({ label: "City", name: "address.city", required: true, value: addr.city }),
      full ? field({ label: "Region", name: "address.region", value: addr.region }) : null,
      countryField,
    ]),
    fieldset("Tax", [
      field({ label: "VAT number", name: "vat_number", value: entity.vat_number, placeholder: "DE123456789", hint: "Checked for format and check digits." }),
      full ? field({ label: "Tax number", name: "tax_number", value: entity.tax_number }) : null,
      full ? field({ label: "Registration number", name: "registration_number", value: entity.registration_number }) : null,
      vatRate,
      currency,
      field({ label: "Payment terms (days)", name: "payment_terms_days", type: "number", value: entity.payment_terms_days ?? 30, attrs: { min: 0, max: 365 } }),
    ]),
    full
      ? fieldset("E-invoicing", [
          field({ label: "Electronic address scheme", name: "electronic_address.scheme", options: EAS_SCHEMES, value: entity.electronic_address?.scheme || "" }),
          field({ label: "Electronic address", name: "electronic_address.value", value: entity.electronic_address?.value, placeholder: "DE123456789", hint: "BT-34: where your clients' systems send e-invoices and replies (XRechnung and Peppol need it)." }),
        ])
      : null,
    fieldset("Bank", [
      field({ label: "Account holder", name: "bank.account_holder", value: bank.account_holder }),
      field({ label: "IBAN", name: "bank.iban", value: bank.iban, placeholder: "DE89 3704 0044 0532 0130 00" }),
      field({ label: "BIC", name: "bank.bic", value: bank.bic }),
      full ? field({ label: "Bank name", name: "bank.bank_name", value: bank.bank_name }) : null,
    ]),
    fieldset("Branding", [logoField(entity), color, full ? field({ label: "Footer text", name: "footer_text", type: "textarea", value: entity.footer_text, wide: true }) : null]),
    fieldset("Numbering", [
      pattern,
      full
        ? field({ label: "Credit note pattern", name: "credit_note_number_pattern", value: entity.credit_note_number_pattern || "CN-{YYYY}-{SEQ:4}" })
        : null,
      full
        ? field({ label: "Restart numbering", name: "number_reset", options: [["yearly", "Every year"], ["monthly", "Every month"], ["daily", "Every day"], ["never", "Never"]], hint: "A monthly restart needs {MM} in the patterns, a daily one {MM} and {DD}.", value: entity.number_reset || "yearly" })
        : null,
      full
        ? field({ label: "Next invoice number", name: "next_invoice_number", type: "number", value: entity.next_invoice_number ?? "", hint: "Only when moving from another system.", attrs: { min: 1 } })
        : null,
    ]),
  ];
  if (full) {
    sets.push(
      fieldset("Payments and reminders", [
        field({
          label: "Payment reference",
          name: "payment_reference",
          options: [["number", "Invoice number"], ["rf", "RF creditor reference (ISO 11649)"], ["ocr", "OCR (Sweden)"]],
          value: entity.payment_reference || "number",
        }),
        field({ label: "Rounding", name: "rounding", options: [["half_up", "Half up"], ["half_even", "Half even (banker's)"]], value: entity.rounding || "half_up" }),
        field({
          label: "Reminder days",
          name: "reminder_days",
          value: (entity.reminder_days || [7, 14, 30]).join(", "),
          hint: "Days after the due date, separated by commas.",
        }),
        field({ label: "Language of documents", name: "locale", value: entity.locale || "en", hint: "BCP 47 code: en, de, sv, fr…" }),
        field({ label: "Default notes", name: "default_notes", type: "textarea", value: entity.default_notes, wide: true }),
      ]),
    );
  }
  return sets;
}

/** Turn collected form values into API types (numbers, lists). Returns null on a local error. */
export function entityPayload(form, values, original = null) {
  clearErrors(form);
  const out = electronicAddress({ ...values }, original);
  if (typeof out.reminder_days === "string") {
    const parts = out.reminder_days.split(/[,\s]+/).filter(Boolean);
    if (parts.some((p) => !/^\d+$/.test(p))) {
      setFieldError(form.querySelector('[data-field="reminder_days"]'), "Use whole numbers of days, e.g. 7, 14, 30.");
      return null;
    }
    out.reminder_days = parts.map(Number);
  }
  for (const key of ["payment_terms_days", "next_invoice_number"]) {
    if (typeof out[key] === "string") out[key] = Number(out[key]);
  }
  return out;
}
