"""CA settings: which certificates TLS trusts (SSL_CERT_FILE, SSL_CERT_DIR, certifi)."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

from kctl.doctor.check import BAD_SETTING, BROKEN_INSTALL, Check


def ca_source() -> tuple[str, str, str] | None:
    """(kind, path, label) of the trust store httpx uses: SSL_CERT_FILE, else SSL_CERT_DIR,
    else certifi's bundle. None when certifi is missing too (then httpx cannot run)."""
    cert_file = os.environ.get("SSL_CERT_FILE")
    if cert_file:
        return "file", cert_file, "SSL_CERT_FILE"
    cert_dir = os.environ.get("SSL_CERT_DIR")
    if cert_dir:
        return "dir", cert_dir, "SSL_CERT_DIR"
    try:
        import certifi
    except ImportError:
        return None
    return "file", certifi.where(), "certifi"


def tls_context() -> ssl.SSLContext:
    """The context httpx would build for ``verify=True``; raises OSError when unusable."""
    source = ca_source()
    if source is None:
        return ssl.create_default_context()
    kind, path, _ = source
    if kind == "dir":
        return ssl.create_default_context(capath=path)
    return ssl.create_default_context(cafile=path)


def ca_checks() -> list[Check]:
    checks: list[Check] = []
    cert_file = os.environ.get("SSL_CERT_FILE")
    cert_dir = os.environ.get("SSL_CERT_DIR")
    if cert_file is not None:
        checks.append(_cert_file_check(cert_file))
    if cert_dir is not None:
        if not cert_dir:
            checks.append(Check("SSL_CERT_DIR", "ok", "set but empty: ignored"))
        elif cert_file:
            checks.append(Check("SSL_CERT_DIR", "ok", f"{cert_dir} (not used: SSL_CERT_FILE wins)"))
        elif not Path(cert_dir).is_dir():
            checks.append(
                Check(
                    "SSL_CERT_DIR",
                    "fail",
                    f"{cert_dir} is not a directory",
                    "point SSL_CERT_DIR at a directory of hashed CA certificates, or unset it",
                    BAD_SETTING,
                )
            )
        else:
            checks.append(Check("SSL_CERT_DIR", "ok", f"{cert_dir} (used for TLS)"))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE")
    if bundle:
        checks.append(
            Check(
                "REQUESTS_CA_BUNDLE",
                "warn",
                f"{bundle} (not used: kctl, through httpx, does not read REQUESTS_CA_BUNDLE)",
                f"set SSL_CERT_FILE={bundle} for kctl, or pass --ca-bundle to send-test",
            )
        )
    checks.append(_trust_store_check())
    return checks


def _cert_file_check(path: str) -> Check:
    if not path:
        return Check("SSL_CERT_FILE", "ok", "set but empty: ignored")
    try:
        context = ssl.create_default_context(cafile=path)
    except OSError as e:  # includes ssl.SSLError for a file that holds no certificate
        reason = e.strerror or getattr(e, "reason", None) or str(e)
        return Check(
            "SSL_CERT_FILE",
            "fail",
            f"{path}: cannot load CA certificates: {reason}",
            "point SSL_CERT_FILE at a PEM file of CA certificates, or unset it",
            BAD_SETTING,
        )
    count = context.cert_store_stats().get("x509_ca", 0)
    return Check("SSL_CERT_FILE", "ok", f"{path}: {count} CA certificate(s), used for TLS")


def _trust_store_check() -> Check:
    source = ca_source()
    if source is None:
        return Check(
            "CA bundle",
            "fail",
            "certifi is not installed, so httpx has no CA bundle",
            "pip install certifi, or reinstall kctl",
            BROKEN_INSTALL,
        )
    _, path, label = source
    if label != "certifi":
        return Check("CA bundle", "ok", f"TLS trusts the CAs from {label} ({path})")
    from importlib import metadata

    try:
        version = f" {metadata.version('certifi')}"
    except metadata.PackageNotFoundError:
        version = ""
    return Check(
        "CA bundle",
        "ok",
        f"TLS trusts certifi{version}'s bundle ({path}); set SSL_CERT_FILE to use another",
    )
