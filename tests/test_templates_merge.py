"""Merging templates into a config's text: everything that did not change stays byte for byte
(comments, quoting, flow maps, order); what changed is rewritten in place."""

from __future__ import annotations

import difflib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kctl.config.loader import load_text
from kctl.config.model import Button, WhatsAppProvider, WhatsAppTemplate, provider_from_node
from kctl.config.validate import check_document
from kctl.errors import UsageError
from kctl.templates.merge import merge_templates
from kctl.templates.meta import template_key
from kctl.templates.yamlout import template_lines
from tests.support import REPO
from tests.test_templates_meta import templates

CONFIG = """\
# top comment
version: 1
providers:
  - nickname: wa   # trailing comment
    channel: whatsapp
    endpoint: https://x.example.com/whatsapp
    business_number: "+919876543210"
    headers:
      api-key: ${KEY}
      sid: HXIN1234567890
      kaleyra-host: https://api.kaleyra.io/
      inbound-message-callback-url: https://in1.example-clevertap.com/wa/inbound/abc
      delivery-report-callback-url: https://in1.example-clevertap.com/wa/dlr/abc
    templates:
      # the order mail
      - name: order_update      # keep this comment
        language: en
        header: {type: text, text: "Order update"}
        body: 'Hi {{1}}, your order {{2}} has shipped.'   # single-quoted on purpose
        examples: ["Asha", "1234"]
        footer: "Reply STOP"
        buttons:
          - {type: quick_reply, text: Track}   # first button
          - {type: url, text: Visit, url: "https://shop.example.com/orders"}
      - {name: flowing, language: en, body: "Flow {{1}}", examples: ["x"]}
  - nickname: other
    channel: whatsapp
    endpoint: https://x.example.com/whatsapp
    business_number: "+919876543210"
    headers:
      api-key: ${KEY}
      sid: HXIN1234567890
      kaleyra-host: https://api.kaleyra.io/
      inbound-message-callback-url: https://in1.example-clevertap.com/wa/inbound/abc
      delivery-report-callback-url: https://in1.example-clevertap.com/wa/dlr/abc
"""


def templates_of(text: str, nickname: str = "wa") -> list[WhatsAppTemplate]:
    doc = load_text("c.yaml", text)
    errors = [f for f in check_document(doc) if f.is_error]
    assert errors == [], errors
    assert doc.root is not None
    providers = doc.root.get("providers")
    assert providers is not None
    for node in providers.items():
        p = provider_from_node(node)
        if p.nickname == nickname:
            assert isinstance(p, WhatsAppProvider)
            return [t.replace(line=0) for t in p.templates]
    raise AssertionError(nickname)


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_a_changed_body_rewrites_only_its_line() -> None:
    old = templates_of(CONFIG)[0]
    new = old.replace(body="Hi {{1}}, order {{2}} is on its way.")
    merged = merge_templates(CONFIG, "wa", [new])
    assert changed_lines(CONFIG, merged) == [
        "-        body: 'Hi {{1}}, your order {{2}} has shipped.'   # single-quoted on purpose",
        '+        body: "Hi {{1}}, order {{2}} is on its way."   # single-quoted on purpose',
    ]
    assert templates_of(merged)[0] == new


def test_added_removed_and_changed_fields_touch_nothing_else() -> None:
    old = templates_of(CONFIG)[0]
    new = old.replace(
        category="marketing",  # not written before: added after language
        footer=None,  # removed
        buttons=(*old.buttons[:1], Button(type="phone", text="Call", phone_number="+919812345678")),
    )
    merged = merge_templates(CONFIG, "wa", [new])
    assert changed_lines(CONFIG, merged) == [
        "+        category: marketing",
        '-        footer: "Reply STOP"',
        '-          - {type: url, text: Visit, url: "https://shop.example.com/orders"}',
        '+          - {type: phone, text: Call, phone_number: "+919812345678"}',
    ]
    assert "# keep this comment" in merged
    assert "# first button" in merged
    assert templates_of(merged)[0] == new


def test_new_templates_go_after_the_last_one_with_its_indentation() -> None:
    brand_new = WhatsAppTemplate(
        name="welcome", language="en_US", body="Welcome {{1}}", examples=("Asha",)
    )
    merged = merge_templates(CONFIG, "wa", [brand_new])
    assert merged.startswith(CONFIG.split("  - nickname: other", maxsplit=1)[0].rstrip("\n"))
    assert changed_lines(CONFIG, merged) == [
        "+      - name: welcome",
        "+        language: en_US",
        "+        category: utility",
        '+        body: "Welcome {{1}}"',
        "+        examples: [Asha]",
    ]
    assert templates_of(merged)[-1] == brand_new
    assert templates_of(merged, "other") == []


def test_a_provider_without_templates_gets_a_list() -> None:
    t = WhatsAppTemplate(name="hello", language="en", body="Hello")
    merged = merge_templates(CONFIG, "other", [t])
    assert merged.startswith(CONFIG.rstrip("\n"))
    assert merged[len(CONFIG) - 1 :] == (
        "\n    templates:\n      - name: hello\n        language: en\n"
        "        category: utility\n        body: Hello\n"
    )
    assert templates_of(merged, "other") == [t]


