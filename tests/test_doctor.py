"""kctl doctor's core: versions, keyring, secret references, proxy/CA settings, network checks.

The keyring goes through the real keyring API: keyrings.alt's file backend in a temp directory
(``file_keyring``) or keyring's own fail backend, never the developer's keyring (every test starts
on the fail backend). Network checks run only against servers on 127.0.0.1, and a guard fails any
test that looks up or connects to anything beyond loopback.
"""

from __future__ import annotations

import configparser
import ipaddress
import json
import platform
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import quote

import keyring
import pytest
import yaml
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyrings.alt.file import PlaintextKeyring

from kctl import DISTRIBUTION, __version__
from kctl.doctor import (
    DOCTOR_SERVICE,
    Check,
    overall_exit_code,
    render_checks,
    run_doctor,
    shown_proxy,
)
from kctl.errors import UsageError
from kctl.secrets import SERVICE, mask
from tests.servers import Reply, TestServer, serve, write_self_signed
from tests.support import REPO, Kctl

ENV_CANARY = 'c4n4ry-env-"s3cr3t"/&=x+y'
KEYRING_CANARY = "c4n4ry-keyring-7a6b5c4d3e2f"
LITERAL_CANARY = "c4n4ry-literal-0f9e8d7c6b5a"
PROXY_CANARY = "c4n4ryPr0xyPa55w0rd"
USER_CANARY = "c4n4ry-user-1a2b3c4d5e"

CLEARED_ENV = (
    *("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"),
    *("http_proxy", "https_proxy", "all_proxy", "no_proxy"),
    *("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "PYTHON_KEYRING_BACKEND"),
    *("KALEYRA_API_KEY", "SMS_USER", "REQUEST_METHOD"),
)


# --- isolation ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # doctor reports these; a developer's proxy or CA settings must not change the results
    for name in CLEARED_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def fail_keyring_by_default() -> Iterator[KeyringBackend]:
    """Start every test on keyring's fail backend, so that no test, by forgetting
    ``file_keyring``, runs the round trip against the developer's real keyring."""
    previous = keyring.get_keyring()
    backend = fail.Keyring()  # type: ignore[no-untyped-call]
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


def _is_loopback(host: object) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host).partition("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test on any lookup of, or connection to, a host beyond loopback."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        assert _is_loopback(host), f"a test looked up {host!r}"
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> None:
        if isinstance(address, tuple):
            assert _is_loopback(address[0]), f"a test connected to {address!r}"
        real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)


def test_the_loopback_guard_is_in_place() -> None:
    # checked to be this module's wrappers first: they refuse before any real lookup or connect
    assert socket.getaddrinfo.__module__ == __name__
    assert socket.socket.connect.__module__ == __name__
    with pytest.raises(AssertionError, match="looked up"):
        socket.getaddrinfo("example.com", 443)
    with socket.socket() as s, pytest.raises(AssertionError, match="connected to"):
        s.connect(("93.184.215.14", 443))
    assert socket.getaddrinfo("127.0.0.1", 80)


# --- helpers --------------------------------------------------------------------------------------


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def closed_port() -> int:
    """A loopback port nothing listens on (bound and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(
    tmp_path: Path,
    endpoint: str,
    *,
    callback: str | None = None,
    api_key: str = "${KALEYRA_API_KEY}",
    sms: str = "",
) -> str:
    """A config with one WhatsApp provider whose kaleyra-host and callbacks default to the
    endpoint's origin (plus ``sms``, a second provider's YAML, when given)."""
    callback = callback or endpoint
    text = f"""\
version: 1
providers:
  - nickname: wa
    channel: whatsapp
    endpoint: {endpoint}
    business_number: "+919876543210"
    headers:
      api-key: {api_key}
      sid: HXIN1234567890
      kaleyra-host: {callback}
      inbound-message-callback-url: {callback}
      delivery-report-callback-url: {callback}
{sms}"""
    path = tmp_path / "kctl.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


SMS_WITH_BASIC_AUTH = """\
  - nickname: sms
    channel: sms
    endpoint: https://ct-adapter.example.com/sms
    auth:
      type: basic
      username: ${SMS_USER}
      password: ${keyring:kaleyra/sms-pass}
    headers:
      api-key: ${keyring:kaleyra/api-key}
      sid: HXIN1234567890
      kaleyra-host: https://api.kaleyra.io/
      callback_url: https://in1.example-clevertap.com/sms/dlr/abc
    parameters:
      to: $$To
      sender: $$Sender
      body: $$Body
      message_id: $$MessageID
