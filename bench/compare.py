"""kctl side by side with the floor of each job and with the tools users would pick instead.

    python bench/compare.py [--runs N] [--many-runs M] [--files F] [--rss-files R] [--only KEYS]
                            [--no-sandbox] [--no-anchors] [--kctl-python PATH] [--venv DIR]
                            [--kctl-venv DIR]

Every goal is a bound on kctl's median over the floor's median, both timed in the same run,
interleaved (the order rotating each round), so both see the same machine. A floor is the least
a Python program must do to give the same answer (bench/floors.py, run with kctl's interpreter):

  key       kctl                                    floor                               goal
  help      kctl --help                             argparse CLI with kctl's commands   1.2
  render    kctl render-callback-url --incoming-url argparse + urllib, same output      1.3
            ... --inbound-callback-url ...
  validate  kctl validate-config configs/whatsapp   python + read + yaml.load(CSafeLoader) 1.5
  many      kctl validate-config on F generated     libyaml's event stream over the      1.5
            configs, one process (KCTL_JOBS=1)      same files, one process
            the same, two processes (default)       the same floor (one process)        1.0
            peak RSS on R files                     the event stream's peak RSS         2.0,
                                                                                  <= 25 MiB
  send      kctl send-test (SMS, adapter) to a      one http.client POST of the same    1.5
            loopback server                         request (curl beside it, if found)
  sandbox   bench/sandbox_load.py: kctl sandbox and kctl listen in their own processes, loaded
            from a third; /whatsapp at 1,500 connections, new ones and kept-alive ones apart:
            0 errors and p99 <= 500 ms; delivery reports the sandbox posts >= 0.4x the rate
            listen accepts reports posted straight to it

The anchors of issue 5 still run beside them (typer hello-world app, check-jsonschema, httpie;
--no-anchors skips them) and their ratio is printed, but no goal rests on them. CPU time (user +
system of that child, from ``os.wait4``) is printed beside wall time: it barely moves when other
work shares the machine, so it tells a real change from noise. The load average is printed at
the start and the end of the run.

Every tool runs from its own venv, as ``pipx install`` would set it up: check-jsonschema and
httpie from ``bench/.venv-anchors`` (typer is installed there too), kctl from ``bench/.venv-kctl``
where it is installed editable (``pip install -e .``: this checkout's code) with only its declared
dependencies. Both are git-ignored, created with this interpreter and filled by pip on first use
(kctl's is reinstalled when pyproject.toml changes). Separate venvs matter: httpx imports its own
CLI (click, rich, pygments) whenever click happens to be installed, which check-jsonschema's venv
would do to kctl. ``--kctl-python PATH`` runs kctl (the console script next to PATH), the typer
anchor and the floors with another interpreter instead, e.g. the development install.

Each process is spawned by a bare launcher interpreter (see ``Launcher``: a child forked from
this script would report this script's memory as its peak RSS) and timed there with
``time.perf_counter`` around ``posix_spawn`` and ``wait4`` (start-up included, as a user or a CI
job sees it), stdin/stdout/stderr on /dev/null, its exit code checked. One untimed warm-up run
of each side comes first (page cache, .pyc files). The script reports and does not
gate: it exits 0, also when a case could not be measured (that case then counts as not met).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
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
RSS_LIMIT = 25 * MIB  # at --rss-files files
FLOOR = "import sys; sys.path.insert(0, sys.argv.pop(1)); import floors; floors.main()"


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


# Spawns and times the sides. A child's ru_maxrss starts from the memory of the process that
# forked it (Linux carries the old address space's high-water mark across exec), so children
# forked from this script, which holds the generated files' names and more, would all report
# its peak. This launcher is a bare interpreter (-I -S, no imports beyond os, sys, time) of about
# 8.5 MiB, below any Python side's own peak; it times each child itself with perf_counter around
# posix_spawn and wait4, and reports wall time, exit status, CPU time and peak RSS.
_LAUNCHER_CODE = r"""
import os, sys, time
out = sys.stdout
for line in sys.stdin:
    env, argv = {}, line.rstrip("\n").split("\0")
    while argv[0] != "--":
        key, _, value = argv.pop(0).partition("=")
        env[key] = value
    argv.pop(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    actions = [(os.POSIX_SPAWN_DUP2, devnull, fd) for fd in (0, 1, 2)]
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, env, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    os.close(devnull)
    cpu = usage.ru_utime + usage.ru_stime
    out.write(f"{elapsed!r} {status} {cpu!r} {usage.ru_maxrss}\n")
    out.flush()
"""


class Launcher:
    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def run(self, argv: list[str], env: dict[str, str]) -> tuple[float, int, float, int]:
        """(wall seconds, wait status, CPU seconds, peak RSS bytes) of one run of ``argv``."""
        if self.proc is None:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _LAUNCHER_CODE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        fields = [f"{k}={v}" for k, v in env.items()] + ["--", *argv]
        self.proc.stdin.write("\0".join(fields) + "\n")
        self.proc.stdin.flush()
        elapsed, status, cpu, rss = self.proc.stdout.readline().split()
        unit = 1 if sys.platform == "darwin" else 1024
        return float(elapsed), int(status), float(cpu), int(rss) * unit


LAUNCHER = Launcher()


@dataclass
class Side:
    name: str
    argv: list[str]
    expect: int  # the exit code a correct run gives
    env: dict[str, str] = field(default_factory=dict)  # on top of the run's environment
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user + system seconds of that child
    peak_rss: int = 0  # bytes, the largest over the timed runs

    def run(self, env: dict[str, str]) -> None:
        elapsed, status, cpu, rss = LAUNCHER.run(self.argv, {**env, **self.env})
        code = os.waitstatus_to_exitcode(status)
        if code != self.expect:
            again = subprocess.run(
                self.argv, capture_output=True, text=True, env={**env, **self.env}, check=False
            )
            raise BenchError(
                f"{self.name}: exit code {code}, expected {self.expect}\n"
                f"    command: {' '.join(self.argv)[:300]}\n"
                f"    stdout: {again.stdout[-1500:]}\n    stderr: {again.stderr[-1500:]}"
            )
        self.times.append(elapsed)
        self.cpu.append(cpu)
        self.peak_rss = max(self.peak_rss, rss)

    def reset(self) -> None:
        self.times.clear()
        self.cpu.clear()
        self.peak_rss = 0

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


@dataclass
class Case:
    name: str
    kctl: Side
    floor: Side
    goal: float  # kctl median / floor median at most this
    anchor: Side | None = None  # issue 5's comparison, printed, not a goal
    others: list[Side] = field(default_factory=list)  # timed alongside, printed for reference
    error: str | None = None
    metric: str = "time"  # or "rss": peak resident memory instead

    @property
    def sides(self) -> list[Side]:
        extra = [self.anchor] if self.anchor is not None else []
        return [self.kctl, self.floor, *extra, *self.others]

    @property
    def ratio(self) -> float:
        if self.metric == "rss":
            return self.kctl.peak_rss / self.floor.peak_rss
        return self.kctl.median / self.floor.median

    @property
    def ok(self) -> bool:
        return self.error is None and self.ratio <= self.goal


def measure(case: Case, runs: int, env: dict[str, str], *, shared: Sequence[Side] = ()) -> Case:
    """Time every side of ``case`` (and ``shared`` sides other cases read) interleaved."""
    sides = [*case.sides, *(s for s in shared if s not in case.sides)]
    print(f"  {case.name}: {runs} runs each of {len(sides)} ...", end="", flush=True)
    try:
        for side in sides:  # warm-up, not counted
            side.run(env)
            side.reset()
        for i in range(runs):
            shift = i % len(sides)
            order = sides[shift:] + sides[:shift]
            for side in order if i % 2 == 0 else reversed(order):
                side.run(env)
    except BenchError as e:
        case.error = str(e)
        print(f" not measured:\n    {case.error}")
        return case
    print(f" {case.kctl.median * 1000:.0f} ms vs floor {case.floor.median * 1000:.0f} ms")
    return case


# --- the loopback server send-test talks to ----------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: list[tuple[str, str]]
    form: list[tuple[str, str]]
    body: bytes = b""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        with self.server.lock:
            self.server.seen.append(Seen("POST", self.path, list(self.headers.items()), form, body))
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
    python: str  # kctl's interpreter, also runs the typer anchor and the floors
    check_jsonschema: str
    http: Path
    schema: Path
    work: Path
    env: dict[str, str]
    runs: int
    many_runs: int
    files: int
    rss_files: int
    anchors: bool

    def floor(self, name: str, *args: str, expect: int = 0) -> Side:
        return Side(name, [self.python, "-c", FLOOR, str(BENCH), *args], expect)

    def anchor(self, side: Side) -> Side | None:
        return side if self.anchors else None


def case_help(t: Tools) -> list[Case]:
    case = Case(
        "kctl --help",
        Side("kctl", [t.kctl, "--help"], 0),
        t.floor("argparse CLI", "cli", "--help"),
        1.2,
        t.anchor(Side("typer app", [t.python, str(ANCHOR_APP), "--help"], 0)),
    )
    return [measure(case, t.runs, t.env)]


def case_render(t: Tools) -> list[Case]:
    case = Case(
        "render-callback-url (flags)",
        Side("kctl", [t.kctl, *RENDER_ARGS], 0),
        t.floor("argparse + urllib", "cli", *RENDER_ARGS),
        1.3,
        t.anchor(Side("typer app", [t.python, str(ANCHOR_APP), "hello", "--name", "World"], 0)),
    )
    return [measure(case, t.runs, t.env)]


def case_validate(t: Tools) -> list[Case]:
    cjs = Side("check-jsonschema", [t.check_jsonschema, "--schemafile", str(t.schema)], 0)
    cjs.argv.append(str(ONE_CONFIG))
    case = Case(
        "validate-config (1 file)",
        Side("kctl", [t.kctl, "validate-config", str(ONE_CONFIG)], 0),
        t.floor("read + CSafeLoader", "yaml", str(ONE_CONFIG)),
        1.5,
        t.anchor(cjs),
        # the file's numbers are checked against the numbering plans (KC108): a program that
        # gives the same answer pays phonenumbers' import and its regexes too; printed beside
        # the floor with kctl's ratio to it, no goal
        [t.floor("+ phonenumbers on its numbers", "numbers", str(ONE_CONFIG))],
    )
    return [measure(case, t.runs, t.env)]


def generated(t: Tools, count: int) -> list[str]:
    folder = t.work / f"configs-{count}"
    if not folder.exists():
        folder.mkdir()
        generate(folder, count)
    return sorted(str(p) for p in folder.iterdir())


def case_many(t: Tools) -> list[Case]:
    files = generated(t, t.files)
    expect = 1  # every tenth file has faults; every tool must say so
    argv = [t.kctl, "validate-config", *files]
    one = Side("kctl, 1 process", argv, expect, env={"KCTL_JOBS": "1"})
    two = Side("kctl, 2 processes", argv, expect)
    floor = t.floor("event stream", "events", *files)
    floor2 = t.floor("event stream, 2 processes", "events", "--jobs", "2", *files)
    cjs = Side("check-jsonschema", [t.check_jsonschema, "--schemafile", str(t.schema), *files], 1)
    n = f"{t.files:,}"
    cases = [
        Case(f"{n} files, 1 process", one, floor, 1.5, t.anchor(cjs)),
        Case(f"{n} files, 2 processes", two, floor, 1.0, t.anchor(cjs), [floor2]),
    ]
    measure(cases[1], t.many_runs, t.env, shared=[one])
    cases[0].error = cases[1].error
    return cases


def case_rss(t: Tools) -> list[Case]:
    # the folder, not 10,000 names: an argument list that long costs both sides more memory
    # (about 16 MiB here) than all the rest of the floor
    folder = str(Path(generated(t, t.rss_files)[0]).parent)
    case = Case(
        f"peak RSS, {t.rss_files:,} files",
        Side("kctl", [t.kctl, "validate-config", folder], 1),
        t.floor("event stream", "events", folder),
        2.0,
        metric="rss",
    )
    return [measure(case, 1, t.env)]


def case_send(t: Tools) -> list[Case]:
    with loopback_server() as server:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        config = t.work / "sms.yaml"
        config.write_text(sms_config(url))
        send = [t.kctl, "send-test", "--config", str(config), "--to", RECIPIENT, "--body", SMS_TEXT]
        case = Case(
            "send-test (SMS, loopback http)",
            Side("kctl", send, 0),
            Side("http.client POST", [], 0),
            1.5,
            t.anchor(Side("httpie", [], 0)),
        )
        try:
            # one request from kctl, as the server saw it, gives the others their request
            case.kctl.run(t.env)
            if not server.seen:
                raise BenchError("kctl send-test exited 0 but the server saw no request")
            sent = server.seen[-1]
            headers = {k: v for k, v in sent.headers if k.lower() not in _TRANSPORT_HEADERS}
            (t.work / "headers.json").write_text(json.dumps(headers))
            (t.work / "body.bin").write_bytes(sent.body)
            target = url + sent.path
            case.floor = t.floor(
                "http.client POST",
                "post",
                target,
                str(t.work / "headers.json"),
                str(t.work / "body.bin"),
            )
            # what a send must do before it posts (read the YAML config, check the recipient
            # against the numbering plans), then the same POST: printed with kctl's ratio
            sent_floor = t.floor(
                "+ YAML config, recipient checked",
                "post-config",
                str(config),
                RECIPIENT,
                target,
                str(t.work / "headers.json"),
                str(t.work / "body.bin"),
            )
            case.others.append(sent_floor)
            curl = shutil.which("curl")
            if curl:
                argv = [curl, "-sS", "-o", "/dev/null", "--fail", "-X", "POST", target]
                for k, v in headers.items():
                    argv += ["-H", f"{k}: {v}"]
                argv += ["--data-binary", f"@{t.work / 'body.bin'}"]
                case.others.append(Side("curl", argv, 0))
            checked = [case.floor, *case.others]
            if case.anchor is not None:
                case.anchor.argv = httpie_argv(t.http, url, sent)
                checked.append(case.anchor)
            for side in checked:
                side.run(t.env)
                problems = request_differences(sent, server.seen[-1])
                if problems:
                    raise BenchError(
                        f"kctl and {side.name} sent different requests: " + "; ".join(problems)
                    )
        except BenchError as e:
            case.error = str(e)
            print(f"  {case.name}: not measured:\n    {case.error}")
            return [case]
        measure(case, t.runs, t.env)
        return [case]


# headers a client sets itself when it sends
_TRANSPORT_HEADERS = {"host", "content-length", "connection"}

CASES: dict[str, Callable[[Tools], list[Case]]] = {
    "help": case_help,
    "render": case_render,
    "validate": case_validate,
    "many": case_many,
    "rss": case_rss,
    "send": case_send,
}


P99_GOAL_MS = 500.0
REPORTS_GOAL = 0.4  # the sandbox's report rate over what listen accepts, at least


def run_sandbox(kctl: str, python: str, env: dict[str, str], requests: int) -> list[str]:
    """bench/sandbox_load.py (servers in their own processes, load from another): its table rows,
    each ending in ok or short."""
    print(f"  sandbox: bench/sandbox_load.py --concurrency {requests} ...", flush=True)
    done = subprocess.run(
        [python, str(BENCH / "sandbox_load.py"), "--concurrency", str(requests), "--kctl", kctl],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    output = (done.stdout + done.stderr).splitlines()
    for line in output[:-1]:
        print(f"    {line}")
    try:
        figures = json.loads(output[-1])
    except (IndexError, ValueError):
        print(f"    {output[-1] if output else 'no output'}")
        return [f"{'sandbox':<31} not measured"]
    rows = []
    for run in ("new connection each", "keep-alive"):
        got = figures[run]
        ok = got["errors"] == 0 and got["p99_ms"] <= P99_GOAL_MS
        name = "sandbox, " + ("new connections" if run.startswith("new") else "kept-alive")
        rows.append(
            f"{name:<31} p99 {got['p99_ms']:>5.0f}ms, {got['errors']} errors of"
            f" {got['requests']:,} ({requests:,} connections; goal p99 <= {P99_GOAL_MS:.0f}ms,"
            f" 0 errors)  {'ok' if ok else 'short'}"
        )
    ratio = figures["reports_ratio"]
    ok = ratio >= REPORTS_GOAL and not figures["lost_reports"]
    rows.append(
        f"{'delivery reports posted':<31} {figures['sandbox_posts_per_s']:>7.0f}/s"
        f" {figures['listen_accepts_per_s']:>7.0f}/s {ratio:>6.2f}x >={REPORTS_GOAL:.1f}x"
        f"  (sandbox / what listen accepts)  {'ok' if ok else 'short'}"
    )
    return rows


# --- report ------------------------------------------------------------------------------------


def interpreter_floor(python: Path, env: dict[str, str], runs: int = 9) -> float:
    """Median wall time of ``python -c pass``: what any Python process costs here."""
    side = Side("python -c pass", [str(python), "-c", "pass"], 0)
    for _ in range(runs):
        side.run(env)
    return side.median


def _ms(side: Side | None) -> str:
    return f"{side.median * 1000:>7.0f}ms" if side is not None and side.times else f"{'':>9}"


def table(cases: Sequence[Case]) -> tuple[list[str], int, int]:
    head = (
        f"{'case':<31} {'kctl':>9} {'floor':>9} {'/floor':>7} {'goal':>6}  {'cpu':>6}"
        f" {'anchor':>9} {'/anchor':>7}  result"
    )
    lines = [head, "-" * len(head)]
    met = total = 0
    for c in cases:
        total += 1
        if c.error is not None:
            lines.append(f"{c.name:<31} {'':>9} {'':>9} {'':>7} {c.goal:>5.1f}x  not measured")
            continue
        if c.metric == "rss":
            kctl, floor = c.kctl.peak_rss, c.floor.peak_rss
            ok = c.ok and kctl <= RSS_LIMIT
            met += ok
            lines.append(
                f"{c.name:<31} {kctl / MIB:>7.1f}Mi {floor / MIB:>7.1f}Mi {c.ratio:>6.2f}x"
                f" {c.goal:>5.1f}x  (and <= {RSS_LIMIT // MIB} MiB){'':>13}"
                f"  {'ok' if ok else 'short'}"
            )
            # flat: what kctl holds beyond the floor (argv, interpreter) at both sizes
            small = next((x for x in cases if x.name.endswith("files, 1 process")), None)
            if small is not None and small.error is None:
                before = (small.kctl.peak_rss - small.floor.peak_rss) / MIB
                after = (kctl - floor) / MIB
                lines.append(
                    f"  kctl over the floor: {before:.1f} MiB at {small.name.split(' files')[0]}"
                    f" files, {after:.1f} MiB at {c.name.split(', ')[1]}"
                )
            continue
        met += c.ok
        cpu = c.kctl.cpu_median / c.floor.cpu_median
        versus = f"{c.kctl.median / c.anchor.median:>6.2f}x" if c.anchor and c.anchor.times else ""
        lines.append(
            f"{c.name:<31} {_ms(c.kctl)} {_ms(c.floor)} {c.ratio:>6.2f}x {c.goal:>5.1f}x"
            f"  {cpu:>5.2f}x {_ms(c.anchor)} {versus:>7}  {'ok' if c.ok else 'short'}"
        )
        for other in c.others:
            beside = f"{c.kctl.median / other.median:>6.2f}x" if other.times else ""
            lines.append(f"  {other.name:<29} {'':>9} {_ms(other)} {beside}")
    return lines, met, total


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15, help="runs per side, fast cases")
    parser.add_argument("--many-runs", type=int, default=5, help="runs per side, 1,000 files")
    parser.add_argument("--files", type=int, default=1000, help="configs in the big case")
    parser.add_argument("--rss-files", type=int, default=10000, help="configs for peak RSS")
    parser.add_argument("--sandbox-requests", type=int, default=1500)
    parser.add_argument("--no-anchors", action="store_true", help="floors only, no anchors")
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
    if min(args.runs, args.many_runs, args.files, args.rss_files) < 1:
        parser.error("--runs, --many-runs, --files and --rss-files must be at least 1")

    started = datetime.datetime.now().astimezone()
    load_before = os.getloadavg()
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
    sandbox_rows: list[str] = []
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
            rss_files=args.rss_files,
            anchors=not args.no_anchors,
        )
        for key, run_case in CASES.items():
            if not only or key in only:
                cases.extend(run_case(tools))
    if (not only and not args.no_sandbox) or "sandbox" in only:
        sandbox_rows = run_sandbox(str(kctl), str(kpy), env, args.sandbox_requests)

    print()
    print(
        f"{started:%Y-%m-%d %H:%M %Z}; nproc {os.cpu_count()}; Python"
        f" {platform.python_version()}; {platform.system()} {platform.release()}"
    )
    print(
        f"medians of {args.runs} interleaved runs per side"
        f" ({args.many_runs} for the {args.files:,} files, 1 for peak RSS);"
        " load average (1, 5, 15 min) at the start "
        + ", ".join(f"{x:.2f}" for x in load_before)
        + ", at the end "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    print("cpu: kctl's CPU time over the floor's (user + system, medians)")
    print()
    lines, met, total = table(cases)
    for line in lines:
        print(line)
    for row in sandbox_rows:
        total += 1
        met += row.endswith(" ok")
        print(row)
    print()
    print(f"targets met: {met} of {total}")
    if met < total:
        print("where a short case's time goes: bench/README.md, 'Where the margins are'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
