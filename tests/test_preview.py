"""kctl preview: every example template drawn in the terminal and as a page (parsed back with
html.parser), the values and samples it shows, the limits it checks again, and SMS encoding and
DLT verdicts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from kctl.config.model import SmsProvider, WhatsAppProvider, load_account
from kctl.contract import whatsapp as wa
from tests.support import REPO, Kctl

CONFIGS = sorted((REPO / "configs").glob("*.yaml"))
WHATSAPP = str(REPO / "configs" / "whatsapp.yaml")
SMS = str(REPO / "configs" / "sms-india.yaml")
REGISTRY = str(REPO / "configs" / "sms-india.csv")


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    children: list[Element | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self) -> list[Element]:
        out = [self]
        for child in self.children:
            if isinstance(child, Element):
                out += child.walk()
        return out

    def find(self, cls: str) -> list[Element]:
        return [e for e in self.walk() if cls in e.classes]

    def one(self, cls: str) -> Element:
        [found] = self.find(cls)
        return found


VOID = {"meta", "br", "img", "link", "input", "hr", "path", "circle", "rect"}


class Tree(HTMLParser):
    """The page as elements, so a test reads it as a browser would, not as a string."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(page: str) -> Element:
    tree = Tree()
    tree.feed(page)
    tree.close()
    assert tree.doctype.lower() == "doctype html"
    assert tree.stack == [tree.root], "unclosed elements"
    return tree.root


def assert_self_contained(root: Element) -> None:
    """Nothing on the page can load anything, or run anything."""
    tags = {e.tag for e in root.walk()}
    assert tags.isdisjoint({"script", "img", "link", "iframe", "object", "embed", "video"})
    for element in root.walk():
        for name, value in element.attrs.items():
            assert name not in ("src", "href", "srcset", "action")
            assert not name.startswith("on")
            assert "url(" not in (value or "")
    [csp] = [e for e in root.walk() if e.attrs.get("http-equiv") == "Content-Security-Policy"]
    assert (csp.attrs.get("content") or "").startswith("default-src 'none'")
    [style] = [e for e in root.walk() if e.tag == "style"]
    assert "url(" not in style.text()
    assert "@import" not in style.text()


def preview(kctl: Kctl, *args: str) -> tuple[int, str, str]:
    result = kctl("preview", *args)
    assert "Traceback" not in result.stderr, result
    return result.exit_code, result.stdout, result.stderr


def templates_of(path: Path) -> list[tuple[str, str, str | None]]:
    """(config, template, language) of every template in a config."""
    out: list[tuple[str, str, str | None]] = []
    for provider in load_account(str(path)).providers:
        match provider:
            case WhatsAppProvider():
                out += [(str(path), t.name, t.language) for t in provider.templates]
            case SmsProvider():
                out += [(str(path), t.name, None) for t in provider.templates]
    return out


EVERY_TEMPLATE = [t for path in CONFIGS for t in templates_of(path)]


def _args(config: str, name: str, language: str | None) -> list[str]:
    provider = next(
        p.nickname
        for p in load_account(config).providers
        if any(t.name == name for t in p.templates)
    )
    return ["-c", config, "-p", provider, "-t", name, *(["--lang", language] if language else [])]


@pytest.mark.parametrize(
    ("config", "name", "language"),
    EVERY_TEMPLATE,
    ids=[f"{Path(c).stem}:{n}" for c, n, _ in EVERY_TEMPLATE],
)
def test_every_example_template_renders_in_the_terminal_and_as_a_page(
    kctl: Kctl, config: str, name: str, language: str | None
) -> None:
    args = _args(config, name, language)
    code, data, _ = preview(kctl, *args, "--json")
    assert code == 0, data
    doc = json.loads(data)
    body = doc["body"] if doc["channel"] == "whatsapp" else doc["text"]
    code, text, err = preview(kctl, *args)
    assert code == 0, err
    # the bubble holds the filled body (rich may wrap it, so compare the words)
    assert " ".join(body.split()) in " ".join(text.replace("│", " ").split())
    # every placeholder was filled
    assert "{{" not in body
    assert "{#var#}" not in body
    code, page, err = preview(kctl, *args, "--format", "html")
    assert code == 0, err
    root = parse(page)
    assert_self_contained(root)
    bubble = root.one("bubble")
    assert bubble.one("body").text() == body
    if doc["channel"] == "whatsapp":
        template = next(
            t
            for p in load_account(config).providers
            if isinstance(p, WhatsAppProvider)
            for t in p.templates
            if t.name == name and t.language == language
        )
        on_cards = {id(b) for card in root.find("card") for b in card.find("button")}
        labels = [b.text().strip() for b in root.find("button") if id(b) not in on_cards]
        assert len(labels) == len(template.buttons)
        for label, button in zip(labels, template.buttons, strict=True):
            assert label.startswith(button.text)
        assert len(root.find("card")) == len(template.carousel)
        if template.footer:
            assert bubble.one("footer").text() == template.footer
        if template.header is not None and template.header.type in wa.MEDIA_HEADER_TYPES:
            assert (template.header.url or "?") in bubble.one("media").text()


