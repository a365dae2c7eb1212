"""Charts of accounts: which account each kind of posting goes to, per chart.

An entity keeps its books in one chart (``skr03``, ``skr04``, ``bas`` or ``generic``) and may
override single accounts by *role* (``accounts: {"receivables": "10000"}``). A role is what a
line of a journal entry is for ("receivables", "revenue_s_19", "output_vat_19", "payables",
...); :data:`ROLES` describes every role, each chart maps the roles it knows to its accounts.

Default chart by the entity's country: ``DE`` → SKR03 (DATEV's most used chart for small
businesses; SKR04 on request), ``SE`` → BAS. Every other country, Austria and Switzerland
included, gets the generic chart: Austria keeps its books in the Einheitskontenrahmen (DATEV's
SKR07) and Switzerland in the Kontenrahmen KMU, and both have other VAT rates (AT 20/13/10 %,
CH 8.1/3.8/2.6 %) than the rate-specific VAT accounts of SKR03/SKR04 (19/7 %) or BAS
(25/12/6 %); a German chart there would post every sale to the "other rate" accounts. Any
entity may still choose any chart.

Rates: a chart has per-rate revenue/VAT accounts only for its country's rates
(``revenue_s_19``...); any other rate goes to ``revenue_s_other`` / ``output_vat_other`` with
the rate kept in the line's ``vat_code``.

Sources of the account numbers (checked December 2026):
- SKR03/SKR04 VAT accounts: Odoo's German localisation (addons/l10n_de, account.tax-de_skr03.csv
  / account.tax-de_skr04.csv: 1776/1771/1770, 1576/1571, 1574/1774 intra-EU acquisition,
  1577/1787 §13b; SKR04 3806/3801/3800, 1406/1401); revenue accounts 8400/4400 (Erlöse 19 %),
  8120 (§ 4 Nr. 1a), 8125/4125 (§ 4 Nr. 1b) from DATEV booking examples
  (buchungssatz.de, steuerberater-pressler.de, epago.de); 8336/4336, 8338/4338, 8100/4100,
  bad debts 2400/2401/2406 and 6930/6931/6936 from DATEV's Kontenrahmen (SKR03/SKR04
  2024) as commonly published. ``revenue_z`` (8150/4150, "sonstige steuerfreie Umsätze") is
  our choice: Germany has no general zero rate.
- BAS: bas.se (BAS 2011 comparison table and later): 1510, 1930, 2440, 2611/2621/2631,
  2614/2615 (beräknad utgående moms på förvärv), 2641/2645, 3001/3002/3003/3004, 3105, 3108,
  3305, 3308, 4515/4531/4535/4545, 6351.
- Receivables and payables: DATEV's 1400/1200 ("Forderungen aus L+L") and 1600/3300
  ("Verbindlichkeiten aus L+L") are collective accounts fed by debtor/creditor accounts and
  cannot be posted to directly (intex-publishing.de SKR03/SKR04 Buchungsmuster: "1400 1200
  nicht bebuchbar"); without debtor accounts the postings go to 1410/1210 "ohne
  Kontokorrent" (same source) and 1610/3310 (by the same pattern; not found in a published
  list). An accountant who keeps debtors overrides ``receivables`` with one (``"10000"``).
- ``refund_due`` (what a customer is owed after a credit note on a paid invoice) has no
  dedicated account in any of the charts: SKR03 1700 / SKR04 3500 "Sonstige
  Verbindlichkeiten", BAS 2890 "Övriga kortfristiga skulder" (an accountant may prefer to
  keep it on the debtor: override ``refund_due``).

DATEV "Automatikkonten" (:attr:`Chart.automatic`): accounts for which DATEV computes the VAT
itself from the gross amount. The DATEV export folds VAT lines into those accounts' rows
(:mod:`functions.ledger.export_datev`); every other export keeps VAT on its own lines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from functions.domain.errors import ValidationFailed

ChartName = Literal["skr03", "skr04", "bas", "generic"]
CHART_NAMES: tuple[str, ...] = ("skr03", "skr04", "bas", "generic")

#: Every role a journal line can have, with what it is for (rate roles: ``<role>_<rate>``).
ROLES: dict[str, str] = {
    # sales (invoices and credit notes)
    "receivables": "amounts owed by customers (invoices not yet paid)",
    "bank": "payments received and made, refunds paid",
    "refund_due": "owed back to customers after a credit note on a paid invoice",
    "revenue_s": "revenue, standard/reduced rate (per rate: revenue_s_19, revenue_s_other)",
    "output_vat": "output VAT (per rate: output_vat_19, output_vat_other)",
    "revenue_z": "revenue, zero rated (Z)",
    "revenue_e": "revenue, exempt from VAT (E)",
    "revenue_ae": "revenue, services to another EU country, reverse charge (AE)",
    "revenue_k": "revenue, intra-community supply of goods (K)",
    "revenue_g": "revenue, export of goods outside the EU (G)",
    "revenue_o": "revenue, not subject to VAT here (O)",
    "bad_debt": "receivables written off (per rate where the chart has one: bad_debt_19)",
    "rounding": "the cent a last partial credit leaves when it settles an invoice in full",
    # purchases (self-billed invoices and credit notes: the entity is the buyer)
    "payables": "amounts owed to suppliers",
    "supplier_refund_due": "owed back by suppliers after a self-billed credit note",
    "purchases_s": "purchases with input VAT (per rate: purchases_s_19, purchases_s_other)",
    "input_vat": "input VAT (per rate: input_vat_19, input_vat_other)",
    "purchases_exempt": "purchases without VAT (Z, E)",
    "purchases_ae": "services bought from another EU country, reverse charge (AE)",
    "purchases_k": "goods bought from another EU country (K)",
    "purchases_g": "goods imported from outside the EU (G)",
    "purchases_o": "purchases outside the scope of VAT (O)",
    "input_vat_ae": "input VAT self-assessed on reverse-charge services",
    "output_vat_ae": "output VAT self-assessed on reverse-charge services",
    "input_vat_k": "input VAT self-assessed on intra-EU acquisitions of goods",
    "output_vat_k": "output VAT self-assessed on intra-EU acquisitions of goods",
}

#: Roles whose lines are VAT (kept on their own lines; folded into automatic accounts by DATEV).
VAT_ROLE_PREFIXES = ("output_vat", "input_vat")


def is_vat_role(role: str) -> bool:
    return role.startswith(VAT_ROLE_PREFIXES)


def rate_suffix(rate: Decimal) -> str:
    """``19`` → ``"19"``, ``5.5`` → ``"5.5"``, ``19.00`` → ``"19"``."""
    normalized = Decimal(rate).normalize()
    if normalized == normalized.to_integral_value():
        return str(normalized.quantize(Decimal(1)))
    return format(normalized, "f")


@dataclass(frozen=True)
class Chart:
    """One chart of accounts: role → (account number, account name)."""

    name: str
    title: str
    accounts: Mapping[str, tuple[str, str]]
    #: account format of overrides (``^\\d{4,9}$`` for DATEV, four digits for BAS)
    account_format: re.Pattern[str]
    format_hint: str
    #: DATEV automatic accounts (VAT computed by DATEV from the gross amount)
    automatic: frozenset[str] = field(default_factory=frozenset)

    def roles(self) -> frozenset[str]:
        return frozenset(self.accounts)


_DATEV_ACCOUNT = re.compile(r"\d{4,9}")

SKR03 = Chart(
    name="skr03",
    title="DATEV SKR 03",
    account_format=_DATEV_ACCOUNT,
    format_hint="4 to 9 digits (DATEV account or debtor/creditor number)",
    accounts={
        "receivables": ("1410", "Forderungen aus Lieferungen und Leistungen ohne Kontokorrent"),
        "bank": ("1200", "Bank"),
        "refund_due": ("1700", "Sonstige Verbindlichkeiten"),
        "revenue_s_19": ("8400", "Erlöse 19 % USt"),
        "revenue_s_7": ("8300", "Erlöse 7 % USt"),
        "revenue_s_other": ("8200", "Erlöse"),
        "output_vat_19": ("1776", "Umsatzsteuer 19 %"),
        "output_vat_7": ("1771", "Umsatzsteuer 7 %"),
        "output_vat_other": ("1770", "Umsatzsteuer"),
        "revenue_z": ("8150", "Sonstige steuerfreie Umsätze (z. B. § 4 Nr. 2-7 UStG)"),
        "revenue_e": ("8100", "Steuerfreie Umsätze § 4 Nr. 8 ff. UStG"),
        "revenue_ae": (
            "8336",
            "Erlöse aus im anderen EU-Land steuerpflichtigen sonstigen Leistungen, "
            "für die der Leistungsempfänger die Umsatzsteuer schuldet",
        ),
        "revenue_k": ("8125", "Steuerfreie innergemeinschaftliche Lieferungen § 4 Nr. 1b UStG"),
        "revenue_g": ("8120", "Steuerfreie Umsätze § 4 Nr. 1a UStG"),
        "revenue_o": (
            "8338",
            "Erlöse aus im Drittland steuerbaren Leistungen, im Inland nicht steuerbare Umsätze",
        ),
        "bad_debt": ("2400", "Forderungsverluste (übliche Höhe)"),
        "rounding": ("8700", "Erlösschmälerungen"),
        "bad_debt_7": ("2401", "Forderungsverluste 7 % USt (übliche Höhe)"),
        "bad_debt_19": ("2406", "Forderungsverluste 19 % USt (übliche Höhe)"),
        "payables": ("1610", "Verbindlichkeiten aus Lieferungen und Leistungen ohne Kontokorrent"),
        "supplier_refund_due": ("1500", "Sonstige Vermögensgegenstände"),
        "purchases_s_19": ("3400", "Wareneingang 19 % Vorsteuer"),
        "purchases_s_7": ("3300", "Wareneingang 7 % Vorsteuer"),
        "purchases_s_other": ("3200", "Wareneingang"),
        "input_vat_19": ("1576", "Abziehbare Vorsteuer 19 %"),
        "input_vat_7": ("1571", "Abziehbare Vorsteuer 7 %"),
        "input_vat_other": ("1570", "Abziehbare Vorsteuer"),
        "purchases_exempt": ("3200", "Wareneingang"),
        "purchases_ae": (
            "3123",
            "Sonstige Leistungen eines im anderen EU-Land ansässigen Unternehmers "
            "19 % Vorsteuer und 19 % Umsatzsteuer",
        ),
        "purchases_k": ("3425", "Innergemeinschaftlicher Erwerb 19 % Vorsteuer und 19 % USt"),
        "purchases_g": ("3200", "Wareneingang"),
        "purchases_o": ("3200", "Wareneingang"),
        "input_vat_ae": ("1577", "Abziehbare Vorsteuer nach § 13b UStG 19 %"),
        "output_vat_ae": ("1787", "Umsatzsteuer nach § 13b UStG 19 %"),
        "input_vat_k": ("1574", "Abziehbare Vorsteuer aus innergemeinschaftlichem Erwerb 19 %"),
        "output_vat_k": ("1774", "Umsatzsteuer aus innergemeinschaftlichem Erwerb 19 %"),
    },
    automatic=frozenset({"8400", "8300", "2401", "2406", "3400", "3300", "3123", "3425"}),
)

SKR04 = Chart(
    name="skr04",
    title="DATEV SKR 04",
    account_format=_DATEV_ACCOUNT,
    format_hint="4 to 9 digits (DATEV account or debtor/creditor number)",
    accounts={
        "receivables": ("1210", "Forderungen aus Lieferungen und Leistungen ohne Kontokorrent"),
        "bank": ("1800", "Bank"),
        "refund_due": ("3500", "Sonstige Verbindlichkeiten"),
        "revenue_s_19": ("4400", "Erlöse 19 % USt"),
        "revenue_s_7": ("4300", "Erlöse 7 % USt"),
        "revenue_s_other": ("4200", "Erlöse"),
        "output_vat_19": ("3806", "Umsatzsteuer 19 %"),
        "output_vat_7": ("3801", "Umsatzsteuer 7 %"),
        "output_vat_other": ("3800", "Umsatzsteuer"),
        "revenue_z": ("4150", "Sonstige steuerfreie Umsätze (z. B. § 4 Nr. 2-7 UStG)"),
        "revenue_e": ("4100", "Steuerfreie Umsätze § 4 Nr. 8 ff. UStG"),
        "revenue_ae": (
            "4336",
            "Erlöse aus im anderen EU-Land steuerpflichtigen sonstigen Leistungen, "
            "für die der Leistungsempfänger die Umsatzsteuer schuldet",
        ),
        "revenue_k": ("4125", "Steuerfreie innergemeinschaftliche Lieferungen § 4 Nr. 1b UStG"),
        "revenue_g": ("4120", "Steuerfreie Umsätze § 4 Nr. 1a UStG"),
        "revenue_o": (
            "4338",
            "Erlöse aus im Drittland steuerbaren Leistungen, im Inland nicht steuerbare Umsätze",
        ),
        "bad_debt": ("6930", "Forderungsverluste (übliche Höhe)"),
        "rounding": ("4700", "Erlösschmälerungen"),
        "bad_debt_7": ("6931", "Forderungsverluste 7 % USt (übliche Höhe)"),
        "bad_debt_19": ("6936", "Forderungsverluste 19 % USt (übliche Höhe)"),
        "payables": ("3310", "Verbindlichkeiten aus Lieferungen und Leistungen ohne Kontokorrent"),
        "supplier_refund_due": ("1300", "Sonstige Vermögensgegenstände"),
        "purchases_s_19": ("5400", "Wareneingang 19 % Vorsteuer"),
        "purchases_s_7": ("5300", "Wareneingang 7 % Vorsteuer"),
        "purchases_s_other": ("5200", "Wareneingang"),
        "input_vat_19": ("1406", "Abziehbare Vorsteuer 19 %"),
        "input_vat_7": ("1401", "Abziehbare Vorsteuer 7 %"),
        "input_vat_other": ("1400", "Abziehbare Vorsteuer"),
        "purchases_exempt": ("5200", "Wareneingang"),
        "purchases_ae": (
            "5923",
            "Sonstige Leistungen eines im anderen EU-Land ansässigen Unternehmers "
            "19 % Vorsteuer und 19 % Umsatzsteuer",
        ),
        "purchases_k": ("5425", "Innergemeinschaftlicher Erwerb 19 % Vorsteuer und 19 % USt"),
        "purchases_g": ("5200", "Wareneingang"),
        "purchases_o": ("5200", "Wareneingang"),
        "input_vat_ae": ("1407", "Abziehbare Vorsteuer nach § 13b UStG 19 %"),
        "output_vat_ae": ("3837", "Umsatzsteuer nach § 13b UStG 19 %"),
        "input_vat_k": ("1404", "Abziehbare Vorsteuer aus innergemeinschaftlichem Erwerb 19 %"),
        "output_vat_k": ("3804", "Umsatzsteuer aus innergemeinschaftlichem Erwerb 19 %"),
    },
    automatic=frozenset({"4400", "4300", "6931", "6936", "5400", "5300", "5923", "5425"}),
)

BAS = Chart(
    name="bas",
    title="BAS-kontoplanen",
    account_format=re.compile(r"\d{4}"),
    format_hint="4 digits (BAS account)",
    accounts={
        "receivables": ("1510", "Kundfordringar"),
        "bank": ("1930", "Företagskonto/checkkonto/affärskonto"),
        "refund_due": ("2890", "Övriga kortfristiga skulder"),
        "revenue_s_25": ("3001", "Försäljning inom Sverige, 25 % moms"),
        "revenue_s_12": ("3002", "Försäljning inom Sverige, 12 % moms"),
        "revenue_s_6": ("3003", "Försäljning inom Sverige, 6 % moms"),
        "revenue_s_other": ("3000", "Försäljning inom Sverige"),
        "output_vat_25": ("2611", "Utgående moms på försäljning inom Sverige, 25 %"),
        "output_vat_12": ("2621", "Utgående moms på försäljning inom Sverige, 12 %"),
        "output_vat_6": ("2631", "Utgående moms på försäljning inom Sverige, 6 %"),
        "output_vat_other": ("2610", "Utgående moms, 25 %"),
        "revenue_z": ("3004", "Försäljning inom Sverige, momsfri"),
        "revenue_e": ("3004", "Försäljning inom Sverige, momsfri"),
        "revenue_ae": ("3308", "Försäljning tjänster till annat EU-land"),
        "revenue_k": ("3108", "Försäljning varor till annat EU-land, momsfri"),
        "revenue_g": ("3105", "Försäljning varor till land utanför EU"),
        "revenue_o": ("3305", "Försäljning tjänster till land utanför EU"),
        "bad_debt": ("6351", "Konstaterade förluster på kundfordringar"),
        "rounding": ("3740", "Öres- och kronutjämning"),
        "payables": ("2440", "Leverantörsskulder"),
        "supplier_refund_due": ("1680", "Andra kortfristiga fordringar"),
        "purchases_s_other": ("4000", "Inköp av varor från Sverige"),
        "input_vat_other": ("2641", "Debiterad ingående moms"),
        "purchases_exempt": ("4000", "Inköp av varor från Sverige"),
        "purchases_ae": ("4535", "Inköp av tjänster från annat EU-land, 25 %"),
        "purchases_k": ("4515", "Inköp av varor från annat EU-land, 25 %"),
        "purchases_g": ("4545", "Import av varor, 25 %"),
        "purchases_o": ("4531", "Inköp av tjänster från ett land utanför EU, 25 %"),
        "input_vat_ae": ("2645", "Beräknad ingående moms på förvärv från utlandet"),
        "output_vat_ae": ("2614", "Beräknad utgående moms på tjänsteförvärv från utlandet, 25 %"),
        "input_vat_k": ("2645", "Beräknad ingående moms på förvärv från utlandet"),
        "output_vat_k": ("2615", "Beräknad utgående moms på varuförvärv från annat EU-land, 25 %"),
    },
)

#: Billow's own small chart for every other country: one account per role, VAT rates told
#: apart by the lines' ``vat_code``.
GENERIC = Chart(
    name="generic",
    title="Billow generic chart",
    account_format=re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,19}"),
    format_hint="1 to 20 letters, digits, '.', '_' or '-'",
    accounts={
        "bank": ("1000", "Bank"),
        "receivables": ("1200", "Accounts receivable"),
        "supplier_refund_due": ("1300", "Other receivables (supplier refunds)"),
        "input_vat_other": ("1400", "Input VAT"),
        "input_vat_ae": ("1410", "Input VAT, reverse charge"),
        "input_vat_k": ("1420", "Input VAT, intra-EU acquisitions"),
        "payables": ("2000", "Accounts payable"),
        "refund_due": ("2100", "Refunds payable to customers"),
        "output_vat_other": ("2200", "Output VAT"),
        "output_vat_ae": ("2210", "Output VAT, reverse charge"),
        "output_vat_k": ("2220", "Output VAT, intra-EU acquisitions"),
        "revenue_s_other": ("4000", "Sales, standard and reduced rates"),
        "revenue_z": ("4010", "Sales, zero rated"),
        "revenue_e": ("4020", "Sales, exempt"),
        "revenue_ae": ("4030", "Sales of services to EU businesses, reverse charge"),
        "revenue_k": ("4040", "Intra-community supplies of goods"),
        "revenue_g": ("4050", "Exports outside the EU"),
        "revenue_o": ("4060", "Sales outside the scope of VAT"),
        "purchases_s_other": ("5000", "Purchases"),
        "purchases_exempt": ("5010", "Purchases without VAT"),
        "purchases_ae": ("5020", "Services bought from the EU, reverse charge"),
        "purchases_k": ("5030", "Goods bought from the EU"),
        "purchases_g": ("5040", "Imports"),
        "purchases_o": ("5050", "Purchases outside the scope of VAT"),
        "bad_debt": ("6900", "Bad debts"),
        "rounding": ("4900", "Rounding differences"),
    },
)

CHARTS: dict[str, Chart] = {"skr03": SKR03, "skr04": SKR04, "bas": BAS, "generic": GENERIC}

#: Country → default chart; every other country: generic (see the module docstring).
DEFAULT_CHART_BY_COUNTRY: dict[str, str] = {"DE": "skr03", "SE": "bas"}


def default_chart(country: str | None) -> str:
    """The chart an entity in ``country`` gets unless it chooses one."""
    return DEFAULT_CHART_BY_COUNTRY.get((country or "").upper(), "generic")


def chart_for(name: str | None, country: str | None = None) -> Chart:
    """The named chart, or the country's default when ``name`` is None."""
    return CHARTS[name or default_chart(country)]


