"""kctl secrets set|get|delete through the real keyring API (file backend in a temp dir)."""

from __future__ import annotations

import json

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


@pytest.mark.usefixtures("file_keyring")
def test_a_plain_text_backend_is_named_and_needs_yes(kctl: Kctl) -> None:
    refused = kctl("secrets", "set", "kaleyra/api-key", input=CANARY + "\n")
    assert refused.exit_code == 2, refused
    assert "keeps secrets in plain text" in refused.stderr
    assert "${ENV}" in refused.stderr
    assert keyring.get_password("kctl", "kaleyra/api-key") is None


@pytest.mark.usefixtures("file_keyring")
def test_replacing_or_deleting_an_entry_needs_yes(kctl: Kctl) -> None:
    assert kctl("secrets", "set", "k1", "--yes", input="first-value-1\n").exit_code == 0
    again = kctl("secrets", "set", "k1", "--yes", input="second-value-2\n")
    assert again.exit_code == 0  # --yes answers both questions
    assert keyring.get_password("kctl", "k1") == "second-value-2"
    # without --yes and without a terminal to ask at: refused, the entry kept
    kept = kctl("secrets", "delete", "k1")
    assert kept.exit_code == 2
    assert "without --yes" in kept.stderr
    assert keyring.get_password("kctl", "k1") == "second-value-2"


@pytest.mark.usefixtures("file_keyring")
def test_list_names_stored_entries_and_a_configs_references(kctl: Kctl) -> None:
    from tests.support import REPO

    for name in ("kaleyra/api-key", "other/one"):
        assert kctl("secrets", "set", name, "--yes", input=CANARY + "\n").exit_code == 0
    plain = kctl("secrets", "list")
    assert plain.stdout.splitlines() == [
        "${keyring:kaleyra/api-key}  stored",
        "${keyring:other/one}        stored",
    ]
    assert CANARY not in plain.stdout
    config = str(REPO / "configs" / "account.yaml")
    with_config = kctl("secrets", "list", "--config", config, "--json")
    rows = {r["reference"]: r for r in json.loads(with_config.stdout)["secrets"]}
    assert rows["${keyring:kaleyra/api-key}"]["state"] == "stored"
    assert "Kaleyra_WA headers.api-key" in rows["${keyring:kaleyra/api-key}"]["used_by"]
    assert rows["${keyring:kaleyra/sms-pass}"]["state"].startswith("missing: no keyring entry")
    deleted = kctl("secrets", "delete", "other/one", "--yes")
    assert deleted.exit_code == 0
    assert "other/one" not in kctl("secrets", "list").stdout