"""


def assert_no_canary(output: str, *canaries: str) -> None:
    for canary in canaries:
        for form in (canary, quote(canary, safe=""), json.dumps(canary)[1:-1], canary[:-4]):
            assert form not in output, f"{form!r} leaked"


# --- versions -------------------------------------------------------------------------------------


def test_python_kctl_and_dependency_versions_are_reported() -> None:
    checks = by_name(run_doctor(None, online=False))
    assert checks["python"].status == "ok"
    assert checks["python"].detail.split()[1] == platform.python_version()
    assert checks["kctl"].detail.startswith(f"{DISTRIBUTION} {__version__}")
    for name, distribution in [
        ("typer", "typer"),
        ("rich", "rich"),
        ("httpx", "httpx"),
        ("pyyaml", "PyYAML"),
        ("keyring", "keyring"),
    ]:
        assert checks[name].detail.startswith(metadata.version(distribution)), name
    assert "(kctl needs >=" in checks["httpx"].detail
    libyaml = getattr(yaml, "__with_libyaml__", False)
    assert checks["pyyaml"].status == ("ok" if libyaml else "warn")
    assert ("libyaml C parser available" in checks["pyyaml"].detail) == libyaml


# --- keyring --------------------------------------------------------------------------------------


def test_a_working_keyring_round_trips_a_throwaway_entry_and_leaves_real_ones_alone(
    file_keyring: PlaintextKeyring,
) -> None:
    keyring.set_password(SERVICE, "kaleyra/api-key", KEYRING_CANARY)
    check = by_name(run_doctor(None, online=False))["keyring backend"]
    # it works, but a file of base64 is no keyring: doctor said "ok" to it (issue 15)
    assert check.status == "warn"
    assert check.exit_code == 0
    assert "plain text" in check.detail
    assert "${ENV}" in (check.hint or "")
    assert "keyrings.alt.file.PlaintextKeyring" in check.detail
    assert file_keyring.file_path in check.detail
    assert DOCTOR_SERVICE in check.detail
    # the real entry is untouched, and the throw-away one is gone
    assert keyring.get_password(SERVICE, "kaleyra/api-key") == KEYRING_CANARY
    stored = configparser.RawConfigParser()
    stored.read(file_keyring.file_path, encoding="utf-8")
    entries = {section.lower(): list(stored[section]) for section in stored.sections()}
    # keyrings.alt escapes names; the emptied kctl-doctor section is left behind by its delete
    assert entries == {"kctl": ["kaleyra_2fapi_2dkey"], "kctl_2ddoctor": []}


def test_the_fail_backend_is_exit_3_pointing_at_env_references() -> None:
    checks = run_doctor(None, online=False)
    check = by_name(checks)["keyring backend"]
    assert (check.status, check.exit_code) == ("fail", 3)
    assert "keyring.backends.fail.Keyring" in check.detail
    assert "${ENV}" in (check.hint or "")
    assert "keyrings.alt" not in (check.hint or "")
    assert overall_exit_code(checks) == 3


class _BrokenBackend(KeyringBackend):
    """A backend that is found but cannot store anything (a locked D-Bus keyring, say)."""

    priority = 1

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError("the collection is locked")

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def delete_password(self, service: str, username: str) -> None:
        raise RuntimeError("the collection is locked")


def test_a_backend_that_cannot_write_is_exit_3() -> None:
    keyring.set_keyring(_BrokenBackend())  # type: ignore[no-untyped-call]  # fail_keyring_by_default restores the original
    check = by_name(run_doctor(None, online=False))["keyring backend"]
    assert (check.status, check.exit_code) == ("fail", 3)
    assert "_BrokenBackend" in check.detail
    assert "writing a test entry failed (RuntimeError)" in check.detail
    assert "the collection is locked" not in check.detail  # a backend's text can quote secrets
    assert "${ENV}" in (check.hint or "")


class _MemoryBackend(KeyringBackend):
    """A keyring that keeps nothing on disk in plain text, as an OS keyring does not."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.entries: dict[tuple[str, str], str] = {}

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[service, username] = password

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def delete_password(self, service: str, username: str) -> None:
        del self.entries[service, username]


def test_a_keyring_that_is_no_plain_file_is_ok() -> None:
    keyring.set_keyring(_MemoryBackend())  # fail_keyring_by_default restores the original
    check = by_name(run_doctor(None, online=False))["keyring backend"]
    assert (check.status, check.exit_code) == ("ok", 0)
    assert "_MemoryBackend" in check.detail


