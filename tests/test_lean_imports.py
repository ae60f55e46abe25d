"""kctl.lean's imports with code put off: ``defer_package_init`` (a package's ``__init__`` runs
when somebody first asks the package for a name) and ``import_without`` (a module that takes a
name from another is imported without that one), and how kctl.send.reply uses both.

Each case runs in a fresh interpreter, since it is about what ``sys.modules`` holds; most use
small packages written to a temporary folder, whose ``__init__`` says when it runs.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support import REPO


def _python(code: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    prelude = "import sys\n" + "".join(f"sys.path.insert(0, {str(p)!r})\n" for p in paths)
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


# pkg's and pkg.sub's __init__ import everything and say so; pkg.sub.leaf needs neither
PACKAGE = {
    "pkg/__init__.py": """
        import sys
        sys.ran = [*getattr(sys, "ran", []), "pkg"]
        from . import sub
        from .sub import Leaf, extra
        """,
    "pkg/sub/__init__.py": """
        import sys
        sys.ran = [*getattr(sys, "ran", []), "pkg.sub"]
        from .leaf import Leaf
        from . import extra
        """,
    "pkg/sub/leaf.py": "class Leaf:\n    pass\n",
    "pkg/sub/extra.py": "WHO = 'extra'\n",
}


def test_a_subpackage_module_is_imported_with_both_inits_put_off(tmp_path: Path) -> None:
    done = _python(
        """
        from kctl.lean import defer_package_init
        defer_package_init("pkg.sub")  # and pkg above it
        import pkg.sub.leaf
        leaf = sys.modules["pkg.sub.leaf"]
        print(getattr(sys, "ran", []), "pkg.sub.extra" in sys.modules)
        # the parent holds the subpackage, as after an import, without running anything
        print(vars(sys.modules["pkg"])["sub"] is sys.modules["pkg.sub"], getattr(sys, "ran", []))
        import pkg
        print(pkg.Leaf is leaf.Leaf, sys.ran)  # the first name asked runs both inits
        print(pkg.sub.leaf is leaf, pkg.sub.extra.WHO, pkg.extra.WHO)
        """,
        _write(tmp_path, PACKAGE),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "[] False",
        "True []",
        "True ['pkg', 'pkg.sub']",
        "True extra extra",
    ]


def test_asking_the_subpackage_runs_only_its_own_init(tmp_path: Path) -> None:
    done = _python(
        """
        from kctl.lean import defer_package_init
        defer_package_init("pkg.sub")
        import pkg.sub.leaf
        from pkg.sub import extra
        print(extra.WHO, sys.ran)
        print("Leaf" in dir(sys.modules["pkg"]), sys.ran)
        """,
        _write(tmp_path, PACKAGE),
    )
    assert done.returncode == 0, done.stderr
    # dir() of the package asks for its names: its __init__ runs too
    assert done.stdout.splitlines() == ["extra ['pkg.sub']", "True ['pkg.sub', 'pkg']"]


def test_a_package_imported_already_is_left_as_it_is(tmp_path: Path) -> None:
    done = _python(
        """
        import importlib.machinery, pkg
        from kctl.lean import defer_package_init
        before = dict(sys.modules)
        defer_package_init("pkg")
        defer_package_init("pkg.sub")
        defer_package_init("no_such_package.sub")  # for the import system to report
        print(sys.modules == before, sys.ran)
        """,
        _write(tmp_path, PACKAGE),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(" ", 1) == ["True", "['pkg', 'pkg.sub']\n"]


def test_an_init_that_fails_runs_again_on_the_next_name(tmp_path: Path) -> None:
    files = {
        **PACKAGE,
        "pkg/sub/extra.py": """
            import sys
            if not getattr(sys, "failed", False):
                sys.failed = True
                raise KeyboardInterrupt
            WHO = 'extra'
            """,
    }
    done = _python(
        """
        from kctl.lean import defer_package_init
        defer_package_init("pkg.sub")
        import pkg.sub.leaf
        import pkg
        try:
            pkg.Leaf
        except KeyboardInterrupt:
            print("interrupted")
        print(pkg.extra.WHO, "extra" in dir(pkg.sub))
        """,
        _write(tmp_path, files),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["interrupted", "extra", "True"]


def test_threads_asking_while_the_init_runs_wait_for_it(tmp_path: Path) -> None:
    files = {
        **PACKAGE,
        # __init__ takes a while: the other threads ask meanwhile
        "pkg/sub/extra.py": "import time\ntime.sleep(0.2)\nWHO = 'extra'\n",
    }
    done = _python(
        """
        import threading
        from kctl.lean import defer_package_init
        defer_package_init("pkg.sub")
        import pkg.sub.leaf
        import pkg
        names = ["Leaf", "extra", "sub", "Leaf", "extra", "sub", "Leaf", "extra"]
        start, found = threading.Barrier(len(names)), []
        def ask(name):
            start.wait()
            try:
                getattr(pkg, name)
                found.append("ok")
            except Exception as e:
                found.append(repr(e))
        threads = [threading.Thread(target=ask, args=(n,)) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(found, sys.ran)
        """,
        _write(tmp_path, files),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(["ok"] * 8) + " ['pkg', 'pkg.sub']"


def test_httptools_imported_later_is_whole_around_the_parser_kctl_loaded() -> None:
    done = _python("""
        from kctl.send import reply
        parser = sys.modules["httptools.parser.parser"]
        print(sorted(m for m in sys.modules if m.startswith("httptools")), "typing" in sys.modules)
        import httptools
        whole = httptools.HttpResponseParser is parser.HttpResponseParser
        print(httptools.parser.parser is parser, whole)
        print(httptools.HttpParserError is reply.HttpParserError, httptools.__version__ > "0")
        from httptools import HTTPProtocol, parse_url
        print(parse_url(b"http://a.example/x").path, "typing" in sys.modules)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "['httptools', 'httptools.parser', 'httptools.parser.errors', 'httptools.parser.parser']"
        " False",
        "True True",
        "True True",
        "b'/x' True",
    ]


