"""Start-up stays light: the fast paths import no httpx, keyring, yaml or rich (issue: speed)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support import REPO

HEAVY = ("httpx", "httpcore", "keyring", "yaml", "rich", "jsonschema", "pydantic")

PROBE = """
import json, sys
from kctl.cli.app import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.__stderr__.write(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["validate-config", "--help"],
        ["preview", "--help"],
        ["explain", "KC108"],
        ["explain", "--list", "--json"],
        ["explain", "KC999"],
        [
            "render-callback-url",
            "--incoming-url",
            "https://wa.example.com/in",
            "--inbound-callback-url",
            "https://ct.example.com/inbound",
        ],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_fast_paths_import_nothing_heavy(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=False
    )
    loaded = set(json.loads(done.stderr.strip().splitlines()[-1]))
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    assert done.stdout or "unknown rule code" in done.stderr  # the command really ran


def test_no_command_pays_for_pydantic() -> None:
    # typer 0.29 builds a pydantic TypeAdapter for every option of the command that runs;
    # validate-config of one file is the common case it slowed down most
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "validate-config", "configs/whatsapp.yaml"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    loaded = set(json.loads(done.stderr.strip().splitlines()[-1]))
    assert "pydantic" not in loaded
    assert "no problems found" in done.stdout + done.stderr
