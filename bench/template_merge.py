"""kctl templates pull's text merge against a round-trip YAML library (ruamel.yaml).

For one changed template body, in configs/whatsapp.yaml and in a file that mixes list
indentations and hand-spaces a flow list: how many lines each approach rewrites, and how long
one merge takes. ruamel.yaml is not a kctl dependency; without it only kctl's side is measured.

    python bench/template_merge.py [--runs 50]
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kctl.config.loader import load_text
from kctl.config.model import WhatsAppProvider, provider_from_node
from kctl.templates.merge import merge_templates

ROOT = Path(__file__).resolve().parent.parent
MIXED = """\
version: 1
providers:
- nickname: wa
  channel: whatsapp
  endpoint: https://x.example.com/whatsapp
  business_number: "+919876543210"
  test_recipients:
    - "+919812345678"
  headers: {api-key: k, sid: s, kaleyra-host: https://api.kaleyra.io}
  templates:
    - name: a
      language: en
      body: 'Hi {{1}}'    # single quotes
      buttons: [ {type: quick_reply, text: Yes},  {type: quick_reply, text: No} ]
"""
NEW_BODY = "Hi {{1}}, this body changed."


def rewritten(before: str, after: str) -> int:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return sum(1 for line in diff if line.startswith("-") and not line.startswith("---"))


def kctl_merge(text: str) -> str:
    doc = load_text("bench.yaml", text)
    assert doc.root is not None
    providers = doc.root.get("providers")
    assert providers is not None
    provider = provider_from_node(providers.items()[0])
    assert isinstance(provider, WhatsAppProvider)
    changed = provider.templates[0].replace(body=NEW_BODY)
    return merge_templates(text, provider.nickname, [changed])


def ruamel_merge(text: str) -> str:
    ruamel: Any = importlib.import_module("ruamel.yaml")
    util: Any = importlib.import_module("ruamel.yaml.util")
    _, indent, offset = util.load_yaml_guess_indent(text)
    yaml = ruamel.YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=indent, offset=offset)
    doc = yaml.load(text)
    doc["providers"][0]["templates"][0]["body"] = NEW_BODY
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def timed(fn: Callable[[str], str], text: str, runs: int) -> tuple[str, float]:
    result = fn(text)
    started = time.perf_counter()
    for _ in range(runs):
        fn(text)
    return result, (time.perf_counter() - started) / runs * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    cases = {
        "configs/whatsapp.yaml": (ROOT / "configs" / "whatsapp.yaml").read_text("utf-8"),
        "mixed indentation": MIXED,
    }
    try:
        importlib.import_module("ruamel.yaml")
        sides: dict[str, Callable[[str], str]] = {"kctl": kctl_merge, "ruamel.yaml": ruamel_merge}
    except ImportError:
        sides = {"kctl": kctl_merge}
        print("ruamel.yaml is not installed: measuring kctl only")
    for case, text in cases.items():
        for side, fn in sides.items():
            result, ms = timed(fn, text, args.runs)
            print(
                f"{case:24} {side:12} {rewritten(text, result):3} line(s) rewritten  {ms:6.1f} ms"
            )


if __name__ == "__main__":
    main()
