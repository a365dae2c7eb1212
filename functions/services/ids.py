"""Record ids: prefixed, time-sortable, opaque (``inv_01jd3k...``). A module of its own, with
no imports of the service layer, so that jobs outside the API (the overdue run) can make ids
without loading every service."""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


_id_lock = threading.Lock()
_last_id = 0


def new_id(prefix: str) -> str:
    """A prefixed, time-sortable, opaque id such as ``inv_01jd3k...`` (ULID-like).

    Monotonic within a process, as in the ULID spec: an id made in the same millisecond as the
    previous one is the previous one plus one, so "newest first" (created_at, then id) is exact
    even for records created in the same second.
    """
    global _last_id
    ms = int(time.time() * 1000)
    with _id_lock:
        value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
        if value >> 80 <= _last_id >> 80:
            value = _last_id + 1
        _last_id = value
    chars = []
    for _ in range(26):
        value, r = divmod(value, 32)
        chars.append(_ALPHABET[r])
    return f"{prefix}_{''.join(reversed(chars))}"
