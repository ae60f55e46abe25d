"""kctl templates pull and diff, end to end against the sandbox's Kaleyra template APIs on
loopback: pull into an empty config, diff clean, change the approved set, diff names the drift."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kctl.config.model import Button, Card, Header, Offer, WhatsAppTemplate
from kctl.servers.http import HttpServer
from kctl.servers.sandbox import Sandbox
from kctl.servers.templates_api import TemplatesApi
from tests.servers import Reply, serve
from tests.support import Kctl

KEY = "kal-api-key-7f3c9a2e51"
ENV: dict[str, str | None] = {"KCTL_TPL_KEY": KEY}
SID = "HXIN1234567890"
WABA = "102290129340398"

APPROVED = [
    WhatsAppTemplate(
        name="order_update",
        language="en",
        header=Header(type="text", text="Order {{1}}"),
        body="Hi {{1}}, your order {{2}} has shipped.",
        examples=("Asha", "1234"),
        footer="Reply STOP to opt out",
        buttons=(
            Button(type="quick_reply", text="Track"),
            Button(type="url", text="Follow", url="https://shop.example.com/t/{{1}}", example="A1"),
            Button(type="phone", text="Call us", phone_number="+919812345678"),
        ),
    ),
    WhatsAppTemplate(
        name="festive_offer",
        language="en_US",
        category="marketing",
        header=Header(type="image", url="https://cdn.example.com/offer.png"),
        body="Hi {{1}}, buy one get one free.",
        examples=("Asha",),
        offer=Offer(title="Buy 1 Get 1", expires=True),
        buttons=(Button(type="copy_code", text="Copy code", example="BOGO24"),),
    ),
    WhatsAppTemplate(
        name="spring_picks",
        language="en",
        category="marketing",
        body="Spring picks for you, {{1}}.",
        examples=("Asha",),
        carousel=tuple(
            Card(
                header=Header(type="image", url=f"https://cdn.example.com/{n}.png"),
                body=f"{n} from {{{{1}}}}",
                examples=("1999",),
                buttons=(Button(type="url", text="Shop", url=f"https://shop.example.com/{n}"),),
            )
            for n in ("sneakers", "boots")
        ),
    ),
] + [
    WhatsAppTemplate(name=f"notice_{i:02d}", language="en", body=f"Notice {i} for {{{{1}}}}.")
    for i in range(30)  # more than one page of 25
]

CONFIG = """\
# Kaleyra as CleverTap's WhatsApp provider
version: 1
providers:
  - nickname: Kaleyra   # the live one
    channel: whatsapp
    endpoint: https://ct-adapter.example.com/whatsapp
    business_number: "+919876543210"
    waba_id: "{waba}"
    headers:
      api-key: ${{KCTL_TPL_KEY}}
      sid: {sid}
      kaleyra-host: {host}
      inbound-message-callback-url: https://in1.example-clevertap.com/wa/inbound/abc
      delivery-report-callback-url: https://in1.example-clevertap.com/wa/dlr/abc
    templates: []   # filled by kctl templates pull
