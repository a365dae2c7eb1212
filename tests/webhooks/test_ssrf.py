"""The SSRF guard: which URLs and addresses a webhook may call, at save and at delivery."""

from __future__ import annotations

import pytest

from functions.webhooks import ssrf
from tests.webhooks.conftest import FixedResolver

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.5", "private"),
        ("172.16.3.4", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("169.254.10.20", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("224.0.0.251", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("fc00::1", "unique local"),
        ("fd12:3456:789a::1", "unique local"),
        ("fec0::1", "site-local"),
        ("::ffff:127.0.0.1", "IPv4-mapped"),
        ("::ffff:93.184.215.14", "IPv4-mapped"),
        ("2002:7f00:1::", "embeds an IPv4"),
        ("64:ff9b::a00:1", "embeds an IPv4"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "embeds an IPv4"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("100.100.100.200", "metadata"),
        ("192.0.2.10", "not a public address"),  # documentation (TEST-NET-1)
        ("198.18.0.1", "not a public address"),  # benchmarking
        ("2001:db8::1", "not a public address"),  # documentation
    ],
)
def test_forbidden_addresses(address, words):
    problem = ssrf.address_problem(address)
    assert problem is not None and words in problem


@pytest.mark.parametrize("address", [PUBLIC_V4, "8.8.8.8", "1.1.1.1", PUBLIC_V6])
def test_public_addresses_pass(address):
    assert ssrf.address_problem(address) is None


def test_allow_local_opens_loopback_only():
    assert ssrf.address_problem("127.0.0.1", allow_local=True) is None
    assert ssrf.address_problem("::1", allow_local=True) is None
    for still_refused in (
        "10.0.0.1",
        "192.168.0.1",
        "169.254.169.254",
        "fd00:ec2::254",
        "0.0.0.0",
        "::ffff:127.0.0.1",
    ):
        assert ssrf.address_problem(still_refused, allow_local=True) is not None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://hooks.example.com/x", "https://"),
        ("ftp://hooks.example.com/x", "https://"),
        ("file:///etc/passwd", "https://"),
        ("gopher://hooks.example.com", "https://"),
        ("https://user:pw@hooks.example.com/", "user name or password"),
        ("https://hooks.example.com/x#frag", "fragment"),
        ("https://hooks.example.com/a b", "spaces"),
        ("https://hooks.example.com/\x00", "control"),
        ("https:///path-only", "host"),
        ("https://intranet/x", "fully qualified"),
        ("https://localhost/x", "localhost"),
        ("https://api.localhost/x", "localhost"),
        ("https://127.0.0.1/x", "loopback"),
        ("https://[::1]/x", "loopback"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://[fd00:ec2::254]/", "metadata"),
        ("https://10.1.2.3/", "private"),
        ("https://hooks.example.com:99999/", "valid URL"),
        ("https://hooks.example.com:0/", "port"),
        ("https://" + "a" * 2100 + ".com/", "at most"),
        ("", "must be a URL"),
        (None, "must be a URL"),
    ],
)
def test_urls_refused_when_saved(url, words):
    with pytest.raises(ssrf.UnsafeURL) as err:
        ssrf.check_webhook_url(url, resolver=FixedResolver([PUBLIC_V4]), allow_local=False)
    assert words in err.value.reason


def test_a_good_url_parses_with_its_host_header():
    target = ssrf.check_webhook_url(
        "https://Hooks.Example.com/billow?x=1",
        resolver=FixedResolver([PUBLIC_V4]),
        allow_local=False,
    )
    assert (target.host, target.port, target.path) == ("hooks.example.com", 443, "/billow?x=1")
    assert target.host_header == "hooks.example.com"
    idn = ssrf.parse_url("https://bücher.example:8443/h")
    assert idn.host == "xn--bcher-kva.example" and idn.host_header == "xn--bcher-kva.example:8443"


@pytest.mark.parametrize(
    "answers",
    [
        ["127.0.0.1"],
        ["10.0.0.7"],
        [PUBLIC_V4, "192.168.0.10"],
        ["169.254.169.254"],
        ["fd00:ec2::254"],
        ["::ffff:10.0.0.1"],
        ["not-an-ip"],
    ],
)
def test_a_name_resolving_to_any_forbidden_address_is_refused(answers):
    with pytest.raises(ssrf.UnsafeURL):
        ssrf.check_webhook_url(
            "https://hooks.example.com/", resolver=FixedResolver(answers), allow_local=False
        )


def test_a_name_that_does_not_resolve_is_refused_when_saved():
    def nothing(host, port):
        raise ssrf.ResolveError(f"{host} does not resolve")

    with pytest.raises(ssrf.UnsafeURL, match="does not resolve"):
        ssrf.check_webhook_url("https://nx.example.com/", resolver=nothing, allow_local=False)
    with pytest.raises(ssrf.UnsafeURL, match="does not resolve"):
        ssrf.check_webhook_url(
            "https://nx.example.com/", resolver=lambda h, p: [], allow_local=False
        )


def test_allow_local_accepts_http_and_loopback_names():
    resolver = FixedResolver(["127.0.0.1"])
    target = ssrf.check_webhook_url("http://localhost:8080/h", resolver=resolver, allow_local=True)
    assert target.scheme == "http" and target.port == 8080
    with pytest.raises(ssrf.UnsafeURL):  # private stays refused
        ssrf.check_webhook_url("http://10.0.0.1/h", resolver=resolver, allow_local=True)


def test_allow_local_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("BILLOW_WEBHOOKS_ALLOW_LOCAL", raising=False)
    with pytest.raises(ssrf.UnsafeURL):
        ssrf.check_webhook_url("http://localhost/h", resolver=FixedResolver(["127.0.0.1"]))
    monkeypatch.setenv("BILLOW_WEBHOOKS_ALLOW_LOCAL", "1")
    assert ssrf.check_webhook_url("http://localhost/h", resolver=FixedResolver(["127.0.0.1"]))


def test_the_system_resolver_resolves_loopback_names():
    assert "127.0.0.1" in ssrf.system_resolver("localhost", 80) or "::1" in ssrf.system_resolver(
        "localhost", 80
    )
    with pytest.raises(ssrf.ResolveError):
        ssrf.system_resolver("no-such-host.invalid", 443)


@pytest.mark.parametrize(
    "url",
    [
        "https://0177.0.0.1/h",
        "https://127.1/h",
        "https://0x7f.0.0.1/h",
        "https://[fe80::1%25eth0]/h",
    ],
)
def test_odd_spellings_of_loopback_are_caught_once_resolved(url):
    """Forms ``ipaddress`` does not read (octal, short, hex) go to the system resolver, which
    reads them as the C library does (127.0.0.1): the resolved address is what is checked."""
    with pytest.raises(ssrf.UnsafeURL):
        ssrf.check_webhook_url(url, allow_local=False)