def test_no_keyring_is_only_a_warning_for_a_config_without_keyring_references(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KALEYRA_API_KEY", ENV_CANARY)
    checks = run_doctor(write_config(tmp_path, "https://ct-adapter.example.com/wa"), False)
    check = by_name(checks)["keyring backend"]
    assert (check.status, check.exit_code) == ("warn", 0)
    assert "uses no ${keyring:...} references" in check.detail
    assert overall_exit_code(checks) == 0


def test_no_keyring_fails_every_keyring_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KALEYRA_API_KEY", ENV_CANARY)
    monkeypatch.setenv("SMS_USER", USER_CANARY)
    config = write_config(tmp_path, "https://ct-adapter.example.com/wa", sms=SMS_WITH_BASIC_AUTH)
    checks = by_name(run_doctor(config, False))
    assert (checks["keyring backend"].status, checks["keyring backend"].exit_code) == ("fail", 3)
    for name in ("secret sms headers.api-key", "secret sms auth.password"):
        assert (checks[name].status, checks[name].exit_code) == ("fail", 3)
        assert "no usable keyring backend" in checks[name].detail
    assert checks["secret sms auth.username"].status == "ok"


# --- secret references ----------------------------------------------------------------------------


def test_every_reference_says_where_it_resolves_from_with_the_value_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file_keyring: PlaintextKeyring
) -> None:
    monkeypatch.setenv("KALEYRA_API_KEY", ENV_CANARY)
    keyring.set_password(SERVICE, "kaleyra/api-key", KEYRING_CANARY)
    # SMS_USER unset, kaleyra/sms-pass missing
    config = write_config(tmp_path, "https://ct-adapter.example.com/wa", sms=SMS_WITH_BASIC_AUTH)
    checks = run_doctor(config, False)
    found = by_name(checks)

    env = found["secret wa headers.api-key"]
    assert env.status == "ok"
    assert env.detail == (
        "${KALEYRA_API_KEY}: environment variable KALEYRA_API_KEY is set, "
        f"value {mask(ENV_CANARY)}"
    )
    stored = found["secret sms headers.api-key"]
    assert stored.status == "ok"
    assert stored.detail == (
        "${keyring:kaleyra/api-key}: keyring entry kaleyra/api-key (service kctl) is present, "
        f"value {mask(KEYRING_CANARY)}"
    )
    unset = found["secret sms auth.username"]
    assert (unset.status, unset.exit_code) == ("fail", 3)
    assert unset.detail == "${SMS_USER}: environment variable SMS_USER is not set"
    assert "export SMS_USER" in (unset.hint or "")
    missing = found["secret sms auth.password"]
    assert (missing.status, missing.exit_code) == ("fail", 3)
    assert missing.detail == "${keyring:kaleyra/sms-pass}: no keyring entry kaleyra/sms-pass"
    assert missing.hint == "kctl secrets set kaleyra/sms-pass"
    # literal, non-secret headers are not secrets
    assert "secret wa headers.sid" not in found
    assert overall_exit_code(checks) == 3


def test_a_literal_api_key_is_a_masked_warning(tmp_path: Path) -> None:
    config = write_config(tmp_path, "https://ct-adapter.example.com/wa", api_key=LITERAL_CANARY)
    check = by_name(run_doctor(config, False))["secret wa headers.api-key"]
    assert (check.status, check.exit_code) == ("warn", 0)
    assert check.detail == f"written in the config as a literal ({mask(LITERAL_CANARY)})"
    assert "kctl secrets set" in (check.hint or "")


def test_canaries_never_appear_in_text_or_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file_keyring: PlaintextKeyring
) -> None:
    monkeypatch.setenv("KALEYRA_API_KEY", ENV_CANARY)
    monkeypatch.setenv("SMS_USER", USER_CANARY)
    monkeypatch.setenv("HTTPS_PROXY", f"http://proxyuser:{PROXY_CANARY}@127.0.0.1:3128")
    monkeypatch.setenv("all_proxy", f"socks5://{PROXY_CANARY}@127.0.0.1:1080/")
    keyring.set_password(SERVICE, "kaleyra/api-key", KEYRING_CANARY)
    keyring.set_password(SERVICE, "kaleyra/sms-pass", KEYRING_CANARY + "-sms")
    sms = SMS_WITH_BASIC_AUTH.replace("${keyring:kaleyra/api-key}", LITERAL_CANARY)
    config = write_config(tmp_path, "https://ct-adapter.example.com/wa", sms=sms)
    checks = run_doctor(config, False)
    canaries = (ENV_CANARY, USER_CANARY, PROXY_CANARY, KEYRING_CANARY, LITERAL_CANARY)

    text = render_checks(checks, as_json=False)
    document = render_checks(checks, as_json=True)
    assert_no_canary(text, *canaries)
    assert_no_canary(document, *canaries)
    assert_no_canary(repr(checks), *canaries)
    # what is shown instead
    for shown in (mask(ENV_CANARY), mask(USER_CANARY), mask(LITERAL_CANARY), mask(PROXY_CANARY)):
        assert shown in text
    assert f"http://proxyuser:{mask(PROXY_CANARY)}@127.0.0.1:3128" in text
    details = [c["detail"] for c in json.loads(document)["checks"]]
    assert f"value {mask(ENV_CANARY)}" in " ".join(details)


