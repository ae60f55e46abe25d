"""URL checks and the Incoming URL (SPEC 2, render-callback-url)."""

from __future__ import annotations

from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from kctl.errors import UsageError
from kctl.urls import (
    IncomingUrl,
    https_url_problem,
    incoming_url_problem,
    is_host,
    is_https_url,
    is_loopback_host,
    render_incoming_url,
)

BASE = "https://wa-incoming.example.com/clevertap"
INBOUND = "https://in1.example-clevertap.com/wa/inbound/abc"
INBOUND_ENC = "https%3A%2F%2Fin1.example-clevertap.com%2Fwa%2Finbound%2Fabc"


# --- is_loopback_host -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.255.255.254", "127.0.0.0", "::1", "[::1]", "0:0:0:0:0:0:0:1", "localhost"],
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["LOCALHOST", "LocalHost", "[0::1]"])
def test_loopback_is_case_insensitive_and_accepts_any_ipv6_spelling(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "",
        "128.0.0.1",
        "10.0.0.1",
        "0.0.0.0",
        "::",
        "::2",
        "[127.0.0.1]",  # brackets are for IPv6 only
        "127.1",  # shorthand some resolvers accept; not a literal address
        "localhost.example.com",
        "localhost6",
        "example.com",
        "[::1",
        "::ffff:127.0.0.1",
        "127.0.0.1.nip.io",  # resolves to loopback, but no DNS is ever consulted
    ],
)
def test_not_loopback_hosts(host: str) -> None:
    assert not is_loopback_host(host)


# --- is_https_url ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com",
        "https://example.com/",
        "HTTPS://Example.COM/path?q=1#frag",
        "https://example.com:8443/x",
        "https://user:pw@example.com/x",
        "https://[2001:db8::1]/x",
        "https://bücher.example/",
        "http://127.0.0.1:8080/whatsapp",
        "http://localhost/x",
        "http://LOCALHOST:1/",
        "http://[::1]:9000/sms",
        "https://example.com:65535/",
    ],
)
def test_https_urls(url: str) -> None:
    assert is_https_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "example.com/x",
        "//example.com/x",
        "/relative/path",
        "http://example.com/",  # http only for loopback
        "http://10.0.0.1/",
        "http://127.0.0.1.nip.io/",
        "ftp://example.com/",
        "wss://example.com/",
        "https://",
        "https:///path",
        "https:example.com",
        "https://:443/",
        "https://user@/x",
        "https://exa mple.com/",
        " https://example.com/",
        "https://example.com/ ",
        "https://example.com/a\tb",
        "https://example.com/a\nb",
        "https://example.com/\x00",
        "https://example.com:0/",
        "https://example.com:65536/",
        "https://example.com:99999999/",
        "https://example.com:-1/",
        "https://example.com:http/",
        "https://example.com:/",
        "https://example.com:٨٠/",  # Arabic-Indic digits are str.isdigit(), not a port
        "https://[::1/",
        "https://[not-ipv6]/",
        "https://[::1]x/",
        "https://exa<mple.com/",
        "https://a:b:c/",
    ],
)
def test_not_https_urls(url: str) -> None:
    assert not is_https_url(url)


# --- how values are encoded in the rendered URL -------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("", ""),
        ("AZaz09-._~", "AZaz09-._~"),
        (":/?#[]@", "%3A%2F%3F%23%5B%5D%40"),
        ("!$&'()*+,;=", "%21%24%26%27%28%29%2A%2B%2C%3B%3D"),
        ("a b", "a%20b"),
        ("100%", "100%25"),
        ("é", "%C3%A9"),
        ("€", "%E2%82%AC"),
        ("😀", "%F0%9F%98%80"),
        ("\x00\x7f", "%00%7F"),
    ],
)
def test_values_are_encoded_strictly(raw: str, encoded: str) -> None:
    url = render_incoming_url(BASE, INBOUND, f"v{raw}").url
    assert url.endswith(f"&payload_version=v{encoded}")


# --- render_incoming_url: exact outputs -----------------------------------------------------


