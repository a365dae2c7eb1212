"""``billow export`` and ``billow import``: one account, whole, as JSON and files in one archive.

Only the public :class:`~storage_adapter.Store` port is used (``query``, ``get``, ``events``,
``counter_value``, ``get_blob``; ``transaction``, ``put_blob`` to import), so an archive moves
between any two backends: SQLite to DynamoDB and back.

The archive (``.tar``, ``.tar.gz`` or ``.zip``)::

    manifest.json                 format, account, counts, SHA-256 of every other member
    records/<collection>.json     [{"key", "version", "data", "expires_at"}, ...]
    events/<stream>.json          the stream's events, oldest first (invoice timelines)
    counters.json                 {"number:<entity>:<series>:<period>": last number, ...}
    blobs/<key>                   the files (PDFs, logos); content types in the manifest

What travels: the account, the e-mail address it signs in with, its entities, clients,
products, invoices and credit notes (versions kept), their timelines, the numbering counters
and every file they name. What does not: credentials of any kind — sessions, API keys (not
even their hashes), sign-in links — nor idempotency records and rate-limit buckets. An export
is a file people mail around; it should not be a way in. After an import the owner signs in
with a new link and creates new API keys.

Import refuses any clash (a record key, the e-mail address, a non-empty stream or counter that
already exists in the target) before writing anything. It writes the files first, then the
records, and the account and its e-mail address last, so an import cut short is invisible
(nobody can sign in to it) and is finished by importing again.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import typing
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from tqdm import tqdm

from storage_adapter import Store, Transaction

FORMAT = "billow-account-export"
VERSION = 1

#: Collections of an account's data, in the order they are imported (the account last).
EXPORTED = (
    "entities",
    "clients",
    "products",
    "invoices",
    "quotes",
    "recurring",
    "recurring_issues",
    "recurring_unsent",
    "ledger_documents",
    "ledger_entries",
    "account_emails",
    "accounts",
)
#: Account-scoped collections an export leaves out, and why (a test fails on any collection
#: that is in neither list, so a new one is a decision, not an accident).
NOT_EXPORTED = {
    "apikeys": "credentials stay behind: create new API keys after an import",
    "credentials": "sessions and API key hashes stay behind",
    "login_tokens": "sign-in links expire within minutes",
    "login_rate": "rate-limit buckets",
    "idempotency": "retry records expire within a day",
    "webhooks": "endpoints hold signing secrets sealed with this installation's key: "
    "create them again after an import",
    "webhook_events": "the outbox: events already sent, or sent by the source installation",
    "webhook_deliveries": "delivery state of the source installation's endpoints",
    "webhook_attempts": "the deliveries log (kept 90 days)",
    "jobs": "pending work of the source installation (PDFs are exported with the invoices)",
    "hosted_links": "customer links are derived with the installation's link key, which stays "
    "behind: an import writes the invoices' links again under the new key (the URLs change); "
    "a quote's link works again once re-issued on the new installation",
}


class PortabilityError(Exception):
    """An export or import that cannot be done (the message says why)."""


@dataclass
class AccountData:
    account_id: str
    email: str
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    blobs: dict[str, tuple[bytes, str]] = field(default_factory=dict)


def account_of(store: Store, email: str) -> str:
    from functions.services.auth import _account_email_key

    link = store.get("account_emails", _account_email_key(email.strip()))
    if link is None:
        raise PortabilityError(f"no account signs in with {email}")
    return str(link.data["account_id"])


def blob_keys(value: Any) -> Iterator[str]:
    """The blob keys JSON data names, by the store's convention: a ``blob_key`` field
    (``pdf.blob_key``, ``pdf_rendered`` events) or the ``key`` of a ``..._blob`` object
    (``logo_blob``)."""
    if isinstance(value, dict):
        for name, item in value.items():
            if isinstance(item, str) and (name == "blob_key" or name.endswith("_blob_key")):
                yield item
            elif name.endswith("_blob") and isinstance(item, dict):
                if isinstance(item.get("key"), str):
                    yield item["key"]
            else:
                yield from blob_keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from blob_keys(item)


def _counter_names(store: Store, invoices: list[dict[str, Any]], entity_ids: set[str]) -> set[str]:
    """The numbering counters of the account's entities: every series and period a finalized
    document of theirs falls in (under every reset rule the model knows), plus ``all``."""
    from functions.domain.models import Entity
    from functions.domain.numbering import counter_name, period

    resets = typing.get_args(Entity.model_fields["number_reset"].annotation) or ("yearly",)
    names: set[str] = set()
    for doc in invoices:
        data = doc["data"]
        seller = data.get("seller") if isinstance(data.get("seller"), dict) else {}
        entity_id = (seller or {}).get("id") or data.get("entity_id")
        issued = data.get("issue_date")
        if not entity_id or not issued or not data.get("number"):
            continue
        entity_ids.add(entity_id)
        for reset in resets:
            try:
                period(reset, date.fromisoformat(issued))
                names.add(
                    counter_name(
                        entity_id,
                        data.get("kind") or "invoice",
                        "",
                        reset,
                        date.fromisoformat(issued),
                    )
                )
            except ValueError:
                continue
    today = datetime.now(UTC).date()
    for entity_id in entity_ids:
        for kind in ("invoice", "credit_note"):
            for reset in resets:
                try:
                    names.add(counter_name(entity_id, kind, "", reset, today))
                except ValueError:
                    continue
    return names


def _quote_counter_names(quotes: list[dict[str, Any]]) -> set[str]:
    """The counters of the quote series the account's numbered quotes were taken from
    (``functions.domain.quotes.quote_counter``), for every reset their pattern may follow."""
    from functions.domain.numbering import period

    names: set[str] = set()
    for doc in quotes:
        data = doc["data"]
        issued, entity_id = data.get("issue_date"), data.get("entity_id")
        if not data.get("number") or not issued or not entity_id:
            continue
        for reset in ("yearly", "monthly", "daily", "never"):
            names.add(f"number:{entity_id}:quote:{period(reset, date.fromisoformat(issued))}")
    return names


def collect(store: Store, email: str) -> AccountData:
    """Everything of the account that signs in with ``email``."""
    account_id = account_of(store, email)
    out = AccountData(account_id, email.strip())
    for collection in EXPORTED:
        page = store.query(collection, account_id=account_id, limit=None)
        out.records[collection] = [
            {"key": r.key, "version": r.version, "data": r.data, "expires_at": r.expires_at}
            for r in sorted(page.items, key=lambda r: r.key)
        ]
    from functions.services.invoices import timeline_stream

    documents = [*out.records["invoices"], *out.records.get("quotes", [])]
    documents += out.records.get("recurring", [])  # schedules keep their timelines too
    for doc in tqdm(documents, desc="events", unit="document", disable=None):
        stream = timeline_stream(doc["key"])
        if doc in out.records.get("recurring", []):
            stream = f"recurring:{doc['key']}"
        events = store.events(stream)
        if events:
            out.events[stream] = events
    entity_ids = {r["key"] for r in out.records["entities"]}
    quote_counters = _quote_counter_names(out.records.get("quotes", []))
    ledger_counters = {f"ledger:{entity_id}" for entity_id in entity_ids}  # posting order
    counter_names = _counter_names(store, out.records["invoices"], entity_ids)
    for name in sorted(counter_names | quote_counters | ledger_counters):
        value = store.counter_value(name)
        if value:
            out.counters[name] = value
    # files: every blob the account's records and events name
    candidates = set(blob_keys([out.records, out.events]))
    for key in tqdm(sorted(candidates), desc="files", unit="file", disable=None):
        try:
            blob = store.get_blob(key)
        except ValueError:  # not a blob key after all
            continue
        if blob is not None:
            out.blobs[key] = (blob.data, blob.content_type)
    return out


# --- the archive -------------------------------------------------------------------------------


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode()


def _stream_file(stream: str) -> str:
    return "events/" + stream.replace("/", "_").replace(":", "_") + ".json"


def export_account(store: Store, email: str, archive: Path) -> dict[str, Any]:
    data = collect(store, email)
    members: dict[str, bytes] = {}
    for collection, records in data.records.items():
        members[f"records/{collection}.json"] = _json(records)
    streams = {}
    for stream, events in data.events.items():
        name = _stream_file(stream)
        streams[name] = stream
        members[name] = _json(events)
    members["counters.json"] = _json(data.counters)
    content_types = {}
    for key, (blob, ctype) in data.blobs.items():
        members[f"blobs/{key}"] = blob
        content_types[key] = ctype
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "account": {"id": data.account_id, "email": data.email},
        "counts": {
            "records": {c: len(r) for c, r in data.records.items()},
            "events": sum(len(e) for e in data.events.values()),
            "counters": len(data.counters),
            "blobs": len(data.blobs),
        },
        "streams": streams,
        "blob_content_types": content_types,
        "not_exported": NOT_EXPORTED,
        "files": {name: hashlib.sha256(body).hexdigest() for name, body in sorted(members.items())},
    }
    members = {"manifest.json": _json(manifest), **members}
    _write_archive(archive, members)
    return manifest


def _write_archive(archive: Path, members: dict[str, bytes]) -> None:
    archive.parent.mkdir(parents=True, exist_ok=True)
    tmp = archive.with_name(archive.name + ".partial")
    if archive.suffix == ".zip":
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, body in members.items():
                zf.writestr(name, body)
    else:
        mode = "w:gz" if archive.name.endswith((".tar.gz", ".tgz")) else "w"
        with tarfile.open(tmp, mode) as tf:
            for name, body in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(body)
                info.mode = 0o600
                tf.addfile(info, io.BytesIO(body))
    tmp.replace(archive)


def _read_archive(archive: Path) -> dict[str, bytes]:
    members: dict[str, bytes] = {}
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if not name.endswith("/"):
                    members[name] = zf.read(name)
        return members
    try:
        with tarfile.open(archive) as tf:
            for info in tf.getmembers():
                if info.isfile():
                    fh = tf.extractfile(info)
                    if fh is not None:
                        members[info.name] = fh.read()
    except tarfile.TarError as exc:
        raise PortabilityError(f"{archive} is not a tar or zip archive: {exc}") from None
    return members


def read_export(archive: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and members of an export, every checksum checked."""
    members = _read_archive(archive)
    if "manifest.json" not in members:
        raise PortabilityError(f"{archive} has no manifest.json: not a Billow export")
    manifest = json.loads(members["manifest.json"])
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise PortabilityError(f"{archive}: unknown export format {manifest.get('format')!r}")
    for name, digest in manifest["files"].items():
        path = PurePosixPath(name)
        if path.is_absolute() or ".." in path.parts:
            raise PortabilityError(f"{archive}: unsafe member name {name!r}")
        if name not in members:
            raise PortabilityError(f"{archive}: {name} is missing")
        if hashlib.sha256(members[name]).hexdigest() != digest:
            raise PortabilityError(f"{archive}: {name} does not match its checksum")
    return manifest, members


