"""The SSRF policy: where a webhook may be sent. An endpoint's URL is `https://` (`http://`
too where WEBHOOKS_ALLOW_HTTP), and its host must resolve only to public addresses: not
loopback, private, link-local, shared, multicast, reserved or unspecified, in IPv4 or IPv6
(an IPv4 address written as IPv6 is judged as IPv4), unless WEBHOOKS_ALLOW_PRIVATE_NETWORKS.
The URL is checked when it is saved, and its host resolved and checked again when each
delivery is sent (DNS can change); the delivery then connects to the address checked."""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


class Refused(Exception):
    """The URL, or an address its host resolves to, is not one a webhook may go to."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    address: str  # the checked address to connect to


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL a webhook may have; Refused otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("not a URL") from None
    schemes = ("https", "http") if settings.WEBHOOKS_ALLOW_HTTP else ("https",)
    if parts.scheme not in schemes:
        raise Refused(f"the scheme must be {' or '.join(schemes)}")
    if not parts.hostname or parts.username or parts.password:
        raise Refused("a host without credentials is required")
    if parts.fragment or url.endswith("#"):
        raise Refused("a fragment is never sent")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve(url: str) -> Target:
    """Where to send a delivery for this URL now: its host resolved, every address checked;
    Refused when one is not public (unless private networks are allowed) or none resolves."""
    scheme, host, port = check_url(url)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise Refused(f"{host} does not resolve") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS:
        private = [a for a in addresses if not is_public(a)]
        if private:
            raise Refused(f"{host} resolves to a non-public address ({private[0]})")
    return Target(scheme=scheme, host=host, port=port, address=addresses[0])
