"""CA settings: which certificates TLS trusts (SSL_CERT_FILE, SSL_CERT_DIR, certifi)."""

from __future__ import annotations

import os

from kctl.doctor.check import BAD_SETTING, BROKEN_INSTALL, Check
from kctl.send import netenv


def ca_checks() -> list[Check]:
    source = netenv.ca_source()
    checks: list[Check] = []
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        value = os.environ.get(name)
        if value is None:
            continue
        if not value:
            checks.append(Check(name, "ok", "set but empty: ignored"))
        elif source is None or source.origin != name:
            checks.append(Check(name, "ok", f"{value} (not used: SSL_CERT_FILE wins)"))
        else:
            checks.append(_variable_check(source))
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
    checks.append(_trust_store_check(source))
    return checks


def _variable_check(source: netenv.CaSource) -> Check:
    """Whether the CAs SSL_CERT_FILE or SSL_CERT_DIR names load, as the transport loads them."""
    name, path = source.origin, source.path
    try:
        context = netenv.load_ca(source)
    except OSError as e:  # includes ssl.SSLError for a file that holds no certificate
        if source.is_dir:
            detail = f"{path} is not a directory"
            hint = "point SSL_CERT_DIR at a directory of hashed CA certificates, or unset it"
        else:
            reason = e.strerror or getattr(e, "reason", None) or str(e)
            detail = f"{path}: cannot load CA certificates: {reason}"
            hint = "point SSL_CERT_FILE at a PEM file of CA certificates, or unset it"
        return Check(name, "fail", detail, hint, BAD_SETTING)
    if source.is_dir:  # a directory is read certificate by certificate, as needed: no count
        return Check(name, "ok", f"{path} (used for TLS)")
    count = context.cert_store_stats().get("x509_ca", 0)
    return Check(name, "ok", f"{path}: {count} CA certificate(s), used for TLS")


def _trust_store_check(source: netenv.CaSource | None) -> Check:
    if source is None:
        return Check(
            "CA bundle",
            "fail",
            "certifi is not installed, so httpx has no CA bundle",
            "pip install certifi, or reinstall kctl",
            BROKEN_INSTALL,
        )
    if source.origin != "certifi":
        return Check("CA bundle", "ok", f"TLS trusts the CAs from {source.origin} ({source.path})")
    from importlib import metadata

    try:
        version = f" {metadata.version('certifi')}"
    except metadata.PackageNotFoundError:
        version = ""
    return Check(
        "CA bundle",
        "ok",
        f"TLS trusts certifi{version}'s bundle ({source.path}); set SSL_CERT_FILE to use another",
    )
