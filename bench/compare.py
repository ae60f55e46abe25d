"""kctl side by side with the tools users would pick instead: timed interleaved, ratio of medians.

    python bench/compare.py [--runs N] [--many-runs M] [--files F] [--only KEYS] [--no-sandbox]
                            [--kctl-python PATH] [--venv DIR] [--kctl-venv DIR]

Cases (issue 5), each pair run alternately in this one process so both sides see the same
machine state, each goal a bound on kctl median / anchor median:

  key       kctl                                    anchor                                  goal
  help      kctl --help                             typer hello-world app --help            1.2
  render    kctl render-callback-url --incoming-url typer hello-world app hello --name ...  1.2
            ... --inbound-callback-url ...
  validate  kctl validate-config                    check-jsonschema --schemafile           0.7
            configs/whatsapp.yaml                   <kctl schema> configs/whatsapp.yaml
  many      the same on 1,000 generated configs (bench/validate_many.py's generate; every tenth
            file has faults, so both exit 1) in one call; and kctl's peak RSS <= 80 MiB  0.33
  send      kctl send-test (SMS, adapter) to a      http --form POST (httpie) with the same   1.0
            loopback server answering               headers and form fields, to the same
            {"status":"success"}                    server
  sandbox   bench/sandbox_concurrency.py (1,000 concurrent requests), its own pass/fail

The typer app is bench/anchor_typer.py, two commands, run by kctl's own interpreter so that it
imports the very typer kctl uses. httpie's arguments are derived from a request kctl sent (the
headers and fields as recorded by the server), and the bench checks that both clients' requests
match before timing them. Peak RSS is ``ru_maxrss`` of that very child, from ``os.wait4``.

Every tool runs from its own venv, as ``pipx install`` would set it up: check-jsonschema and
httpie from ``bench/.venv-anchors`` (typer is installed there too), kctl from ``bench/.venv-kctl``
where it is installed editable (``pip install -e .``: this checkout's code) with only its declared
dependencies. Both are git-ignored, created with this interpreter and filled by pip on first use
(kctl's is reinstalled when pyproject.toml changes). Separate venvs matter: httpx imports its own
CLI (click, rich, pygments) whenever click happens to be installed, which check-jsonschema's venv
would do to kctl. ``--kctl-python PATH`` runs kctl (the console script next to PATH) and the typer
anchor with another interpreter instead, e.g. the development install.

Each process is timed with ``time.perf_counter`` around ``subprocess`` (start-up included, as a
user or a CI job sees it), stdin/stdout/stderr on /dev/null, its exit code checked. One untimed
warm-up run of each side comes first (page cache, .pyc files). The script reports and does not
gate: it exits 0, also when a case could not be measured (that case then counts as not met).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from validate_many import generate  # noqa: E402  (bench/ is on the path now)

ANCHOR_APP = BENCH / "anchor_typer.py"
ONE_CONFIG = ROOT / "configs" / "whatsapp.yaml"
ANCHORS = {"check-jsonschema": "check_jsonschema", "httpie": "httpie", "typer": "typer"}
API_KEY_VAR = "KCTL_BENCH_API_KEY"
API_KEY = "bench-api-key-0001"
RECIPIENT = "+14155550123"
SMS_TEXT = "Your order 1234 has shipped. - ACME"
RENDER_ARGS = [
    "render-callback-url",
    "--incoming-url",
    "https://wa.example.com/in",
    "--inbound-callback-url",
    "https://ct.example.com/in",
]
MIB = 1024 * 1024
RSS_GOAL = 80 * MIB


class BenchError(Exception):
    """A case that could not be measured as intended."""


# --- venvs -------------------------------------------------------------------------------------


def venv_bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


def pip_install(python: Path, *args: str) -> None:
    print(f"  pip install {' '.join(args)}", flush=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args],
        check=True,
    )


def make_venv(venv: Path) -> Path:
    python = venv_bin(venv, "python")
    if not python.exists():
        print(f"creating {venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    return python


def ensure_anchors(venv: Path) -> Path:
    """The anchors' venv, with whatever of them is missing installed; return its python."""
    python = make_venv(venv)
    probe = (
        "import importlib.util, json, sys;"
        "print(json.dumps({m: importlib.util.find_spec(m) is not None for m in sys.argv[1:]}))"
    )
    found = json.loads(
        subprocess.run(
            [str(python), "-c", probe, *ANCHORS.values()],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    missing = [dist for dist, module in ANCHORS.items() if not found[module]]
    if missing:
        pip_install(python, *missing)
    return python


def ensure_kctl(venv: Path) -> Path:
    """kctl alone in a venv, editable (this checkout's code) with only its declared dependencies,
    as ``pipx install kctl`` would set it up; reinstalled when pyproject.toml changes."""
    python = make_venv(venv)
    stamp = venv / ".kctl-installed"
    pyproject = (ROOT / "pyproject.toml").read_bytes()
    if not stamp.exists() or stamp.read_bytes() != pyproject:
        pip_install(python, "-e", str(ROOT))
        stamp.write_bytes(pyproject)
    return python


def console_script(python: Path, name: str) -> Path:
    scripts = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('scripts'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    path = Path(scripts) / name
    if not path.exists():
        raise BenchError(f"{name} is not installed for {python} (looked in {scripts})")
    return path


def version_of(python: Path, dist: str) -> str:
    out = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return f"{dist} {out or '?'}"


# --- timing ------------------------------------------------------------------------------------


@dataclass
class Side:
    name: str
    argv: list[str]
    expect: int  # the exit code a correct run gives
    times: list[float] = field(default_factory=list)
    peak_rss: int = 0  # bytes, the largest over the timed runs

    def run(self, env: dict[str, str]) -> None:
        start = time.perf_counter()
        proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        # wait4: this child's own rusage (RUSAGE_CHILDREN would mix in the other side's peak)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code != self.expect:
            again = subprocess.run(self.argv, capture_output=True, text=True, env=env, check=False)
            raise BenchError(
                f"{self.name}: exit code {code}, expected {self.expect}\n"
                f"    command: {' '.join(self.argv)[:300]}\n"
                f"    stdout: {again.stdout[-1500:]}\n    stderr: {again.stderr[-1500:]}"
            )
        self.times.append(elapsed)
        rss = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
        self.peak_rss = max(self.peak_rss, rss)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


@dataclass
class Case:
    name: str
    kctl: Side
    anchor: Side
    goal: float  # kctl median / anchor median at most this
    error: str | None = None

    @property
    def ratio(self) -> float:
        return self.kctl.median / self.anchor.median

    @property
    def ok(self) -> bool:
        return self.error is None and self.ratio <= self.goal


def measure(case: Case, runs: int, env: dict[str, str]) -> Case:
    print(f"  {case.name}: {runs} runs each ...", end="", flush=True)
    try:
        case.kctl.run(env)  # warm-up, not counted
        case.anchor.run(env)
        case.kctl.times.clear()
        case.anchor.times.clear()
        case.kctl.peak_rss = case.anchor.peak_rss = 0
        for i in range(runs):
            pair = (case.kctl, case.anchor) if i % 2 == 0 else (case.anchor, case.kctl)
            for side in pair:
                side.run(env)
    except BenchError as e:
        case.error = str(e)
        print(f" not measured:\n    {case.error}")
        return case
    print(f" {case.kctl.median * 1000:.0f} ms vs {case.anchor.median * 1000:.0f} ms")
    return case


# --- the loopback server send-test talks to ----------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: list[tuple[str, str]]
    form: list[tuple[str, str]]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        with self.server.lock:
            self.server.seen.append(Seen("POST", self.path, list(self.headers.items()), form))
        reply = b'{"status":"success"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    seen: list[Seen]
    lock: threading.Lock


@contextlib.contextmanager
def loopback_server() -> Iterator[_Server]:
    """A tiny threaded HTTP/1.1 server on 127.0.0.1 answering {"status":"success"}."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.seen = []
    server.lock = threading.Lock()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def sms_config(url: str) -> str:
    return f"""version: 1
providers:
  - nickname: Bench_SMS
    channel: sms
    endpoint: {url}/sms
    headers:
      api-key: ${{{API_KEY_VAR}}}
      sid: HXBENCH0000001
      kaleyra-host: https://api.kaleyra.io/
      callback_url: {url}/sms/dlr
    parameters:
      to: $$To
      sender: $$Sender
      body: $$Body
      template_id: $$TemplateID
      message_id: $$MessageID
      campaign_id: $$CampaignID
      type: $$TYPE
      long_url: $$LongURL
    sender: KLRHXA
    message_type: TXN
"""


# headers each client sets on its own; all others must be the same on both sides
_CLIENT_HEADERS = {
    "host",
    "content-length",
    "user-agent",
    "accept",
    "accept-encoding",
    "connection",
    "content-type",
}


def httpie_argv(http: Path, url: str, seen: Seen) -> list[str]:
    """``http --form POST`` with the headers and form fields of one request kctl sent."""
    argv = [str(http), "--ignore-stdin", "--check-status", "--form", "POST", url + seen.path]
    argv += [f"{k}:{v}" for k, v in seen.headers if k.lower() not in _CLIENT_HEADERS]
    argv += [f"{k}={v}" for k, v in seen.form]
    return argv


def request_differences(a: Seen, b: Seen) -> list[str]:
    """How two requests differ, leaving out per-client headers and the per-send message id."""

    def headers(s: Seen) -> list[tuple[str, str]]:
        return sorted((k.lower(), v) for k, v in s.headers if k.lower() not in _CLIENT_HEADERS)

    def form(s: Seen) -> list[tuple[str, str]]:
        return [(k, "<id>" if k == "message_id" else v) for k, v in s.form]

    problems = []
    if (a.method, a.path) != (b.method, b.path):
        problems.append(f"request line {a.method} {a.path} vs {b.method} {b.path}")
    if headers(a) != headers(b):
        problems.append(f"headers {headers(a)} vs {headers(b)}")
    if form(a) != form(b):
        problems.append(f"form {form(a)} vs {form(b)}")
    for s in (a, b):
        ctype = {k.lower(): v for k, v in s.headers}.get("content-type", "")
        if not ctype.startswith("application/x-www-form-urlencoded"):
            problems.append(f"content-type {ctype!r}")
    return problems


# --- the cases ---------------------------------------------------------------------------------


@dataclass
class Tools:
    kctl: str  # console script
    python: str  # kctl's interpreter, also runs the typer anchor
    check_jsonschema: str
    http: Path
    schema: Path
    work: Path
    env: dict[str, str]
    runs: int
    many_runs: int
    files: int


def case_help(t: Tools) -> Case:
    return measure(
        Case(
            "kctl --help",
            Side("kctl", [t.kctl, "--help"], 0),
            Side("typer app", [t.python, str(ANCHOR_APP), "--help"], 0),
            1.2,
        ),
        t.runs,
        t.env,
    )


def case_render(t: Tools) -> Case:
    return measure(
        Case(
            "render-callback-url",
            Side("kctl", [t.kctl, *RENDER_ARGS], 0),
            Side("typer app", [t.python, str(ANCHOR_APP), "hello", "--name", "World"], 0),
            1.2,
        ),
        t.runs,
        t.env,
    )


def case_validate(t: Tools) -> Case:
    return measure(
        Case(
            "validate-config (1 file)",
            Side("kctl", [t.kctl, "validate-config", str(ONE_CONFIG)], 0),
            Side(
                "check-jsonschema",
                [t.check_jsonschema, "--schemafile", str(t.schema), str(ONE_CONFIG)],
                0,
            ),
            0.7,
        ),
        t.runs,
        t.env,
    )


def case_many(t: Tools) -> Case:
    folder = t.work / "configs"
    folder.mkdir()
    generate(folder, t.files)
    files = sorted(str(p) for p in folder.iterdir())
    expect = 1 if t.files > 0 else 0  # every tenth file has faults; both tools must say so
    return measure(
        Case(
            f"validate-config ({t.files:,} files)",
            Side("kctl", [t.kctl, "validate-config", *files], expect),
            Side(
                "check-jsonschema",
                [t.check_jsonschema, "--schemafile", str(t.schema), *files],
                expect,
            ),
            0.33,
        ),
        t.many_runs,
        t.env,
    )


def case_send(t: Tools) -> Case:
    with loopback_server() as server:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        config = t.work / "sms.yaml"
        config.write_text(sms_config(url))
        send = [t.kctl, "send-test", "--config", str(config), "--to", RECIPIENT, "--body", SMS_TEXT]
        case = Case("send-test (SMS, loopback)", Side("kctl", send, 0), Side("httpie", [], 0), 1.0)
        try:
            # one request from kctl, as the server saw it, gives httpie its headers and fields
            case.kctl.run(t.env)
            if not server.seen:
                raise BenchError("kctl send-test exited 0 but the server saw no request")
            kctl_request = server.seen[-1]
            case.anchor.argv = httpie_argv(t.http, url, kctl_request)
            case.anchor.run(t.env)
            problems = request_differences(kctl_request, server.seen[-1])
            if problems:
                raise BenchError("kctl and httpie sent different requests: " + "; ".join(problems))
        except BenchError as e:
            case.error = str(e)
            print(f"  {case.name}: not measured:\n    {case.error}")
            return case
        measure(case, t.runs, t.env)
        expected = 2 + 2 * (t.runs + 1)
        if case.error is None and len(server.seen) != expected:
            case.error = f"the server saw {len(server.seen)} requests, expected {expected}"
        return case


CASES: dict[str, Callable[[Tools], Case]] = {
    "help": case_help,
    "render": case_render,
    "validate": case_validate,
    "many": case_many,
    "send": case_send,
}


def run_sandbox(python: str, env: dict[str, str]) -> bool:
    print("  sandbox: bench/sandbox_concurrency.py ...", flush=True)
    done = subprocess.run(
        [python, str(BENCH / "sandbox_concurrency.py")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    for line in (done.stdout + done.stderr).splitlines():
        print(f"    {line}")
    return done.returncode == 0


# --- report ------------------------------------------------------------------------------------


def interpreter_floor(python: Path, env: dict[str, str], runs: int = 9) -> float:
    """Median wall time of ``python -c pass``: what any Python process costs here."""
    side = Side("python -c pass", [str(python), "-c", "pass"], 0)
    for _ in range(runs):
        side.run(env)
    return side.median


def table(cases: Sequence[Case], files: int) -> tuple[list[str], int, int]:
    head = f"{'case':<30} {'kctl':>9} {'anchor':>9} {'ratio':>7} {'goal':>7}  result"
    lines = [head, "-" * len(head)]
    met = total = 0
    for c in cases:
        total += 1
        if c.error is not None:
            lines.append(f"{c.name:<30} {'':>9} {'':>9} {'':>7} {c.goal:>6.2f}x  not measured")
            continue
        met += c.ok
        lines.append(
            f"{c.name:<30} {c.kctl.median * 1000:>7.0f}ms {c.anchor.median * 1000:>7.0f}ms"
            f" {c.ratio:>6.2f}x {c.goal:>6.2f}x  {'ok' if c.ok else 'short'}"
        )
        if c.name.startswith("validate-config (") and "files" in c.name:
            total += 1
            rss_ok = c.kctl.peak_rss <= RSS_GOAL
            met += rss_ok
            lines.append(
                f"{f'peak RSS ({files:,} files)':<30} {c.kctl.peak_rss / MIB:>6.1f}Mi"
                f" {c.anchor.peak_rss / MIB:>6.1f}Mi {'':>7} {RSS_GOAL // MIB:>4}Mi"
                f"  {'ok' if rss_ok else 'short'}"
            )
    return lines, met, total


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15, help="runs per side, fast cases")
    parser.add_argument("--many-runs", type=int, default=5, help="runs per side, 1,000 files")
    parser.add_argument("--files", type=int, default=1000, help="configs in the big case")
    parser.add_argument(
        "--only", default="", help=f"comma-separated cases: {','.join(CASES)},sandbox"
    )
    parser.add_argument("--no-sandbox", action="store_true", help="skip the sandbox bench")
    parser.add_argument("--venv", type=Path, default=BENCH / ".venv-anchors")
    parser.add_argument("--kctl-venv", type=Path, default=BENCH / ".venv-kctl")
    parser.add_argument(
        "--kctl-python",
        type=Path,
        default=None,
        help="run kctl (the console script beside it) and the typer anchor with this"
        " interpreter instead of --kctl-venv's",
    )
    args = parser.parse_args(argv)
    only = {k.strip() for k in args.only.split(",") if k.strip()}
    unknown = only - {*CASES, "sandbox"}
    if unknown:
        parser.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    if args.runs < 1 or args.many_runs < 1 or args.files < 1:
        parser.error("--runs, --many-runs and --files must be at least 1")

    started = datetime.datetime.now().astimezone()
    try:
        anchors_python = ensure_anchors(args.venv.resolve())
        kpy = args.kctl_python or ensure_kctl(args.kctl_venv.resolve())
        kctl = console_script(kpy, "kctl")
    except (OSError, subprocess.CalledProcessError, BenchError) as e:
        print(f"cannot set up the tools: {e}")
        print("targets met: 0 (nothing measured)")
        return 0

    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env[API_KEY_VAR] = API_KEY
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # every side may keep and use its .pyc files

    print(f"kctl:    {kctl}  ({version_of(kpy, 'typer')})")
    print(
        f"anchors: {args.venv}  ({version_of(anchors_python, 'check-jsonschema')},"
        f" {version_of(anchors_python, 'httpie')})"
    )
    print(
        f"python -c pass: {interpreter_floor(kpy, env) * 1000:.0f} ms (kctl's interpreter),"
        f" {interpreter_floor(anchors_python, env) * 1000:.0f} ms (anchors' venv)"
    )

    cases: list[Case] = []
    sandbox_ok: bool | None = None
    with tempfile.TemporaryDirectory(prefix="kctl-bench-") as tmp:
        work = Path(tmp)
        schema = work / "kctl.schema.json"
        with schema.open("w") as f:
            subprocess.run([str(kctl), "schema"], stdout=f, check=True, env=env)
        tools = Tools(
            kctl=str(kctl),
            python=str(kpy),
            check_jsonschema=str(venv_bin(args.venv.resolve(), "check-jsonschema")),
            http=venv_bin(args.venv.resolve(), "http"),
            schema=schema,
            work=work,
            env=env,
            runs=args.runs,
            many_runs=args.many_runs,
            files=args.files,
        )
        for key, run_case in CASES.items():
            if not only or key in only:
                cases.append(run_case(tools))
    if (not only and not args.no_sandbox) or "sandbox" in only:
        sandbox_ok = run_sandbox(str(kpy), env)

    print()
    print(
        f"{started:%Y-%m-%d %H:%M %Z}; nproc {os.cpu_count()}; Python"
        f" {platform.python_version()}; {platform.system()} {platform.release()}"
    )
    print(
        f"medians of {args.runs} interleaved runs per side"
        f" ({args.many_runs} for the {args.files:,} files)"
    )
    print()
    lines, met, total = table(cases, args.files)
    for line in lines:
        print(line)
    if sandbox_ok is not None:
        total += 1
        met += sandbox_ok
        verdict = "ok" if sandbox_ok else "short"
        print(f"{'sandbox, 1,000 concurrent':<30} {'bench/sandbox_concurrency.py':>35}  {verdict}")
    print()
    print(f"targets met: {met} of {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
