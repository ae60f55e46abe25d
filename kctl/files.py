"""Safe file writes: never a half-written or clobbered file, and no temp file left behind."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from kctl.errors import UsageError

SECRET_MODE = 0o600  # for a file that holds a secret: the owner alone reads it
_TRIES = 100  # a temp name taken already is a collision of 64 random bits: rarely twice


def _umask() -> int:
    # os.umask can only be read by setting it; kctl is single-threaded where it writes files
    current = os.umask(0o022)
    os.umask(current)
    return current


def write_atomic(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` to ``path`` via a temp file in the same folder and an atomic rename.

    The file gets ``mode`` when given (SECRET_MODE for a secret); otherwise it keeps the mode
    of the file it replaces, and a new file gets what the user's umask allows, as any editor
    would write it: reports, schemas and configs are meant to be shared and committed.

    The temp file is named before it is created, and created inside the ``try`` that removes
    it, so Ctrl-C or SIGTERM at any point leaves either the old file or the new one, and no
    temp file (``tempfile.mkstemp`` would leave one if interrupted between creating it and
    returning its name).
    """
    folder = path.parent if str(path.parent) else Path(".")
    if mode is None:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            mode = 0o666 & ~_umask()
    for _ in range(_TRIES):
        tmp = folder / f".{path.name}.{secrets.token_hex(8)}.tmp"
        try:
            try:
                # private while it is written: the final mode comes with the rename
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
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


def check_writable(path: Path) -> None:
    """Refuse (exit 2) a path that cannot be written, before any question is asked."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {path}: folder {folder} is not writable")
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder")