# --- import_without ---------------------------------------------------------------------------

TAKER = {
    # "heavy" stands for typing: "taker" takes a name from it and never uses it at import
    "heavy.py": "import sys\nsys.heavy_ran = True\nclass Optional: ...\nclass Other: ...\n",
    "taker.py": "from heavy import Optional\nVALUE = 42\n",
}


def test_a_module_is_imported_without_the_one_it_takes_a_name_from(tmp_path: Path) -> None:
    done = _python(
        """
        from kctl.lean import import_without
        taker = import_without("taker", "heavy", "Optional")
        print(taker.VALUE, "heavy" in sys.modules, hasattr(sys, "heavy_ran"))
        # the name taken is heavy's own when somebody asks for it, heavy imported then
        print(taker.Optional is sys.modules["heavy"].Optional, taker.Optional.__name__)
        import heavy
        print(heavy.Other.__name__, "Optional" in vars(taker))
        """,
        _write(tmp_path, TAKER),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["42 False False", "True Optional", "Other True"]


def test_a_module_that_takes_more_than_said_gets_the_real_module(tmp_path: Path) -> None:
    files = {**TAKER, "taker.py": "from heavy import Optional, Other\nVALUE = Other.__name__\n"}
    done = _python(
        """
        from kctl.lean import import_without
        taker = import_without("taker", "heavy", "Optional")
        import heavy
        print(taker.VALUE, sys.modules["heavy"] is heavy, taker.Optional is heavy.Optional)
        """,
        _write(tmp_path, files),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["Other", "True", "True"]


def test_where_the_module_is_imported_already_it_is_just_imported(tmp_path: Path) -> None:
    done = _python(
        """
        import heavy
        from kctl.lean import import_without
        taker = import_without("taker", "heavy", "Optional")
        print(vars(taker)["Optional"] is heavy.Optional, "__getattr__" in vars(taker))
        """,
        _write(tmp_path, TAKER),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False"]


def test_a_thread_meeting_the_stand_in_waits_and_gets_the_real_names(tmp_path: Path) -> None:
    files = {
        **TAKER,
        # the import stays open until the other thread has met the stand-in
        "taker.py": """
            import sys, time
            from heavy import Optional
            sys.taker_started.set()
            sys.other_met_it.wait(5)
            time.sleep(0.2)  # the other thread asks for names meanwhile
            VALUE = 42
            """,
    }
    done = _python(
        """
        import threading, time
        from kctl.lean import import_without
        sys.taker_started, sys.other_met_it = threading.Event(), threading.Event()
        seen = []
        def other():
            sys.taker_started.wait(5)
            import heavy  # the stand-in, while taker is imported
            seen.append(heavy is sys.modules["heavy"])
            sys.other_met_it.set()
            seen.append(heavy.Optional)  # waits for the import to end: no placeholder
            seen.append(heavy.Other.__name__)
        thread = threading.Thread(target=other)
        thread.start()
        taker = import_without("taker", "heavy", "Optional")
        thread.join(5)
        real = sys.modules["heavy"].Optional
        print(seen[0], seen[1] is real, seen[2], taker.VALUE, taker.Optional is real)
        """,
        _write(tmp_path, files),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "Other", "42", "True"]
