"""The books through the services, on SQLite and DynamoDB (moto server): entity and client
fields, one journal entry per event committed with the change, refunds owed after a credit on
a paid invoice, ``ledger.entries``, ``ledger.export`` and ``report.aging``."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from functions.domain.errors import InvalidState, NotFound, ValidationFailed
from storage_adapter.sqlite import SqliteStore
from tests.invoices.support import (
    CLIENT,
    OTHER_ACCOUNT,
    SELLER,
    act,
    draft,
    make_ctx,
    seed,
)
from tests.support.moto_server import dynamo_store, moto_endpoint  # noqa: F401

from .datev_layout import check_datev
from .sie_reader import read_sie

D = Decimal


@pytest.fixture(params=["sqlite", pytest.param("dynamodb", marks=pytest.mark.aws)])
def backend(request, tmp_path: Path):
    if request.param == "sqlite":
        store = SqliteStore(tmp_path / "billow.db")
        yield store
        store.close()
    else:
        yield request.getfixturevalue("dynamo_store")


def blob(store, url: str) -> bytes:
    """The bytes behind a signed link: the local server's ``/blobs/<key>`` or an S3 URL
    (``/<bucket>/<key>``)."""
    path = unquote(urlparse(url).path)
    candidates = [path.split("/blobs/", 1)[1]] if "/blobs/" in path else []
    candidates += [path.split("/", 2)[2], path.split("/", 2)[2].removeprefix("blobs/")]
    for key in candidates:
        found = store.get_blob(key)
        if found is not None:
            return found.data
    raise AssertionError(f"no blob behind {url}")


def fields_of(exc: ValidationFailed) -> list[str]:
    return [d.field for d in exc.details]


def entries(ctx, entity_id: str, **params) -> list[dict]:
    return act(ctx, "ledger.entries", entity_id=entity_id, limit=100, **params)["items"]


def balances(items: list[dict]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for entry in items:
        for line in entry["lines"]:
            out[line["account"]] += D(line["debit"]) - D(line["credit"])
    return dict(out)


def assert_balanced(items: list[dict]) -> None:
    for entry in items:
        debit = sum(D(line["debit"]) for line in entry["lines"])
        credit = sum(D(line["credit"]) for line in entry["lines"])
        assert debit == credit and debit > 0, entry


# --- 1. entity and client fields ---------------------------------------------------------------


def test_entity_books_fields_and_their_validation(backend):
    ctx = make_ctx(backend)
    entity = act(ctx, "entity.create", **SELLER)
    assert entity["chart_of_accounts"] is None  # default by country (DE: SKR03)
    assert entity["self_billing_number_pattern"] == "SB-{YYYY}-{SEQ:4}"
    updated = act(
        ctx,
        "entity.update",
        entity_id=entity["id"],
        version=entity["version"],
        chart_of_accounts="skr04",
        accounts={"receivables": "12000"},
        self_billing_number_pattern="GS-{YYYY}-{SEQ:5}",
    )
    assert updated["chart_of_accounts"] == "skr04"
    assert updated["accounts"] == {"receivables": "12000"}
    for bad, field in (
        ({"chart_of_accounts": "ifrs"}, "chart_of_accounts"),
        ({"accounts": {"nonsense": "1234"}}, "accounts.nonsense"),
        ({"accounts": {"receivables": "12ab"}}, "accounts.receivables"),
        ({"self_billing_number_pattern": "SB-{SEQ:4}-{SEQ:4}"}, "self_billing_number_pattern"),
    ):
        with pytest.raises(ValidationFailed) as caught:
            act(ctx, "entity.update", entity_id=entity["id"], version=updated["version"], **bad)
        assert field in fields_of(caught.value), (bad, caught.value.details)
    # nothing of a refused update was written
    assert act(ctx, "entity.get", entity_id=entity["id"])["version"] == updated["version"]


def test_client_self_billing_agreement_and_its_validation(backend):
    ctx = make_ctx(backend)
    agreement = {"agreement_reference": "SBA-7", "valid_from": "2026-01-01"}
    client = act(ctx, "client.create", **CLIENT, self_billing=agreement)
    assert client["self_billing"]["agreement_reference"] == "SBA-7"
    assert client["self_billing"]["valid_to"] is None
    for bad, field in (
        ({**agreement, "extra": "x"}, "self_billing.extra"),
        ({"valid_from": "2026-01-01"}, "self_billing.agreement_reference"),
        ({**agreement, "valid_to": "2025-12-31"}, "self_billing.valid_to"),
        ({**agreement, "valid_from": "soon"}, "self_billing.valid_from"),
    ):
        with pytest.raises(ValidationFailed) as caught:
            act(ctx, "client.create", **CLIENT, self_billing=bad)
        assert field in fields_of(caught.value), (bad, caught.value.details)
    cleared = act(
        ctx, "client.update", client_id=client["id"], version=client["version"], self_billing=None
    )
    assert cleared["self_billing"] is None


# --- 2./3. postings, refunds -------------------------------------------------------------------


def test_every_event_posts_one_balanced_entry_and_refunds_settle_what_is_owed(backend):
    ctx = make_ctx(backend)
    ids = seed(ctx)
    entity_id = ids["entity_id"]

    paid = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])  # 1249.49 gross
    assert paid["total"] == "1249.49"
    act(ctx, "invoice.record_payment", invoice_id=paid["id"], amount="1249.49")
    note = act(ctx, "invoice.credit", invoice_id=paid["id"], reason="returned")
    assert note["refund_due"] == "1249.49"
    original = act(ctx, "invoice.get", invoice_id=paid["id"])
    assert original["amount_due"] == "0.00" and original["status"] == "credited"

    with pytest.raises(ValidationFailed) as caught:
        act(ctx, "invoice.record_refund", invoice_id=note["id"], amount="1249.50")
    assert fields_of(caught.value) == ["amount"]
    with pytest.raises(InvalidState):
        act(ctx, "invoice.record_refund", invoice_id=paid["id"], amount="1")
    refunded = act(
        ctx, "invoice.record_refund", invoice_id=note["id"], amount="1000", method="transfer"
    )
    assert refunded["refund_due"] == "249.49" and refunded["refunds"][0]["amount"] == "1000.00"
    refunded = act(ctx, "invoice.record_refund", invoice_id=note["id"], amount="249.49")
    assert refunded["refund_due"] == "0.00"
    timeline = act(ctx, "invoice.timeline", invoice_id=note["id"])["events"]
    assert [e["type"] for e in timeline].count("refund_recorded") == 2
    assert "refund_recorded" in [
        e["type"] for e in act(ctx, "invoice.timeline", invoice_id=paid["id"])["events"]
    ]

    voided = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    act(ctx, "invoice.void", invoice_id=voided["id"])
    lost = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    act(ctx, "invoice.record_payment", invoice_id=lost["id"], amount="249.49")
    act(ctx, "invoice.mark_uncollectible", invoice_id=lost["id"])
    still_open = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])

    items = entries(ctx, entity_id)
    assert [(e["document_id"], e["type"]) for e in items] == [
        (paid["id"], "finalize"),
        (paid["id"], "payment"),
        (note["id"], "credit"),
        (note["id"], "refund"),
        (note["id"], "refund"),
        (voided["id"], "finalize"),
        (voided["id"], "void"),
        (lost["id"], "finalize"),
        (lost["id"], "payment"),
        (lost["id"], "uncollectible"),
        (still_open["id"], "finalize"),
    ]
    assert_balanced(items)
    totals = balances(items)
    # SKR03: 1410 receivables, 1200 bank, 1700 refund due, 1776 output VAT 19 %, 8400 revenue
    assert totals["1410"] == D(still_open["amount_due"]) == D("1249.49")
    assert totals["1200"] == D("1249.49") - D("1249.49") + D("249.49")  # in, out, in
    assert totals.get("1700", D(0)) == 0  # the refund owed was paid
    vat = sum((v for a, v in totals.items() if a.startswith("17") and a != "1700"), D(0))
    # output VAT: the open invoice's, and the part of the written-off one's that was paid
    # (the 1000.00 written off contains 159.66 of VAT at 19 %, corrected); the credited and
    # the voided invoices' VAT went back
    written_off_vat = (D("1000.00") * 19 / 119).quantize(D("0.01"))
    assert -vat == D(still_open["tax_total"]) + D(lost["tax_total"]) - written_off_vat
    finalize = next(e for e in items if e["type"] == "finalize")
    assert {(line["account"], line["vat_code"]) for line in finalize["lines"]} == {
        ("1410", None),
        ("8400", "S19"),
        ("1776", "S19"),
    }


def test_entries_paging_period_and_other_accounts(backend):
    ctx = make_ctx(backend)
    ids = seed(ctx)
    for _ in range(3):
        act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    page = act(ctx, "ledger.entries", entity_id=ids["entity_id"], limit=2, page=2)
    assert (page["total"], page["pages"], len(page["items"])) == (3, 2, 1)
    assert set(page["items"][0]) >= {"id", "date", "document_id", "document_number", "type"}
    assert (
        act(ctx, "ledger.entries", entity_id=ids["entity_id"], **{"to": "2026-11-20"})["items"]
        == []
    )
    with pytest.raises(ValidationFailed) as caught:
        act(
            ctx,
            "ledger.entries",
            entity_id=ids["entity_id"],
            **{"from": "2026-12-01"},
            to="2026-11-01",
        )
    assert fields_of(caught.value) == ["to"]
    other = make_ctx(backend, account_id=OTHER_ACCOUNT)
    for name, extra in (
        ("ledger.entries", {}),
        ("ledger.export", {"from": "2026-11-01", "to": "2026-11-30", "format": "csv"}),
        ("report.aging", {}),
    ):
        with pytest.raises(NotFound):
            act(other, name, entity_id=ids["entity_id"], **extra)


def test_exports_read_back_equal_the_ledger(backend):
    ctx = make_ctx(backend)
    ids = seed(ctx)
    one = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    act(ctx, "invoice.record_payment", invoice_id=one["id"], amount="500")
    act(ctx, "invoice.credit", invoice_id=one["id"], reason="partial", lines=[{"line_index": 1}])
    items = entries(ctx, ids["entity_id"])
    period = {"entity_id": ids["entity_id"], "from": "2026-11-01", "to": "2026-11-30"}

    link = act(ctx, "ledger.export", format="csv", **period)
    assert link["filename"] == "ledger_20261101_20261130.csv"
    rows = list(csv.DictReader(io.StringIO(blob(backend, link["url"]).decode("utf-8"))))
    assert {r["entry_id"] for r in rows} == {e["id"] for e in items}
    by_account: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        by_account[row["account"]] += D(row["debit"]) - D(row["credit"])
    assert dict(by_account) == balances(items)

    link = act(ctx, "ledger.export", format="datev", datev={"consultant_number": 29098}, **period)
    assert link["filename"].startswith("EXTF_Buchungsstapel_")
    header, postings = check_datev(blob(backend, link["url"]))
    assert header[10] == "29098"
    moved: dict[str, Decimal] = defaultdict(Decimal)
    for posting in postings:
        sign = 1 if posting.side == "S" else -1  # S: Konto debited, Gegenkonto credited
        moved[posting.account] += sign * posting.amount
        moved[posting.counter_account] -= sign * posting.amount
    # DATEV folds VAT into the automatic revenue account 8400; every other account agrees
    ledger = balances(items)
    assert moved["1410"] == ledger["1410"] and moved["1200"] == ledger["1200"]
    assert moved["8400"] == ledger["8400"] + ledger["1776"]

    link = act(ctx, "ledger.export", format="sie", **period)
    with pytest.raises(ValidationFailed) as caught:  # EUR entries, SEK books: a rate is needed
        act(ctx, "ledger.export", format="sie", **{**period, "from": "2025-12-01"})
    assert fields_of(caught.value) == ["to"]  # one fiscal year per file
    sie = read_sie(blob(backend, link["url"]))
    assert len(sie.verifications) == len(items)
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for ver in sie.verifications:
        assert sum(t.amount for t in ver.transactions) == 0
        for t in ver.transactions:
            sums[t.account] += t.amount
    assert dict(sums) == {k: v for k, v in balances(items).items() if v or k in sums}


def test_aging_buckets_open_receivables(backend):
    ctx = make_ctx(backend)
    ids = seed(ctx)
    due_now = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    late = act(
        ctx,
        "invoice.finalize",
        invoice_id=draft(ctx, ids, issue_date="2026-08-01", due_date="2026-08-15")["id"],
    )
    act(ctx, "invoice.record_payment", invoice_id=late["id"], amount="249.49")
    report = act(ctx, "report.aging", entity_id=ids["entity_id"], as_of="2026-11-21")
    assert report["buckets"] == ["current", "1-30", "31-60", "61-90", "90+"]
    (block,) = report["currencies"]
    assert block["currency"] == "EUR"
    assert block["total"]["current"] == due_now["amount_due"]
    assert block["total"]["90+"] == "1000.00" and block["total"]["count"] == 2
    assert block["clients"][0]["name"] == CLIENT["name"]
