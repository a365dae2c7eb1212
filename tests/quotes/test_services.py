"""The quote actions on SQLite and on DynamoDB + S3 (moto server mode): drafts, gapless
numbers of their own series, the hosted link stored as a hash, send with the PDF, the buyer's
answer, conversion into a draft invoice in one commit, 422 naming fields and 404 across
accounts."""

from __future__ import annotations

import hashlib
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from pydantic import ValidationError as PydanticError

from functions.domain.errors import Conflict, InvalidState, NotFound, ValidationFailed
from functions.domain.models import field_path
from functions.services.common import hash_secret
from tests.invoices.support import OTHER_ACCOUNT, act

from .conftest import quote_ctx

LINES = [
    {"description": "Workshop", "quantity": "2", "unit": "day", "unit_price": "800"},
    {"description": "Travel", "quantity": "1", "unit_price": "120.50", "vat_rate": "7"},
]


def _mails(folder: Path) -> list:
    files = sorted(folder.glob("*.eml")) if folder.is_dir() else []
    return [BytesParser(policy=policy.default).parsebytes(f.read_bytes()) for f in files]


def _fields(exc: BaseException) -> list[str]:
    """The fields a 422 names: a service's ValidationFailed or the parameters' pydantic error
    (the API maps both to ``validation_error`` with these paths)."""
    if isinstance(exc, ValidationFailed):
        return [d.field for d in exc.details]
    if isinstance(exc, PydanticError):
        return [field_path(tuple(e["loc"])) for e in exc.errors()]
    raise exc


def _quote(ctx, ids, **extra) -> dict:
    return act(ctx, "quote.create", lines=LINES, **ids, **extra)


def test_create_update_finalize_numbers_and_hosted_link(ctx, ids, store):
    draft = _quote(ctx, ids, valid_until="2026-12-31", po_number="PO-7")
    assert (draft["object"], draft["status"], draft["number"]) == ("quote", "draft", None)
    assert draft["id"].startswith("quo_") and draft["hosted_quote_url"] is None
    assert (draft["subtotal"], draft["tax_total"], draft["total"]) == (
        "1720.50",
        "312.44",
        "2032.94",
    )
    updated = act(
        ctx, "quote.update", quote_id=draft["id"], version=draft["version"], notes="Thanks"
    )
    assert updated["notes"] == "Thanks" and updated["version"] == draft["version"] + 1
    with pytest.raises(Conflict):
        act(ctx, "quote.update", quote_id=draft["id"], version=draft["version"], notes="x")

    first = act(ctx, "quote.finalize", quote_id=draft["id"])
    second = act(ctx, "quote.finalize", quote_id=_quote(ctx, ids)["id"])
    invoice = act(ctx, "invoice.create", lines=LINES, **ids)
    invoice = act(ctx, "invoice.finalize", invoice_id=invoice["id"])
    assert (first["number"], second["number"]) == ("QUO-2026-0001", "QUO-2026-0002")
    assert invoice["number"] == "INV-2026-0001"  # invoices keep their own series
    assert first["status"] == "open" and first["valid_until"] == "2026-12-31"
    assert first["seller"]["name"] == "Acme GmbH" and first["buyer"]["name"] == "Kunde AG"
    assert first["pdf"]["filename"] == "QUO-2026-0001.pdf"

    url = first["hosted_quote_url"]
    token = url.rsplit("/q/", 1)[1]
    assert len(token) >= 43  # 256 bits
    assert act(ctx, "quote.get", quote_id=first["id"])["hosted_quote_url"] == url
    link = store.get("hosted_links", hash_secret(token))
    assert link is not None and link.data["document_id"] == first["id"]
    stored = store.get("quotes", first["id"])
    assert token not in repr(stored.data) and token not in repr(link.data)

    with pytest.raises(InvalidState) as err:
        act(ctx, "quote.update", quote_id=first["id"], notes="too late")
    assert "open" in str(err.value)
    listed = act(ctx, "quote.list", status="open", q="kunde")
    assert {q["id"] for q in listed["items"]} == {first["id"], second["id"]}
    assert listed["total"] == 2
    types = [e["type"] for e in act(ctx, "quote.timeline", quote_id=first["id"])["events"]]
    assert types[:3] == ["created", "updated", "finalized"]


