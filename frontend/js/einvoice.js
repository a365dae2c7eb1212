// E-invoicing choices shared by the client form and the company settings.

export const EINVOICE_FORMATS = [
  ["facturx", "Factur-X / ZUGFeRD (PDF with embedded XML)"],
  ["xrechnung", "XRechnung (German public sector)"],
  ["peppol", "Peppol BIS Billing 3.0"],
];

/** Common EAS codes (CEF code list) for electronic addresses; the server checks the full list. */
export const EAS_SCHEMES = [
  ["", "None"],
  ["0204", "0204 — Leitweg-ID (DE)"],
  ["9930", "9930 — German VAT number"],
  ["0208", "0208 — Belgian enterprise number"],
  ["9925", "9925 — Belgian VAT number"],
  ["0009", "0009 — SIRET (FR)"],
  ["0002", "0002 — SIREN (FR)"],
  ["9957", "9957 — French VAT number"],
  ["0106", "0106 — KvK (NL)"],
  ["0190", "0190 — OIN (NL)"],
  ["9944", "9944 — Dutch VAT number"],
  ["0007", "0007 — Swedish organisation number"],
  ["0192", "0192 — Norwegian organisation number"],
  ["0184", "0184 — Danish CVR"],
  ["0211", "0211 — Italian partita IVA"],
  ["9914", "9914 — Austrian VAT number"],
  ["0088", "0088 — GLN"],
  ["EM", "EM — e-mail address"],
];

/** `{scheme, value}` from the two form fields: both empty clears the address. */
export function electronicAddress(out, original) {
  const ea = out.electronic_address;
  if (ea && !ea.scheme && !ea.value) {
    if (original?.electronic_address) out.electronic_address = null;
    else delete out.electronic_address;
  }
  return out;
}
