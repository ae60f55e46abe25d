"""Start-up stays light: the fast paths import no httpx, keyring, yaml or rich (issue: speed);
no command imports pydantic, and a plain http:// send-test imports no httpx or httpcore."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO

HEAVY = ("httpx", "httpcore", "keyring", "yaml", "rich", "jsonschema", "pydantic")

WHATSAPP = "configs/whatsapp.yaml"
# the console script's entry (its fast lane first), and the typer app's own
ENTRIES = ("kctl.cli", "kctl.cli.app")
PROBE = """
import json, sys
from ENTRY import main
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
@pytest.mark.parametrize("entry", ENTRIES)
def test_fast_paths_import_nothing_heavy(args: list[str], entry: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.replace("ENTRY", entry), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    loaded = set(json.loads(done.stderr.strip().splitlines()[-1]))
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    assert done.stdout or "unknown rule code" in done.stderr  # the command really ran


def test_typer_is_pinned_below_0_29() -> None:
    # 0.29 builds a pydantic TypeAdapter for every option of the command that runs (pyproject)
    from importlib.metadata import version

    major, minor = (int(p) for p in version("typer").split(".")[:2])
    assert (major, minor) < (0, 29)


@pytest.mark.parametrize("entry", ENTRIES)
def test_no_command_pays_for_pydantic(entry: str) -> None:
    # typer 0.29 builds a pydantic TypeAdapter for every option of the command that runs;
    # validate-config of one file is the common case it slowed down most
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE.replace("ENTRY", entry),
            "validate-config",
            "configs/whatsapp.yaml",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    loaded = set(json.loads(done.stderr.strip().splitlines()[-1]))
    assert "pydantic" not in loaded
    assert "no problems found" in done.stdout + done.stderr


@pytest.mark.parametrize("extra", [[], ["--json"], ["--dry-run"], ["-v", "--curl"]], ids=str)
def test_a_plain_http_send_test_imports_no_httpx(tmp_path: Path, extra: list[str]) -> None:
    """The console script's send-test lane: no typer or click (kctl.cli.fast), no httpx for a
    plain http:// endpoint (kctl.send.plain), no rich, no pydantic."""
    code = """
import builtins, json, sys, threading

# who imports typing or dataclasses: every import statement naming them, imported yet or not
importers = {"typing": set(), "dataclasses": set()}
real_import = builtins.__import__

def watching(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and name in importers:
        importers[name].add((globals or {}).get("__name__", "?"))
    return real_import(name, globals, locals, fromlist, level)

# the server: on a socket, as http.server would bring http.client, email and more with it
import socket

def serve(listener):
    while True:
        conn, _ = listener.accept()
        with conn:
            data = b""
            while b"\\r\\n\\r\\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\\r\\n\\r\\n")
            for line in head.split(b"\\r\\n")[1:]:
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    while len(body) < int(value):
                        body += conn.recv(65536)
            reply = b'{"status":"success"}'
            head = b"HTTP/1.1 200 OK\\r\\nContent-Length: %d\\r\\n\\r\\n" % len(reply)
            conn.sendall(head + reply)

listener = socket.create_server(("127.0.0.1", 0))
threading.Thread(target=serve, args=(listener,), daemon=True).start()
config = sys.argv[1]
with open(config, "w") as fh:
    fh.write(open(sys.argv[2]).read().replace("PORT", str(listener.getsockname()[1])))
builtins.__import__ = watching
from kctl.cli import main
try:
    main(["send-test", "--config", config, "--to", "+14155550123", "--body", "hi", *sys.argv[3:]])
except SystemExit as e:
    code = e.code
modules = sorted({m.split(".")[0] for m in sys.modules})
report = [code, modules, {k: sorted(v) for k, v in importers.items()}, sorted(sys.modules)]
sys.stderr.write("\\n" + json.dumps(report))
"""
    folder = tmp_path
    template = folder / "sms.yaml.in"
    template.write_text(
        "version: 1\nproviders:\n  - nickname: S\n    channel: sms\n"
        "    endpoint: http://127.0.0.1:PORT/sms\n    headers:\n      api-key: ${K}\n"
        "      sid: HX1\n      kaleyra-host: https://api.kaleyra.io/\n"
        "      callback_url: http://127.0.0.1:PORT/dlr\n"
        "    parameters: {to: $$To, sender: $$Sender, body: $$Body, message_id: $$MessageID}\n"
        "    sender: ACME\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["K"] = "secret-value-1"
    done = subprocess.run(
        [sys.executable, "-c", code, str(folder / "sms.yaml"), str(template), *extra],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env=env,
    )
    exit_code, loaded, importers, all_loaded = json.loads(done.stderr.strip().splitlines()[-1])
    assert exit_code in (0, None), done.stderr
    shown = done.stdout + done.stderr
    assert "200 OK" in shown or '"status": 200' in shown or "--dry-run" in extra
    lane_never = {"httpx", "httpcore", "h11", "pydantic", "typer", "click", "rich"}
    assert lane_never.isdisjoint(loaded), sorted(lane_never & set(loaded))
    # the reply is read by llhttp, not http.client (ssl and email's parser with it, 13 ms), and
    # httptools' C parser is imported without its packages' __init__ and typing (kctl.send.reply)
    # (nor the "idna" codec: the host goes to getaddrinfo as bytes, kctl.send.plain)
    unread = {"http.client", "ssl", "email", "typing", "encodings.idna"} & set(all_loaded)
    assert not unread, sorted(unread)
    # typing and dataclasses cost the lane about 3 and 12 ms (kctl.lean): no module on it
    # imports them
    assert importers == {"typing": [], "dataclasses": []}, importers


MODULES_PROBE = """
import json, sys
from kctl.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.__stderr__.write(json.dumps(sorted(sys.modules)))
"""


def _modules_after(*args: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """The modules a fresh ``kctl ARGS`` (console script entry) has loaded when it ends."""
    done = subprocess.run(
        [sys.executable, "-c", MODULES_PROBE, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1])), done


def test_the_validate_lane_imports_only_what_it_uses() -> None:
    loaded, done = _modules_after("validate-config", WHATSAPP)
    assert "no problems found" in done.stdout
    # the file's numbers were checked against India's numbering plan...
    assert "phonenumbers.data.region_IN" in loaded
    # ...without the parts of phonenumbers, or of the standard library, it does not use
    unused = {
        "typer",
        "click",
        "typing",
        "dataclasses",
        "difflib",
        "pathlib",
        "textwrap",
        "phonenumbers.asyoutypeformatter",
        "phonenumbers.phonenumbermatcher",
        "phonenumbers.phonenumberutil",
    }
    assert loaded.isdisjoint(unused), sorted(loaded & unused)


@pytest.mark.parametrize(
    ("config", "shown"),
    [
        (WHATSAPP, "no problems found"),
        ("tests/cases/invalid/KC108_numbering_plan_india_short.yaml", "not a valid number in IN"),
        ("tests/cases/invalid/KC108_numbering_plan_no_such_country.yaml", "assigned country code"),
    ],
    ids=["valid", "not in the plan", "no such country"],
)
def test_numbers_are_checked_without_phonenumberutil(config: str, shown: str) -> None:
    # phonenumberutil costs 16 ms to import and 4 more on its first check: kctl reads the
    # numbering plans from phonenumbers' metadata itself (kctl.contract.numbering_plans)
    loaded, done = _modules_after("validate-config", config)
    assert shown in done.stdout
    assert "phonenumbers.phonenumberutil" not in loaded
    assert "phonenumbers" in loaded


def test_phonenumbers_imported_whole_after_kctl_used_part_of_it() -> None:
    # kctl loads phonenumbers' metadata under the package with its __init__ put off; the first
    # name anyone else asks of the package runs it: the package is then whole, those submodules
    # in it, the plans kctl loaded the ones phonenumbers uses
    code = """
import sys
from kctl.contract.numbers import numbering_plan_problem
assert numbering_plan_problem("+919812345678") is None
assert "phonenumbers.asyoutypeformatter" not in sys.modules
assert "phonenumbers.phonenumberutil" not in sys.modules
metadata = sys.modules["phonenumbers.phonemetadata"]
india = metadata.PhoneMetadata.metadata_for_region("IN")
import phonenumbers.phonemetadata
assert phonenumbers.phonemetadata is metadata
assert phonenumbers.PhoneMetadata is metadata.PhoneMetadata
assert phonenumbers.PhoneMetadata.metadata_for_region("IN") is india
from phonenumbers import AsYouTypeFormatter
assert not hasattr(phonenumbers, "no_such_name")
number = phonenumbers.parse("+14155550123")
print(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL))
assert numbering_plan_problem("+447911123456") is None  # and kctl's checks go on working
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "+1 415-555-0123"


def test_kctl_uses_phonenumbers_imported_whole_before_it() -> None:
    code = """
import phonenumbers
from kctl.contract.numbers import numbering_plan_problem
assert numbering_plan_problem("+919812345678") is None
assert numbering_plan_problem("+91981234567") is not None
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=REPO
    )
    assert done.returncode == 0, done.stderr


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=REPO
    )