#: Per-rate roles of any rate (``revenue_s_20``): an entity may give a rate its chart lacks an
#: account of its own (an Austrian entity on SKR03, say).
_RATE_ROLE = re.compile(
    r"(revenue_s|output_vat|purchases_s|input_vat|bad_debt)_(\d{1,2}(\.\d{1,2})?)"
)


def check_accounts(
    chart_name: str | None, accounts: Mapping[str, str], country: str | None
) -> list[tuple[str, str]]:
    """Problems with an entity's ``accounts`` overrides as (field, message) pairs: unknown
    roles, accounts not in the chart's format. Empty when all is well.

    Known roles: the chart's own, plus per-rate roles of any rate (``revenue_s_20``).
    """
    chart = chart_for(chart_name, country)
    errors: list[tuple[str, str]] = []
    for role, account in accounts.items():
        path = f"accounts.{role}"
        if not (role in chart.accounts or _RATE_ROLE.fullmatch(role)):
            roles = ", ".join(sorted(chart.accounts))
            errors.append((path, f"unknown role; the {chart.name} roles are {roles}"))
            continue
        if not isinstance(account, str) or not chart.account_format.fullmatch(account):
            errors.append((path, f"must be {chart.format_hint}"))
    return errors


@dataclass(frozen=True)
class Books:
    """An entity's chart with its overrides applied: what the posting functions need."""

    chart: Chart
    overrides: Mapping[str, str] = field(default_factory=dict)
    #: the entity's domestic rate, used to self-assess VAT on reverse-charge purchases
    #: (self-billed documents in categories AE and K); None: no self-assessment lines
    self_assessment_rate: Decimal | None = None

    def has(self, role: str) -> bool:
        return role in self.overrides or role in self.chart.accounts

    def account(self, role: str) -> str:
        """The account number of ``role`` (an override wins)."""
        if role in self.overrides:
            return self.overrides[role]
        try:
            return self.chart.accounts[role][0]
        except KeyError:
            raise ValidationFailed.one(
                f"accounts.{role}", f"the {self.chart.name} chart has no account for {role}"
            ) from None

    def rate_role(self, base: str, rate: Decimal) -> str:
        """``revenue_s`` at 19 % → ``revenue_s_19`` when the chart (or an override) has it, else
        ``revenue_s_other``; ``bad_debt`` falls back to plain ``bad_debt``."""
        specific = f"{base}_{rate_suffix(rate)}"
        if self.has(specific):
            return specific
        return "bad_debt" if base == "bad_debt" else f"{base}_other"

    def account_name(self, account: str) -> str:
        """The chart's name of ``account`` (an override's role description otherwise)."""
        for number, name in self.chart.accounts.values():
            if number == account:
                return name
        for role, number in self.overrides.items():
            if number == account:
                return ROLES.get(_RATE_ROLE.sub(r"\1", role), role)
        return account

    def is_automatic(self, account: str) -> bool:
        """Whether DATEV computes VAT itself on ``account`` (only the chart's own accounts)."""
        return account in self.chart.automatic


def books_for(entity: object) -> Books:
    """:class:`Books` of an entity (anything with ``chart_of_accounts``, ``accounts``,
    ``address.country`` and ``default_vat_rate``, e.g. :class:`functions.domain.models.Entity`)."""
    address = getattr(entity, "address", None)
    country = getattr(address, "country", None)
    name = getattr(entity, "chart_of_accounts", None)
    rate = getattr(entity, "default_vat_rate", None)
    return Books(
        chart=chart_for(name, country),
        overrides=dict(getattr(entity, "accounts", None) or {}),
        self_assessment_rate=Decimal(rate) if rate else None,
    )
