"""Fixtures shared across the test suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyrings.alt.file import PlaintextKeyring

from tests.support import Kctl


@pytest.fixture
def file_keyring(tmp_path: Path) -> Iterator[PlaintextKeyring]:
    """A real file keyring in a temp directory, installed as keyring's backend for the test.

    keyrings.alt's ``file_path`` is a non-data property, so an instance attribute overrides
    the default location (under the user's data directory). The previous backend is restored
    afterwards so no test touches the developer's real keyring or leaks into another test.
    """
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring" / "kctl_keyring.cfg")
    previous: KeyringBackend = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def kctl() -> Kctl:
    return Kctl()


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """keyring's own "nothing available" backend, as on a headless box without keyrings.alt."""
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        keyring.set_keyring(previous)
