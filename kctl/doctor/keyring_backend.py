"""The keyring check: which backend keyring picked, and whether it can store an entry.

The round trip writes, reads and deletes a throw-away entry under service ``kctl-doctor``;
real entries under ``kctl`` are never touched.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from typing import TYPE_CHECKING

from kctl.doctor.check import NO_SECRET, Check
from kctl.errors import SecretUnavailable

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

DOCTOR_SERVICE = "kctl-doctor"  # the keyring round trip writes only here

_KEYRING_HINT = (
    "use ${ENV} references (environment variables) instead of ${keyring:NAME}: kctl init"
    " --api-key-env KALEYRA_API_KEY writes one"
)
_PLAINTEXT_HINT = (
    "anyone who can read that file has the secrets: prefer ${ENV} references on a headless"
    " machine, or a Secret Service (GNOME Keyring, KWallet) on a desktop"
)


def keyring_check(config_uses_keyring: bool | None) -> Check:
    """Which backend keyring picked, and whether it can write, read and delete an entry.

    An unusable keyring fails (exit 3) unless a config was given that never asks the keyring
    for anything: then it is a warning, so ``doctor`` stays useful in CI, where there is
    usually no keyring and secrets come from ``${ENV}`` references.
    """
    # keyring_backend is kctl.secrets' own gatekeeper (refuses the fail and null backends),
    # reused so doctor and secret resolution agree on what "usable" means.
    from kctl.secrets import backend_name, keyring_backend

    chosen_by = os.environ.get("PYTHON_KEYRING_BACKEND")
    suffix = f" (chosen by PYTHON_KEYRING_BACKEND={chosen_by})" if chosen_by else ""
    try:
        backend = keyring_backend()
    except SecretUnavailable as e:
        return _keyring_unusable(e.message + suffix, e.hint, config_uses_keyring)
    name = backend_name(backend) + suffix
    problem = _round_trip(backend)
    if problem is not None:
        return _keyring_unusable(f"{name}: {problem}", _KEYRING_HINT, config_uses_keyring)
    from kctl.secrets import plaintext_store

    if plaintext_store(backend) is not None:
        return Check(
            "keyring backend",
            "warn",
            f"{name}: a test entry (service {DOCTOR_SERVICE}) round-tripped, but this backend"
            " keeps secrets in plain text (base64 is no encryption)",
            _PLAINTEXT_HINT,
        )
    return Check(
        "keyring backend",
        "ok",
        f"{name}: a test entry (service {DOCTOR_SERVICE}) was written, read back and deleted",
    )


def _keyring_unusable(detail: str, hint: str | None, config_uses_keyring: bool | None) -> Check:
    if config_uses_keyring is False:
        return Check(
            "keyring backend",
            "warn",
            f"{detail}; the config uses no ${{keyring:...}} references, so it does not matter here",
            hint or _KEYRING_HINT,
        )
    return Check("keyring backend", "fail", detail, hint or _KEYRING_HINT, NO_SECRET)


def _round_trip(backend: KeyringBackend) -> str | None:
    """Why ``backend`` cannot store an entry, or None when it can. Touches only a fresh entry
    under DOCTOR_SERVICE, never an entry kctl (or anything else) wrote."""
    entry = f"round-trip-{uuid.uuid4().hex}"
    value = uuid.uuid4().hex
    written = False
    stage = "writing"
    try:
        backend.set_password(DOCTOR_SERVICE, entry, value)
        written = True
        stage = "reading back"
        if backend.get_password(DOCTOR_SERVICE, entry) != value:
            return "a test entry read back differently from what was written"
        stage = "deleting"
        backend.delete_password(DOCTOR_SERVICE, entry)
        written = False
        stage = "reading after deleting"
        if backend.get_password(DOCTOR_SERVICE, entry) is not None:
            return "a test entry was still there after deleting it"
    # Backends are plugins (D-Bus, Keychain, files, ...) that fail in their own ways, and
    # their error text can quote the secrets they store: only the kind of error is shown.
    except Exception as e:
        return f"{stage} a test entry failed ({type(e).__name__})"
    finally:
        if written:
            # already reporting the first failure; a second one adds nothing
            with contextlib.suppress(Exception):
                backend.delete_password(DOCTOR_SERVICE, entry)
    return None
