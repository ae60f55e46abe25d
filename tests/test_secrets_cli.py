"""kctl secrets set|get|delete through the real keyring API (file backend in a temp dir)."""

from __future__ import annotations

import keyring
import pytest

from tests.support import Kctl

CANARY = "canary-Secret-Value-7781"


@pytest.mark.usefixtures("file_keyring")
def test_set_from_stdin_get_masked_show_and_delete(kctl: Kctl) -> None:
    # --yes: the test's file backend is plain text, which kctl asks about first
    stored = kctl("secrets", "set", "kaleyra/api-key", "--yes", input=CANARY + "\n")
    assert stored.exit_code == 0, stored
    assert CANARY not in stored.stdout + stored.stderr
    assert keyring.get_password("kctl", "kaleyra/api-key") == CANARY

    masked = kctl("secrets", "get", "kaleyra/api-key")
    assert masked.stdout == "****7781\n"

    shown = kctl("secrets", "get", "kaleyra/api-key", "--show-secrets")
    assert shown.stdout == CANARY + "\n"

    deleted = kctl("secrets", "delete", "kaleyra/api-key", "--yes")
    assert deleted.exit_code == 0
    assert keyring.get_password("kctl", "kaleyra/api-key") is None
    gone = kctl("secrets", "get", "kaleyra/api-key")
    assert gone.exit_code == 3
    assert "kctl secrets set kaleyra/api-key" in gone.stderr


@pytest.mark.usefixtures("file_keyring")
def test_value_is_never_taken_from_the_command_line(kctl: Kctl) -> None:
    result = kctl("secrets", "set", "name", CANARY)
    assert result.exit_code == 2
    assert keyring.get_password("kctl", "name") is None


@pytest.mark.usefixtures("file_keyring")
def test_delete_of_a_missing_entry_is_a_usage_error(kctl: Kctl) -> None:
    result = kctl("secrets", "delete", "nothing-here")
    assert result.exit_code == 2
    assert "nothing-here" in result.stderr


@pytest.mark.usefixtures("no_keyring")
def test_without_a_keyring_backend_exit_3_and_name_the_fix(kctl: Kctl) -> None:
    result = kctl("secrets", "set", "x", input="value\n")
    assert result.exit_code == 3, result
    assert result.stderr.count("\n") <= 2  # one line, plus one hint line
    assert "${ENV}" in result.stderr
    assert "Traceback" not in result.stderr