def test_send_accept_convert(ctx, ids, outbox):
    quote = act(ctx, "quote.finalize", quote_id=_quote(ctx, ids)["id"])
    sent = act(ctx, "quote.send", quote_id=quote["id"], message="As discussed")
    assert sent["status"] == "open" and sent["sent_at"] == "2026-11-21T09:30:00Z"
    [mail] = _mails(outbox)
    assert mail["To"] == "ap@kunde.example" and "QUO-2026-0001" in mail["Subject"]
    [pdf] = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == "QUO-2026-0001.pdf"
    assert hashlib.sha256(pdf.get_content()).hexdigest() == quote["pdf"]["sha256"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert quote["hosted_quote_url"] in text and "As discussed" in text

    with pytest.raises((ValidationFailed, PydanticError)) as err:
        act(ctx, "quote.accept", quote_id=quote["id"], name="")
    assert _fields(err.value) == ["name"]
    accepted = act(ctx, "quote.accept", quote_id=quote["id"], name="Erika Muster")
    assert (accepted["status"], accepted["accepted_by"]) == ("accepted", "Erika Muster")
    with pytest.raises(InvalidState):
        act(ctx, "quote.decline", quote_id=quote["id"])

    invoice = act(ctx, "quote.convert", quote_id=quote["id"])
    assert invoice["object"] == "invoice" and invoice["status"] == "draft"
    assert invoice["quote_id"] == quote["id"] and invoice["number"] is None
    assert [(line["description"], line["net_amount"]) for line in invoice["lines"]] == [
        (line["description"], line["net_amount"]) for line in quote["lines"]
    ]
    assert invoice["total"] == quote["total"] == "2032.94"
    after = act(ctx, "quote.get", quote_id=quote["id"])
    assert after["status"] == "converted" and after["invoice_id"] == invoice["id"]
    with pytest.raises(InvalidState):
        act(ctx, "quote.convert", quote_id=quote["id"])
    assert act(ctx, "invoice.list", kind="invoice")["total"] == 1  # converted once
    final = act(ctx, "invoice.finalize", invoice_id=invoice["id"])
    assert final["number"] == "INV-2026-0001" and final["total"] == "2032.94"


def test_decline_and_convert_without_answer(ctx, ids):
    one = act(ctx, "quote.finalize", quote_id=_quote(ctx, ids)["id"])
    declined = act(ctx, "quote.decline", quote_id=one["id"], reason="Over budget")
    assert (declined["status"], declined["decline_reason"]) == ("declined", "Over budget")
    with pytest.raises(InvalidState):
        act(ctx, "quote.convert", quote_id=one["id"])
    two = act(ctx, "quote.finalize", quote_id=_quote(ctx, ids)["id"])
    assert act(ctx, "quote.convert", quote_id=two["id"])["quote_id"] == two["id"]


def test_bad_input_is_422_naming_the_field_and_changes_nothing(ctx, ids, store):
    cases = [
        ({"lines": [{"description": "x", "unit_price": "1", "colour": "red"}]}, "lines[0].colour"),
        ({"lines": [{"description": "x", "unit_price": "abc"}]}, "lines[0].unit_price"),
        ({"lines": LINES, "issue_date": "2026-11-20", "valid_until": "2026-11-01"}, "valid_until"),
        ({"lines": LINES, "valid_until": "someday"}, "valid_until"),
    ]
    for params, field in cases:
        with pytest.raises((ValidationFailed, PydanticError)) as err:
            act(ctx, "quote.create", **ids, **params)
        assert field in _fields(err.value)
    with pytest.raises(PydanticError) as err:
        act(ctx, "quote.create", **ids, lines=LINES, surprise=1)
    assert _fields(err.value) == ["surprise"]
    assert act(ctx, "quote.list")["total"] == 0

    empty = act(ctx, "quote.create", **ids)
    with pytest.raises(ValidationFailed) as err:
        act(ctx, "quote.finalize", quote_id=empty["id"])
    assert err.value.details[0].field == "lines"
    assert act(ctx, "quote.get", quote_id=empty["id"])["status"] == "draft"
    with pytest.raises(ValidationFailed) as err:
        act(ctx, "entity.update", entity_id=ids["entity_id"], quote_number_pattern="Q-{X}")
    assert err.value.details[0].field == "quote_number_pattern"
    act(ctx, "entity.update", entity_id=ids["entity_id"], quote_number_pattern="ANG-{SEQ:3}")
    numbered = act(ctx, "quote.finalize", quote_id=_quote(ctx, ids)["id"])
    assert numbered["number"] == "ANG-001"  # the lost attempt above used no number


def test_another_account_gets_404(ctx, ids, store, outbox):
    quote = act(ctx, "quote.finalize", quote_id=_quote(ctx, ids)["id"])
    draft = _quote(ctx, ids)
    other = quote_ctx(store, outbox, account_id=OTHER_ACCOUNT)
    for name, params in [
        ("quote.get", {"quote_id": quote["id"]}),
        ("quote.update", {"quote_id": draft["id"], "notes": "x"}),
        ("quote.finalize", {"quote_id": draft["id"]}),
        ("quote.send", {"quote_id": quote["id"]}),
        ("quote.accept", {"quote_id": quote["id"], "name": "Mallory"}),
        ("quote.decline", {"quote_id": quote["id"]}),
        ("quote.convert", {"quote_id": quote["id"]}),
        ("quote.pdf", {"quote_id": quote["id"]}),
        ("quote.delete", {"quote_id": draft["id"]}),
    ]:
        with pytest.raises(NotFound):
            act(other, name, **params)
    with pytest.raises(NotFound):  # the other account's client
        act(other, "quote.create", lines=LINES, **ids)
    assert act(other, "quote.list")["total"] == 0
    assert act(ctx, "quote.get", quote_id=quote["id"])["status"] == "open"
