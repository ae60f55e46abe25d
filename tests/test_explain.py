"""kctl explain and the rule catalog: every example really shows its rule, and its fix clears it."""

from __future__ import annotations

import copy
import json
from typing import Any, assert_never

import pytest
import yaml

from kctl.config.dlt import parse_registry
from kctl.config.findings import Report
from kctl.config.loader import load_text
from kctl.config.validate import check_document
from kctl.contract.rules import RULES, Rule, Scope
from kctl.render.explain import README_BEGIN, README_END, readme_table, with_readme_table, wrap
from kctl.render.findings import render_report
from tests.support import REPO, Kctl

# --- the catalog's examples, checked by the real validator ----------------------------------

WHATSAPP: dict[str, Any] = {
    "nickname": "Kaleyra",
    "channel": "whatsapp",
    "endpoint": "https://ct-adapter.example.com/whatsapp",
    "business_number": "+919876543210",
    "headers": {
        "api-key": "${keyring:kaleyra/api-key}",
        "sid": "HXIN1234567890",
        "kaleyra-host": "https://api.kaleyra.io/",
        "inbound-message-callback-url": "https://in1.example-clevertap.com/wa/inbound/abc",
        "delivery-report-callback-url": "https://in1.example-clevertap.com/wa/dlr/abc",
    },
}
SMS: dict[str, Any] = {
    "nickname": "Kaleyra SMS",
    "channel": "sms",
    "endpoint": "https://ct-adapter.example.com/sms",
    "headers": {
        "api-key": "${keyring:kaleyra/api-key}",
        "sid": "HXIN1234567890",
        "kaleyra-host": "https://api.kaleyra.io/",
        "callback_url": "https://in1.example-clevertap.com/sms/dlr/abc",
    },
    "parameters": {
        "to": "$$To",
        "sender": "$$Sender",
        "body": "$$Body",
        "message_id": "$$MessageID",
    },
}
WHATSAPP_TEMPLATE: dict[str, Any] = {
    "name": "order_update",
    "language": "en",
    "body": "Hi {{1}}, your order has shipped.",
}


def merged(base: Any, fragment: Any) -> Any:
    """``base`` with ``fragment`` laid over it: mappings merge key by key, the rest replaces."""
    if not (isinstance(base, dict) and isinstance(fragment, dict)):
        return copy.deepcopy(fragment)
    out = copy.deepcopy(base)
    for key, value in fragment.items():
        out[key] = merged(out[key], value) if key in out else copy.deepcopy(value)
    return out


def config(provider: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "providers": [provider]}


def embedded(fragment: str, scope: Scope) -> str:
    """A whole config file holding ``fragment`` where ``scope`` says it belongs."""
    if scope is Scope.FILE:
        return fragment + "\n"
    data = yaml.safe_load(fragment)
    match scope:
        case Scope.CONFIG:
            doc = merged(config(WHATSAPP), data)
        case Scope.PROVIDERS:
            doc = {
                "version": 1,
                "providers": [
                    merged(SMS if item.get("channel") == "sms" else WHATSAPP, item) for item in data
                ],
            }
        case Scope.WHATSAPP:
            doc = config(merged(WHATSAPP, data))
        case Scope.SMS:
            doc = config(merged(SMS, data))
        case Scope.SMS_HEADERS | Scope.SMS_PARAMETERS:
            doc = config({**SMS, **data})  # the fragment's mapping is the whole mapping
        case Scope.WHATSAPP_TEMPLATE:
            doc = config({**WHATSAPP, "templates": [merged(WHATSAPP_TEMPLATE, data)]})
        case _:
            assert_never(scope)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=10_000)


def codes_of(text: str, registry: str = "") -> list[str]:
    """The codes a config reports, checked against a DLT registry (CSV text) when one is given."""
    dlt = parse_registry("registry.csv", registry) if registry else None
    return sorted({f.code for f in check_document(load_text("example.yaml", text), dlt)})


def test_the_harness_bases_are_valid() -> None:
    for scope in Scope:
        if scope not in (Scope.FILE, Scope.PROVIDERS, Scope.SMS_HEADERS, Scope.SMS_PARAMETERS):
            assert codes_of(embedded("{}", scope)) == [], scope


@pytest.mark.parametrize("rule", RULES.values(), ids=lambda r: r.code)
def test_every_entry_is_filled_in(rule: Rule) -> None:
    assert rule.title
    assert rule.explanation
    assert rule.bad
    assert rule.good
    sentences = rule.explanation.count(". ") + 1
    assert 2 <= sentences <= 4, rule.explanation
    assert rule.bad != rule.good


@pytest.mark.parametrize("rule", RULES.values(), ids=lambda r: r.code)
def test_bad_example_shows_its_rule_and_the_fix_clears_everything(rule: Rule) -> None:
    bad = embedded(rule.bad, rule.scope)
    assert rule.code in codes_of(bad, rule.registry), bad
    good = embedded(rule.good, rule.scope)
    assert codes_of(good, rule.registry) == [], good


@pytest.mark.parametrize("rule", RULES.values(), ids=lambda r: r.code)
def test_bad_example_shows_only_its_rule(rule: Rule) -> None:
    # an example that also trips other rules would teach the wrong lesson
    assert codes_of(embedded(rule.bad, rule.scope), rule.registry) == [rule.code]


def test_explain_shows_the_registry_an_example_is_checked_against(kctl: Kctl) -> None:
    result = kctl("explain", "KC310")
    assert result.exit_code == 0, result
    lines = result.stdout.splitlines()
    heading = lines.index("With this DLT registry (--dlt-registry FILE):")
    assert lines[heading + 1] == "    template_id,entity_id,header,template_text"
    assert heading < lines.index("Example, in an SMS provider:")
    assert (
        json.loads(kctl("explain", "KC310", "--json").stdout)["registry"] == RULES["KC310"].registry
    )


