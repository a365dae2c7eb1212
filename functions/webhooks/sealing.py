"""How a webhook's signing secret is kept at rest: encrypted, with the key outside the store.

Every other secret of Billow (sign-in tokens, session and API keys, hosted-page tokens) is
stored as a SHA-256 hash: we only ever need to *recognise* it. A signing secret is different:
each delivery computes an HMAC with it, so the plain secret must be recoverable, and a hash
cannot be used. It is therefore *sealed*: encrypted with a key that is not in the store, and
bound to its webhook (the account and webhook ids are authenticated data, so a sealed secret
copied onto another webhook record does not open). A copy of the database — an SQLite file, a
DynamoDB backup or export — then holds no usable secret. The API shows the plain secret once,
in the answer of ``webhook.create``; ``webhook.get``/``list`` never carry it.

Two sealers, chosen by :func:`sealer_from_env`:

- :class:`KmsSealer` (AWS: ``BILLOW_WEBHOOK_KMS_KEY_ID``): KMS ``Encrypt``/``Decrypt`` with an
  encryption context. The API function needs only ``kms:Encrypt`` (it creates secrets), the
  delivery function only ``kms:Decrypt``; every decryption is in CloudTrail. A secret is 44
  bytes, far under KMS's 4 KiB, so no envelope key is needed.
- :class:`LocalSealer` (``billow serve``): AES-256-GCM (``cryptography``) with a key from
  ``BILLOW_WEBHOOK_SEAL_KEY`` (base64 of 32 bytes) or, by default, the file
  ``<data dir>/webhook-seal.key`` created once with mode 0600 beside the database, as the
  store's own ``secret.key`` is. Back the two up separately.

A sealed value names its method and key (``v1.local.<kid>.…``, ``v1.kms.…``) so keys can be
rotated: a new key seals, the old one still opens until every webhook has been re-sealed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

_NONCE_BYTES = 12
KEY_FILE = "webhook-seal.key"


class SealError(Exception):
    """A sealed secret that does not open (wrong key, wrong record, tampered)."""


class Sealer(Protocol):
    def seal(self, secret: str, *, context: Mapping[str, str]) -> str: ...

    def open(self, sealed: str, *, context: Mapping[str, str]) -> str: ...


def webhook_context(account_id: str, webhook_id: str) -> dict[str, str]:
    """The authenticated data binding a sealed secret to its webhook."""
    return {"account_id": account_id, "webhook_id": webhook_id}


def _aad(context: Mapping[str, str]) -> bytes:
    return json.dumps(dict(context), sort_keys=True, separators=(",", ":")).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LocalSealer:
    """AES-256-GCM with one current key and any number of older keys that still open."""

    def __init__(self, key: bytes, *, older: tuple[bytes, ...] = ()) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if len(key) != 32 or any(len(k) != 32 for k in older):
            raise ValueError("a seal key is 32 bytes")
        self._keys = {self.key_id(k): AESGCM(k) for k in (key, *older)}
        self._current = self.key_id(key)

    @staticmethod
    def key_id(key: bytes) -> str:
        """A short public name of a key (not enough to guess it: 32 random bytes)."""
        return hashlib.sha256(b"billow-webhook-seal\0" + key).hexdigest()[:8]

    def seal(self, secret: str, *, context: Mapping[str, str]) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        box = self._keys[self._current].encrypt(nonce, secret.encode(), _aad(context))
        return f"v1.local.{self._current}.{_b64(nonce + box)}"

    def open(self, sealed: str, *, context: Mapping[str, str]) -> str:
        from cryptography.exceptions import InvalidTag

        parts = sealed.split(".") if isinstance(sealed, str) else []
        if len(parts) != 4 or parts[:2] != ["v1", "local"] or parts[2] not in self._keys:
            raise SealError("not a secret sealed with a known local key")
        try:
            raw = _unb64(parts[3])
            nonce, box = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
            plain = self._keys[parts[2]].decrypt(nonce, box, _aad(context))
        except (InvalidTag, ValueError):
            raise SealError("the sealed secret does not open for this webhook") from None
        return plain.decode()


class KmsSealer:
    """AWS KMS ``Encrypt``/``Decrypt`` with the webhook as encryption context."""

    def __init__(self, client: Any, key_id: str) -> None:
        self._kms = client
        self._key_id = key_id

    def seal(self, secret: str, *, context: Mapping[str, str]) -> str:
        answer = self._kms.encrypt(
            KeyId=self._key_id, Plaintext=secret.encode(), EncryptionContext=dict(context)
        )
        return f"v1.kms.{_b64(answer['CiphertextBlob'])}"

    def open(self, sealed: str, *, context: Mapping[str, str]) -> str:
        parts = sealed.split(".") if isinstance(sealed, str) else []
        if len(parts) != 3 or parts[:2] != ["v1", "kms"]:
            raise SealError("not a KMS-sealed secret")
        from botocore.exceptions import ClientError

        try:
            answer = self._kms.decrypt(
                CiphertextBlob=_unb64(parts[2]),
                EncryptionContext=dict(context),
                KeyId=self._key_id,
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in {"InvalidCiphertextException", "IncorrectKeyException"}:
                raise SealError("the sealed secret does not open for this webhook") from None
            raise
        return answer["Plaintext"].decode()


def _key_file(data_dir: Path) -> bytes:
    """The local seal key, created once (0600, exclusive create: two processes agree)."""
    path = data_dir / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        data = path.read_bytes()
        if len(data) != 32:  # a writer between create and write: read again once it is there
            import time

            for _ in range(50):
                time.sleep(0.02)
                data = path.read_bytes()
                if len(data) == 32:
                    break
        if len(data) != 32:
            raise SealError(f"{path} is not a 32-byte key") from None
        return data
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())
    return key


def sealer_from_env(environ: Mapping[str, str] | None = None) -> Sealer:
    """The sealer this deployment uses (see the module docstring for the order)."""
    env = os.environ if environ is None else environ
    kms_key = env.get("BILLOW_WEBHOOK_KMS_KEY_ID")
    if kms_key:
        import boto3

        return KmsSealer(boto3.client("kms"), kms_key)
    older = tuple(
        base64.b64decode(k) for k in env.get("BILLOW_WEBHOOK_SEAL_KEYS_OLD", "").split(",") if k
    )
    explicit = env.get("BILLOW_WEBHOOK_SEAL_KEY")
    if explicit:
        return LocalSealer(base64.b64decode(explicit), older=older)
    data_dir = Path(env.get("BILLOW_DATA_DIR") or ".billow")
    data_dir.mkdir(parents=True, exist_ok=True)
    return LocalSealer(_key_file(data_dir), older=older)