def test_values_examples_and_samples_are_told_apart(kctl: Kctl) -> None:
    code, page, _ = preview(
        kctl, "-c", WHATSAPP, "-t", "shipment_tracking", "--param", "Ravi", "-f", "html"
    )
    assert code == 0
    root = parse(page)
    header = root.one("header")
    assert header.text() == "Parcel kctl-sample"
    assert header.one("sample").text() == "kctl-sample"  # nothing given, no example: marked
    assert root.one("body").one("value").text() == "Ravi"  # given on the command line
    [button] = root.find("button")
    assert button.one("target").text() == "https://shop.example.com/t/AB12"  # the example
    assert "header {{1}}" in root.one("notes").text()

    code, text, _ = preview(kctl, "-c", WHATSAPP, "-t", "shipment_tracking", "--param", "Ravi")
    assert "made-up sample values (nothing given, no example in the config): header {{1}}" in (
        " ".join(text.split())
    )


def test_send_time_values_fill_the_message(kctl: Kctl) -> None:
    code, data, _ = preview(
        kctl, "-c", WHATSAPP, "-t", "festive_offer", "--param", "Mira", "--param", "Monday",
        "--coupon-code", "SAVE10", "--offer-expiry", "2030-01-01T00:00:00+00:00",
        "--media-url", "https://cdn.example.com/mira.png", "--json",
    )  # fmt: skip
    assert code == 0, data
    doc = json.loads(data)
    assert doc["body"] == "Hi Mira, buy one get one free until Monday."
    assert doc["header"]["url"] == "https://cdn.example.com/mira.png"
    assert doc["limited_time_offer"] == {
        "title": "Buy 1 Get 1",
        "expiration_time_ms": 1893456000000,
    }
    assert doc["buttons"][0] == {"type": "copy_code", "text": "Copy code", "target": "SAVE10"}
    assert doc["samples"] == []

    code, data, _ = preview(
        kctl, "-c", WHATSAPP, "-t", "spring_picks", "--card-param", "2=3499",
        "--card-url-suffix", "2=boots-black", "--json",
    )  # fmt: skip
    cards = json.loads(data)["cards"]
    assert [c["body"] for c in cards] == ["Sneakers from 1999", "Boots from 3499"]
    assert cards[1]["buttons"][0]["target"] == "https://shop.example.com/p/boots-black"


def test_every_value_is_escaped_on_the_page_and_in_the_terminal(kctl: Kctl) -> None:
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">&amp;'
    code, page, _ = preview(
        kctl, "-c", WHATSAPP, "-t", "order_update", "--param", hostile, "--param", "\x1b[2J",
        "-f", "html",
    )  # fmt: skip
    assert code == 0
    root = parse(page)
    assert_self_contained(root)
    assert root.one("body").text() == f"Hi {hostile}, your order \x1b[2J has shipped."
    code, text, _ = preview(
        kctl, "-c", WHATSAPP, "-t", "order_update", "--param", "A", "--param", "\x1b[2J"
    )
    assert "\x1b" not in text
    assert "\\x1b[2J" in text


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (
            ["-t", "order_update", "--param", "x" * 1100, "--param", "1"],
            "body is 1130 characters once filled; the limit is 1024",
        ),
        (
            ["-t", "festive_offer", "--param", "x" * 580, "--param", "y"],
            "body is 614 characters once filled; the limit is 600",
        ),
        (
            ["-t", "shipment_tracking", "--header-param", "P" * 60],
            "header is 67 characters once filled; the limit is 60",
        ),
        (
            ["-t", "festive_offer", "--coupon-code", "SUMMERSALE2026XY"],
            "button 'Copy code' code is 16 characters once filled; the limit is 15",
        ),
        (
            ["-t", "shipment_tracking", "--url-suffix", "z" * 2000],
            "button 'Follow' URL is 2027 characters once filled; the limit is 2000",
        ),
        (
            ["-t", "spring_picks", "--card-param", "1=" + "9" * 150],
            "card 1 body is 164 characters once filled; the limit is 160",
        ),
    ],
    ids=["body", "offer-body", "header", "coupon", "url", "card-body"],
)
def test_limits_are_checked_again_after_filling(kctl: Kctl, args: list[str], problem: str) -> None:
    code, text, _ = preview(kctl, "-c", WHATSAPP, *args)
    assert code == 1
    assert problem in " ".join(text.split())
    code, data, _ = preview(kctl, "-c", WHATSAPP, *args, "--json")
    assert code == 1
    assert json.loads(data)["problems"] == [problem]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-t", "order_update", "--coupon-code", "X"], "has no place for --coupon-code"),
        (["-t", "order_update", "--param", "only one"], "has 2 placeholder(s)"),
        (["-t", "order_update", "--body", "hi"], "--body and --sender are for SMS providers"),
        (["-t", "nope"], "has no template 'nope'"),
        ([], "a WhatsApp preview needs --template NAME"),
        (["-t", "spring_picks", "--card-param", "3=x"], "values for card 3"),
    ],
)
def test_what_a_send_would_refuse_preview_refuses(kctl: Kctl, args: list[str], words: str) -> None:
    code, out, err = preview(kctl, "-c", WHATSAPP, *args)
    assert code == 2
    assert out == ""
    assert words in err


