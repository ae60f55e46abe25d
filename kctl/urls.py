"""URL checks and the Incoming URL that Kaleyra needs (SPEC 2, ``render-callback-url``).

Everything here is pure: no DNS, no network. "Loopback" is decided from the text of the host
alone, so a name that merely resolves to 127.0.0.1 is not loopback.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, quote, urlsplit

from kctl.contract.numbers import DEFAULT_PAYLOAD_VERSION
from kctl.errors import UsageError
from kctl.lean import lazy_pattern

INBOUND_PARAM = "inbound_message_callback_url"
PAYLOAD_VERSION_PARAM = "payload_version"

# ipaddress and dataclasses are left out of this module's imports: render-callback-url's fast
# lane (kctl.cli.fast) imports it, and the two cost more than the rest of that command.
# One label of a host name: letters, digits and hyphens, not at either end (RFC 1123), and
# underscores, which real internal names carry and every client here accepts.
_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")
MAX_HOST_NAME = 253  # characters of a DNS name written out, without a final dot (RFC 1035)
HOST_NAME_RULE = (
    "a host is a DNS name (labels of 1 to 63 letters, digits and hyphens, 253 characters in"
    " all) or an IP address"
)
_PORT = re.compile(r"[0-9]{1,5}")
# a URL up to its path: scheme "://" authority
ORIGIN = lazy_pattern(r"[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*")

HTTPS_HINT = "use an absolute https:// URL (http:// is accepted only for 127.0.0.1, ::1, localhost)"

# Hints for the findings incoming_url_problem returns, so config validation and
# render-callback-url give the same advice.
INCOMING_URL_HINTS: dict[str, str] = {
    "KC501": "use the Incoming URL from Kaleyra support as is: an https:// URL without '#...'",
    "KC502": (
        f"remove {INBOUND_PARAM} and {PAYLOAD_VERSION_PARAM} from the base URL; "
        "kctl appends them itself"
    ),
}


# any whitespace (str.isspace: Unicode spaces included) or C0/DEL control character
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, ``127.0.0.0/8`` and ``::1`` (brackets allowed); never resolves."""
    import ipaddress

    if host.startswith("[") and host.endswith("]"):
        inner = host[1:-1]
        try:
            return ipaddress.IPv6Address(inner) == ipaddress.IPv6Address("::1")
        except ValueError:
            return False
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return address in ipaddress.IPv4Network("127.0.0.0/8")
    # Only ::1 itself: an IPv4-mapped address such as ::ffff:127.0.0.1 counts as loopback on
    # some Python versions and not on others, and SPEC names ::1 only.
    return address == ipaddress.IPv6Address("::1")


@lru_cache(maxsize=4096)
def is_host(host: str) -> bool:
    """A DNS name or an IPv4 address, as a URL writes them (an IPv6 address comes in brackets
    and is checked by the URL's parser). A name in Unicode counts by its IDNA (xn--) form, which
    is what DNS and the wire see.
    """
    name = host[:-1] if host.endswith(".") else host
    if not name or len(name) > 4 * MAX_HOST_NAME:  # spares IDNA a 70,000-character "name"
        return False
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:  # a label IDNA refuses, or one too long
            return False
    if len(name) > MAX_HOST_NAME:
        return False
    labels = name.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        return False
    if labels[-1].isdigit():
        import ipaddress

        # Browsers and URL parsers read a name ending in a number as an IPv4 address
        # (and 1.2.3 as 1.2.0.3); only the four-part dotted form is unambiguous.
        try:
            ipaddress.IPv4Address(name)
        except ValueError:
            return False
    return True


def _split_host_port(netloc: str) -> tuple[str, str | None] | None:
    """(host, port) from a netloc, host without brackets; None when the syntax is broken."""
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            return None
        host, rest = hostport[1:end], hostport[end + 1 :]
        import ipaddress

        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return None
        if not rest:
            return host, None
        if not rest.startswith(":"):
            return None
        return host, rest[1:]
    host, sep, port = hostport.partition(":")
    if not is_host(host):
        return None
    return host, (port if sep else None)