def test_render_masks_secrets_a_check_carries_even_in_unexpected_places() -> None:
    # e.g. a keyring backend's error message that quotes the value it was given
    check = Check(
        "keyring backend",
        "fail",
        f"RuntimeError: cannot store {LITERAL_CANARY}",
        f"hint {LITERAL_CANARY}",
        3,
        secrets=(LITERAL_CANARY,),
    )
    for as_json in (False, True):
        out = render_checks([check], as_json)
        assert_no_canary(out, LITERAL_CANARY)
        assert mask(LITERAL_CANARY) in out


# --- proxies and CAs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown", "hidden"),
    [
        ("http://proxy.corp:3128", "http://proxy.corp:3128", ()),
        ("proxy.corp:3128", "proxy.corp:3128", ()),
        ("http://tok3n-0123456789@proxy:3128", "http://****6789@proxy:3128", ("tok3n-0123456789",)),
        ("u:secretpass9@proxy:3128", "u:****ass9@proxy:3128", ("secretpass9",)),
        ("http://u:@proxy:3128", "http://u:@proxy:3128", ()),
    ],
)
def test_shown_proxy_masks_userinfo(value: str, shown: str, hidden: tuple[str, ...]) -> None:
    assert shown_proxy(value) == (shown, hidden)


def test_a_percent_encoded_proxy_password_is_hidden_in_both_spellings() -> None:
    shown, hidden = shown_proxy("http://u:p%40ssw0rd-long@proxy:3128/x")
    assert shown == f"http://u:{mask('p@ssw0rd-long')}@proxy:3128/x"
    assert set(hidden) == {"p%40ssw0rd-long", "p@ssw0rd-long"}


def test_proxy_variables_are_shown_masked_with_lower_case_winning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://proxyuser:{PROXY_CANARY}@10.0.0.1:3128")
    monkeypatch.setenv("https_proxy", "http://10.0.0.2:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,.corp.example")
    checks = run_doctor(None, False)
    found = by_name(checks)
    upper = found["proxy HTTPS_PROXY"]
    assert upper.status == "warn"
    assert upper.detail.startswith(f"http://proxyuser:{mask(PROXY_CANARY)}@10.0.0.1:3128")
    assert "https_proxy is also set, differently, and wins" in upper.detail
    assert found["proxy https_proxy"].detail == "http://10.0.0.2:3128"
    assert found["proxy NO_PROXY"].detail == "localhost,.corp.example"
    assert found["proxy settings"].status == "ok"
    names = [c.name for c in checks if c.name.startswith("proxy ")]
    assert names == ["proxy HTTPS_PROXY", "proxy https_proxy", "proxy NO_PROXY", "proxy settings"]
    assert_no_canary(render_checks(checks, False), PROXY_CANARY)


def test_an_empty_lower_case_variable_turns_its_upper_case_twin_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://u:{PROXY_CANARY}@10.0.0.1:3128")
    monkeypatch.setenv("https_proxy", "")
    checks = run_doctor(None, False)
    found = by_name(checks)
    upper = found["proxy HTTPS_PROXY"]
    assert upper.status == "warn"
    assert upper.detail.endswith("(not used: https_proxy is set but empty, and wins)")
    assert upper.hint == "unset https_proxy to use HTTPS_PROXY, or unset both for no proxy"
    assert found["proxy https_proxy"].detail == "set but empty: turns HTTPS_PROXY off"
    assert_no_canary(render_checks(checks, False), PROXY_CANARY)


def test_upper_case_http_proxy_is_not_used_in_a_cgi_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://10.0.0.1:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://10.0.0.1:3128")
    monkeypatch.setenv("REQUEST_METHOD", "GET")
    found = by_name(run_doctor(None, False))
    assert found["proxy HTTP_PROXY"].status == "warn"
    assert "not used: REQUEST_METHOD is set" in found["proxy HTTP_PROXY"].detail
    assert found["proxy HTTPS_PROXY"].status == "ok"