def test_threads_asking_phonenumbers_while_its_init_runs_wait_for_it() -> None:
    done = _python("""
import threading
from kctl.contract.numbers import numbering_plan_problem
numbering_plan_problem("+919812345678")
import phonenumbers
names = ["AsYouTypeFormatter", "PhoneNumberMatcher", "format_number", "is_valid_number",
         "Leniency", "SUPPORTED_SHORT_REGIONS", "__version__", "parse"]
start, found = threading.Barrier(len(names)), []
def ask(name):
    start.wait()
    try:
        getattr(phonenumbers, name)
        found.append("ok")
    except Exception as e:
        found.append(repr(e))
threads = [threading.Thread(target=ask, args=(n,)) for n in names]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(found)
""")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(["ok"] * 8)


def test_a_phonenumbers_init_that_fails_halfway_is_run_again_on_the_next_name() -> None:
    # Ctrl-C (or any import error) while the deferred __init__ runs: the next name asked of
    # the package runs it again, as a failed ordinary import would be retried
    done = _python("""
import sys
from kctl.contract.numbers import numbering_plan_problem
numbering_plan_problem("+919812345678")
import phonenumbers
class FailOnce:
    failed = False
    def find_spec(self, name, path=None, target=None):
        if name == "phonenumbers.phonenumbermatcher" and not FailOnce.failed:
            FailOnce.failed = True
            raise KeyboardInterrupt
        return None
sys.meta_path.insert(0, FailOnce())
try:
    phonenumbers.format_number
except KeyboardInterrupt:
    print("interrupted")
from phonenumbers import PhoneNumberMatcher
print(phonenumbers.__version__ is not None, "format_number" in dir(phonenumbers))
""")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["interrupted", "True", "True"]


def test_a_usual_config_is_read_without_pyyaml() -> None:
    """With the C composer built, libyaml is driven from C: PyYAML (about 23 ms to import) is
    imported only for a document the Python composer must read (tests/test_compose_native)."""
    from kctl.config import loader

    if loader._native() is None:
        pytest.skip("kctl.config._compose is not built here (no C compiler or libyaml)")
    for args in (["validate-config", WHATSAPP], ["validate-config", "configs"]):
        modules, done = _modules_after(*args)
        loaded = {m.split(".")[0] for m in modules}
        assert "no problems found" in done.stdout or "0 error" in done.stderr, done.stderr
        assert "yaml" not in loaded, args