@pytest.mark.parametrize("empty", ["templates: []   # none yet", "templates:   # none yet"])
def test_an_empty_list_becomes_a_block_list_keeping_its_comment(empty: str) -> None:
    text = CONFIG.replace(
        "      delivery-report-callback-url: https://in1.example-clevertap.com/wa/dlr/abc\n",
        "      delivery-report-callback-url: https://in1.example-clevertap.com/wa/dlr/abc\n"
        f"    {empty}\n",
    )
    text = (
        text[: text.index("    templates:\n      # the order")]
        + text[text.index("  - nickname: other") :]
    )
    text = text.replace(f"    {empty}\n", "", 1)  # only the second provider keeps it
    t = WhatsAppTemplate(name="hello", language="en", body="Hello")
    merged = merge_templates(text, "other", [t])
    assert "    templates:   # none yet\n      - name: hello\n" in merged
    assert templates_of(merged, "other") == [t]


def test_a_flow_style_template_is_rewritten_whole_in_block_style() -> None:
    old = templates_of(CONFIG)[1]
    new = old.replace(body="Flow {{1}} changed")
    merged = merge_templates(CONFIG, "wa", [new])
    assert changed_lines(CONFIG, merged) == [
        '-      - {name: flowing, language: en, body: "Flow {{1}}", examples: ["x"]}',
        "+      - name: flowing",
        "+        language: en",
        "+        category: utility",
        '+        body: "Flow {{1}} changed"',
        "+        examples: [x]",
    ]
    assert templates_of(merged)[1] == new


def test_windows_line_breaks_stay_windows_line_breaks() -> None:
    text = CONFIG.replace("\n", "\r\n")
    t = WhatsAppTemplate(name="hello", language="en", body="Hello")
    old = templates_of(text)[0]
    merged = merge_templates(text, "wa", [old.replace(footer="New"), t])
    assert "\n" not in merged.replace("\r\n", "")
    assert templates_of(merged)[-1] == t
    assert templates_of(merged)[0].footer == "New"


def test_unchanged_templates_leave_the_text_identical() -> None:
    assert merge_templates(CONFIG, "wa", templates_of(CONFIG)) == CONFIG


def test_example_config_merges_in_place() -> None:
    text = (REPO / "configs" / "whatsapp.yaml").read_text("utf-8")
    ts = templates_of(text, "Kaleyra")
    changed = [t.replace(body=t.body + " (v2)") for t in ts]
    merged = merge_templates(text, "Kaleyra", changed)
    assert templates_of(merged, "Kaleyra") == changed
    # one changed line per template, nothing else
    assert len(changed_lines(text, merged)) == 2 * len(ts)


def test_unknown_provider_and_flow_lists_are_refused() -> None:
    t = WhatsAppTemplate(name="hello", language="en", body="Hello")
    with pytest.raises(UsageError, match="no provider 'nope'"):
        merge_templates(CONFIG, "nope", [t])
    flow = CONFIG.replace(
        "    templates:\n", '    templates: [{name: a, language: en, body: "A"}]\n    x_:\n', 1
    )
    flow = flow[: flow.index("    x_:\n")] + flow[flow.index("  - nickname: other") :]
    with pytest.raises(UsageError, match="flow list"):
        merge_templates(flow, "wa", [t])


PROVIDER_HEAD = """\
version: 1
providers:
  - nickname: wa   # keep me
    channel: whatsapp
    endpoint: https://x.example.com/whatsapp
    business_number: "+919876543210"
    headers: {api-key: k, sid: s, kaleyra-host: https://api.kaleyra.io}
    templates:
"""


def _parsed(text: str) -> list[WhatsAppTemplate]:
    doc = load_text("c.yaml", text)
    assert doc.findings == [], doc.findings
    assert doc.root is not None
    providers = doc.root.get("providers")
    assert providers is not None
    p = provider_from_node(providers.items()[0])
    assert isinstance(p, WhatsAppProvider)
    return [t.replace(line=0) for t in p.templates]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_merge_yields_exactly_the_intended_templates(data: st.DataObject) -> None:
    base = data.draw(st.lists(templates(), max_size=4, unique_by=template_key))
    text = PROVIDER_HEAD + "".join(line + "\n" for t in base for line in template_lines(t, 6))
    wanted: list[WhatsAppTemplate] = []
    for t in base:
        if data.draw(st.booleans()):
            other = data.draw(templates())
            fields = data.draw(st.sets(st.sampled_from(_MUTABLE), min_size=1))
            wanted.append(t.replace(**{f: getattr(other, f) for f in fields}))
    taken = {template_key(t) for t in base}
    extra = data.draw(st.lists(templates(), max_size=2, unique_by=template_key))
    added = [t for t in extra if template_key(t) not in taken]
    merged = merge_templates(text, "wa", [*wanted, *added])
    by_key = {template_key(t): t for t in wanted}
    expected = [by_key.get(template_key(t), t) for t in base] + added
    assert _parsed(merged) == expected
    assert merged.startswith(PROVIDER_HEAD.split("    templates:", maxsplit=1)[0])


_MUTABLE = (
    "body",
    "category",
    "header",
    "footer",
    "buttons",
    "offer",
    "carousel",
    "examples",
)