def test_no_proxy_entries_httpx_does_not_match_as_written_are_warnings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://10.0.0.1:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,*.corp.example,10.0.0.0/8,api.example.com:443")
    check = by_name(run_doctor(None, False))["proxy NO_PROXY"]
    assert check.status == "warn"
    assert check.detail.startswith("localhost,*.corp.example,10.0.0.0/8,api.example.com:443 (")
    assert "*.corp.example matches no host: write .corp.example" in check.detail
    assert "10.0.0.0/8 a range is not understood" in check.detail
    assert "api.example.com:443 never matches https://api.example.com/" in check.detail
    assert "localhost " not in check.detail


def test_an_https_proxy_says_what_its_tls_trusts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "https://proxy.corp.example:3129")
    check = by_name(run_doctor(None, False))["proxy HTTPS_PROXY"]
    assert check.status == "ok"
    assert check.detail == (
        "https://proxy.corp.example:3129 (TLS to it trusts OpenSSL's default CAs and certifi's "
        "bundle, not --ca-bundle)"
    )


def test_system_proxy_settings_are_reported_when_no_variable_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # macOS and Windows hand httpx their system settings through urllib when no variable is set;
    # on Linux there are none, so urllib's answer is stood in for here
    import urllib.request

    settings = {"https": f"http://u:{PROXY_CANARY}@10.0.0.1:8080", "ftp": "ftp://10.0.0.1"}
    monkeypatch.setattr(urllib.request, "getproxies", lambda: settings)
    checks = run_doctor(None, False)
    check = by_name(checks)["proxy https"]
    assert check.status == "ok"
    assert check.detail == (
        f"http://u:{mask(PROXY_CANARY)}@10.0.0.1:8080 (from the system proxy settings: "
        "no *_PROXY variable is set)"
    )
    assert "proxy ftp" not in by_name(checks)
    assert_no_canary(render_checks(checks, False), PROXY_CANARY)


def test_no_proxy_variables_means_a_direct_connection() -> None:
    check = by_name(run_doctor(None, False))["proxy"]
    assert (check.status, check.detail) == (
        "ok",
        "no *_PROXY variables set: kctl connects directly",
    )


def test_a_proxy_httpx_cannot_use_is_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"gopher://u:{PROXY_CANARY}@127.0.0.1:70")
    checks = run_doctor(None, False)
    check = by_name(checks)["proxy settings"]
    assert (check.status, check.exit_code) == ("fail", 2)
    assert "httpx cannot use the proxy variables" in check.detail
    assert_no_canary(render_checks(checks, False), PROXY_CANARY)
    assert_no_canary(render_checks(checks, True), PROXY_CANARY)


def test_the_default_ca_bundle_is_certifi() -> None:
    import certifi

    found = by_name(run_doctor(None, False))
    assert found["CA bundle"].status == "ok"
    assert certifi.where() in found["CA bundle"].detail
    assert "SSL_CERT_FILE" not in found


def test_ssl_cert_file_is_loaded_and_named_as_the_trust_store(
    monkeypatch: pytest.MonkeyPatch, self_signed: tuple[Path, Path]
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(self_signed[0]))
    monkeypatch.setenv("SSL_CERT_DIR", str(self_signed[0].parent))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(self_signed[0]))
    found = by_name(run_doctor(None, False))
    assert found["SSL_CERT_FILE"].status == "ok"
    assert found["SSL_CERT_FILE"].detail == f"{self_signed[0]}: 1 CA certificate(s), used for TLS"
    assert "not used: SSL_CERT_FILE wins" in found["SSL_CERT_DIR"].detail
    assert found["REQUESTS_CA_BUNDLE"].status == "warn"
    assert f"SSL_CERT_FILE={self_signed[0]}" in (found["REQUESTS_CA_BUNDLE"].hint or "")
    assert found["CA bundle"].detail == f"TLS trusts the CAs from SSL_CERT_FILE ({self_signed[0]})"


def test_a_missing_ssl_cert_file_is_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "nope.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "nodir"))
    found = by_name(run_doctor(None, False))
    assert (found["SSL_CERT_FILE"].status, found["SSL_CERT_FILE"].exit_code) == ("fail", 2)
    assert "cannot load CA certificates" in found["SSL_CERT_FILE"].detail
    monkeypatch.delenv("SSL_CERT_FILE")
    found = by_name(run_doctor(None, False))
    assert (found["SSL_CERT_DIR"].status, found["SSL_CERT_DIR"].exit_code) == ("fail", 2)


# --- config -------------------------------------------------------------------------------------


