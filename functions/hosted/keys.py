"""The key hosted-page links are derived from, kept outside the store, and the links
themselves (no store, no services: the daily run and the API function share it).

``BILLOW_LINK_KEY`` (base64 of at least 32 bytes), else the SSM SecureString named by
``BILLOW_LINK_KEY_PARAMETER`` (AWS: read once per cold start), else the file ``link.key``
beside the SQLite database (created once, mode 0600, like ``secret.key``; ``billow backup``
copies it). Losing the key changes every link: the stored hashes then match no derivable token
(the owner rotates a document's link to get a working one).
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import tokens

LINK_KEY_FILE = "link.key"
LINK_KEY_BYTES = 32

_keys: dict[str, bytes] = {}
_keys_lock = threading.Lock()


class LinkKeyError(RuntimeError):
    """The link key is configured but unusable (the operator's fault)."""


# --- the link key ------------------------------------------------------------------------------


def _decode_key(value: str, source: str) -> bytes:
    text = value.strip()
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise LinkKeyError(f"{source} is not base64") from None
    if len(key) < LINK_KEY_BYTES:
        raise LinkKeyError(f"{source} holds fewer than {LINK_KEY_BYTES} bytes")
    return key


def _key_file(path: Path) -> bytes:
    """The key in ``path``, created once (``O_EXCL``: two processes starting together agree)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(100):  # the creator may still be writing it
            data = path.read_bytes()
            if len(data) >= LINK_KEY_BYTES:
                return data
            time.sleep(0.01)
        raise LinkKeyError(f"{path} holds fewer than {LINK_KEY_BYTES} bytes") from None
    data = secrets.token_bytes(LINK_KEY_BYTES)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return data


def _ssm_key(name: str) -> bytes:
    import boto3

    answer = boto3.client("ssm").get_parameter(Name=name, WithDecryption=True)
    return _decode_key(answer["Parameter"]["Value"], f"the parameter {name}")


def key_path(store: Any) -> Path:
    """Where the local link key lives: beside the SQLite file, else in the data dir."""
    return Path(_key_file_name(store))


def _key_file_name(store: Any) -> str:
    # strings, not Path: this runs once per hosted link shown (20 per list page)
    db_path = getattr(store, "db_path", None)
    if db_path is not None:
        return os.path.join(os.path.dirname(os.fspath(db_path)), LINK_KEY_FILE)
    return os.path.join(os.environ.get("BILLOW_DATA_DIR") or ".billow", LINK_KEY_FILE)


def link_key(store: Any) -> bytes:
    """The key hosted-link tokens are derived with (see the module doc), cached per source."""
    configured = os.environ.get("BILLOW_LINK_KEY")
    if configured:
        return _decode_key(configured, "BILLOW_LINK_KEY")
    parameter = os.environ.get("BILLOW_LINK_KEY_PARAMETER")
    # abspath, not resolve(): no file-system call per link (a list page derives 20); two
    # paths to one file only mean the same key read twice
    source = f"ssm:{parameter}" if parameter else f"file:{os.path.abspath(_key_file_name(store))}"
    key = _keys.get(source)
    if key is None:
        with _keys_lock:
            key = _keys.get(source)
            if key is None:
                key = _ssm_key(parameter) if parameter else _key_file(key_path(store))
                _keys[source] = key
    return key


def hosted_base_url(public_url: str) -> str:
    """The origin hosted links start with: ``BILLOW_HOSTED_URL``, else the app's public URL."""
    return (os.environ.get("BILLOW_HOSTED_URL") or public_url).rstrip("/")


def document_url(
    key: bytes, public_url: str, document_id: str, data: Mapping[str, Any]
) -> str | None:
    """The current hosted link of a stored document (its record's ``data``); ``None`` for a
    draft or a document without a link (finalized before links existed, until rotated)."""
    version = data.get("hosted_link_version")
    if not version or data.get("status", "draft") == "draft":
        return None
    token = tokens.derive_token(key, document_id, int(version))
    return tokens.hosted_url(hosted_base_url(public_url), token)
