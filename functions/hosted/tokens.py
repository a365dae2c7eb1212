"""Hosted-page tokens: random, stored only as a hash, looked up by that hash, rate limited.

- A token is 32 bytes (256 bits, 43 URL-safe characters): guessing one is hopeless, so it is
  the page's only key. ``hosted_invoice_url`` is ``<public URL>/i/<token>`` (quotes:
  ``/q/<token>``). ``invoice.get`` shows that URL to the owner every time, yet the store may
  keep only a hash: so the token is *derived*, ``HMAC-SHA256(link key, document id, link
  version)`` (:func:`derive_token`), never stored. The link key lives outside the store (the
  data dir's key file; on AWS a SecureString parameter), the store keeps the link version and
  the token's hash. :func:`new_token` (random) serves where nothing needs to show it again.
- The store keeps ``sha256(token)`` (the same hash as every other Billow secret,
  ``functions.services.common.hash_secret``): a copy of the database opens no page. A lookup
  hashes the token from the URL and reads the record keyed by that hash — one read, no scan.
- ``invoice.rotate_link`` writes a new token's hash and deletes the old one in one commit;
  the old URL is then exactly as unknown as a random one.
- Misses are rate limited per client network (an IPv4 address, an IPv6 /64): after
  :data:`MISSES_PER_WINDOW` unknown tokens within :data:`MISS_WINDOW_S`, that client gets 429
  for the rest of the window, found or not. A customer opening a real link is never counted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass

TOKEN_BYTES = 32
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
INVOICE_PREFIX = "/i/"
QUOTE_PREFIX = "/q/"
MISSES_PER_WINDOW = 20
MISS_WINDOW_S = 600


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def derive_token(key: bytes, document_id: str, version: int) -> str:
    """The token of version ``version`` of a document's link. ``invoice.rotate_link`` bumps
    the version: the new token is unrelated to the old one, whose hash is deleted."""
    if len(key) < 32:
        raise ValueError("the link key has at least 32 bytes")
    message = f"billow-hosted-link\0{document_id}\0{int(version)}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def token_hash(token: str) -> str:
    """What the store keeps and looks up (equal to ``hash_secret(token)``)."""
    return hashlib.sha256(token.encode()).hexdigest()


def is_token(value: object) -> bool:
    return isinstance(value, str) and bool(_TOKEN.match(value))


def hosted_url(public_url: str, token: str, *, prefix: str = INVOICE_PREFIX) -> str:
    return f"{public_url.rstrip('/')}{prefix}{token}"


@dataclass(frozen=True)
class HostedPath:
    kind: str  # invoice | quote
    token: str
    part: str  # "" (the page), "pdf", "einvoice"


_PARTS = {"": "", "/pdf": "pdf", "/einvoice": "einvoice"}


def parse_path(path: str) -> HostedPath | None:
    """``/i/<token>[/pdf|/einvoice]`` or ``/q/<token>[/pdf]``, else ``None``. A malformed token
    is ``None`` before any store read (still answered with the same 404 as an unknown one)."""
    for prefix, kind in ((INVOICE_PREFIX, "invoice"), (QUOTE_PREFIX, "quote")):
        if path.startswith(prefix):
            rest = path[len(prefix) :]
            token, slash, tail = rest.partition("/")
            part = _PARTS.get(slash + tail)
            if part is None or not is_token(token) or (kind == "quote" and part == "einvoice"):
                return None
            return HostedPath(kind, token, part)
    return None


def client_bucket(source_ip: str) -> str:
    """The rate-limit bucket of a client: its IPv4 address or its IPv6 /64 (one host usually
    holds a whole /64), hashed so the store keeps no address."""
    try:
        ip = ipaddress.ip_address(source_ip)
    except ValueError:
        key = "unknown"
    else:
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        if isinstance(ip, ipaddress.IPv6Address) and mapped is None:
            key = str(ipaddress.ip_network(f"{ip}/64", strict=False))
        else:
            key = str(mapped or ip)
    return hashlib.sha256(f"hosted-miss:{key}".encode()).hexdigest()


@dataclass(frozen=True)
class MissDecision:
    allowed: bool
    misses: list[float]  # what to store back (within the window)
    retry_after: int


def check_misses(previous: list[float], now: float) -> MissDecision:
    """Whether a client with these earlier misses (Unix times) may look a token up now."""
    recent = sorted(t for t in previous if t > now - MISS_WINDOW_S)
    if len(recent) >= MISSES_PER_WINDOW:
        return MissDecision(False, recent, int(recent[0] + MISS_WINDOW_S - now) + 1)
    return MissDecision(True, recent, 0)


def record_miss(previous: list[float], now: float) -> list[float]:
    """The misses to store after one more unknown token (bounded: at most the limit)."""
    recent = [t for t in previous if t > now - MISS_WINDOW_S]
    return sorted([*recent, now])[-MISSES_PER_WINDOW:]
