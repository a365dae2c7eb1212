"""``auto_advance`` on ``invoice.create`` / ``invoice.finalize`` (all or nothing) and
``invoice.add_lines`` with ``aggregate``, on SQLite and on DynamoDB (moto server over HTTP)."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from pydantic import ValidationError

from functions.domain.errors import Conflict, InvalidState, NotFound, ValidationFailed
from storage_adapter.sqlite import SqliteStore
from tests.support.moto_server import dynamo_store, moto_endpoint  # noqa: F401

from .support import CLIENT, OTHER_ACCOUNT, act, draft, make_ctx, seed


@pytest.fixture(params=["sqlite", pytest.param("dynamodb", marks=pytest.mark.aws)])
def backend(request, tmp_path: Path):
    if request.param == "sqlite":
        store = SqliteStore(tmp_path / "data" / "billow.db")
        yield store
        store.close()
    else:
        yield request.getfixturevalue("dynamo_store")


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


@pytest.fixture
def ctx(backend, outbox: Path):
    c = make_ctx(backend, outbox=outbox)
    c.services["link_key"] = bytes(range(32))
    return c


def mails(outbox: Path) -> list:
    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(f.read_bytes()) for f in sorted(outbox.glob("*.eml"))]


def types(ctx, invoice_id: str) -> list[str]:
    return [e["type"] for e in act(ctx, "invoice.timeline", invoice_id=invoice_id)["events"]]


def test_create_with_auto_advance_finalizes_and_sends(ctx, outbox):
    ids = seed(ctx)
    inv = draft(ctx, ids, auto_advance=True)
    assert inv["status"] == "sent" and inv["number"] == "INV-2026-0001"
    assert inv["pdf"]["sha256"] and inv["hosted_invoice_url"]
    assert types(ctx, inv["id"]) == ["created", "finalized", "pdf_rendered", "sent"]
    (mail,) = mails(outbox)
    assert mail["To"] == CLIENT["email"]
    assert inv["hosted_invoice_url"] in mail.get_body(preferencelist=("plain",)).get_content()


def test_finalize_with_auto_advance_sends(ctx, outbox):
    ids = seed(ctx)
    created = draft(ctx, ids)
    inv = act(ctx, "invoice.finalize", invoice_id=created["id"], auto_advance=True)
    assert inv["status"] == "sent" and len(mails(outbox)) == 1


def test_auto_advance_without_a_client_address_leaves_it_open(ctx, outbox):
    ids = seed(ctx, client={k: v for k, v in CLIENT.items() if k != "email"})
    inv = draft(ctx, ids, auto_advance=True)
    assert inv["status"] == "open" and inv["number"] and mails(outbox) == []


def test_auto_advance_is_all_or_nothing(ctx, backend):
    """A 422 from the finalize checks creates nothing and uses no number."""
    ids = seed(ctx)
    bare = act(ctx, "client.create", name="No Address Ltd", address={"country": "DE"})
    with pytest.raises(ValidationFailed) as failed:
        draft(ctx, {**ids, "client_id": bare["id"]}, auto_advance=True)
    assert any(d.field.startswith("buyer") for d in failed.value.details), failed.value.details
    assert act(ctx, "invoice.list")["total"] == 0
    inv = draft(ctx, ids, auto_advance=True)
    assert inv["number"] == "INV-2026-0001"  # no gap


def test_auto_advance_with_a_failing_mail_stays_open_with_send_failed(backend, tmp_path):
    class Broken:
        def send(self, message):
            from functions.mail.transport import MailDeliveryError

            raise MailDeliveryError("the relay refused")

    ctx = make_ctx(backend, mailer=Broken())
    ctx.services["link_key"] = bytes(range(32))
    ids = seed(ctx)
    inv = draft(ctx, ids, auto_advance=True)
    assert inv["status"] == "open" and inv["number"]
    assert types(ctx, inv["id"])[-1] == "send_failed"


LINE = {"description": "API calls", "quantity": "100", "unit_price": "0.02"}


def test_add_lines_appends_and_aggregates_by_product_and_price(ctx):
    ids = seed(ctx)
    product = act(ctx, "product.create", name="API call", unit_price="0.02", currency="EUR")
    created = draft(ctx, ids, lines=[{"product_id": product["id"], "quantity": "100"}])
    one = act(
        ctx,
        "invoice.add_lines",
        invoice_id=created["id"],
        version=created["version"],
        aggregate=True,
        lines=[
            {"product_id": product["id"], "quantity": "250", "metadata": {"batch": "2"}},
            {"product_id": product["id"], "quantity": "5", "unit_price": "0.03"},
            {**LINE, "metadata": {"source": "meter"}},
        ],
    )
    assert [(x["id"], x["quantity"], x["unit_price"]) for x in one["lines"]] == [
        ("ln_1", "350", "0.02"),
        ("ln_2", "5", "0.03"),
        ("ln_3", "100", "0.02"),
    ]
    assert one["lines"][0]["metadata"] == {}  # the existing line keeps its own
    assert one["lines"][2]["metadata"] == {"source": "meter"}
    assert one["subtotal"] == "9.15" and one["total"] == "10.89"
    event = act(ctx, "invoice.timeline", invoice_id=created["id"])["events"][-1]
    assert event["type"] == "updated"
    assert event["data"] == {"fields": ["lines"], "added": 2, "aggregated": 1}
    # without aggregate the same product is a line of its own
    two = act(
        ctx,
        "invoice.add_lines",
        invoice_id=created["id"],
        lines=[{"product_id": product["id"], "quantity": "1"}],
    )
    assert len(two["lines"]) == 4 and two["lines"][3]["id"] == "ln_4"


def test_add_lines_refusals(ctx, backend):
    ids = seed(ctx)
    created = draft(ctx, ids)
    with pytest.raises(Conflict):
        act(ctx, "invoice.add_lines", invoice_id=created["id"], version=9, lines=[LINE])
    with pytest.raises(ValidationFailed) as bad:
        act(ctx, "invoice.add_lines", invoice_id=created["id"], lines=[{**LINE, "colour": "red"}])
    assert [d.field for d in bad.value.details] == ["lines[0].colour"]
    with pytest.raises(ValidationFailed) as bad:
        act(
            ctx,
            "invoice.add_lines",
            invoice_id=created["id"],
            lines=[LINE, {**LINE, "metadata": {f"k{i}": "v" for i in range(21)}}],
        )
    assert [d.field for d in bad.value.details] == ["lines[1].metadata"]
    with pytest.raises(ValidationError) as unknown:
        act(ctx, "invoice.add_lines", invoice_id=created["id"], lines=[LINE], sort=True)
    assert "sort" in str(unknown.value)
    other = make_ctx(backend, account_id=OTHER_ACCOUNT)
    with pytest.raises(NotFound):
        act(other, "invoice.add_lines", invoice_id=created["id"], lines=[LINE])
    assert act(ctx, "invoice.get", invoice_id=created["id"])["version"] == created["version"]
    act(ctx, "invoice.finalize", invoice_id=created["id"])
    with pytest.raises(InvalidState):
        act(ctx, "invoice.add_lines", invoice_id=created["id"], lines=[LINE])