@pytest.mark.parametrize(
    ("base", "inbound", "version", "expected"),
    [
        pytest.param(
            BASE,
            INBOUND,
            "0.1",
            f"{BASE}?inbound_message_callback_url={INBOUND_ENC}&payload_version=0.1",
            id="plain",
        ),
        pytest.param(
            f"{BASE}?a=1&b=2",
            INBOUND,
            "0.1",
            f"{BASE}?a=1&b=2&inbound_message_callback_url={INBOUND_ENC}&payload_version=0.1",
            id="base-query-kept-in-order",
        ),
        pytest.param(
            "https://wa.example.com/in?b=2&a=1&b=3&token=x%2By+z",
            INBOUND,
            "0.1",
            "https://wa.example.com/in?b=2&a=1&b=3&token=x%2By+z"
            f"&inbound_message_callback_url={INBOUND_ENC}&payload_version=0.1",
            id="base-query-byte-for-byte",
        ),
        pytest.param(
            "https://wa.example.com",
            INBOUND,
            "0.1",
            f"https://wa.example.com?inbound_message_callback_url={INBOUND_ENC}&payload_version=0.1",
            id="no-path",
        ),
        pytest.param(
            "https://wa.example.com/in?",
            INBOUND,
            "0.1",
            f"https://wa.example.com/in?inbound_message_callback_url={INBOUND_ENC}"
            "&payload_version=0.1",
            id="base-ends-with-question-mark",
        ),
        pytest.param(
            "https://wa.example.com/in?a=1&",
            INBOUND,
            "0.1",
            f"https://wa.example.com/in?a=1&inbound_message_callback_url={INBOUND_ENC}"
            "&payload_version=0.1",
            id="base-ends-with-ampersand",
        ),
        pytest.param(
            BASE,
            "https://in.example.com/cb?x=1&y=a=b c#frag",
            "0.1",
            f"{BASE}?inbound_message_callback_url="
            "https%3A%2F%2Fin.example.com%2Fcb%3Fx%3D1%26y%3Da%3Db%20c%23frag"
            "&payload_version=0.1",
            id="callback-with-query-space-hash",
        ),
        pytest.param(
            BASE,
            "https://in.example.com/ünïcødé/路径",
            "2.0 beta",
            f"{BASE}?inbound_message_callback_url="
            "https%3A%2F%2Fin.example.com%2F%C3%BCn%C3%AFc%C3%B8d%C3%A9%2F%E8%B7%AF%E5%BE%84"
            "&payload_version=2.0%20beta",
            id="unicode-and-space-in-version",
        ),
        pytest.param(
            "http://127.0.0.1:8765/incoming",
            "http://localhost:9000/wa/inbound",
            "0.1",
            "http://127.0.0.1:8765/incoming?inbound_message_callback_url="
            "http%3A%2F%2Flocalhost%3A9000%2Fwa%2Finbound&payload_version=0.1",
            id="loopback-http",
        ),
        pytest.param(
            BASE,
            INBOUND,
            "a&payload_version=9",
            f"{BASE}?inbound_message_callback_url={INBOUND_ENC}"
            "&payload_version=a%26payload_version%3D9",
            id="injection-attempt-in-version",
        ),
    ],
)
def test_render_exact(base: str, inbound: str, version: str, expected: str) -> None:
    result = render_incoming_url(base, inbound, version)
    assert result == IncomingUrl(
        base=base, inbound_callback_url=inbound, payload_version=version, url=expected
    )


def test_render_default_payload_version_is_0_1() -> None:
    assert render_incoming_url(BASE, INBOUND).url.endswith("&payload_version=0.1")


def test_render_output_parses_back() -> None:
    inbound = "https://in.example.com/cb?x=1&y=a=b c#frag"
    url = render_incoming_url(f"{BASE}?a=1&b=2", inbound, "0.1").url
    assert parse_qs(urlsplit(url).query) == {
        "a": ["1"],
        "b": ["2"],
        "inbound_message_callback_url": [inbound],
        "payload_version": ["0.1"],
    }


# --- render_incoming_url: errors ------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "inbound", "version", "message"),
    [
        (f"{BASE}#top", INBOUND, "0.1", "incoming URL has a fragment"),
        (f"{BASE}?a=1#", INBOUND, "0.1", "incoming URL has a fragment"),
        ("http://wa.example.com/in", INBOUND, "0.1", "incoming URL is not an absolute https URL"),
        ("wa.example.com/in", INBOUND, "0.1", "incoming URL is not an absolute https URL"),
        ("", INBOUND, "0.1", "incoming URL is not an absolute https URL"),
        (
            f"{BASE}?inbound_message_callback_url=x",
            INBOUND,
            "0.1",
            "incoming URL already carries inbound_message_callback_url",
        ),
        (
            f"{BASE}?a=1&payload_version",
            INBOUND,
            "0.1",
            "incoming URL already carries payload_version",
        ),
        (
            f"{BASE}?payload%5Fversion=0.1&inbound_message_callback_url=",
            INBOUND,
            "0.1",
            "incoming URL already carries payload_version and inbound_message_callback_url",
        ),
        (BASE, "", "0.1", "inbound callback URL is empty"),
        (BASE, "http://in.example.com/x", "0.1", "inbound callback URL is not an absolute https"),
        (BASE, "in.example.com/x", "0.1", "inbound callback URL is not an absolute https URL"),
        (BASE, " https://in.example.com/", "0.1", "inbound callback URL is not an absolute https"),
        (BASE, "https://in example.com/", "0.1", "inbound callback URL is not an absolute https"),
        (BASE, INBOUND, "", "payload version is empty"),
        (BASE, INBOUND, "  ", "payload version is empty"),
        (BASE, INBOUND, "0.\udc80", "inbound callback URL or payload version is not valid text"),
    ],
)
def test_render_errors(base: str, inbound: str, version: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        render_incoming_url(base, inbound, version)
    err = info.value
    assert err.exit_code == 2
    assert err.message.startswith(message)
    assert "\n" not in err.message
    assert err.hint


@pytest.mark.parametrize(
    ("base", "code"),
    [
        (BASE, None),
        (f"{BASE}?a=1", None),
        ("http://localhost:8080/in", None),
        (f"{BASE}?my_payload_version=1", None),  # only exact (decoded) keys count
        ("http://wa.example.com/in", "KC501"),
        (f"{BASE}#x", "KC501"),
        ("not a url", "KC501"),
        (f"{BASE}?inbound_message_callback_url=", "KC502"),
        (f"{BASE}?x=1&payload_version=0.1", "KC502"),
        (f"{BASE}?payload%5fversion=0.1", "KC502"),
    ],
)
def test_incoming_url_problem_codes(base: str, code: str | None) -> None:
    problem = incoming_url_problem(base)
    assert (problem[0] if problem else None) == code


@pytest.mark.parametrize(
    "base",
    [f"{BASE}#x", "http://wa.example.com/", f"{BASE}?payload_version=1", "ftp://x/"],
)
def test_render_and_config_check_agree(base: str) -> None:
    problem = incoming_url_problem(base)
    assert problem is not None
    with pytest.raises(UsageError) as info:
        render_incoming_url(base, INBOUND)
    assert info.value.message == problem[1]


# --- property: the output parses back to the exact inputs -----------------------------------

# Any Unicode text that has a UTF-8 spelling (surrogates have none).
unicode_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]))