def test_an_invalid_config_fails_with_its_exit_code_and_skips_the_rest(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 2\nproviders: []\n", encoding="utf-8")
    checks = run_doctor(str(bad), online=True)
    found = by_name(checks)
    assert (found["config"].status, found["config"].exit_code) == ("fail", 1)
    assert "kctl validate-config" in (found["config"].hint or "")
    assert found["network"].status == "skip"
    assert "could not be loaded" in found["network"].detail
    assert not any(c.name.startswith("secret ") for c in checks)

    missing = by_name(run_doctor(str(tmp_path / "none.yaml"), False))["config"]
    assert (missing.status, missing.exit_code) == ("fail", 2)


def test_without_online_every_host_is_skipped_and_nothing_is_looked_up(tmp_path: Path) -> None:
    # example.com hosts: the loopback_only guard fails the test if doctor tried to reach them
    config = write_config(
        tmp_path,
        "https://ct-adapter.example.com/wa",
        callback="https://in1.example-clevertap.com/wa/abc",
    )
    checks = [c for c in run_doctor(config, online=False) if c.name.startswith("network")]
    assert [c.name for c in checks] == [
        "network ct-adapter.example.com:443",
        "network in1.example-clevertap.com:443",
    ]
    assert all(c.status == "skip" and "--online" in (c.hint or "") for c in checks)
    assert "kaleyra-host of wa" in checks[1].detail


def test_without_a_config_the_network_is_skipped() -> None:
    check = by_name(run_doctor(None, online=True))["network"]
    assert check.status == "skip"
    assert "--config" in (check.hint or "")


def test_a_timeout_must_be_positive() -> None:
    with pytest.raises(UsageError):
        run_doctor(None, False, timeout=0)


# --- online: DNS, TCP, TLS on loopback -----------------------------------------------------------


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The config's ${KALEYRA_API_KEY}, so that only the network decides the exit code."""
    monkeypatch.setenv("KALEYRA_API_KEY", ENV_CANARY)


@pytest.mark.usefixtures("api_key")
def test_online_http_host_resolves_and_connects(tmp_path: Path) -> None:
    with serve(lambda _: Reply()) as srv:
        checks = run_doctor(write_config(tmp_path, srv.url("/wa")), online=True, timeout=2)
    found = by_name(checks)
    assert found["dns 127.0.0.1"].status == "ok"
    tcp = found[f"tcp 127.0.0.1:{srv.port}"]
    assert tcp.status == "ok"
    assert tcp.detail.startswith(f"connected to 127.0.0.1:{srv.port} in ")
    assert f"tls 127.0.0.1:{srv.port}" not in found  # plain http on loopback: no TLS to check
    assert srv.requests == []  # connected, never sent anything
    assert overall_exit_code(checks) == 0


@pytest.mark.usefixtures("api_key")
def test_online_localhost_is_looked_up(tmp_path: Path) -> None:
    with serve(lambda _: Reply()) as srv:
        config = write_config(tmp_path, f"http://localhost:{srv.port}/wa")
        found = by_name(run_doctor(config, online=True, timeout=2))
    assert found["dns localhost"].status == "ok"
    assert "127.0.0.1" in found["dns localhost"].detail
    assert found[f"tcp localhost:{srv.port}"].status == "ok"


@pytest.mark.usefixtures("api_key")
def test_online_a_closed_port_is_exit_4(tmp_path: Path) -> None:
    port = closed_port()
    checks = run_doctor(write_config(tmp_path, f"https://127.0.0.1:{port}/wa"), True, 2)
    found = by_name(checks)
    assert found["dns 127.0.0.1"].status == "ok"
    tcp = found[f"tcp 127.0.0.1:{port}"]
    assert (tcp.status, tcp.exit_code) == ("fail", 4)
    assert tcp.detail.startswith("connection refused (endpoint of wa, kaleyra-host of wa")
    assert found[f"tls 127.0.0.1:{port}"].status == "skip"
    assert overall_exit_code(checks) == 4


# TLS against a self-signed 127.0.0.1 certificate, built as tests/test_transport.py builds one


CertFactory = Callable[[int], tuple[Path, Path]]


@pytest.fixture(scope="module")
def make_cert(tmp_path_factory: pytest.TempPathFactory) -> CertFactory:
    def make(days: int) -> tuple[Path, Path]:
        folder = tmp_path_factory.mktemp("tls")
        cert, key = folder / "cert.pem", folder / "key.pem"
        write_self_signed(cert, key, days)
        return cert, key

    return make


@pytest.fixture(scope="module")
def self_signed(make_cert: CertFactory) -> tuple[Path, Path]:
    return make_cert(90)


def tls_server(cert: tuple[Path, Path]) -> Any:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert)
    return serve(lambda _: Reply(), tls=context)


