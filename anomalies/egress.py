"""Webhook requests that cannot be turned against Flux's own network (SSRF).

A channel's URL is checked when it is saved and again at every send: its host is resolved once, every
address it resolves to is checked, and the request connects to the checked address itself (with the
URL's host in the Host header and, for https, in SNI and the certificate check), so a DNS answer that
changes between the check and the connection (DNS rebinding) cannot swap in another address. Redirects
are never followed. Loopback and private addresses are refused unless FLUX_WEBHOOK_ALLOW_PRIVATE is set
(a receiver on the same host or network); metadata, link-local, unspecified, multicast and reserved
addresses always are. Callers only ever see a status code or a fixed message, never a reply's body, and
one message for every way a connection can fail, so that errors cannot be used to map open ports.
"""

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Cloud instance-metadata services: refused even when private addresses are allowed.
METADATA_ADDRESSES = {
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "fd00:ec2::23")
}
# Not public, though Python 3.11's is_global says they are: IPv6 site-local (deprecated, RFC 3879) and the
# IPv6 documentation prefix of RFC 9637.
NOT_GLOBAL = (ipaddress.ip_network("fec0::/10"), ipaddress.ip_network("3fff::/20"))
CONNECTION_FAILED = "Could not connect to the receiver, or it did not answer in time."


class RefusedTarget(Exception):
    """The URL may not be sent to; the message says why without naming what was found there."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked address the request connects to


@dataclass(frozen=True)
class Reply:
    status: int | None  # None: no HTTP answer (refused, unreachable, timed out, not HTTP)


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (one lookup; the connection then uses one of these)."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def refusal(address: IPAddress, allow_private: bool) -> str | None:
    """Why a connection to `address` is not allowed, or None."""
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv4 address inside an IPv6 one (mapped, or 6to4's 2002::/16) is judged as that IPv4 address.
        address = address.ipv4_mapped or address.sixtofour or address
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_loopback:  # before "reserved": Python counts ::1 in the reserved ::/8
        return None if allow_private else "a loopback address"
    for kind, refused in (
        ("an unspecified address", address.is_unspecified),
        ("a link-local address", address.is_link_local),
        ("a multicast address", address.is_multicast),
        ("a reserved address", address.is_reserved or any(address in network for network in NOT_GLOBAL)),
    ):
        if refused:
            return kind
    if allow_private:
        return None
    if address.is_loopback:
        return "a loopback address"
    return None if address.is_global else "a private address"


# The refusals FLUX_WEBHOOK_ALLOW_PRIVATE lifts: their message names it, for receivers on the same host or network.
OPERATOR_MAY_ALLOW = ("a loopback address", "a private address")


def check_url(url: str) -> Target:
    """The URL's parts and the one address to connect to; RefusedTarget when it may not be sent to.
    A host that does not resolve raises OSError (socket.gaierror)."""
    url = url.strip()
    if any(character.isspace() or unicodedata.category(character) == "Cc" for character in url):
        # http.client refuses them at every send (a connection error, retried); refused here, when saved
        raise RefusedTarget("The URL may not contain spaces or control characters.")
    if not url.isascii():  # http.client cannot send them (UnicodeEncodeError at every attempt)
        raise RefusedTarget(
            "The URL may contain only ASCII characters: percent-encode the others (ü is %C3%BC) and write an "
            "international host name in its xn-- form."
        )
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed IPv6 bracket
        raise RefusedTarget("The URL is not valid.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedTarget("The URL must be an http:// or https:// URL with a host.")
    if parts.username is not None or parts.password is not None:  # never sent, and shown back to members
        raise RefusedTarget(
            "The URL may not contain a user name or password: put the receiver's token in its path or query, "
            "or give the channel a secret to sign requests with."
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise RefusedTarget("The URL's port is not valid.") from None
    try:
        addresses = resolve(parts.hostname, port)
    except ValueError:  # UnicodeError: a label IDNA cannot encode (empty, or over 63 characters)
        raise RefusedTarget("The URL's host is not a valid host name.") from None
    allow_private = settings.FLUX_WEBHOOK_ALLOW_PRIVATE
    for address in addresses:
        reason = refusal(ipaddress.ip_address(address.split("%")[0]), allow_private)
        if reason in OPERATOR_MAY_ALLOW:
            raise RefusedTarget(
                f"The URL's host is {reason}, which webhooks may not reach unless the server runs with "
                "FLUX_WEBHOOK_ALLOW_PRIVATE=1."
            )
        if reason:
            raise RefusedTarget(f"The URL's host is {reason}, which webhooks may not reach.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])


def refusal_for_url(url: str) -> str | None:
    """Why a channel may not be saved with this URL, or None. A host that does not resolve now is allowed
    (it is checked again at every send)."""
    try:
        check_url(url)
    except RefusedTarget as refused:
        return str(refused)
    except OSError:
        return None
    return None


class PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address, whatever the host name resolves to by now."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the checked address, with the URL's host as SNI and for the certificate check."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self.address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)  # cut_off reaches it
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Reply:
    """POST once to a checked address; the reply's status only (its body is never read). Raises
    RefusedTarget for a URL that may not be sent to."""
    try:
        target = check_url(url)
    except OSError:
        return Reply(None)
    connection_class = PinnedHTTPSConnection if target.scheme == "https" else PinnedHTTPConnection
    connection = connection_class(target, timeout)
    # The socket's timeout bounds each read: a receiver trickling its answer a byte at a time would hold the
    # worker as long as it liked. The whole request gets `timeout` seconds.
    cut = threading.Event()
    deadline = threading.Timer(timeout, cut_off, (connection, cut))
    deadline.start()
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException):  # refused, reset, timed out, TLS, not HTTP: all alike
        return Reply(None)
    finally:
        deadline.cancel()
        connection.close()
    return Reply(None if cut.is_set() else status)  # cut off mid-headers, the reply reads as complete


def cut_off(connection: http.client.HTTPConnection, cut: threading.Event) -> None:
    """End a request past its deadline: a shutdown wakes the read it is blocked in (a close would not)."""
    cut.set()
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)
