"""Callback URLs are untrusted input: an agent names where Countersign will POST its decisions,
so a URL must not reach what only the server can (loopback, the private network, a cloud's
metadata address). Checked when a proposal or an agent's default names it, and again, after a
fresh DNS lookup, at every delivery, which then connects to the very address it checked.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

MAX_LENGTH = 2000


class CallbackUrlRefused(ValueError):
    """The URL is not one Countersign will call; the message says why."""


@dataclass(frozen=True)
class Target:
    """Where a checked callback URL leads: the URL to connect to (by address), and the host to
    name in the Host header and, for https, in TLS's server name."""

    url: str
    host: str  # the Host header: the URL's host and port as written
    hostname: str  # for TLS: the certificate must name this
    address: str


def allowed_networks():
    return [ipaddress.ip_network(network, strict=False) for network in settings.HITL_CALLBACK_ALLOWED_NETWORKS]


# IPv6 prefixes that carry an IPv4 address in their last 32 bits, translated to it by a gateway:
# NAT64's well-known prefix (RFC 6052) and the deprecated IPv4-compatible form (::a.b.c.d).
EMBEDDING_LAST_32_BITS = [ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("::/96")]
# NAT64's local-use prefix (RFC 8215) translates into the deployment's own network, where it
# embeds the IPv4 address depends on the operator's prefix length: refused whole.
NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")


def embedded_ipv4(address):
    """The IPv4 addresses an IPv6 address leads to when a relay or translator unwraps it:
    IPv4-mapped, 6to4 (2002::/16), Teredo's server and client (2001::/32), NAT64, IPv4-compatible."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if any(address in prefix for prefix in EMBEDDING_LAST_32_BITS):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [ipv4 for ipv4 in found if ipv4 is not None]


def address_refusal(address):
    """Why Countersign will not call `address` (an ip_address), or "" when it may: the address
    itself by the standard library's properties, and every IPv4 address embedded in it."""
    if any(address in network for network in allowed_networks()):
        return ""
    ipv6 = isinstance(address, ipaddress.IPv6Address)
    if ipv6 and not (address.is_loopback or address.is_unspecified):  # ::1 and :: are in ::/96 too
        for ipv4 in embedded_ipv4(address):
            if why := address_refusal(ipv4):
                return f"{why} ({ipv4}) embedded in an IPv6 one"
        if address.ipv4_mapped or any(address in prefix for prefix in EMBEDDING_LAST_32_BITS):
            return ""  # only a translation: the IPv4 address it leads to decides
        if address.is_site_local:
            return "a site-local address"
        if address in NAT64_LOCAL_USE:
            return "a NAT64 local-use address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast or address.is_reserved or address.is_unspecified:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:  # such as carrier-grade NAT's 100.64.0.0/10
        return "a reserved address"
    return ""


def parse(url):
    """(scheme, host, port) of a well-formed http(s) URL without credentials; raises CallbackUrlRefused."""
    if not isinstance(url, str) or len(url) > MAX_LENGTH:
        raise CallbackUrlRefused(f"A callback URL is a string of at most {MAX_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise CallbackUrlRefused(f"The callback URL is malformed: {error}.") from None
    if parts.scheme not in ("http", "https"):
        raise CallbackUrlRefused("A callback URL must be http:// or https://.")
    if "@" in parts.netloc:
        raise CallbackUrlRefused("A callback URL may not carry credentials (user:password@).")
    if not parts.hostname:
        raise CallbackUrlRefused("The callback URL names no host.")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise CallbackUrlRefused("A callback URL may not contain spaces or control characters.")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def check(url):
    """The Target to POST to for `url`, after resolving its host; raises CallbackUrlRefused
    naming why when it is malformed, does not resolve, or any of its addresses is refused."""
    scheme, host, port = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise CallbackUrlRefused(f"The callback URL's host {host!r} does not resolve.") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
    for address in addresses:
        if why := address_refusal(address):
            raise CallbackUrlRefused(
                f"The callback URL's host {host!r} resolves to {address}, {why}, which Countersign does not call."
            )
    address = addresses[0]
    parts = urlsplit(url)
    literal = f"[{address}]" if address.version == 6 else str(address)
    return Target(
        url=parts._replace(netloc=f"{literal}:{port}").geturl(), host=parts.netloc, hostname=host, address=str(address)
    )
