"""Build hook: compiles kctl.config._compose (the C composer) when this machine can.

The module is an accelerator: the loader composes in Python when it is absent, so a machine
without a C compiler, Python's headers or libyaml still installs kctl, as pure Python, with one
line saying why. A wheel gets the module from a scratch directory (``force_include``) and a
platform tag; an editable install gets it next to the C file, where the source tree it puts on
``sys.path`` has it. ``KCTL_NO_NATIVE=1`` skips the build.

Only the standard library and hatchling: setuptools and distutils may be absent. Hatchling is
imported when hatchling asks for the hook (``get_build_hook``), so the tests import this file,
and run ``compile_extension``, without it. The wheel leaves this file out.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hatchling.builders.config import BuilderConfig
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("kctl", "config", "_compose.c")
WARNINGS = ["-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"]
# the interpreter provides Python's symbols when it loads the module: leave them unresolved
LINK = ["-bundle", "-undefined", "dynamic_lookup"] if sys.platform == "darwin" else ["-shared"]


class NotBuilt(Exception):
    """The accelerator was not built; the message says why, in a few words."""


class ToolchainMissing(NotBuilt):
    """This machine lacks a C compiler, Python's headers or libyaml."""


class CompileFailed(NotBuilt):
    """The compiler ran and rejected the source."""


def module_filename() -> str:
    """The extension module's file name for this interpreter: _compose.cpython-311-....so"""
    return "_compose" + str(sysconfig.get_config_var("EXT_SUFFIX"))


def source_digest(source: Path) -> str:
    """The sha256 of the C file, which the module reports as SOURCE_DIGEST."""
    return hashlib.sha256(source.read_bytes()).hexdigest()


def compile_extension(source: Path, output: Path, env: Mapping[str, str]) -> None:
    """Compile ``source`` into the extension module ``output``, with the compiler ``env`` names
    (``CC``, else the one Python was built with) and ``env`` as its environment.

    The module appears at ``output`` whole or not at all (a process may have the old one
    loaded). Raises ToolchainMissing when this machine cannot build it, CompileFailed when the
    compiler rejects the source.
    """
    try:
        compiler = shlex.split(env.get("CC") or str(sysconfig.get_config_var("CC") or "cc"))
        # where libyaml lives elsewhere (Homebrew's /opt/homebrew, a prefix of one's own)
        flags = {name: shlex.split(env.get(name, "")) for name in ("CPPFLAGS", "CFLAGS", "LDFLAGS")}
    except ValueError as e:  # CC='gcc "': an unclosed quote
        raise ToolchainMissing(f"no C compiler: CC or a *FLAGS cannot be read ({e})") from e
    if not compiler or shutil.which(compiler[0], path=env.get("PATH")) is None:
        raise ToolchainMissing(f"no C compiler: {' '.join(compiler) or 'CC'} not found")
    include = sysconfig.get_paths()["include"]
    if not Path(include, "Python.h").is_file():
        raise ToolchainMissing(f"no Python headers: Python.h not in {include}")
    partial = output.with_name(f".{output.name}.{os.getpid()}.partial")
    argv = [
        *compiler,
        "-O2",
        *WARNINGS,
        "-fPIC",
        *LINK,
        *flags["CPPFLAGS"],
        *flags["CFLAGS"],
        f"-I{include}",
        f'-DKCTL_COMPOSE_DIGEST="{source_digest(source)}"',
        str(source),
        "-o",
        str(partial),
        *flags["LDFLAGS"],
        "-lyaml",
    ]
    try:
        done = subprocess.run(argv, env=dict(env), capture_output=True, text=True, check=False)
    except OSError as e:  # found on PATH but cannot run
        raise ToolchainMissing(f"no C compiler: {compiler[0]}: {e.strerror}") from e
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise _failure(compiler[0], done.returncode, done.stdout + done.stderr)
    if not partial.is_file():  # a compiler (or a wrapper) that exits 0 and writes nothing
        raise CompileFailed(f"{compiler[0]} exited 0 and wrote no module")
    os.replace(partial, output)


def _failure(compiler: str, returncode: int, output: str) -> NotBuilt:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    # gcc: "fatal error: yaml.h: No such file or directory"; clang: "'yaml.h' file not found"
    if any("yaml.h" in line and "fatal error" in line for line in lines):
        return ToolchainMissing("no libyaml headers: yaml.h not found (Debian: libyaml-dev)")
    # ld: "cannot find -lyaml"; lld: "unable to find library -lyaml"; macOS ld: "library not
    # found for -lyaml"
    if any("-lyaml" in line for line in lines):
        return ToolchainMissing("no libyaml: the linker cannot find -lyaml (Debian: libyaml-dev)")
    errors = [line for line in lines if "error" in line.lower()] or lines or ["no output"]
    return CompileFailed(f"{compiler} exited {returncode}: {errors[0]}")


def get_build_hook() -> type[BuildHookInterface[BuilderConfig]]:
    """The hook class, for hatchling (which looks for this function by name)."""
    from hatchling.builders.config import BuilderConfig
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface

    class ComposeBuildHook(BuildHookInterface[BuilderConfig]):
        scratch: tempfile.TemporaryDirectory[str] | None = None

        def initialize(self, version: str, build_data: dict[str, Any]) -> None:
            source = Path(self.root, SOURCE)
            in_place = source.with_name(module_filename())
            if version == "editable":
                output = in_place
            else:
                self.scratch = tempfile.TemporaryDirectory(prefix="kctl-compose-")
                output = Path(self.scratch.name, in_place.name)
            try:
                if os.environ.get("KCTL_NO_NATIVE", "") not in {"", "0"}:
                    raise NotBuilt("KCTL_NO_NATIVE is set")
                compile_extension(source, output, os.environ)
            except NotBuilt as e:
                if version == "editable":
                    # an earlier build's module would still load, from an older source
                    in_place.unlink(missing_ok=True)
                self.app.display_warning(
                    f"kctl: C accelerator skipped ({e}); kctl works without it, in pure Python"
                )
                return
            self.app.display_info(f"kctl: C accelerator built: {output}")
            if version != "editable":
                build_data["force_include"][str(output)] = SOURCE.with_name(output.name).as_posix()
                build_data["pure_python"] = False
                build_data["infer_tag"] = True

        def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
            if self.scratch is not None:
                self.scratch.cleanup()
                self.scratch = None

    return ComposeBuildHook