def test_sms_preview_shows_text_encoding_parts_and_the_dlt_match(kctl: Kctl) -> None:
    code, data, _ = preview(
        kctl, "-c", SMS, "-t", "order_shipped", "--param", "A-1042", "--param", "Friday",
        "--dlt-registry", REGISTRY, "--json",
    )  # fmt: skip
    assert code == 0
    doc = json.loads(data)
    assert doc["text"] == "Your order A-1042 has shipped and arrives by Friday. - ACME"
    assert (doc["encoding"], doc["units"], doc["parts"]) == ("GSM-7", 59, 1)
    assert (doc["longest"]["units"], doc["longest"]["parts"]) == (107, 1)
    assert doc["dlt"]["passed"] is True
    assert doc["dlt"]["template_id"] == "1207161234567890124"

    code, text, _ = preview(kctl, "-c", SMS, "--body", "नमस्ते 😀")
    assert code == 0
    assert "encoding: UCS-2 (because of 'न' U+0928" in " ".join(text.split())
    assert "9 of 70 units: 1 part" in text


def test_an_sms_dlt_would_drop_is_shown_where_it_differs(kctl: Kctl, tmp_path: Path) -> None:
    out = tmp_path / "otp.html"
    code, printed, _ = preview(
        kctl, "-c", SMS, "--dlt-registry", REGISTRY, "--body", "Your login OTP is 4821 - ACME",
        "--format", "html", "-o", str(out),
    )  # fmt: skip
    assert code == 1
    assert printed == ""
    root = parse(out.read_text("utf-8"))
    [mark] = root.one("bubble").find("diff")
    assert mark.text() == " "  # the space where the registered full stop should be
    assert root.one("registered").one("diff").text() == "."
    assert "at character 23 the registered text has '.' where the SMS has a space" in (
        root.one("problems").text()
    )
    # samples stand in for variables not given, and are marked
    code, data, _ = preview(kctl, "-c", SMS, "-t", "otp_login", "--json")
    doc = json.loads(data)
    assert doc["text"] == "Your login OTP is kctl-sample. - ACME"
    assert doc["samples"] == ["{#var#} 1"]
    assert [s["kind"] for s in doc["text_spans"]] == ["text", "sample", "text"]


def preview_json(kctl: Kctl, *args: str) -> dict[str, Any]:
    code, data, err = preview(kctl, *args, "--json")
    assert code == 0, err
    result = json.loads(data)
    assert isinstance(result, dict)
    return result


def test_location_and_document_headers(kctl: Kctl) -> None:
    location = preview_json(
        kctl, "-c", WHATSAPP, "-t", "store_location", "--location", "19.07,72.87",
        "--location-name", "Bandra",
    )  # fmt: skip
    assert location["header"]["latitude"] == "19.07"
    assert location["header"]["name"] == "Bandra"
    document = preview_json(kctl, "-c", WHATSAPP, "-t", "invoice_ready")
    assert document["header"]["filename"] == "Invoice.pdf"
    assert document["body"] == "Your invoice INV-2048 is attached."