@pytest.mark.usefixtures("api_key")
def test_online_an_untrusted_certificate_is_exit_4_pointing_at_the_ca_settings(
    tmp_path: Path, self_signed: tuple[Path, Path]
) -> None:
    srv: TestServer
    with tls_server(self_signed) as srv:
        checks = run_doctor(write_config(tmp_path, srv.url("/wa")), True, 2)
    tls = by_name(checks)[f"tls 127.0.0.1:{srv.port}"]
    assert (tls.status, tls.exit_code) == ("fail", 4)
    assert tls.detail.startswith("certificate verify failed: self-signed certificate")
    assert "trusting certifi" in tls.detail
    assert "--ca-bundle" in (tls.hint or "")
    assert "SSL_CERT_FILE" in (tls.hint or "")
    assert by_name(checks)[f"tcp 127.0.0.1:{srv.port}"].status == "ok"
    assert overall_exit_code(checks) == 4


@pytest.mark.usefixtures("api_key")
def test_online_ssl_cert_file_makes_the_certificate_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, self_signed: tuple[Path, Path]
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(self_signed[0]))
    srv: TestServer
    with tls_server(self_signed) as srv:
        checks = run_doctor(write_config(tmp_path, srv.url("/wa")), True, 2)
    tls = by_name(checks)[f"tls 127.0.0.1:{srv.port}"]
    assert (tls.status, tls.exit_code) == ("ok", 0)
    assert re.match(r"TLSv1\.[23], certificate verified \(trusting SSL_CERT_FILE\) in ", tls.detail)
    assert "issued by kctl test 127.0.0.1" in tls.detail
    assert srv.requests == []  # handshake only
    assert overall_exit_code(checks) == 0


@pytest.mark.usefixtures("api_key")
def test_online_a_certificate_about_to_expire_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_cert: CertFactory
) -> None:
    short = make_cert(1)
    monkeypatch.setenv("SSL_CERT_FILE", str(short[0]))
    srv: TestServer
    with tls_server(short) as srv:
        checks = run_doctor(write_config(tmp_path, srv.url("/wa")), True, 2)
    tls = by_name(checks)[f"tls 127.0.0.1:{srv.port}"]
    assert (tls.status, tls.exit_code) == ("warn", 0)
    assert tls.detail.endswith("(in 0 day(s))")
    assert "renew" in (tls.hint or "")


@pytest.mark.usefixtures("api_key")
def test_online_https_to_a_plain_http_port_is_a_handshake_failure(tmp_path: Path) -> None:
    with serve(lambda _: Reply()) as srv:
        checks = run_doctor(write_config(tmp_path, f"https://127.0.0.1:{srv.port}/"), True, 2)
    tls = by_name(checks)[f"tls 127.0.0.1:{srv.port}"]
    assert (tls.status, tls.exit_code) == ("fail", 4)
    assert tls.detail.startswith("TLS handshake failed")


@pytest.mark.usefixtures("api_key")
def test_online_a_silent_peer_times_out_the_handshake(tmp_path: Path) -> None:
    with socket.socket() as listener:  # the kernel accepts the connection; nobody answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = int(listener.getsockname()[1])
        checks = run_doctor(write_config(tmp_path, f"https://127.0.0.1:{port}/"), True, 0.3)
    tls = by_name(checks)[f"tls 127.0.0.1:{port}"]
    assert (tls.status, tls.exit_code) == ("fail", 4)
    assert tls.detail == "no TLS handshake within 0.3 s"


@pytest.mark.usefixtures("api_key")
def test_online_a_proxied_host_that_is_unreachable_directly_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = closed_port()
    with serve(lambda _: Reply()) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", f"http://u:{PROXY_CANARY}@127.0.0.1:{proxy.port}")
        checks = run_doctor(write_config(tmp_path, f"https://127.0.0.1:{port}/wa"), True, 2)
    found = by_name(checks)
    direct = found[f"tcp 127.0.0.1:{port}"]
    assert (direct.status, direct.exit_code) == ("warn", 0)
    assert "through the proxy http://u:****" in (direct.hint or "")
    via = found[f"tcp 127.0.0.1:{proxy.port}"]
    assert via.status == "ok"
    assert "proxy (HTTPS_PROXY)" in found["dns 127.0.0.1"].detail
    assert overall_exit_code(checks) == 0
    assert_no_canary(render_checks(checks, False), PROXY_CANARY)


# --- rendering ----------------------------------------------------------------------------------

SAMPLE = [
    Check("python", "ok", "CPython 3.11"),
    Check("keyring backend", "fail", "no usable keyring backend", "use ${ENV} references", 3),
    Check("network api.kaleyra.io:443", "skip", "not checked", "add --online"),
    Check("pyyaml", "warn", "pure-Python parser"),
]


