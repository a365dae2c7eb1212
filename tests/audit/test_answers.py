"""Answers: no internal storage keys (item 9), the list convention for API keys (item 5), and
messages in plain English (item 10)."""

from __future__ import annotations

import json

import pytest

from functions.domain.errors import InvalidState
from tests.invoices.support import act, draft
from tests.support.api import call


def test_no_answer_names_the_pdf_blob_key(ctx, ids) -> None:
    """``pdf.blob_key`` is where the store keeps the file: internal, never in an answer
    (the contract's ``pdf`` is ``{"sha256", "filename"}``)."""
    invoice = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    answers = [
        invoice,
        act(ctx, "invoice.get", invoice_id=invoice["id"]),
        act(ctx, "invoice.list"),
        act(ctx, "invoice.get", invoice_id=invoice["id"], fields=["id", "pdf"]),
        act(ctx, "invoice.timeline", invoice_id=invoice["id"]),
        act(ctx, "invoice.send", invoice_id=invoice["id"]),
        act(ctx, "invoice.record_payment", invoice_id=invoice["id"], amount="1.00"),
        act(ctx, "invoice.credit", invoice_id=invoice["id"], reason="r"),
    ]
    assert invoice["pdf"]["sha256"] and invoice["pdf"]["filename"]
    for answer in answers:
        assert "blob_key" not in json.dumps(answer), answer
    # the store still knows where the PDF lives
    stored = ctx.store.get("invoices", invoice["id"])
    assert stored.data["pdf"]["blob_key"].startswith("pdf/")


def test_pdf_function_timeline_event_names_no_blob_key(ctx, ids) -> None:
    """The PDF function, given an id, records ``pdf_rendered``: the timeline is an answer too."""
    from functions.pdf.handler import handle

    invoice = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    rec = ctx.store.get("invoices", invoice["id"])
    ctx.store.transaction(
        lambda tx: tx.put(
            "invoices",
            rec.key,
            {k: v for k, v in rec.data.items() if k != "pdf"},
            account_id=rec.account_id,
            expected_version=rec.version,
        )
    )
    result = handle({"invoice_id": invoice["id"], "account_id": rec.account_id}, ctx.store)
    assert result["rendered"] is True
    events = act(ctx, "invoice.timeline", invoice_id=invoice["id"])["events"]
    assert [e["type"] for e in events].count("pdf_rendered") == 2
    assert "blob_key" not in json.dumps(events)


def test_apikey_list_follows_the_list_convention(key: str) -> None:
    """``limit``/``page`` page the keys; ``total``/``pages`` count them (the session is not an
    API key; revoked keys are left out)."""
    made = [call("apikey.create", key=key, name=f"k{i}")[1]["id"] for i in range(5)]
    call("apikey.revoke", key=key, apikey_id=made[0])
    status, first, _ = call("apikey.list", key=key, limit=3)
    assert status == 200, first
    assert (first["total"], first["page"], first["pages"], first["limit"]) == (4, 1, 2, 3)
    assert len(first["items"]) == 3
    second = call("apikey.list", key=key, limit=3, page=2)[1]
    assert (second["page"], len(second["items"])) == (2, 1)
    listed = [i["id"] for i in first["items"] + second["items"]]
    assert sorted(listed) == sorted(made[1:])
    assert all("key" not in item for item in first["items"])
    default = call("apikey.list", key=key)[1]
    assert default["limit"] == 20 and default["total"] == 4
    bad = call("apikey.list", key=key, limit=101)
    assert bad[0] == 422 and bad[1]["error"]["details"][0]["field"] == "limit"
    projected = call("apikey.list", key=key, fields=["id", "name"])[1]
    assert set(projected["items"][0]) == {"id", "name"}


@pytest.mark.parametrize(
    ("status", "article"),
    [
        ("open", "an"),
        ("overdue", "an"),
        ("uncollectible", "an"),
        ("draft", "a"),
        ("sent", "a"),
        ("paid", "a"),
        ("void", "a"),
        ("credited", "a"),
    ],
)
def test_state_messages_use_the_right_article(status: str, article: str) -> None:
    from functions.domain.lifecycle import transition

    with pytest.raises(InvalidState) as err:
        transition(status, "void" if status != "open" else "record_payment", kind="credit_note")
    assert f" {article} {status} credit note" in err.value.message, err.value.message


def test_voiding_an_open_credit_note_says_an_open(ctx, ids) -> None:
    invoice = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    note = act(ctx, "invoice.credit", invoice_id=invoice["id"], reason="r")
    with pytest.raises(InvalidState) as err:
        act(ctx, "invoice.void", invoice_id=note["id"])
    assert err.value.message == "cannot void an open credit note"
