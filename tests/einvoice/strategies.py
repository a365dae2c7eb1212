"""Hypothesis strategies: random finalized invoices and credit notes made through the domain.

Every VAT scenario of the contract's table and every category (S at several rates, Z, E, AE,
K, G, O) appear, alone and mixed (O alone: EN 16931 forbids it beside others, BR-O-11); lines
carry discounts, fractional quantities, negative (discount) lines and negative prices; texts
are long Greek, Cyrillic and Polish strings with XML-special and control characters; the
currencies include JPY (no decimals) and KWD (three).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from functions.domain.errors import ValidationFailed
from functions.domain.models import Invoice

from . import factory

#: Sellers: country → (VAT number, address, IBAN, electronic address).
SELLERS: dict[str, tuple[str, dict[str, str], str, dict[str, str]]] = {
    "DE": (
        "DE811907980",
        {"line1": "Torstraße 118", "postal_code": "10119", "city": "Berlin"},
        "DE89370400440532013000",
        {"scheme": "9930", "value": "DE811907980"},
    ),
    "FR": (
        "FR40303265045",
        {"line1": "42 rue de Belleville", "postal_code": "75020", "city": "Paris"},
        "FR1420041010050500013M02606",
        {"scheme": "0009", "value": "73282932000074"},
    ),
    "BE": (
        "BE0403170701",
        {"line1": "Rue de la Loi 16", "postal_code": "1000", "city": "Bruxelles"},
        "BE71096123456769",
        {"scheme": "0208", "value": "0403170701"},
    ),
    "AT": (
        "ATU13585627",
        {"line1": "Stephansplatz 1", "postal_code": "1010", "city": "Wien"},
        "AT611904300234573201",
        {"scheme": "9914", "value": "ATU13585627"},
    ),
    "PL": (
        "PL5260250995",
        {"line1": "ul. Świętokrzyska 12", "postal_code": "00-916", "city": "Warszawa"},
        "PL61109010140000071219812874",
        {"scheme": "9945", "value": "PL5260250995"},
    ),
    "ES": (
        "ESA28015865",
        {"line1": "Gran Vía 28", "postal_code": "28013", "city": "Madrid"},
        "ES9121000418450200051332",
        {"scheme": "9920", "value": "ESA28015865"},
    ),
}

#: EU buyers (other member states): country → (VAT number, address, electronic address).
EU_BUYERS: dict[str, tuple[str, dict[str, str], dict[str, str]]] = {
    "NL": (
        "NL004495445B01",
        {"line1": "Damrak 1", "postal_code": "1012 LG", "city": "Amsterdam"},
        {"scheme": "9944", "value": "NL004495445B01"},
    ),
    "IT": (
        "IT00743110157",
        {"line1": "Via Roma 1", "postal_code": "20121", "city": "Milano"},
        {"scheme": "0211", "value": "00743110157"},
    ),
    "DE": (
        "DE136695976",
        {"line1": "Marktplatz 1", "postal_code": "04109", "city": "Leipzig"},
        {"scheme": "0204", "value": "04011000-1234512345-06"},
    ),
    "FR": (
        "FR40303265045",
        {"line1": "1 place du Capitole", "postal_code": "31000", "city": "Toulouse"},
        {"scheme": "0009", "value": "73282932000074"},
    ),
    "BE": (
        "BE0403170701",
        {"line1": "Meir 1", "postal_code": "2000", "city": "Antwerpen"},
        {"scheme": "0208", "value": "0403170701"},
    ),
}

#: Buyers outside the EU: country → (VAT-like number or None, address, electronic address).
NON_EU_BUYERS: dict[str, tuple[str | None, dict[str, str], dict[str, str]]] = {
    "US": (
        None,
        {"line1": "1 Market St", "postal_code": "94105", "city": "San Francisco"},
        {"scheme": "0088", "value": "4000001000005"},
    ),
    "CH": (
        "CHE116281710MWST",
        {"line1": "Bahnhofstrasse 1", "postal_code": "8001", "city": "Zürich"},
        {"scheme": "0088", "value": "7612345000008"},
    ),
    "NO": (
        "NO923609016MVA",
        {"line1": "Karl Johans gate 1", "postal_code": "0154", "city": "Oslo"},
        {"scheme": "0192", "value": "923609016"},
    ),
    "JP": (
        None,
        {"line1": "1-1 Marunouchi", "postal_code": "100-0005", "city": "Tokyo"},
        {"scheme": "EM", "value": "ap@example.jp"},
    ),
}

GREEK = "αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩάέήίόύώ"
CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЫЭЮЯ"
POLISH = "aąbcćdeęfghijklłmnńoóprsśtuwyzźżAĄBCĆDEĘFGHIJKLŁMNŃOÓPRSŚTUWYZŹŻ"
PUNCTUATION = " .,;:-–—/()&<>\"'%€#"


def texts(min_size: int = 1, max_size: int = 300) -> st.SearchStrategy[str]:
    """Long texts in Greek, Cyrillic or Polish, with XML-special characters, now and then a
    control character (which XML cannot carry) and a newline."""
    alphabet = st.sampled_from([GREEK, CYRILLIC, POLISH]).flatmap(
        lambda letters: st.text(
            alphabet=st.sampled_from(letters + PUNCTUATION + "\n\x01\x7f"),
            min_size=min_size,
            max_size=max_size,
        )
    )
    return alphabet.map(lambda s: "Ω" + s).filter(lambda s: s.strip())


S_RATES = ["19", "7", "20", "21", "5.5", "10", "25", "8.1", "0.5", "23"]
CURRENCIES = ["EUR", "EUR", "EUR", "JPY", "KWD", "SEK", "GBP", "CHF", "USD"]
SCENARIOS = [
    "domestic",
    "reverse_charge",
    "intra_community_goods",
    "export_goods",
    "outside_scope",
    "mixed",
]
#: Categories each scenario draws its lines from.
SCENARIO_CATEGORIES = {
    "domestic": ["S", "S", "Z", "E", None],
    "reverse_charge": ["AE", "AE", "S"],
    "intra_community_goods": ["K"],
    "export_goods": ["G", "G", "S", "Z"],
    "outside_scope": ["O"],
    "mixed": ["S", "Z", "E", "AE", "K", "G"],
}


def _price(currency: str) -> st.SearchStrategy[Decimal]:
    places = {"JPY": 0, "KWD": 3}.get(currency, 2)
    extra = st.integers(min_value=0, max_value=2)
    return extra.flatmap(
        lambda more: st.decimals(
            min_value=Decimal("0.01") if places + more else 1,
            max_value=Decimal(20000),
            places=places + more,
            allow_nan=False,
            allow_infinity=False,
        )
    )


@st.composite
def line_strategy(draw: st.DrawFn, currency: str, categories: list[str | None]) -> dict[str, Any]:
    category = draw(st.sampled_from(categories))
    line: dict[str, Any] = {
        "description": draw(texts()),
        "quantity": str(
            draw(
                st.decimals(
                    min_value=Decimal("0.001"),
                    max_value=Decimal(500),
                    places=draw(st.integers(0, 3)),
                    allow_nan=False,
                    allow_infinity=False,
                ).filter(lambda q: q != 0)
            )
        ),
        "unit_price": str(draw(_price(currency))),
        "unit": draw(st.sampled_from(["hour", "day", "piece", "kg", "m2", "Stück", None])),
        "discount_percent": draw(st.sampled_from(["0", "0", "0", "5", "10", "12.5", "33.333"])),
        "supply_type": "goods" if category in ("K", "G") else "services",
    }
    if category is not None:
        line["vat_category"] = category
        if category == "S":
            line["vat_rate"] = draw(st.sampled_from(S_RATES))
        if category in ("E", "AE", "K", "G", "O") and draw(st.booleans()):
            line["exemption_reason"] = draw(texts(max_size=80))
    if draw(st.integers(0, 9)) == 0:  # an explicit unit code
        line["unit_code"] = draw(st.sampled_from(["C62", "HUR", "DAY", "KGM", "LS", "MON"]))
    if draw(st.integers(0, 4)) == 0:
        start = date(2026, 11, 1) + timedelta(days=draw(st.integers(0, 10)))
        line["period"] = {"start": start, "end": start + timedelta(days=draw(st.integers(0, 15)))}
    if draw(st.integers(0, 4)) == 0:
        keys = draw(
            st.lists(
                st.sampled_from(["colour", "size", "Farbe", "цвет", "project"]),
                max_size=4,
                unique=True,
            )
        )
        line["metadata"] = {key: draw(texts(max_size=40)) for key in keys}
    return line


@st.composite
def invoices(draw: st.DrawFn) -> Invoice:
    """A finalized invoice (discarded when the draw breaks an art. 226 rule)."""
    currency = draw(st.sampled_from(CURRENCIES))
    seller_cc = draw(st.sampled_from(sorted(SELLERS)))
    scenario = draw(st.sampled_from(SCENARIOS))
    vat, address, iban, endpoint = SELLERS[seller_cc]
    seller = factory.entity(
        address={**address, "country": seller_cc},
        vat_number=vat,
        electronic_address=endpoint,
        bank={"iban": iban, "account_holder": draw(texts(max_size=60))},
        currency=currency,
        rounding=draw(st.sampled_from(["half_up", "half_even"])),
        footer_text=draw(st.none() | texts(max_size=120)),
        legal_name=draw(st.none() | texts(max_size=80)),
    )
    if scenario == "domestic":
        buyer_cc = seller_cc
        buyer_vat, buyer_address, buyer_endpoint = EU_BUYERS.get(
            seller_cc, (vat, address, endpoint)
        )
        buyer_vat = vat if seller_cc not in EU_BUYERS else buyer_vat
    elif scenario in ("export_goods", "outside_scope"):
        buyer_cc = draw(st.sampled_from(sorted(NON_EU_BUYERS)))
        buyer_vat, buyer_address, buyer_endpoint = NON_EU_BUYERS[buyer_cc]
    else:
        buyer_cc = draw(st.sampled_from(sorted(set(EU_BUYERS) - {seller_cc})))
        buyer_vat, buyer_address, buyer_endpoint = EU_BUYERS[buyer_cc]
    buyer = factory.client(
        name=draw(texts(max_size=100)),
        contact_name=draw(st.none() | texts(max_size=40)),
        address={**buyer_address, "country": buyer_cc},
        vat_number=buyer_vat,
        electronic_address=buyer_endpoint,
        buyer_reference=draw(st.sampled_from(["04011000-1234512345-06", "PO-Ref 77/2026", None])),
        phone=draw(st.sampled_from([None, "+49 341 123456"])),
    )
    categories = SCENARIO_CATEGORIES[scenario]
    lines = draw(st.lists(line_strategy(currency, categories), min_size=1, max_size=6))
    if draw(st.integers(0, 5)) == 0 and scenario != "outside_scope":
        # a discount line: negative quantity, or a negative price
        negative = dict(draw(line_strategy(currency, categories)))
        if draw(st.booleans()):
            negative["quantity"] = "-1"
        else:
            negative["unit_price"] = "-" + negative["unit_price"]
            negative["quantity"] = "1"
        lines.append(negative)
    fields: dict[str, Any] = {
        "currency": currency,
        "notes": draw(st.none() | texts()),
        "terms": draw(st.none() | texts(max_size=120)),
        "po_number": draw(st.none() | st.just("PO-4711")),
    }
    if draw(st.booleans()):
        fields["supply_date"] = date(2026, 11, draw(st.integers(1, 30)))
    if draw(st.integers(0, 3)) == 0:
        fields["period"] = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}
    try:
        invoice = factory.finalized(lines, seller=seller, buyer=buyer, **fields)
    except ValidationFailed as exc:
        # art. 226 refusals (e.g. a negative total) are finalize's job, tested elsewhere
        assume(not exc.details)
        raise
    return invoice


@st.composite
def credit_notes(draw: st.DrawFn) -> Invoice:
    """A finalized credit note, full or partial, of a random invoice."""
    original = draw(invoices())
    assume(original.total > 0)
    if draw(st.booleans()):
        return factory.credit_note(original)
    picks = draw(
        st.lists(st.integers(0, len(original.lines) - 1), min_size=1, max_size=3, unique=True)
    )
    wanted = []
    for index in picks:
        line = original.lines[index]
        fraction = draw(st.sampled_from([Decimal(1), Decimal("0.5"), Decimal("0.25")]))
        quantity = abs(line.quantity) * fraction
        wanted.append({"line_id": line.id, "quantity": str(quantity)})
    try:
        return factory.credit_note(original, wanted)
    except ValidationFailed:
        assume(False)
        raise
