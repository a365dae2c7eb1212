"""Which webhook URLs may be called: only public HTTPS endpoints (the SSRF guard).

A webhook URL is typed by a user and called by our servers, from inside our network. Without
this guard it would reach what only we can reach: the cloud's metadata service (credentials),
the database, an admin port on loopback. The rules:

- ``https://`` only, no user:password, no fragment, a host name or a public IP literal;
- every address the name resolves to must be *public*: never loopback, private (RFC 1918,
  IPv6 unique local), link-local, shared/CGNAT (100.64/10), multicast, reserved, unspecified,
  documentation/benchmark ranges, IPv4-mapped or IPv4-embedding IPv6 (mapped, 6to4, Teredo,
  NAT64), nor a cloud metadata address (169.254.169.254, fd00:ec2::254 ...). One bad address
  refuses the name (a name mixing a public and a private answer is an attack, not a typo);
- checked when the URL is saved, and again at every delivery *after* resolving the name, and
  the delivery connects to the address that was checked (:mod:`.delivery` never resolves a
  second time: DNS rebinding would otherwise swap the answer between check and connect).

``BILLOW_WEBHOOKS_ALLOW_LOCAL=1`` (development and tests only) also accepts ``http://`` and
loopback addresses — nothing else: private networks and metadata addresses stay refused.

The resolver is injected (``Resolver``: host, port → addresses), so tests can use one that
changes its answer between save and delivery.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

MAX_URL_LENGTH = 2048

#: Cloud instance metadata and similar link-local services, refused even with allow_local.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack ... (IMDS)
        "169.254.170.2",  # AWS ECS task metadata and credentials
        "169.254.169.253",  # AWS VPC DNS
        "169.254.169.123",  # AWS time sync
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::253",  # AWS VPC DNS over IPv6
        "fd00:ec2::123",  # AWS time sync over IPv6
        "100.100.100.200",  # Alibaba Cloud metadata
        "192.0.0.192",  # Oracle Cloud metadata
    )
)

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_PRIVATE = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class UnsafeURL(ValueError):
    """A URL or address that webhooks may not call; ``reason`` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ResolveError(OSError):
    """The name did not resolve (a delivery error worth retrying, not a refusal)."""


@dataclass(frozen=True)
class Target:
    """A parsed, syntactically acceptable webhook URL."""

    url: str
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, lower case, no brackets
    port: int
    path: str  # path and query, never empty
    literal: IPAddress | None  # the host when it is an IP literal

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if isinstance(self.literal, ipaddress.IPv6Address) else self.host
        return host if self.port == default else f"{host}:{self.port}"


def allow_local_from_env(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("BILLOW_WEBHOOKS_ALLOW_LOCAL", "") == "1"


def address_problem(address: str | IPAddress, *, allow_local: bool = False) -> str | None:
    """Why ``address`` may not be called, or ``None`` when it is a public unicast address."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return f"{address!r} is not an IP address"
    if ip in METADATA_ADDRESSES:
        return f"{ip} is a cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"{ip} is an IPv4-mapped IPv6 address"
        if ip.sixtofour is not None or ip.teredo is not None or any(ip in n for n in _NAT64):
            return f"{ip} embeds an IPv4 address (6to4, Teredo or NAT64)"
        if ip.scope_id:
            return f"{ip} is a scoped (interface-local) address"
    if ip.is_unspecified:
        return f"{ip} is the unspecified address"
    if ip.is_loopback:
        return None if allow_local else f"{ip} is a loopback address"
    if ip.is_link_local:
        return f"{ip} is a link-local address"
    if ip.is_multicast:
        return f"{ip} is a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return f"{ip} is a shared (carrier-grade NAT) address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return f"{ip} is a site-local address"
    if ip.is_reserved:
        return f"{ip} is a reserved address"
    if any(ip in net for net in _PRIVATE if net.version == ip.version):
        kind = "a unique local" if isinstance(ip, ipaddress.IPv6Address) else "a private"
        return f"{ip} is {kind} address"
    if ip.is_private or not ip.is_global:  # documentation, benchmarking, IETF ranges ...
        return f"{ip} is not a public address"
    return None


def parse_url(url: object, *, allow_local: bool = False) -> Target:
    """The parsed URL, or :class:`UnsafeURL` saying what is wrong with it. An IP literal host
    is checked here; a name is checked once resolved (:func:`resolve_checked`)."""
    if not isinstance(url, str) or not url:
        raise UnsafeURL("must be a URL")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURL(f"must be at most {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise UnsafeURL("must not contain spaces or control characters")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if allow_local else ("https",)
    if scheme not in allowed:
        raise UnsafeURL("must start with https://")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("must not contain a user name or password")
    if parts.fragment or url.endswith("#"):
        raise UnsafeURL("must not contain a #fragment")
    raw_host = parts.hostname
    if not raw_host:
        raise UnsafeURL("must name a host")
    literal: IPAddress | None
    try:
        literal = ipaddress.ip_address(raw_host)
    except ValueError:
        literal = None
    if literal is not None:
        host = str(literal)
        problem = address_problem(literal, allow_local=allow_local)
        if problem:
            raise UnsafeURL(f"must be a public address: {problem}")
    else:
        try:
            host = raw_host.rstrip(".").encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise UnsafeURL("has a host name that is not valid") from None
        if not host or ("." not in host and host != "localhost"):
            raise UnsafeURL("must name a fully qualified host")
        if (host == "localhost" or host.endswith(".localhost")) and not allow_local:
            raise UnsafeURL("must not point to this machine (localhost)")
    if port == 0:
        raise UnsafeURL("has an invalid port")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    if port is None:
        port = 443 if scheme == "https" else 80
    return Target(url, scheme, host, port, path, literal)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to for a TCP connection, in the system's order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolveError(f"{host} does not resolve ({exc})") from None
    seen: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = str(sockaddr[0])  # an IPv6 zone ("%eth0") stays: such an address is refused
        if address not in seen:
            seen.append(address)
    return seen


def resolve_checked(
    target: Target, *, resolver: Resolver = system_resolver, allow_local: bool = False
) -> list[IPAddress]:
    """The addresses to connect to for ``target``, every one of them checked.

    Raises :class:`ResolveError` when the name does not resolve and :class:`UnsafeURL` when
    any address it resolves to may not be called.
    """
    if target.literal is not None:
        return [target.literal]
    answers = list(resolver(target.host, target.port))
    if not answers:
        raise ResolveError(f"{target.host} does not resolve")
    addresses: list[IPAddress] = []
    for answer in answers:
        try:
            ip = ipaddress.ip_address(answer)
        except ValueError:
            raise UnsafeURL(f"{target.host} resolves to {answer!r}, not an IP address") from None
        problem = address_problem(ip, allow_local=allow_local)
        if problem:
            raise UnsafeURL(f"{target.host} resolves to {problem}")
        if ip not in addresses:
            addresses.append(ip)
    return addresses


def check_webhook_url(
    url: object, *, resolver: Resolver = system_resolver, allow_local: bool | None = None
) -> Target:
    """The check of ``webhook.create``/``update``: the URL parses and its host resolves, now,
    to public addresses only. Raises :class:`UnsafeURL` (a 422 on ``url``) otherwise."""
    local = allow_local_from_env() if allow_local is None else allow_local
    target = parse_url(url, allow_local=local)
    try:
        resolve_checked(target, resolver=resolver, allow_local=local)
    except ResolveError:
        raise UnsafeURL(f"the host {target.host} does not resolve") from None
    return target
