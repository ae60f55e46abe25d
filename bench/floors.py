"""The floor of each job compare.py times: the least a Python program must do to give the answer.

    python -c "import floors; floors.main()" KIND ARGS...   (bench/ on sys.path; cached bytecode)

  cli ...                 an argparse CLI with kctl's commands and main options: --help, and
                          render-callback-url printing the same URL kctl prints (urllib only)
  yaml FILE               read the file and yaml.load(CSafeLoader) it
  numbers FILE            the same, then phonenumbers' validity check of every E.164 string
                          in it: what KC108 must do before it can give its answer
  events [--jobs N] F...  read each file (or each *.yaml in one folder) and pull libyaml's whole
                          event stream, in N processes
  post URL HEADERS BODY   one POST with http.client: headers from a JSON file, body from a file
  post-config CONFIG NUMBER URL HEADERS BODY
                          the same POST after what a send must know first: the YAML config
                          read (CSafeLoader) and the recipient checked with phonenumbers

Each kind imports only what it uses, inside its branch, so a floor pays for nothing else.
"""

from __future__ import annotations

import os
import sys

# kctl's commands with their flags (enough for argparse to build the same tree and pages)
COMMANDS = {
    "validate-config": ("Check provider configs.", ["--format", "--output-file"], ["--strict"]),
    "schema": ("Print the JSON Schema of the config format.", ["--output-file"], []),
    "explain": ("What a validate-config rule checks.", [], ["--list", "--json"]),
    "render-callback-url": (
        "Build the Incoming URL to give Kaleyra.",
        ["--config", "--provider", "--incoming-url", "--inbound-callback-url", "--payload-version"],
        ["--json"],
    ),
    "send-test": (
        "Send the request CleverTap would send and show the reply.",
        [
            *("--config", "--to", "--provider", "--template", "--lang", "--param", "--body"),
            *("--via", "--timeout", "--retries", "--ca-bundle", "--wait-dlr", "--junit"),
        ],
        ["--dry-run", "--curl", "--json", "--verbose", "--show-secrets", "--force", "--sandbox"],
    ),
    "verify": ("Replay CleverTap's save-time checks.", ["--config", "--to", "--format"], []),
    "load": ("Send at fixed or ramped concurrency.", ["--config", "--to", "--ramp"], ["--json"]),
    "sandbox": ("Serve Kaleyra's APIs on loopback.", ["--port", "--config"], []),
    "listen": ("Receive callbacks.", ["--port", "--count", "--timeout"], ["--json"]),
    "doctor": ("Check this machine.", ["--config", "--timeout"], ["--online", "--json"]),
    "init": ("Create a provider config.", ["--output", "--nickname", "--endpoint"], ["--force"]),
    "secrets": ("Store, show and delete secrets.", [], []),
    "templates": ("Pull, diff, export and serve templates.", [], []),
}


def cli(args: list[str]) -> int:
    import argparse
    from urllib.parse import quote

    parser = argparse.ArgumentParser(
        prog="kctl", description="Provision and test Kaleyra as a CleverTap provider."
    )
    parser.add_argument("--version", action="version", version="kctl 0.1.0")
    parser.add_argument("--traceback", action="store_true")
    commands = parser.add_subparsers(dest="command", title="commands")
    for name, (text, options, flags) in COMMANDS.items():
        sub = commands.add_parser(name, help=text, description=text)
        for option in options:
            sub.add_argument(option)
        for flag in flags:
            sub.add_argument(flag, action="store_true")
    ns = parser.parse_args(args)
    if ns.command == "render-callback-url":
        base = ns.incoming_url
        added = (
            f"inbound_message_callback_url={quote(ns.inbound_callback_url, safe='')}"
            f"&payload_version={quote(ns.payload_version or '0.1', safe='')}"
        )
        separator = "?" if "?" not in base else "" if base.endswith(("?", "&")) else "&"
        sys.stdout.write(f"{base}{separator}{added}\n")
    return 0


def yaml_load(args: list[str]) -> int:
    import yaml

    for name in args:
        with open(name, "rb") as fh:
            yaml.load(fh.read(), Loader=yaml.CSafeLoader)
    return 0


def numbers(args: list[str]) -> int:
    import re

    import phonenumbers
    import yaml

    e164 = re.compile(r"\+[1-9][0-9]{6,14}")
    for name in args:
        with open(name, "rb") as fh:
            pending = [yaml.load(fh.read(), Loader=yaml.CSafeLoader)]
        while pending:
            value = pending.pop()
            if isinstance(value, dict):
                pending.extend(value.values())
            elif isinstance(value, list):
                pending.extend(value)
            elif isinstance(value, str) and e164.fullmatch(value):
                phonenumbers.is_valid_number(phonenumbers.parse(value))
    return 0


def events(args: list[str]) -> int:
    jobs = 1
    if args[:1] == ["--jobs"]:
        jobs, args = int(args[1]), args[2:]
    if len(args) == 1 and os.path.isdir(args[0]):  # a folder: its YAML files, as kctl takes it
        folder = args[0]
        args = sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".yaml"))
    from yaml._yaml import CParser

    def pull(names: list[str]) -> None:
        for name in names:
            with open(name, "rb") as fh:
                get_event = CParser(fh.read().decode("utf-8")).get_event
            while get_event() is not None:
                pass

    size = -(-len(args) // jobs)
    slices = [args[i : i + size] for i in range(0, len(args), size)]
    children = []
    for part in slices[1:]:
        pid = os.fork()
        if pid == 0:
            pull(part)
            os._exit(0)
        children.append(pid)
    pull(slices[0])
    for pid in children:
        os.waitpid(pid, 0)
    return 0


def post(args: list[str]) -> int:
    import http.client
    import json
    from urllib.parse import urlsplit

    url, headers_file, body_file = args
    with open(headers_file) as fh:
        headers = json.load(fh)
    with open(body_file, "rb") as fh:
        body = fh.read()
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    connection.request("POST", parts.path or "/", body=body, headers=headers)
    reply = connection.getresponse()
    reply.read()
    return 0 if reply.status == 200 else 1


def post_config(args: list[str]) -> int:
    import phonenumbers
    import yaml

    config, number, *rest = args
    with open(config, "rb") as fh:
        yaml.load(fh.read(), Loader=yaml.CSafeLoader)
    if not phonenumbers.is_valid_number(phonenumbers.parse(number)):
        return 2
    return post(rest)


def main() -> None:
    kind, args = sys.argv[1], sys.argv[2:]
    run = {
        "cli": cli,
        "yaml": yaml_load,
        "numbers": numbers,
        "events": events,
        "post": post,
        "post-config": post_config,
    }[kind]
    sys.exit(run(args))