def clashes(store: Store, manifest: dict[str, Any], members: dict[str, bytes]) -> list[str]:
    """What of the archive already exists in ``store`` (nothing may be overwritten)."""
    found: list[str] = []
    # the account's own records first: "the e-mail address" heads a long list of clashes
    for collection in sorted(EXPORTED, key=lambda c: c not in ("account_emails", "accounts")):
        for rec in json.loads(members.get(f"records/{collection}.json", b"[]")):
            if store.get(collection, rec["key"]) is not None:
                what = "the e-mail address" if collection == "account_emails" else rec["key"]
                found.append(f"{collection}: {what} already exists")
    for stream in manifest["streams"].values():
        if store.events(stream):
            found.append(f"events: {stream} already has events")
    for counter in json.loads(members["counters.json"]):
        if store.counter_value(counter):
            found.append(f"counters: {counter} already counts")
    return found


def _batches(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def import_account(store: Store, archive: Path) -> dict[str, Any]:
    manifest, members = read_export(archive)
    found = clashes(store, manifest, members)
    if found:
        shown = "\n  ".join(found[:20]) + (
            f"\n  ... and {len(found) - 20} more" if len(found) > 20 else ""
        )
        raise PortabilityError(
            "nothing imported: the target store already holds part of this account\n  " + shown
        )
    account_id = manifest["account"]["id"]
    size = max(1, (store.max_transaction_items or 200) // 2)
    # 1. files
    blobs = sorted(name for name in members if name.startswith("blobs/"))
    for name in tqdm(blobs, desc="files", unit="file", disable=None):
        key = name[len("blobs/") :]
        ctype = manifest["blob_content_types"].get(key, "application/octet-stream")
        store.put_blob(key, members[name], ctype)
    # 2. events and counters
    for name, stream in tqdm(
        manifest["streams"].items(), desc="events", unit="stream", disable=None
    ):
        events = json.loads(members[name])
        for batch in _batches(events, size):
            store.transaction(lambda tx, b=batch, s=stream: [tx.append(s, e) for e in b])
    counters = json.loads(members["counters.json"])
    for batch in _batches(sorted(counters.items()), size):
        store.transaction(
            lambda tx, b=batch: [tx.next_number(name, start=value) for name, value in b]
        )
    # 3. records, the account and its e-mail address last; versions kept
    total = 0
    for collection in EXPORTED:
        records = json.loads(members.get(f"records/{collection}.json", b"[]"))
        step = max(1, size // 4) if collection in ("invoices",) else size
        for batch in tqdm(
            list(_batches(records, step)), desc=collection, unit="batch", disable=None
        ):
            store.transaction(lambda tx, b=batch, c=collection: _put_all(tx, c, b, account_id))
        total += len(records)
    _relink(store, account_id, json.loads(members.get("records/invoices.json", b"[]")), size)
    return {
        "account_id": account_id,
        "email": manifest["account"]["email"],
        "records": total,
        **{k: v for k, v in manifest["counts"].items() if k != "records"},
    }


def _relink(store: Store, account_id: str, invoices: list[dict[str, Any]], size: int) -> None:
    """The customer links of the imported documents, under this installation's link key (the
    source's key stays behind, so the URLs change and the old ones end with the old store)."""
    from functions.hosted.keys import link_key
    from functions.hosted.tokens import derive_token, token_hash

    links = [
        (doc["key"], int(doc["data"]["hosted_link_version"]))
        for doc in invoices
        if doc["data"].get("hosted_link_version")
    ]
    if not links:
        return
    key = link_key(store)
    at = datetime.now(UTC).isoformat()

    def write(tx: Transaction, batch: list[tuple[str, int]]) -> None:
        for invoice_id, version in batch:
            tx.put(
                "hosted_links",
                token_hash(derive_token(key, invoice_id, version)),
                {"invoice_id": invoice_id, "version": version, "created_at": at},
                account_id=account_id,
                expected_version=0,
            )

    for batch in _batches(links, size):
        store.transaction(lambda tx, b=batch: write(tx, b))


def _put_all(
    tx: Transaction, collection: str, records: list[dict[str, Any]], account_id: str
) -> None:
    for rec in records:
        # the store numbers versions itself: writing a record N times in one transaction
        # gives it version N, as it had in the exported store (clients send it back on update)
        for n in range(int(rec["version"])):
            tx.put(
                collection,
                rec["key"],
                rec["data"],
                account_id=account_id,
                expected_version=0 if n == 0 else n,
                expires_at=rec.get("expires_at"),
            )
