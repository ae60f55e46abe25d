"""Helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from kctl.cli.app import main
from kctl.servers.http import ServerThread
from kctl.servers.sandbox import Sandbox


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
DELAY = 0.01  # seconds between a message and its delivery reports, in the sandbox fixtures

# the ``start_sandbox`` fixture: Sandbox options in, the app and its running server out
SandboxFactory = Callable[..., tuple[Sandbox, ServerThread]]


class Lines:
    """A ``log`` or ``emit`` callable that keeps what it is given, safe to call from any thread."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, text: str) -> None:
        with self._lock:
            self.items.append(text)

    def text(self) -> str:
        with self._lock:
            return "\n".join(self.items)

    def matching(self, words: str) -> list[str]:
        with self._lock:
            return [item for item in self.items if words in item]
