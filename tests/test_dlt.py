"""India's DLT end to end: a registered text held against the config (validate-config), against
the SMS about to go out (send-test, verify), and by the sandbox as an operator would."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kctl.config.dlt import parse_registry
from kctl.config.loader import load_text, scalar_position
from kctl.config.model import SmsProvider, load_account
from kctl.contract import dlt
from kctl.contract.dlt import Registration, closest, matches, mismatch
from kctl.errors import UsageError
from kctl.servers.http import HttpServer, ServerThread
from kctl.servers.listener import FINAL_STATUSES, Listener
from kctl.servers.sandbox import Sandbox
from kctl.servers.sms_dlt import DltBook, dlt_book_for
from tests.support import REPO, Kctl

CONFIG = REPO / "configs" / "sms-india.yaml"
REGISTRY = REPO / "configs" / "sms-india.csv"
OTP = "Your login OTP is {#var#}. - ACME"
SHIPPED = "Your order {#var#} has shipped and arrives by {#var#}. - ACME"


# --- scrubbing: where a text first leaves its template --------------------------------------


@pytest.mark.parametrize(
    ("text", "template", "position", "words"),
    [
        # a missing full stop is reported where it belongs, not where the variable could end
        (
            "Your login OTP is 482913 - ACME",
            OTP,
            25,
            "at character 25 the registered text has '.' where the SMS has a space",
        ),
        (
            "Your  login OTP is 482913. - ACME",
            OTP,
            6,
            "at character 6 the registered text has 'l' where the SMS has a space",
        ),
        (
            "Your login OTP is 482913. - ACME Ltd",
            OTP,
            33,
            "at character 33 the registered text has ended where the SMS goes on with a space",
        ),
        (
            "Your login OTP is 482913. - ACNE",
            OTP,
            31,
            "at character 31 the registered text has 'M' where the SMS has 'N'",
        ),
        (
            "Your login OTP is 482913.",
            OTP,
            26,
            "at character 26 the registered text goes on with a space where the SMS ends",
        ),
        (
            "Your order A-1042 has shipped and will arrive by Friday. - ACME",
            SHIPPED,
            35,
            "at character 35 the registered text has 'a' where the SMS has 'w'",
        ),
    ],
)
def test_a_static_difference_is_reported_at_its_character(
    text: str, template: str, position: int, words: str
) -> None:
    found = mismatch(text, template)
    assert found is not None
    assert found.position + 1 == position
    assert found.describe() == words
    assert found.code == "908"


def test_a_31_character_variable_is_reported_with_its_length() -> None:
    value = "F" * 31
    found = mismatch(f"Your order A-1 has shipped and arrives by {value}. - ACME", SHIPPED)
    assert found is not None
    assert (found.variable, found.length) == (2, 31)
    assert found.describe() == (
        "variable 2 of the SMS is 31 characters, but DLT allows 30 (character 73 is the first"
        " one too many)"
    )
    # the same at the end of a template, and at exactly 30 it fits
    last = mismatch("Your login OTP is " + "9" * 31, "Your login OTP is {#var#}")
    assert last is not None
    assert (last.variable, last.length, last.position) == (1, 31, 48)
    assert matches(f"Your order A-1 has shipped and arrives by {'F' * 30}. - ACME", SHIPPED)
    assert matches("Your order  has shipped and arrives by . - ACME", SHIPPED)  # empty values


def test_free_text_is_held_against_the_closest_registration() -> None:
    otp = Registration("1207161234567890123", OTP)
    shipped = Registration("1207161234567890124", SHIPPED)
    assert closest("Your order 7 has shipped and arrives by today. - ACME", [otp, shipped]) == (
        shipped,
        None,
    )
    found = closest("Your order 7 has shipped, arriving today. - ACME", [otp, shipped])
    assert found is not None
    assert found[0] is shipped
    assert found[1] is not None
    assert found[1].position + 1 == 25


def test_scrubbing_a_hostile_text_takes_bounded_time() -> None:
    # many variables with short separators, and a text made of separators: a backtracking
    # matcher would take ages on this; the sandbox scrubs whatever a client sends
    template = ", ".join([dlt.VARIABLE] * 40)
    text = ", " * 700 + "x"  # longer than 40 variables and their commas can hold
    started = time.monotonic()
    assert not matches(text, template)
    assert mismatch(text, template) is not None
    assert time.monotonic() - started < 5


def test_lookalike_variables_and_variables_in_a_row() -> None:
    text = "a {#var1#} b {#Var#} c #VAR# d {#otp#} e {#var#} f {var}"
    assert [token for _, token in dlt.lookalike_variables(text)] == [
        "{#var1#}",
        "{#Var#}",
        "#VAR#",
        "{#otp#}",
        "{var}",
    ]
    assert dlt.adjacent_variables("{#var#}{#var#} x {#var#}  {#var#}, {#var#}") == [7, 26]


# --- positions inside a value --------------------------------------------------------------------


def test_a_finding_points_at_the_character_in_any_scalar_style() -> None:
    text = (
        'a: "Say \\u00e9{#var#}. ok"\n'
        "b: 'It''s {#var#}. ok'\n"
        "c: plain {#var#}. ok\n"
        "d: |\n"
        "  first line\n"
        "  then {#var#}. ok\n"
        "e: >\n"
        "  folded {#var#}.\n"
        "  ok\n"
    )
    doc = load_text("x.yaml", text)
    assert doc.root is not None
    lines = text.split("\n")
    for key in "abcd":
        node = doc.root.get(key)
        assert node is not None
        index = node.value.index(".")
        line, col = scalar_position(text, node, index)
        assert lines[line - 1][col - 1] == ".", key
    folded = doc.root.get("e")
    assert folded is not None
    assert scalar_position(text, folded, 5) == (folded.line, folded.col)  # its start


# --- the registry file ------------------------------------------------------------------------


def test_a_platform_export_is_read_by_column_name() -> None:
    text = (
        "\ufeffTemplate ID,Template Name,Entity-ID,HEADER,Template Text,Status\n"
        "\n"
        '1207161234567890124,order_shipped,1201159543210987654,KLRHXA,"Your order {#var#},'
        ' shipped. - ACME",Approved\n'
        '1207161234567890124,order_shipped,1201159543210987654,KLRHXA,"Your order {#var#},'
        ' shipped. - ACME",Approved\n'
    )
    registry = parse_registry("export.csv", text)
    row = registry.get("1207161234567890124")
    assert row is not None
    assert (row.entity_id, row.header, row.text) == (
        "1201159543210987654",
        "KLRHXA",
        "Your order {#var#}, shipped. - ACME",
    )
    assert row.source == "export.csv line 3"
    assert len(registry) == 1  # the same row twice is one registration


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("template_id,header\n", "the header row has no entity_id, template_text column", None),
        (
            "template_id,entity_id,header,template_text\n1.20716E+18,1201159543210987654,A,x\n",
            "r.csv line 2: template_id '1.20716E+18' is not 12 to 19 digits",
            "a spreadsheet turned the id into a rounded number: export the ids as text",
        ),
        (
            "template_id,entity_id,header,template_text\n"
            "1207161234567890123,1201159543210987654,ACME,One {#var#}.\n"
            "1207161234567890123,1201159543210987654,ACME,Two {#var#}.\n",
            "r.csv line 3: template_id 1207161234567890123 is registered again, differently"
            " (first at line 2)",
            None,
        ),
        (
            "template_id,entity_id,header,template_text\n1207161234567890123,1\n",
            "r.csv line 2: 2 field(s), fewer than the header names",
            None,
        ),
        ("", "r.csv is empty", None),
    ],
)
def test_a_malformed_registry_is_a_usage_error_naming_its_line(
    text: str, message: str, hint: str | None
) -> None:
    with pytest.raises(UsageError) as raised:
        parse_registry("r.csv", text)
    assert message in raised.value.message
    if hint is not None:
        assert raised.value.hint == hint


def test_validate_config_reads_the_registry_and_reports_a_bad_one(
    kctl: Kctl, tmp_path: Path
) -> None:
    clean = kctl("validate-config", str(CONFIG), "--dlt-registry", str(REGISTRY), "--strict")
    assert clean.exit_code == 0, clean
    bad = tmp_path / "r.csv"
    bad.write_bytes(b"template_id,entity_id,header,template_text\n\xff\xfe\n")
    result = kctl("validate-config", str(CONFIG), "--dlt-registry", str(bad))
    assert result.exit_code == 2, result
    assert result.stderr.startswith(f"kctl: error: {bad} is not UTF-8 text")
    missing = kctl("validate-config", str(CONFIG), "--dlt-registry", str(tmp_path / "none.csv"))
    assert missing.exit_code == 2
    assert "cannot read" in missing.stderr


# --- validate-config: the body against its registered text ---------------------------------


def _config(tmp_path: Path, body: str, *, extra: str = "") -> Path:
    text = CONFIG.read_text("utf-8").replace(
        '        body: "Your login OTP is {#var#}. - ACME"\n',
        f'        body: "{body}"\n{extra}',
    )
    assert body in text
    path = tmp_path / "sms.yaml"
    path.write_text(text, "utf-8")
    return path


def test_a_missing_full_stop_is_reported_at_its_column(kctl: Kctl, tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        "Your login OTP is {#var#} - ACME",
        extra='        dlt_text: "Your login OTP is {#var#}. - ACME"\n',
    )
    result = kctl("validate-config", str(path), "--format", "json")
    assert result.exit_code == 1, result
    [finding] = json.loads(result.stdout)["findings"]
    line = path.read_text("utf-8").splitlines()[finding["line"] - 1]
    assert (finding["code"], line[: finding["column"] - 1]) == (
        "KC309",
        '        body: "Your login OTP is {#var#}',
    )
    assert (
        "at character 26 the registered text has '.' where the body has a space"
        in (finding["message"])
    )
    # with the registry, the same body is held against the platform's text
    registry = kctl("validate-config", str(path), "--dlt-registry", str(REGISTRY))
    assert registry.exit_code == 1
    assert f"{REGISTRY} line 2" in registry.stdout


# --- send time ----------------------------------------------------------------------------------


def send(kctl: Kctl, *args: str, registry: bool = True) -> tuple[int, str, str]:
    extra = ("--dlt-registry", str(REGISTRY)) if registry else ()
    result = kctl(
        "send-test", "-c", str(CONFIG), "--to", "+919812345678", "--dry-run", *extra, *args
    )
    assert "Traceback" not in result.stderr, result
    return result.exit_code, result.stdout, result.stderr


def test_a_31_character_variable_is_refused_at_send_time(kctl: Kctl) -> None:
    long = "Friday 5 pm, after the festival"
    assert len(long) == 31
    code, out, err = send(kctl, "-t", "order_shipped", "--param", "A-1042", "--param", long)
    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        "kctl: error: the SMS to +919812345678 does not match DLT template 1207161234567890124"
        " (order_shipped): variable 2 of the SMS is 31 characters, but DLT allows 30 (character"
        " 76 is the first one too many)",
        "  hint: shorten --param 2 to 30 characters; operators drop it (CleverTap failure 908)",
    ]
    # without a registration kctl cannot judge, and says so instead of refusing
    code, out, _ = send(
        kctl, "-t", "order_shipped", "--param", "A", "--param", "x" * 40, registry=False
    )
    assert code == 0
    assert "DLT: not checked: the registered text of DLT template 1207161234567890124" in out


def test_free_text_that_matches_no_registered_template_is_refused(kctl: Kctl) -> None:
    code, _, err = send(kctl, "--body", "Your login OTP is 4821 - ACME")
    assert code == 2
    assert err.splitlines()[0] == (
        "kctl: error: the SMS to +919812345678 matches no registered DLT template; the closest"
        " is DLT template 1207161234567890123: at character 23 the registered text has '.'"
        " where the SMS has a space"
    )
    assert 'registered "…n OTP is {#var#}. - ACME", sending "…ogin OTP is 4821 - ACME"' in err
    code, out, _ = send(kctl, "--body", "Your login OTP is 4821. - ACME", "--json")
    assert code == 0
    verdict = json.loads(out)["sms"]["dlt"]
    assert (verdict["passed"], verdict["template_id"]) == (True, "1207161234567890123")


def test_a_sender_that_is_not_the_registered_header_is_refused(kctl: Kctl) -> None:
    code, _, err = send(kctl, "-t", "otp_login", "--param", "4821", "--sender", "ACMEXX")
    assert code == 2
    assert err.splitlines()[0] == (
        "kctl: error: the SMS to +919812345678 would be dropped: sender 'ACMEXX' is not the"
        " header registered with DLT template 1207161234567890123 ('KLRHXA')"
    )
    assert "CleverTap failure 906" in err


def test_outside_india_the_verdict_is_shown_but_nothing_is_refused(kctl: Kctl) -> None:
    result = kctl(
        "send-test", "-c", str(CONFIG), "--dlt-registry", str(REGISTRY), "--dry-run",
        "--to", "+14155550123", "--force", "--body", "Your login OTP is 4821 - ACME",
    )  # fmt: skip
    assert result.exit_code == 0, result
    assert result.stdout.splitlines()[1].startswith(
        "DLT: operators would drop it (failure 908): matches no registered DLT template"
    )


def test_a_matching_send_shows_its_template(kctl: Kctl) -> None:
    code, out, _ = send(kctl, "-t", "otp_login", "--param", "4821")
    assert code == 0
    assert out.splitlines()[:2] == [
        "SMS: GSM-7, 30 of 160 units: 1 part",
        "DLT: matches DLT template 1207161234567890123 (otp_login)",
    ]


def test_verify_holds_each_template_against_its_registration(kctl: Kctl) -> None:
    result = kctl(
        "verify", "-c", str(CONFIG), "--sandbox", "--dlt-registry", str(REGISTRY), "-f", "json"
    )
    assert result.exit_code == 0, result
    checks = [c for c in json.loads(result.stdout)["checks"] if c["kind"] == "sms-dlt"]
    assert [(c["name"], c["passed"]) for c in checks] == [
        ("otp_login (DLT 1207161234567890123)", True),
        ("order_shipped (DLT 1207161234567890124)", True),
    ]
    assert checks[0]["verdict"] == "matches DLT template 1207161234567890123 (otp_login)"
    assert checks[1]["sample_values_for"] == ["{#var#} 1", "{#var#} 2"]


# --- the sandbox scrubs SMS to India as an operator does ------------------------------------


@pytest.fixture
def dlt_sandbox() -> Iterator[tuple[Listener, ServerThread, ServerThread]]:
    providers = load_account(str(CONFIG), str(REGISTRY)).providers
    # a second provider of another entity whose template the account cannot send
    other = Registration(
        "1207169999999999999", "Hi {#var#}. - ZETA", "1201150000000000000", "ZETAIN"
    )
    sms = next(p for p in providers if isinstance(p, SmsProvider))
    base = dlt_book_for(providers)
    assert base is not None
    assert base.complete  # a registry lists every template
    assert base.entities == {sms.dlt_entity_id}
    book = DltBook({**base.registrations, other.template_id: other}, base.entities, True)
    listener = Listener()
    sandbox = Sandbox(dlr_delay=0.01, dlt=book)
    with (
        HttpServer(listener).start_in_thread() as listening,
        HttpServer(sandbox).start_in_thread() as serving,
    ):
        yield listener, listening, serving


def _post_sms(serving: ServerThread, listening: ServerThread, msg_id: str, **fields: str) -> str:
    form = {
        "to": "919812345678",
        "sender": "KLRHXA",
        "template_id": "1207161234567890123",
        "body": "Your login OTP is 4821. - ACME",
        "message_id": msg_id,
        **fields,
    }
    reply = httpx.post(
        f"{serving.url}/sms",
        data={k: v for k, v in form.items() if v},
        headers={
            "api-key": "k",
            "sid": "s",
            "kaleyra-host": serving.url + "/",
            "callback_url": listening.url + "/sms/dlr",
        },
        timeout=5,
    )
    assert reply.json() == {"status": "success"}  # accepted, as Kaleyra accepts it
    return msg_id


@pytest.mark.parametrize(
    ("fields", "code", "words"),
    [
        ({}, None, None),
        ({"body": "Your login OTP is 4821 - ACME"}, "908", "at character 23"),
        ({"body": f"Your login OTP is {'4' * 31}. - ACME"}, "908", "is 31 characters"),
        ({"sender": "ACMEXX"}, "906", "sender 'ACMEXX' is not the header"),
        (
            {"template_id": "1207169999999999999", "sender": "ZETAIN", "body": "Hi x. - ZETA"},
            "907",
            "registered to entity 1201150000000000000",
        ),
        ({"template_id": "1207160000000000000"}, "908", "is not registered"),
        (
            {"template_id": "", "body": "Your order 7 has shipped and arrives by 9. - ACME"},
            None,
            None,
        ),
        ({"template_id": "", "body": "Hello there"}, "908", "matches no registered DLT template"),
        ({"to": "14155550123", "body": "Your login OTP is 4821 - ACME"}, None, None),
    ],
    ids=[
        "matches",
        "full-stop",
        "long-variable",
        "header",
        "entity",
        "unknown-id",
        "free-text",
        "free-text-unregistered",
        "outside-india",
    ],
)
def test_the_sandbox_reports_what_an_operator_would(
    dlt_sandbox: tuple[Listener, ServerThread, ServerThread],
    fields: dict[str, str],
    code: str | None,
    words: str | None,
) -> None:
    listener, listening, serving = dlt_sandbox
    msg_id = _post_sms(serving, listening, "kctl-dlt-1", **fields)
    report = listener.await_report(msg_id, 5.0, FINAL_STATUSES)
    assert report is not None
    assert report.ok, report.problems  # a well-formed CleverTap SMS callback either way
    delivery = report.delivery(msg_id)
    assert delivery is not None
    if code is None:
        assert delivery.status == "delivered"
        return
    assert (delivery.status, delivery.code) == ("failed", code)
    assert words is not None
    assert words in (delivery.description or "")


def test_kctl_sandbox_takes_the_registry_from_the_command_line() -> None:
    listener = Listener()
    with HttpServer(listener).start_in_thread() as listening:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "kctl", "sandbox", "--port", "0",
                "--config", str(CONFIG), "--dlt-registry", str(REGISTRY),
            ],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert process.stderr is not None
            url = process.stderr.readline().split(" on ", 1)[1].split()[0]
            reply = httpx.post(
                f"{url}/sms",
                data={
                    "to": "919812345678",
                    "sender": "KLRHXA",
                    "template_id": "1207161234567890124",
                    "body": "Your order 7 has shipped and arrives by 9 - ACME",
                    "message_id": "kctl-dlt-cli",
                },
                headers={
                    "api-key": "k",
                    "sid": "s",
                    "kaleyra-host": url + "/",
                    "callback_url": listening.url + "/sms/dlr",
                },
                timeout=10,
            )
            assert reply.json() == {"status": "success"}
            report = listener.await_report("kctl-dlt-cli", 10.0, FINAL_STATUSES)
        finally:
            process.terminate()
            process.communicate(timeout=10)
    assert report is not None
    delivery = report.delivery("kctl-dlt-cli")
    assert delivery is not None
    assert (delivery.status, delivery.code) == ("failed", "908")
    assert "at character 42 the registered text has '.' where the text has a space" in (
        delivery.description or ""
    )


def test_send_test_through_the_sandbox_is_delivered_when_it_matches(kctl: Kctl) -> None:
    # the embedded sandbox scrubs with the same registrations the send was checked against
    result = kctl(
        "send-test", "--sandbox", "--wait-dlr", "10", "--json", "-c", str(CONFIG),
        "--dlt-registry", str(REGISTRY), "--to", "+919812345678",
        "-t", "order_shipped", "--param", "A-1042", "--param", "x" * 30,
    )  # fmt: skip
    assert result.exit_code == 0, result
    doc = json.loads(result.stdout)
    assert doc["sms"]["dlt"]["passed"] is True
    assert doc["delivery_report"]["status"] == "delivered"
