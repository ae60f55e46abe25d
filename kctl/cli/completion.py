"""Shell completion scripts for completions/: ``python -m kctl.cli.completion`` regenerates them."""

from __future__ import annotations

import sys
from pathlib import Path

SHELLS = {"bash": "kctl.bash", "zsh": "_kctl", "fish": "kctl.fish"}


def completion_script(shell: str) -> str:
    from typer._completion_shared import get_completion_script

    from kctl.cli.fast import COMPLETE_VAR

    script = get_completion_script(prog_name="kctl", complete_var=COMPLETE_VAR, shell=shell)
    return script.rstrip("\n") + "\n"


def write_all(folder: Path) -> list[Path]:
    written = []
    for shell, name in SHELLS.items():
        path = folder / name
        path.write_text(completion_script(shell), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("completions")
    for path in write_all(target):
        print(path)