# --- kctl explain -------------------------------------------------------------------------------


def test_explain_prints_title_severity_explanation_and_example(kctl: Kctl) -> None:
    result = kctl("explain", "KC108")
    assert result.exit_code == 0, result
    rule = RULES["KC108"]
    lines = result.stdout.splitlines()
    assert lines[0] == "KC108 (error): Phone number not valid for its country"
    assert all(len(line) <= 80 for line in lines if not line.startswith("    ")), result
    # the explanation, wrapped, says everything the catalog says
    assert " ".join(result.stdout.split()).count(" ".join(rule.explanation.split())) == 1
    assert "Example, in a WhatsApp provider:" in lines
    assert "Fix:" in lines
    assert '    business_number: "+91981234567"' in lines
    assert '    business_number: "+919812345678"' in lines
    assert result.stderr == ""


def test_explain_is_case_insensitive(kctl: Kctl) -> None:
    assert kctl("explain", "kc108").stdout == kctl("explain", "KC108").stdout


def test_explain_warning(kctl: Kctl) -> None:
    result = kctl("explain", "KC204")
    assert result.stdout.startswith("KC204 (warning): kaleyra-host not a known Kaleyra API domain")


def test_explain_list(kctl: Kctl) -> None:
    result = kctl("explain", "--list")
    assert result.exit_code == 0, result
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(RULES)
    assert "KC204  warning  kaleyra-host not a known Kaleyra API domain" in lines
    assert "KC108  error    Phone number not valid for its country" in lines


def test_explain_json(kctl: Kctl) -> None:
    result = kctl("explain", "kc406", "--json")
    assert result.exit_code == 0, result
    rule = RULES["KC406"]
    assert json.loads(result.stdout) == {
        "code": "KC406",
        "title": rule.title,
        "severity": "error",
        "explanation": rule.explanation,
        "scope": "whatsapp-template",
        "bad": rule.bad,
        "good": rule.good,
    }


def test_explain_list_json(kctl: Kctl) -> None:
    result = kctl("explain", "--list", "--json")
    assert result.exit_code == 0, result
    entries = json.loads(result.stdout)
    assert [e["code"] for e in entries] == list(RULES)
    assert entries[0]["explanation"] == RULES["KC001"].explanation


def test_unknown_code_exits_2_with_a_suggestion(kctl: Kctl) -> None:
    result = kctl("explain", "KC1088")
    assert result.exit_code == 2, result
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "kctl: error: unknown rule code 'KC1088'",
        "  hint: did you mean 'KC108'?",
    ]


def test_unknown_code_far_from_any(kctl: Kctl) -> None:
    result = kctl("explain", "KC999")
    assert result.exit_code == 2, result
    assert result.stderr.splitlines() == [
        "kctl: error: unknown rule code 'KC999'",
        "  hint: kctl explain --list shows every code",
    ]


def test_unknown_code_json_is_one_document(kctl: Kctl) -> None:
    result = kctl("explain", "KC999", "--json")
    assert result.exit_code == 2, result
    assert json.loads(result.stdout)["error"]["message"] == "unknown rule code 'KC999'"


@pytest.mark.parametrize("args", [[], ["KC108", "--list"]], ids=["nothing", "both"])
def test_explain_needs_a_code_or_list(kctl: Kctl, args: list[str]) -> None:
    result = kctl("explain", *args)
    assert result.exit_code == 2, result
    assert result.stderr.startswith("kctl: error: ")


def test_wrap_follows_the_width() -> None:
    text = RULES["KC108"].explanation
    for width in (40, 80, 120):
        lines = wrap(text, width)
        assert max(len(line) for line in lines) <= width
        assert " ".join(lines) == " ".join(text.split())


# --- SARIF and README read the catalog ------------------------------------------------------


def test_sarif_rules_carry_the_explanation_and_the_example() -> None:
    text = embedded(RULES["KC108"].bad, RULES["KC108"].scope)
    doc = load_text("a.yaml", text)
    report = Report(files=["a.yaml"], findings=check_document(doc), sources={"a.yaml": text})
    sarif = json.loads(render_report(report, "sarif"))
    [rule] = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert rule["id"] == "KC108"
    assert rule["fullDescription"] == {"text": RULES["KC108"].explanation}
    assert rule["help"]["text"].startswith(RULES["KC108"].explanation)
    assert RULES["KC108"].bad in rule["help"]["text"]
    assert RULES["KC108"].good in rule["help"]["text"]
    assert f"```yaml\n{RULES['KC108'].good}\n```" in rule["help"]["markdown"]


def test_readme_rule_table_is_current() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    section = readme.split(README_BEGIN, 1)[1].split(README_END, 1)[0]
    assert section.strip("\n") == readme_table().strip("\n"), (
        "run: python -m kctl.render.explain --readme README.md"
    )
    assert "kctl explain KC" in readme


def test_readme_regeneration_replaces_only_the_marked_section() -> None:
    stale = f"# kctl\n\n{README_BEGIN}\n| old | table |\n{README_END}\n\nafter\n"
    fresh = with_readme_table(stale)
    assert fresh.startswith(f"# kctl\n\n{README_BEGIN}\n| code | severity | title |\n")
    assert fresh.endswith(f"{README_END}\n\nafter\n")
    assert "| `KC108` | error | Phone number not valid for its country |" in fresh
    assert with_readme_table(fresh) == fresh