def test_text_is_an_aligned_table_with_hints_under_the_detail() -> None:
    lines = render_checks(SAMPLE, as_json=False).splitlines()
    assert lines[:5] == [
        "ok    python                      CPython 3.11",
        "FAIL  keyring backend             no usable keyring backend",
        "                                  hint: use ${ENV} references",
        "skip  network api.kaleyra.io:443  not checked",
        "                                  hint: add --online",
    ]
    assert lines[-1] == "1 ok, 1 warning(s), 1 failed, 1 skipped; exit code 3"


def test_json_is_one_versioned_document() -> None:
    document = json.loads(render_checks(SAMPLE, as_json=True))
    assert document["version"] == 1
    assert document["exit_code"] == 3
    assert document["checks"][1] == {
        "name": "keyring backend",
        "status": "fail",
        "detail": "no usable keyring backend",
        "hint": "use ${ENV} references",
        "exit_code": 3,
    }
    assert document["checks"][0]["hint"] is None


def test_text_escapes_control_characters_from_the_environment() -> None:
    out = render_checks([Check("proxy HTTPS_PROXY", "ok", "http://x\x1b[31m\n:1")], False)
    assert "\x1b" not in out
    assert "http://x\\x1b[31m\\n:1" in out


def test_bidi_and_c1_controls_from_the_environment_are_escaped_in_text_and_json() -> None:
    check = Check("proxy HTTPS_PROXY", "ok", "http://a\u202eb\x9b2J\u2028c")
    text = render_checks([check], False)
    assert not {"\u202e", "\x9b", "\u2028"} & set(text)
    assert "http://a\\u202eb\\x9b2J\\u2028c" in text
    document = render_checks([check], True)
    assert not {"\u202e", "\x9b", "\u2028"} & set(document)
    assert json.loads(document)["checks"][0]["detail"] == check.detail


def test_overall_exit_code_is_the_highest() -> None:
    assert overall_exit_code([]) == 0
    assert overall_exit_code(SAMPLE) == 3
    assert overall_exit_code([*SAMPLE, Check("tcp h:1", "fail", "refused", None, 4)]) == 4


@pytest.mark.usefixtures("api_key")
def test_online_a_proxy_the_config_also_names_is_checked_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve(lambda _: Reply()) as srv:
        monkeypatch.setenv("HTTP_PROXY", srv.origin)
        checks = run_doctor(write_config(tmp_path, srv.url("/wa")), True, 2)
    tcp = [c for c in checks if c.name.startswith("tcp ")]
    assert [(c.name, c.status) for c in tcp] == [(f"tcp 127.0.0.1:{srv.port}", "ok")]
    assert f"proxy (HTTP_PROXY) for 127.0.0.1:{srv.port}" in by_name(checks)["dns 127.0.0.1"].detail
    assert overall_exit_code(checks) == 0


def test_doctor_command_reports_and_exits_with_the_worst_check(
    kctl: Kctl, tmp_path: Path, file_keyring: object
) -> None:
    import json as json_module

    config = tmp_path / "c.yaml"
    config.write_text((REPO / "configs" / "sms-india.yaml").read_text())
    missing = kctl("doctor", "--config", str(config), "--json", env={"KALEYRA_API_KEY": None})
    assert missing.exit_code == 3, missing
    doc = json_module.loads(missing.stdout)
    assert doc["exit_code"] == 3
    assert any(c["status"] == "fail" and "KALEYRA_API_KEY" in c["detail"] for c in doc["checks"])
    canary = "doctor-canary-secret-4242"
    present = kctl("doctor", "--config", str(config), env={"KALEYRA_API_KEY": canary})
    assert present.exit_code == 0, present
    assert canary not in present.stdout + present.stderr
    assert "****4242" in present.stdout


def test_the_table_wraps_at_words_and_says_a_shared_hint_once() -> None:
    from kctl.doctor import Check, render_checks

    hint = "add --online to check DNS, TCP and TLS for these hosts"
    checks = [
        Check(
            f"network host{n}.example-clevertap.com:443",
            "skip",
            "not checked: inbound-message-callback-url of Kaleyra_WA, delivery-report-callback"
            "-url of Kaleyra_WA, callback_url of Kaleyra_SMS; kctl connects directly",
            hint,
        )
        for n in range(3)
    ]
    text = render_checks(checks, as_json=False, width=80)
    lines = text.splitlines()
    assert text.count(hint) == 1
    assert max(len(line) for line in lines) <= 80, text
    # no word was cut: every piece on the page is a whole word of what was rendered
    whole = set(" ".join([c.name for c in checks] + [c.detail for c in checks]).split())
    whole |= {"skip", "hint:", *hint.split()}
    for line in lines[:-2]:
        assert set(line.split()) <= whole, line
