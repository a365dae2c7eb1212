// Formatting: money per currency (Intl.NumberFormat on the decimal *string*, never a float
// computation), dates, statuses, countries and currencies.

const LOCALE = navigator.language || "en";
const moneyCache = new Map();

function moneyFormatter(currency) {
  const key = currency || "EUR";
  if (!moneyCache.has(key)) {
    try {
      moneyCache.set(key, new Intl.NumberFormat(LOCALE, { style: "currency", currency: key }));
    } catch {
      moneyCache.set(key, null);
    }
  }
  return moneyCache.get(key);
}

/** "1234.50", "EUR" → "€1,234.50" (formatted from the string, so no binary rounding). */
export function money(amount, currency) {
  if (amount === null || amount === undefined || amount === "") return "—";
  const fmt = moneyFormatter(currency);
  const text = String(amount);
  if (!fmt) return `${text} ${currency || ""}`.trim();
  // Intl.NumberFormat.format accepts decimal strings exactly (ES2023); numbers are never
  // used for arithmetic here.
  return fmt.format(text);
}

/** Is the decimal string zero? ("0", "0.00", "-0.00") */
export function isZero(amount) {
  return /^-?0*(\.0*)?$/.test(String(amount ?? "0").trim());
}

/** Is the decimal string negative? */
export function isNegative(amount) {
  return String(amount ?? "").trim().startsWith("-") && !isZero(amount);
}

const dateFmt = new Intl.DateTimeFormat(LOCALE, { year: "numeric", month: "short", day: "numeric" });
const dateTimeFmt = new Intl.DateTimeFormat(LOCALE, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});

/** "2026-11-21" → "Nov 21, 2026" (a calendar date, no time zone shift). */
export function date(value) {
  if (!value) return "—";
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(value));
  if (m) return dateFmt.format(new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : dateFmt.format(d);
}

/** ISO timestamp → local date and time. */
export function dateTime(value) {
  if (!value) return "—";
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : dateTimeFmt.format(d);
}

/** Today as YYYY-MM-DD in local time. */
export function today() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export const STATUSES = ["draft", "open", "sent", "overdue", "paid", "void", "uncollectible", "credited"];

const STATUS_LABELS = {
  draft: "Draft",
  open: "Open",
  sent: "Sent",
  overdue: "Overdue",
  paid: "Paid",
  void: "Void",
  uncollectible: "Uncollectible",
  credited: "Credited",
};

export function statusLabel(status) {
  return STATUS_LABELS[status] || String(status || "");
}

const EVENT_LABELS = {
  created: "Draft created",
  updated: "Draft updated",
  finalized: "Finalized",
  pdf_rendered: "PDF rendered",
  sent: "Sent",
  send_failed: "Sending failed",
  payment_recorded: "Payment recorded",
  paid: "Paid in full",
  overdue: "Became overdue",
  reminder_sent: "Reminder sent",
  voided: "Voided",
  marked_uncollectible: "Marked uncollectible",
  credited: "Credit note issued",
  duplicated: "Duplicated",
  viewed: "Opened by the customer",
  link_rotated: "Customer link replaced",
};

export function eventLabel(type) {
  return EVENT_LABELS[type] || String(type || "").replaceAll("_", " ");
}

// ISO 3166-1 alpha-2 codes; names come from Intl.DisplayNames, so no data file is needed.
const COUNTRY_CODES = (
  "AD AE AF AG AI AL AM AO AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS " +
  "BT BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE " +
  "EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GT GU GW GY HK HN " +
  "HR HT HU ID IE IL IM IN IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI " +
  "LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA " +
  "NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU " +
  "RW SA SB SC SD SE SG SH SI SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TG TH TJ TK TL TM TN TO " +
  "TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"
).split(" ");

let regionNames = null;
try {
  regionNames = new Intl.DisplayNames([LOCALE], { type: "region" });
} catch {
  regionNames = null;
}

export function countryName(code) {
  if (!code) return "";
  try {
    return (regionNames && regionNames.of(code)) || code;
  } catch {
    return code;
  }
}

/** [[code, name]] sorted by name. */
export function countries() {
  return COUNTRY_CODES.map((c) => [c, countryName(c)]).sort((a, b) => a[1].localeCompare(b[1]));
}

export const CURRENCIES = [
  "EUR", "USD", "GBP", "CHF", "SEK", "DKK", "NOK", "PLN", "CZK", "HUF", "RON", "BGN", "ISK",
  "CAD", "AUD", "NZD", "JPY", "CNY", "INR", "SGD", "HKD", "KWD", "AED", "ZAR", "BRL", "MXN",
];

let currencyNames = null;
try {
  currencyNames = new Intl.DisplayNames([LOCALE], { type: "currency" });
} catch {
  currencyNames = null;
}

export function currencyName(code) {
  try {
    return (currencyNames && currencyNames.of(code)) || code;
  } catch {
    return code;
  }
}

// Standard VAT rates of EU member states, used only as the default suggestion at setup.
/** The currency a company in a country usually invoices in (euro countries and unknown: EUR). */
const COUNTRY_CURRENCY = {
  US: "USD", GB: "GBP", CH: "CHF", LI: "CHF", SE: "SEK", DK: "DKK", NO: "NOK", PL: "PLN",
  CZ: "CZK", HU: "HUF", RO: "RON", IS: "ISK", CA: "CAD", AU: "AUD", NZ: "NZD", JP: "JPY",
  CN: "CNY", IN: "INR", SG: "SGD", HK: "HKD", KW: "KWD", AE: "AED", ZA: "ZAR", BR: "BRL", MX: "MXN",
};

export function currencyFor(country) {
  return COUNTRY_CURRENCY[country] || "EUR";
}

export const EU_VAT_RATES = {
  AT: "20", BE: "21", BG: "20", CY: "19", CZ: "21", DE: "19", DK: "25", EE: "24", ES: "21",
  FI: "25.5", FR: "20", GR: "24", HR: "25", HU: "27", IE: "23", IT: "22", LT: "21", LU: "17",
  LV: "21", MT: "18", NL: "21", PL: "23", PT: "23", RO: "21", SE: "25", SI: "22", SK: "23",
};

/** Guess the user's country from the browser locale ("de-DE" → "DE"). */
export function guessCountry() {
  const m = /-([A-Z]{2})\b/.exec(navigator.language || "");
  return m ? m[1] : "DE";
}