# validate-config asks about the same few URLs for every provider of every file
@lru_cache(maxsize=4096)
def is_https_url(value: str) -> bool:
    """An absolute https URL with a host; ``http://`` only for loopback hosts.

    Whitespace and control characters anywhere make the value invalid: urlsplit would quietly
    drop some of them, so the URL used would differ from the one written. The host must be a
    DNS name or an IP address (``is_host``).
    """
    if not value or _SPACE_OR_CONTROL.search(value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return False
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return False
    split = _split_host_port(parts.netloc)
    if split is None:
        return False
    host, port = split
    if not host:
        return False
    # An empty port ("host:") is legal RFC 3986 but is far more likely a typo than intent.
    if port is not None and (not _PORT.fullmatch(port) or not 0 < int(port) <= 65535):
        return False
    return parts.scheme == "https" or is_loopback_host(host)


def https_url_problem(value: str) -> str | None:
    """What keeps ``value`` from being a URL ``is_https_url`` accepts, as the end of a sentence
    about it ("endpoint X ..."), or None when it is one."""
    if is_https_url(value):
        return None
    if has_invalid_host(value):
        return "has a host that is not a DNS name or an IP address"
    return "is not an absolute https URL"


def has_invalid_host(value: str) -> bool:
    """Whether URL ``value`` names a host that is neither a DNS name nor an IP address."""
    match = ORIGIN.match(value)
    if match is None:
        return False
    hostport = match.group(0).partition("://")[2].rpartition("@")[2]
    if hostport.startswith("["):
        return False  # an IPv6 literal: whether it parses is the URL syntax's business
    host = hostport.partition(":")[0]
    return bool(host) and not _SPACE_OR_CONTROL.search(host) and not is_host(host)


class IncomingUrl:
    """The parts of a rendered Incoming URL (what ``--json`` prints) and the URL itself."""

    __slots__ = ("base", "inbound_callback_url", "payload_version", "url")

    def __init__(
        self, *, base: str, inbound_callback_url: str, payload_version: str, url: str
    ) -> None:
        self.base = base
        self.inbound_callback_url = inbound_callback_url
        self.payload_version = payload_version
        self.url = url

    def _fields(self) -> tuple[str, str, str, str]:
        return (self.base, self.inbound_callback_url, self.payload_version, self.url)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IncomingUrl):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        names = ("base", "inbound_callback_url", "payload_version", "url")
        shown = ", ".join(f"{n}={v!r}" for n, v in zip(names, self._fields(), strict=True))
        return f"IncomingUrl({shown})"


def incoming_url_problem(base: str) -> tuple[str, str] | None:
    """(code, message) when ``base`` cannot serve as an Incoming URL base, else None.

    Shared by config validation (KC501, KC502) and render_incoming_url so the two never
    disagree. Messages do not quote the URL: the caller knows where it came from.
    """
    problem = https_url_problem(base)
    if problem is not None:
        return ("KC501", f"incoming URL {problem}")
    # Checked on the text, not urlsplit().fragment: "https://h/p#" has an empty fragment that
    # urlsplit reports as "", yet appending "?..." after it would put the query in the fragment.
    if "#" in base:
        return ("KC501", "incoming URL has a fragment ('#...'), which is never sent to a server")
    query = urlsplit(base).query
    carried = [
        key
        for key, _ in parse_qsl(query, keep_blank_values=True)
        if key in (INBOUND_PARAM, PAYLOAD_VERSION_PARAM)
    ]
    if carried:
        names = " and ".join(dict.fromkeys(carried))
        return ("KC502", f"incoming URL already carries {names}")
    return None


def _has_https_origin(value: str) -> bool:
    """Whether ``value`` starts with an https (or loopback http) scheme and authority.

    Used for the inbound callback URL, which is only ever a parameter value: its path and
    query are carried byte-for-byte by the encoding whatever they contain (spaces, '#', '&'),
    so only where it points is checked here. Config values get is_https_url via KC203.
    """
    m = ORIGIN.match(value)
    return m is not None and is_https_url(m.group(0))


def _is_unicode_text(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def render_incoming_url(
    base: str, inbound_callback_url: str, payload_version: str = DEFAULT_PAYLOAD_VERSION
) -> IncomingUrl:
    """The Incoming URL for Kaleyra: ``base`` unchanged plus the two encoded parameters.

    Raises UsageError (exit 2) for a base that incoming_url_problem rejects, an empty or
    non-https inbound callback URL, or an empty payload version.
    """
    problem = incoming_url_problem(base)
    if problem is not None:
        code, message = problem
        hint = HOST_NAME_RULE if has_invalid_host(base) else INCOMING_URL_HINTS[code]
        raise UsageError(message, hint)
    if not inbound_callback_url:
        raise UsageError(
            "inbound callback URL is empty",
            "pass CleverTap's inbound message callback URL (the provider's "
            "inbound-message-callback-url header)",
        )
    if not _has_https_origin(inbound_callback_url):
        if has_invalid_host(inbound_callback_url):
            raise UsageError(
                "inbound callback URL has a host that is not a DNS name or an IP address",
                HOST_NAME_RULE,
            )
        raise UsageError("inbound callback URL is not an absolute https URL", HTTPS_HINT)
    if not payload_version.strip():
        raise UsageError(
            "payload version is empty",
            f"use the Payload Version shown on CleverTap's provider page, e.g. "
            f"{DEFAULT_PAYLOAD_VERSION}",
        )
    if not _is_unicode_text(payload_version) or not _is_unicode_text(inbound_callback_url):
        raise UsageError(
            "inbound callback URL or payload version is not valid text",
            "check the terminal's encoding; values must be valid UTF-8",
        )

    added = (
        # quote() with safe="" leaves exactly the RFC 3986 unreserved characters, UTF-8 first
        f"{INBOUND_PARAM}={quote(inbound_callback_url, safe='')}"
        f"&{PAYLOAD_VERSION_PARAM}={quote(payload_version, safe='')}"
    )
    if "?" not in base:
        separator = "?"
    elif base.endswith(("?", "&")):
        # "https://h/p?" or "...?a=1&": the delimiter is already there; adding another would
        # give "?&" or "&&", an empty parameter some servers choke on.
        separator = ""
    else:
        separator = "&"
    return IncomingUrl(
        base=base,
        inbound_callback_url=inbound_callback_url,
        payload_version=payload_version,
        url=f"{base}{separator}{added}",
    )
