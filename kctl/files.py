"""Safe file writes: never a half-written or clobbered file, and no temp file left behind."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from kctl.errors import UsageError

_TRIES = 100  # a temp name taken already is a collision of 64 random bits: rarely twice


def write_atomic(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` to ``path`` via a temp file in the same folder and an atomic rename.

    The temp file is named before it is created, and created inside the ``try`` that removes
    it, so Ctrl-C or SIGTERM at any point leaves either the old file or the new one, and no
    temp file (``tempfile.mkstemp`` would leave one if interrupted between creating it and
    returning its name).
    """
    folder = path.parent if str(path.parent) else Path(".")
    for _ in range(_TRIES):
        tmp = folder / f".{path.name}.{secrets.token_hex(8)}.tmp"
        try:
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            if mode is not None:
                os.chmod(tmp, mode)
            os.replace(tmp, path)
            return
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise UsageError(f"cannot write {path}: {e.strerror or e}") from e
        except BaseException:  # Ctrl-C or SIGTERM halfway
            tmp.unlink(missing_ok=True)
            raise
    raise UsageError(f"cannot write {path}: no free temp file name in {folder}")