origins = st.sampled_from(
    [
        "https://in1.example-clevertap.com",
        "https://in.example.com:8443",
        "https://[2001:db8::1]",
        "http://127.0.0.1:9000",
        "http://localhost",
        "http://[::1]:1",
    ]
)

# Base query parameters: keys avoid the two appended names; both are already encoded.
base_params = st.lists(
    st.tuples(
        unicode_text.filter(lambda k: k not in ("inbound_message_callback_url", "payload_version")),
        unicode_text,
    ),
    max_size=4,
)


@given(
    origin=origins,
    rest=unicode_text,
    version=unicode_text.filter(str.strip),
    params=base_params,
    base_path=st.sampled_from(["", "/", "/clevertap", "/a/b;c"]),
)
@example(
    origin="https://in.example.com", rest="?a=1&b=2#f g", version="0.1", params=[], base_path=""
)
def test_render_round_trips(
    origin: str, rest: str, version: str, params: list[tuple[str, str]], base_path: str
) -> None:
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params)
    base = f"https://wa-incoming.example.com{base_path}" + (f"?{query}" if params else "")
    inbound = origin + rest
    # A "rest" starting with a host character would extend the origin's authority.
    if not rest.startswith(("/", "?", "#")):
        inbound = f"{origin}/{rest}"

    url = render_incoming_url(base, inbound, version).url

    assert url.startswith(base)
    parts = urlsplit(url)
    assert parts.fragment == ""
    assert parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True) == [
        *params,
        ("inbound_message_callback_url", inbound),
        ("payload_version", version),
    ]
    parsed = parse_qs(parts.query, keep_blank_values=True)
    assert parsed["inbound_message_callback_url"] == [inbound]
    assert parsed["payload_version"] == [version]


# --- host names (issue 16, item 6) --------------------------------------------------------------

LABEL_63 = "a" * 63


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "example.com.",  # a fully qualified name
        "xn--bcher-kva.example",
        "bücher.example",
        "internal_host.corp",
        f"{LABEL_63}.example",
        ".".join([LABEL_63] * 3) + "." + "b" * 61,  # 253 characters
        "127.0.0.1",
        "10.1.2.3",
        "localhost",
        "a-b.c0",
    ],
)
def test_host_names_and_addresses(host: str) -> None:
    assert is_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "",
        ".",
        "a" * 70_000,
        f"{LABEL_63}a.example",  # a label of 64
        ".".join([LABEL_63] * 3) + "." + "b" * 62,  # 254 characters
        "a..b",
        ".example.com",
        "-a.example",
        "a-.example",
        "999.1.1.1",  # looks like IPv4, is not one
        "1.2.3",  # read as 1.2.0.3 by browsers: ambiguous
        "exa mple.com",
        "exa%20mple.com",
        "exa!mple.com",
        "ex\x00ample.com",
        "b\u00fccher." + "ü" * 60 + ".example",  # too long once in IDNA form
    ],
)
def test_not_host_names(host: str) -> None:
    assert not is_host(host)


@pytest.mark.parametrize(
    "url",
    [
        "https://" + "a" * 70_000,
        f"https://{LABEL_63}a.example/x",
        "https://-a.example/",
        "https://999.1.1.1/",
        "https://exa_mple..com/",
    ],
)
def test_urls_with_a_host_that_is_no_host_name(url: str) -> None:
    assert not is_https_url(url)
    assert https_url_problem(url) == "has a host that is not a DNS name or an IP address"
    assert incoming_url_problem(url) == (
        "KC501",
        "incoming URL has a host that is not a DNS name or an IP address",
    )
