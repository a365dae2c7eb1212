"""``Idempotency-Key`` support: Powertools' idempotency utility over our own store.

:class:`StorePersistenceLayer` implements Powertools' ``BasePersistenceLayer`` on the
:class:`~storage_adapter.Store` port (collection ``idempotency``), so one code path works on the
SQLite file and on DynamoDB. The in-progress record is written create-only (expected version 0),
which is what makes two concurrent requests with one key safe: the second sees the first's
record and gets "in progress" (or, once it completed, the stored response).

The idempotency key is hashed from ``[account_id, Idempotency-Key]``; the payload hash is the
request body, so the same key with a different body raises ``IdempotencyValidationError``
(→ ``409 idempotency_mismatch``). Records live 24 hours.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from storage_adapter import Store, VersionConflict

COLLECTION = "idempotency"
TTL_SECONDS = 24 * 3600


class StorePersistenceLayer(BasePersistenceLayer):
    """Powertools idempotency records kept in a :class:`Store`."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    @staticmethod
    def _to_data(record: DataRecord) -> dict[str, Any]:
        return {
            "status": record.status,
            "expiry_timestamp": record.expiry_timestamp,
            "in_progress_expiry_timestamp": record.in_progress_expiry_timestamp,
            "response_data": record.response_data,
            "payload_hash": record.payload_hash,
        }

    @staticmethod
    def _from_data(key: str, data: dict[str, Any]) -> DataRecord:
        return DataRecord(
            idempotency_key=key,
            status=data.get("status", ""),
            expiry_timestamp=data.get("expiry_timestamp"),
            in_progress_expiry_timestamp=data.get("in_progress_expiry_timestamp"),
            response_data=data.get("response_data") or "",
            payload_hash=data.get("payload_hash") or "",
        )

    def _get_record(self, idempotency_key: str) -> DataRecord:
        rec = self.store.get(COLLECTION, idempotency_key)
        if rec is None:
            raise IdempotencyItemNotFoundError
        return self._from_data(idempotency_key, rec.data)

    def _put_record(self, data_record: DataRecord) -> None:
        key = data_record.idempotency_key
        data = self._to_data(data_record)
        try:
            self.store.put(
                COLLECTION,
                key,
                data,
                account_id=None,
                expected_version=0,
                expires_at=data_record.expiry_timestamp,
            )
            return
        except VersionConflict:
            pass
        existing = self.store.get(COLLECTION, key)
        if existing is None:  # expired or deleted in between: let Powertools retry
            raise IdempotencyItemAlreadyExistsError
        old = self._from_data(key, existing.data)
        stale_in_progress = (
            old.status == "INPROGRESS"
            and old.in_progress_expiry_timestamp is not None
            and old.in_progress_expiry_timestamp < int(time.time() * 1000)
        )
        if stale_in_progress:  # the first attempt died mid-way (timeout): take over
            try:
                self.store.put(
                    COLLECTION,
                    key,
                    data,
                    account_id=None,
                    expected_version=existing.version,
                    expires_at=data_record.expiry_timestamp,
                )
                return
            except VersionConflict:
                pass
        # same key, other body → IdempotencyValidationError (409 idempotency_mismatch)
        self._validate_payload(data_payload=data_record, stored_data_record=old)
        raise IdempotencyItemAlreadyExistsError(old_data_record=old)

    def _update_record(self, data_record: DataRecord) -> None:
        self.store.put(
            COLLECTION,
            data_record.idempotency_key,
            self._to_data(data_record),
            account_id=None,
            expected_version=None,
            expires_at=data_record.expiry_timestamp,
        )

    def _delete_record(self, data_record: DataRecord) -> None:
        key = data_record.idempotency_key
        rec = self.store.get(COLLECTION, key)
        if rec is None:
            return
        with contextlib.suppress(VersionConflict):
            self.store.transaction(
                lambda tx: tx.delete(COLLECTION, key, expected_version=rec.version), retries=0
            )


def make_config() -> IdempotencyConfig:
    return IdempotencyConfig(
        event_key_jmespath="[account_id, key]",
        payload_validation_jmespath="body",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=TTL_SECONDS,
        hash_function="sha256",
    )


def _execute(request: dict[str, Any], run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    return run()


def run_idempotent(
    store: Store,
    *,
    account_id: str,
    key: str,
    body: dict[str, Any],
    run: Callable[[], dict[str, Any]],
    lambda_context: Any = None,
) -> dict[str, Any]:
    """``run()`` once per ``(account, key)``; a retry returns the first result unchanged.

    The persistence layer, the config and the wrapped function are made for this call alone:
    Powertools configures a persistence layer on its first use (a window in which a second
    thread sees it half set up) and keeps the Lambda context on the config, so sharing them
    between the concurrent requests of ``billow serve`` would let one request's retry timing
    or key settings leak into another's. They are cheap to build (two short JMESPath
    expressions, cached by jmespath itself).
    """
    config = make_config()
    if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
        config.register_lambda_context(lambda_context)
    fn = idempotent_function(
        data_keyword_argument="request",
        persistence_store=StorePersistenceLayer(store),
        config=config,
        key_prefix="billow.api",
    )(_execute)
    return fn(request={"account_id": account_id, "key": key, "body": body}, run=run)
