"""Safe file writes: never a half-written or clobbered file."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from kctl.errors import UsageError

SECRET_MODE = 0o600  # for a file that holds a secret: the owner alone reads it


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
    """
    folder = path.parent if str(path.parent) else Path(".")
    if mode is None:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            mode = 0o666 & ~_umask()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from e
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from e


def check_writable(path: Path) -> None:
    """Refuse (exit 2) a path that cannot be written, before any question is asked."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {path}: folder {folder} is not writable")
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder")