"""


@dataclass
class Kaleyra:
    api: TemplatesApi
    url: str
    config: Path


@pytest.fixture
def kaleyra(tmp_path: Path) -> Iterator[Kaleyra]:
    api = TemplatesApi([(t, "APPROVED") for t in APPROVED], api_key=KEY, sid=SID, waba_id=WABA)
    sandbox = Sandbox()
    sandbox.templates_api = api
    with HttpServer(sandbox).start_in_thread() as server:
        config = tmp_path / "kctl.yaml"
        config.write_text(CONFIG.format(waba=WABA, sid=SID, host=server.url), "utf-8")
        yield Kaleyra(api, server.url, config)


def test_pull_into_an_empty_config_then_diff_is_clean(kctl: Kctl, kaleyra: Kaleyra) -> None:
    before = kaleyra.config.read_text("utf-8")
    pulled = kctl("templates", "pull", "-c", str(kaleyra.config), env=ENV)
    assert pulled.exit_code == 0, pulled
    assert pulled.stdout.count(" added") == len(APPROVED)
    after = kaleyra.config.read_text("utf-8")
    # everything that was there is still there, comments included
    head = before.split("    templates: []")[0]
    assert after.startswith(head)
    assert "    templates:   # filled by kctl templates pull\n      - name: order_update\n" in after
    checked = kctl("validate-config", str(kaleyra.config))
    assert checked.exit_code == 0, checked

    diffed = kctl("templates", "diff", "-c", str(kaleyra.config), env=ENV)
    assert diffed.exit_code == 0, diffed
    assert f"no drift: {len(APPROVED)} template(s) match Kaleyra" in diffed.stdout
    assert KEY not in pulled.stdout + pulled.stderr + diffed.stdout + diffed.stderr


def test_a_changed_body_in_the_approved_set_is_drift(kctl: Kctl, kaleyra: Kaleyra) -> None:
    assert kctl("templates", "pull", "-c", str(kaleyra.config), env=ENV).exit_code == 0
    changed = APPROVED[0].replace(body="Hi {{1}}, order {{2}} is on its way, {{3}}.")
    kaleyra.api.store.put(changed)
    diffed = kctl("templates", "diff", "-c", str(kaleyra.config), env=ENV)
    assert diffed.exit_code == 1, diffed
    lines = diffed.stdout.splitlines()
    at = lines.index(next(line for line in lines if line.startswith("~ order_update (en)")))
    assert lines[at + 1 : at + 7] == [
        "    body:",
        "-     Hi {{1}}, your order {{2}} has shipped.",
        "+     Hi {{1}}, order {{2}} is on its way, {{3}}.",
        "    placeholders:",
        "-     2",
        "+     3",
    ]
    assert lines[-1] == f"drift: 1 of {len(APPROVED)} template(s) (1 changed)"


def test_paused_and_missing_templates_and_every_format(kctl: Kctl, kaleyra: Kaleyra) -> None:
    assert kctl("templates", "pull", "-c", str(kaleyra.config), env=ENV).exit_code == 0
    kaleyra.api.store.set_status("festive_offer", "en_US", "PAUSED")
    kaleyra.api.store.remove("notice_03", "en")
    kaleyra.api.store.put(WhatsAppTemplate(name="welcome", language="hi", body="Namaste"))
    moved = APPROVED[0].replace(
        buttons=(*APPROVED[0].buttons[:1], Button(type="quick_reply", text="Stop"))
    )
    kaleyra.api.store.put(moved)
    args = ("templates", "diff", "-c", str(kaleyra.config))

    text = kctl(*args, env=ENV)
    assert text.exit_code == 1, text
    assert "! festive_offer (en_US)" in text.stdout
    assert "+     PAUSED" in text.stdout
    assert "- notice_03 (en)" in text.stdout
    assert "only in the config" in text.stdout
    assert "+ welcome (hi)  only on Kaleyra (APPROVED)" in text.stdout
    assert "    buttons[1].type:\n-     url\n+     quick_reply\n" in text.stdout
    assert "    buttons[2]:\n-     phone 'Call us' +919812345678\n+     (none)\n" in text.stdout

    doc = json.loads(kctl(*args, "--format", "json", env=ENV).stdout)
    states = {(t["name"], t["state"]) for t in doc["templates"] if t["state"] != "same"}
    assert states == {
        ("order_update", "changed"),
        ("festive_offer", "changed"),
        ("notice_03", "only_in_config"),
        ("welcome", "only_remote"),
    }
    assert doc["drift"] is True
    assert doc["exit_code"] == 1
    paused = next(t for t in doc["templates"] if t["name"] == "festive_offer")
    assert paused["changes"] == [{"field": "status", "config": "APPROVED", "remote": "PAUSED"}]

    github = kctl(*args, "--format", "github", env=ENV)
    assert github.exit_code == 1
    line_of = {t["name"]: t["line"] for t in doc["templates"] if t["line"] is not None}
    assert (
        f"::error file={kaleyra.config},line={line_of['festive_offer']},"
        "title=templates/not-approved::festive_offer (en_US) differs from Kaleyra:"
        " status: APPROVED -> PAUSED"
    ) in github.stdout.replace(str(kaleyra.config).replace(":", "%3A"), str(kaleyra.config))

    sarif = json.loads(kctl(*args, "--format", "sarif", env=ENV).stdout)
    results = {r["properties"]["template"]: r for r in sarif["runs"][0]["results"]}
    assert set(results) == {"order_update", "festive_offer", "notice_03", "welcome"}
    region = results["order_update"]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": line_of["order_update"]}
    assert results["notice_03"]["ruleId"] == "templates/only-in-config"

    ignored = json.loads(kctl(*args, "--ignore-extra", "-f", "json", env=ENV).stdout)
    assert "welcome" not in {t["name"] for t in ignored["templates"]}


def test_v1_status_api_gives_the_same_verdicts(kctl: Kctl, kaleyra: Kaleyra) -> None:
    assert (
        kctl("templates", "pull", "-c", str(kaleyra.config), "--api", "v1", env=ENV).exit_code == 0
    )
    kaleyra.api.store.set_status("order_update", "en", "DISABLED")
    doc = json.loads(
        kctl(
            "templates", "diff", "-c", str(kaleyra.config), "--api", "v1", "-f", "json", env=ENV
        ).stdout
    )
    assert "/v1/" + SID + "/whatsapp/templates/status" in doc["source"]
    drifted = [(t["name"], t["changes"]) for t in doc["templates"] if t["state"] != "same"]
    assert drifted == [
        ("order_update", [{"field": "status", "config": "APPROVED", "remote": "DISABLED"}])
    ]


def test_pull_keeps_a_differing_template_unless_forced(kctl: Kctl, kaleyra: Kaleyra) -> None:
    assert kctl("templates", "pull", "-c", str(kaleyra.config), env=ENV).exit_code == 0
    kaleyra.api.store.put(APPROVED[0].replace(footer="Reply STOP to leave"))
    kaleyra.api.store.set_status("notice_00", "en", "PENDING")
    kaleyra.api.store.put(WhatsAppTemplate(name="welcome", language="hi", body="Namaste"))
    before = kaleyra.config.read_text("utf-8")

    dry = kctl("templates", "pull", "-c", str(kaleyra.config), "--dry-run", env=ENV)
    assert dry.exit_code == 1, dry  # drift is left
    assert "! order_update (en)" in dry.stdout
    assert "differs (footer)" in dry.stdout
    assert "  notice_00 (en)" in dry.stdout
    assert "skipped: status PENDING" in dry.stdout
    assert "+      - name: welcome" in dry.stdout  # the preview of the file
    assert kaleyra.config.read_text("utf-8") == before

    kept = kctl("templates", "pull", "-c", str(kaleyra.config), env=ENV)
    assert kept.exit_code == 1, kept
    after = kaleyra.config.read_text("utf-8")
    assert "name: welcome" in after
    assert "Reply STOP to leave" not in after

    forced = kctl("templates", "pull", "-c", str(kaleyra.config), "--force", env=ENV)
    assert forced.exit_code == 0, forced
    assert "~ order_update (en)" in forced.stdout
    assert "updated: footer" in forced.stdout
    final = kaleyra.config.read_text("utf-8")
    assert "footer: Reply STOP to leave" in final
    # only the footer line changed
    assert [a for a, b in zip(after.splitlines(), final.splitlines(), strict=True) if a != b] == [
        "        footer: Reply STOP to opt out"
    ]


def test_pull_writes_a_new_file_and_never_clobbers(
    kctl: Kctl, kaleyra: Kaleyra, tmp_path: Path
) -> None:
    target = tmp_path / "pulled.yaml"
    target.write_text("")  # an empty file counts as new
    done = kctl("templates", "pull", "-c", str(kaleyra.config), "-o", str(target), env=ENV)
    assert done.exit_code == 0, done
    assert "templates: []" in kaleyra.config.read_text("utf-8")  # the source config untouched
    assert kctl("templates", "diff", "-c", str(target), env=ENV).exit_code == 0


def test_pull_from_a_meta_file_round_trips_an_export(
    kctl: Kctl, kaleyra: Kaleyra, tmp_path: Path
) -> None:
    assert kctl("templates", "pull", "-c", str(kaleyra.config), env=ENV).exit_code == 0
    exported = kctl("templates", "export", "-c", str(kaleyra.config), "--format", "meta")
    assert exported.exit_code == 0, exported
    source = tmp_path / "meta.json"
    source.write_text(exported.stdout)
    fresh = tmp_path / "fresh.yaml"
    made = kctl(
        "templates", "pull", "-c", str(kaleyra.config), "--from", str(source), "-o", str(fresh)
    )
    assert made.exit_code == 0, made
    same = kctl("templates", "diff", "-c", str(fresh), "--from", str(source))
    assert same.exit_code == 0, same
    assert "match the source" in same.stdout


def test_errors_exit_above_one(kctl: Kctl, kaleyra: Kaleyra, tmp_path: Path) -> None:
    wrong = kctl(
        "templates", "diff", "-c", str(kaleyra.config), env={"KCTL_TPL_KEY": "wrong-key-123456"}
    )
    assert wrong.exit_code == 5, wrong
    assert "HTTP 401" in wrong.stderr
    assert "invalid api-key" in wrong.stderr
    assert "wrong-key-123456" not in wrong.stderr + wrong.stdout

    unset = kctl("templates", "diff", "-c", str(kaleyra.config), env={"KCTL_TPL_KEY": None})
    assert unset.exit_code == 3, unset

    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nproviders: 5\n")
    invalid = kctl("templates", "diff", "-c", str(broken), env=ENV)
    assert invalid.exit_code == 2, invalid  # 1 would read as drift

    closed = kaleyra.config.read_text("utf-8").replace(kaleyra.url, "http://127.0.0.1:9")
    gone = tmp_path / "gone.yaml"
    gone.write_text(closed)
    assert kctl("templates", "diff", "-c", str(gone), "--timeout", "2", env=ENV).exit_code == 4


def test_a_remote_that_echoes_the_key_is_masked(kctl: Kctl, tmp_path: Path) -> None:
    def answer(request: object) -> Reply:
        return Reply.json({"error": {"message": f"api-key {KEY} is suspended"}}, status=403)

    with serve(answer) as server:
        config = tmp_path / "kctl.yaml"
        config.write_text(CONFIG.format(waba=WABA, sid=SID, host=server.url("")))
        done = kctl("templates", "diff", "-c", str(config), env=ENV)
    assert done.exit_code == 5, done
    assert KEY not in done.stderr
    assert "****" in done.stderr


def test_paging_next_to_another_origin_is_not_followed(kctl: Kctl, tmp_path: Path) -> None:
    page = {"data": [], "paging": {"next": "http://127.0.0.2:1/steal?after=x"}}
    with serve(lambda request: Reply.json(page)) as server:
        config = tmp_path / "kctl.yaml"
        config.write_text(CONFIG.format(waba=WABA, sid=SID, host=server.url("")))
        done = kctl("templates", "diff", "-c", str(config), env=ENV)
        assert len(server.requests) == 1
    assert done.exit_code == 6, done
    assert "another origin" in done.stderr
