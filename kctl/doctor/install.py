"""Install checks: the Python running kctl, kctl itself, and each dependency kctl declares."""

from __future__ import annotations

import platform
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import kctl
from kctl import DISTRIBUTION, __version__
from kctl.doctor.check import BROKEN_INSTALL, Check

_DEPENDENCIES = ("typer", "rich", "httpx", "PyYAML", "keyring")


def install_checks() -> list[Check]:
    return [_python_check(), *_package_checks()]


def _python_check() -> Check:
    return Check(
        "python",
        "ok",
        f"{platform.python_implementation()} {platform.python_version()} on "
        f"{platform.system() or sys.platform} ({sys.executable})",
    )


def _requirements() -> dict[str, str]:
    """kctl's declared requirement per dependency ("httpx" -> ">=0.27"), when installed."""
    from importlib import metadata

    try:
        declared = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        return {}
    found: dict[str, str] = {}
    for line in declared:
        if "extra ==" in line:
            continue
        m = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(?:\[[^\]]*\])?\s*([^;]*)", line)
        if m:
            found[_normalise(m.group(1))] = m.group(2).strip()
    return found


def _normalise(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _package_checks() -> Iterator[Check]:
    from importlib import metadata

    where = Path(kctl.__file__).resolve().parent
    try:
        installed = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        yield Check("kctl", "ok", f"{__version__}, not installed: running from {where}")
    else:
        yield Check("kctl", "ok", f"{DISTRIBUTION} {installed} ({where})")

    wanted = _requirements()
    for distribution in _DEPENDENCIES:
        name = distribution.lower()
        needs = wanted.get(_normalise(distribution))
        try:
            version = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            yield Check(
                name,
                "fail",
                "not installed" + (f" (kctl needs {distribution}{needs})" if needs else ""),
                f"pip install '{distribution}{needs or ''}', or reinstall kctl",
                BROKEN_INSTALL,
            )
            continue
        detail = version + (f" (kctl needs {needs})" if needs else "")
        if distribution == "PyYAML":
            yield _pyyaml_check(name, detail)
        else:
            yield Check(name, "ok", detail)


def _pyyaml_check(name: str, detail: str) -> Check:
    try:
        import yaml
    except ImportError as e:
        return Check(name, "fail", f"{detail}, cannot be imported: {e}", None, BROKEN_INSTALL)
    if getattr(yaml, "__with_libyaml__", False) and hasattr(yaml, "CSafeLoader"):
        return Check(name, "ok", f"{detail}, libyaml C parser available")
    return Check(
        name,
        "warn",
        f"{detail}, pure-Python parser only: libyaml is not available, so validate-config is "
        "several times slower",
        "install a PyYAML wheel built with libyaml (pip install --force-reinstall PyYAML)",
    )
