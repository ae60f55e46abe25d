"""Fixtures shared across the test suite."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import keyring
import pytest
from keyring.backend import KeyringBackend
from keyrings.alt.file import PlaintextKeyring

from kctl.servers.http import HttpServer, ServerThread
from kctl.servers.listener import Listener
from kctl.servers.sandbox import Sandbox
from tests.support import DELAY, Kctl, SandboxFactory


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


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """An HTTP client for the loopback servers: no proxy from the environment."""
    with httpx.Client(timeout=5.0, trust_env=False) as c:
        yield c


@pytest.fixture
def listener() -> Iterator[tuple[Listener, ServerThread]]:
    """kctl's callback listener, serving on a free loopback port."""
    app = Listener()
    with HttpServer(app).start_in_thread() as running:
        yield app, running


@pytest.fixture
def start_sandbox() -> Iterator[SandboxFactory]:
    """Start sandboxes with any options (reports after ``DELAY`` unless told); all stop at the
    end of the test."""
    with contextlib.ExitStack() as stack:

        def start(**options: Any) -> tuple[Sandbox, ServerThread]:
            options.setdefault("dlr_delay", DELAY)
            app = Sandbox(**options)
            return app, stack.enter_context(HttpServer(app).start_in_thread())

        yield start
