"""Helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from kctl.cli.app import main


@dataclass
class Result:
    """What a user sees from one kctl run."""

    exit_code: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (
            f"exit {self.exit_code}\n--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )


class Kctl:
    """Runs the real entry point in-process, stdout and stderr kept apart."""

    def __call__(
        self, *args: str, input: str | bytes | None = None, env: dict[str, str | None] | None = None
    ) -> Result:
        runner = CliRunner()
        with runner.isolation(input=input, env=env) as (out, err, _):
            try:
                main(list(args))
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            else:  # pragma: no cover - main always exits
                code = 0
            sys.stdout.flush()
            sys.stderr.flush()
            stdout = out.getvalue().decode("utf-8", "replace")
            stderr = err.getvalue().decode("utf-8", "replace")
        return Result(code, stdout, stderr)


REPO = Path(__file__).resolve().parent.parent
CASES = REPO / "tests" / "cases"
