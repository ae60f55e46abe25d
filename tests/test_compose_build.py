"""The C accelerator (kctl.config._compose) as built: from the current source, by the build hook.

The hook (kctl/config/_compose_build.py) compiles it at install time; an editable install
leaves it next to its source, where nothing rebuilds it when the source changes. Its
SOURCE_DIGEST is the sha256 of the source it was compiled from, so a stale build shows.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.support import REPO

SOURCE = REPO / "kctl" / "config" / "_compose.c"
HOOK = REPO / "kctl" / "config" / "_compose_build.py"


def _source_digest() -> str:
    return hashlib.sha256(SOURCE.read_bytes()).hexdigest()


def _hook() -> ModuleType:
    # by path: the hook is a build-time file, which the wheel leaves out
    spec = importlib.util.spec_from_file_location("kctl_compose_build", HOOK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_installed_accelerator_was_built_from_the_current_source() -> None:
    try:
        compose = importlib.import_module("kctl.config._compose")
    except ImportError as e:
        pytest.skip(f"kctl.config._compose is not built here ({e}); the loader uses Python")
    built_from = compose.SOURCE_DIGEST
    assert built_from == _source_digest(), (
        f"{compose.__file__} was built from another version of {SOURCE.name}: "
        "rebuild it with `pip install -e .`"
    )


def test_the_hook_compiles_a_module_that_imports_and_names_its_source(tmp_path: Path) -> None:
    hook = _hook()
    output = tmp_path / hook.module_filename()
    try:
        hook.compile_extension(SOURCE, output, os.environ)
    except hook.ToolchainMissing as e:
        pytest.skip(f"cannot build C extensions here: {e}")
    # a fresh interpreter: this one may have kctl.config._compose loaded already
    load = (
        "import importlib.util, sys\n"
        "spec = importlib.util.spec_from_file_location('kctl.config._compose', sys.argv[1])\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "assert issubclass(module.Fallback, Exception)\n"
        "print(module.SOURCE_DIGEST)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", load, str(output)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == _source_digest()
    assert [p.name for p in tmp_path.iterdir()] == [output.name]  # no partial file left behind


@pytest.mark.parametrize(
    "compiler",
    [
        'gcc "',  # an unclosed quote: shlex cannot split it
        "true",  # exits 0 and writes no module
    ],
)
def test_a_compiler_that_cannot_build_is_not_built_never_an_error(
    compiler: str, tmp_path: Path
) -> None:
    hook = _hook()
    output = tmp_path / hook.module_filename()
    with pytest.raises(hook.NotBuilt):
        hook.compile_extension(SOURCE, output, {**os.environ, "CC": compiler})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "flags",
    [
        {"CFLAGS": "-fno-such-option-kctl"},  # reaches the compiler: it refuses the option
        {"CPPFLAGS": "-fno-such-option-kctl"},
        {"LDFLAGS": "-Wl,--no-such-option-kctl"},  # reaches the linker
        {"CFLAGS": '"'},  # cannot be read
    ],
    ids=lambda f: next(iter(f)),
)
def test_the_environment_s_flags_reach_the_compiler(flags: dict[str, str], tmp_path: Path) -> None:
    """CPPFLAGS, CFLAGS and LDFLAGS are passed on (libyaml under /opt/homebrew or a prefix of
    one's own is found through them): a flag the compiler refuses makes the build fail, as a
    skip with its reason, never an error."""
    hook = _hook()
    output = tmp_path / hook.module_filename()
    try:
        hook.compile_extension(SOURCE, output, os.environ)
    except hook.ToolchainMissing as e:
        pytest.skip(f"cannot build C extensions here: {e}")
    output.unlink()
    with pytest.raises(hook.NotBuilt):
        hook.compile_extension(SOURCE, output, {**os.environ, **flags})
    assert list(tmp_path.iterdir()) == []
