"""kctl preview's renderers: a chat bubble in the terminal (rich), a self-contained HTML page,
and one JSON document, all from one ``Preview``.

Every value in a preview came from a config or the command line: the terminal gets it through
``escape_untrusted`` (line breaks kept, since a body may have them) and never as rich markup;
the page gets it through ``html.escape``, and loads nothing from anywhere (a Content Security
Policy of ``default-src 'none'`` says so to the browser too).
"""

from __future__ import annotations

import html
import io
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, assert_never

from kctl.render.escape import escape_untrusted
from kctl.render.smsinfo import dlt_data, size_data, size_text
from kctl.send.preview import (
    ButtonView,
    CardView,
    Filled,
    HeaderView,
    Kind,
    Media,
    Preview,
    SmsPreview,
    Span,
    WhatsAppPreview,
    plain,
)

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.text import Text

# a chat bubble is narrower than a terminal
BUBBLE_WIDTH = 64
# what a button does, as a glyph before its label (WhatsApp draws similar icons)
BUTTON_GLYPHS = {"quick_reply": "↩", "url": "↗", "phone": "☎", "copy_code": "⧉"}
SAMPLE_LEGEND = "made-up sample values (nothing given, no example in the config)"


def expiry_text(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _safe(text: str) -> str:
    """Terminal-safe text that keeps its line breaks."""
    return "\n".join(escape_untrusted(line) for line in text.split("\n"))


# --- terminal -----------------------------------------------------------------------------------

_STYLES = {Kind.TEXT: "", Kind.VALUE: "bold", Kind.SAMPLE: "italic yellow"}


def _text(filled: Filled, base: str = "", mark: int | None = None) -> Text:
    """The spans as rich Text; ``mark`` flags one character (where DLT scrubbing finds the
    text leaving its template), or the end of the text."""
    from rich.text import Text

    out = Text(style=base)
    start = 0
    for span in filled:
        style = _STYLES[span.kind]
        if mark is not None and start <= mark < start + len(span.text):
            at = mark - start
            out.append(_safe(span.text[:at]), style=style)
            out.append(_safe(span.text[at]), style="reverse red")
            out.append(_safe(span.text[at + 1 :]), style=style)
        else:
            out.append(_safe(span.text), style=style)
        start += len(span.text)
    if mark is not None and mark >= start:
        out.append("\u2038", style="reverse red")
    return out


def _media_lines(media: Media) -> Text:
    from rich.text import Text

    out = Text(style="dim")
    if media.kind == "location":
        out.append(f"[location] {media.latitude}, {media.longitude}")
        for extra in (media.name, media.address):
            if extra:
                out.append("\n" + _safe(extra))
        return out
    out.append(f"[{media.kind}] ")
    if media.url is not None:
        out.append(_safe(media.url.text), style=_STYLES[media.url.kind])
    if media.filename:
        out.append("\n" + _safe(media.filename))
    return out


def _header_renderables(header: HeaderView | None) -> list[RenderableType]:
    if header is None:
        return []
    if header.media is not None:
        return [_media_lines(header.media)]
    return [_text(header.text, "bold")]


def _button_line(button: ButtonView) -> Text:
    from rich.text import Text

    out = Text(f"{BUTTON_GLYPHS[button.kind]} ", style="cyan")
    out.append(_safe(button.label), style="bold cyan")
    if button.target:
        out.append("  ")
        out.append(_text(button.target, "dim"))
    return out


def _card_panel(card: CardView, number: int) -> RenderableType:
    from rich.console import Group
    from rich.panel import Panel
    from rich.rule import Rule

    parts: list[RenderableType] = [*_header_renderables(card.header), _text(card.body)]
    if card.buttons:
        parts.append(Rule(style="dim"))
        parts += [_button_line(b) for b in card.buttons]
    return Panel(Group(*parts), title=f"card {number}", title_align="left", width=BUBBLE_WIDTH - 4)


def _whatsapp_renderables(view: WhatsAppPreview) -> list[RenderableType]:
    from rich.console import Group
    from rich.padding import Padding
    from rich.panel import Panel
    from rich.rule import Rule
    from rich.text import Text

    parts: list[RenderableType] = _header_renderables(view.header)
    if view.offer is not None:
        offer = Text("⏱ ", style="magenta")
        offer.append(_safe(view.offer.title), style="bold magenta")
        if view.offer.expires_ms is not None:
            style = _STYLES[view.offer.expiry_kind] or "dim"
            offer.append(f"  ends {expiry_text(view.offer.expires_ms)}", style=style)
        parts.append(offer)
    parts.append(_text(view.body))
    if view.footer:
        parts.append(Text(_safe(view.footer), style="dim"))
    if view.buttons:
        parts.append(Rule(style="dim"))
        parts += [_button_line(b) for b in view.buttons]
    title = escape_untrusted(f"{view.provider} · WhatsApp · {view.template} · {view.category}")
    out: list[RenderableType] = [
        Panel(
            Group(*parts),
            title=title,
            title_align="left",
            border_style="green",
            width=BUBBLE_WIDTH,
        )
    ]
    # the cards scroll sideways under the bubble in the app; here they follow it, indented
    out += [Padding(_card_panel(card, n), (0, 0, 0, 4)) for n, card in enumerate(view.cards, 1)]
    return out


def _sms_renderables(view: SmsPreview) -> list[RenderableType]:
    from rich.panel import Panel
    from rich.text import Text

    what = f"template {view.template}" if view.template else "free text"
    sender = f" from {view.sender}" if view.sender else ""
    title = escape_untrusted(f"{view.provider} · SMS{sender} · {what}")
    found = view.dlt.mismatch if view.dlt is not None else None
    registration = view.dlt.registration if view.dlt is not None else None
    out: list[RenderableType] = [
        Panel(
            _text(view.text, mark=found.position if found is not None else None),
            title=title,
            title_align="left",
            border_style="blue",
            width=BUBBLE_WIDTH,
        )
    ]
    if found is not None and registration is not None:
        registered = Text(f"registered as DLT template {registration.template_id}: ")
        registered.append(_text((Span(registration.text),), mark=found.template_position))
        out.append(registered)
    facts = Text(f"encoding: {_safe(size_text(view.size))}")
    if view.longest is not None:
        facts.append(f"\nat its longest: {_safe(size_text(view.longest))}", style="dim")
    if view.dlt is not None:
        style = "green" if view.dlt.passed else ("red" if view.dlt.code else "yellow")
        # a refusal is spelt out with the problems, under the bubble
        note = f"operators would drop it ({view.dlt.code})" if view.dlt.code else view.dlt.note
        facts.append(f"\nDLT: {_safe(note)}", style=style)
    out.append(facts)
    return out


def _notes(view: Preview) -> list[RenderableType]:
    from rich.text import Text

    out: list[RenderableType] = []
    if view.samples:
        out.append(
            Text(f"{SAMPLE_LEGEND}: {_safe(', '.join(view.samples))}", style="italic yellow")
        )
    out += [Text(f"✗ {_safe(problem)}", style="red") for problem in view.problems]
    return out


def render_text(view: Preview, *, color: bool = False, width: int = 80) -> str:
    """The message drawn as a bubble, with what kctl made up and what is wrong under it."""
    from rich.console import Console

    match view:
        case WhatsAppPreview():
            parts = _whatsapp_renderables(view)
        case SmsPreview():
            parts = _sms_renderables(view)
        case _:
            assert_never(view)
    console = Console(
        width=min(width, 100), color_system="standard" if color else None, force_terminal=color,
        record=True, file=io.StringIO(), highlight=False, emoji=False, markup=False,
    )  # fmt: skip
    for part in [*parts, *_notes(view)]:
        console.print(part)
    return console.export_text(styles=color)


# --- HTML ---------------------------------------------------------------------------------------

_CSS = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111b21;
background:#efeae2}
main{max-width:420px;margin:0 auto;padding:16px 12px 24px}
.meta{font-size:12px;color:#54656f;text-align:center;margin:0 0 12px;
background:#fff;border-radius:8px;padding:4px 8px;box-shadow:0 1px .5px rgba(11,20,26,.13)}
.bubble{background:#fff;border-radius:0 8px 8px 8px;padding:6px 7px 8px 9px;position:relative;
box-shadow:0 1px .5px rgba(11,20,26,.13);max-width:100%}
.bubble::before{content:"";position:absolute;top:0;left:-8px;border-top:0 solid transparent;
border-right:8px solid #fff;border-bottom:10px solid transparent}
.bubble.sms{background:#e9e9eb;border-radius:18px;padding:8px 12px}
.bubble.sms::before{display:none}
.media{background:#d1d7db;border-radius:6px;min-height:150px;display:flex;flex-direction:column;
align-items:center;justify-content:center;padding:12px;margin-bottom:6px;color:#3b4a54;
text-align:center;word-break:break-all}
.media .kind{font-weight:600;text-transform:uppercase;letter-spacing:.08em;font-size:12px}
.media .url{font-size:12px;margin-top:6px}
.media.document{min-height:64px;flex-direction:row;gap:10px;justify-content:flex-start}
.header{font-weight:700;margin:0 0 4px}
.body{white-space:pre-wrap;margin:0;overflow-wrap:anywhere}
.footer{color:#667781;font-size:13px;margin:4px 0 0}
.offer{background:#f0f2f5;border-radius:6px;padding:6px 8px;margin-bottom:6px}
.offer .title{font-weight:700}
.offer .expiry{display:block;font-size:12px;color:#667781}
.buttons{margin-top:2px}
.button{background:#fff;border-radius:8px;margin-top:2px;padding:9px 8px;text-align:center;
color:#027eb5;font-weight:500;box-shadow:0 1px .5px rgba(11,20,26,.13)}
.button .target{display:block;color:#667781;font-size:11px;font-weight:400;word-break:break-all}
.carousel{display:flex;gap:8px;overflow-x:auto;margin-top:8px;padding-bottom:4px}
.card{flex:0 0 240px;background:#fff;border-radius:8px;padding:6px;
box-shadow:0 1px .5px rgba(11,20,26,.13)}
.card .media{min-height:110px}
.value{font-weight:600}
.sample{background:#fff3c4;color:#7a5b00;font-style:italic;border-bottom:1px dashed #b38600}
.facts{font-size:13px;color:#3b4a54;margin:12px 0 0;padding:0;list-style:none}
.facts li{margin:2px 0}
.ok{color:#1b7f3b}.bad{color:#b3261e}.unsure{color:#8a6d00}
.notes{margin-top:12px;font-size:13px}
.problems{color:#b3261e;padding-left:18px}
.icon{vertical-align:-2px}
.media .value{font-weight:400}
mark.diff{background:#f9d2cf;color:#b3261e;font-weight:700;border-bottom:2px solid #b3261e;
padding:0 1px}
.registered{font-size:13px;color:#3b4a54;margin:10px 0 0;overflow-wrap:anywhere}
"""


# Icons drawn inline: a page that loads nothing cannot count on a font having these glyphs.
_ICON_PATHS = {
    "quick_reply": '<path d="M6 4 2 8l4 4M2 8h8a4 4 0 0 1 4 4v1"/>',
    "url": '<path d="M9 3h4v4M13 3 7 9M11 9v4H3V5h4"/>',
    "phone": '<path d="M4 2h2l1 3-1.5 1a8 8 0 0 0 3.5 3.5L10 8l3 1v2a2 2 0 0 1-2 2A9 9 0 0 1 2 4'
    'a2 2 0 0 1 2-2z"/>',
    "copy_code": '<rect x="5" y="5" width="8" height="8" rx="1"/><path d="M3 11V3h8"/>',
    "offer": '<circle cx="8" cy="8" r="6"/><path d="M8 4v4l3 2"/>',
    "location": '<path d="M8 15s5-4.5 5-8.5a5 5 0 0 0-10 0C3 10.5 8 15 8 15z"/>'
    '<circle cx="8" cy="6.5" r="1.8"/>',
}


def _icon(name: str) -> str:
    return (
        '<svg class="icon" viewBox="0 0 16 16" width="14" height="14" fill="none"'
        ' stroke="currentColor" stroke-width="1.6" stroke-linecap="round"'
        f' stroke-linejoin="round" aria-hidden="true">{_ICON_PATHS[name]}</svg>'
    )


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def _html_filled(filled: Filled, mark: int | None = None) -> str:
    """The spans as HTML; ``mark``: the index of a character to flag (where DLT scrubbing
    finds the text leaving its template), a caret when it is the end of the text."""
    out = []
    start = 0
    for span in filled:
        text = _h(span.text)
        if mark is not None and start <= mark < start + len(span.text):
            at = mark - start
            text = (
                f'{_h(span.text[:at])}<mark class="diff">{_h(span.text[at])}</mark>'
                f"{_h(span.text[at + 1 :])}"
            )
        start += len(span.text)
        match span.kind:
            case Kind.TEXT:
                out.append(text)
            case Kind.VALUE:
                out.append(f'<span class="value">{text}</span>')
            case Kind.SAMPLE:
                out.append(f'<span class="sample" title="sample">{text}</span>')
            case _:
                assert_never(span.kind)
    if mark is not None and mark >= start:
        out.append('<mark class="diff end" title="the text ends here">\u00a0</mark>')
    return "".join(out)


def _html_media(media: Media) -> str:
    kind = _h(media.kind)
    if media.kind == "location":
        lines = [f"{_h(media.latitude or '')}, {_h(media.longitude or '')}"]
        lines += [_h(x) for x in (media.name, media.address) if x]
        inner = "".join(f'<span class="url">{line}</span>' for line in lines)
        return (
            f'<div class="media location"><span class="kind">{_icon("location")} location'
            f"</span>{inner}</div>"
        )
    url = _html_filled((media.url,)) if media.url is not None else ""
    name = f'<span class="url">{_h(media.filename)}</span>' if media.filename else ""
    return (
        f'<div class="media {kind}"><span class="kind">{kind}</span>'
        f'<span class="url">{url}</span>{name}</div>'
    )


def _html_header(header: HeaderView | None) -> str:
    if header is None:
        return ""
    if header.media is not None:
        return _html_media(header.media)
    return f'<p class="header">{_html_filled(header.text)}</p>'


def _html_buttons(buttons: tuple[ButtonView, ...]) -> str:
    if not buttons:
        return ""
    items = []
    for button in buttons:
        target = (
            f'<span class="target">{_html_filled(button.target)}</span>' if button.target else ""
        )
        items.append(
            f'<div class="button {_h(button.kind)}">{_icon(button.kind)} {_h(button.label)}'
            f"{target}</div>"
        )
    return f'<div class="buttons">{"".join(items)}</div>'


def _html_card(card: CardView) -> str:
    return (
        f'<article class="card">{_html_header(card.header)}'
        f'<p class="body">{_html_filled(card.body)}</p>{_html_buttons(card.buttons)}</article>'
    )


def _html_whatsapp(view: WhatsAppPreview) -> str:
    offer = ""
    if view.offer is not None:
        expiry = ""
        if view.offer.expires_ms is not None:
            when = (Span(f"ends {expiry_text(view.offer.expires_ms)}", view.offer.expiry_kind),)
            expiry = f'<span class="expiry">{_html_filled(when)}</span>'
        offer = (
            f'<div class="offer">{_icon("offer")} <span class="title">{_h(view.offer.title)}'
            f"</span>{expiry}</div>"
        )
    footer = f'<p class="footer">{_h(view.footer)}</p>' if view.footer else ""
    cards = "".join(_html_card(card) for card in view.cards)
    return (
        f'<p class="meta">{_h(view.provider)} · WhatsApp · {_h(view.template)} ·'
        f" {_h(view.category)}</p>"
        f'<article class="bubble whatsapp">{_html_header(view.header)}{offer}'
        f'<p class="body">{_html_filled(view.body)}</p>{footer}</article>'
        f"{_html_buttons(view.buttons)}"
        + (f'<section class="carousel">{cards}</section>' if cards else "")
    )


def _html_sms(view: SmsPreview) -> str:
    what = f"template {view.template}" if view.template else "free text"
    sender = f" from {view.sender}" if view.sender else ""
    facts = [f"<li>encoding: {_h(size_text(view.size))}</li>"]
    if view.longest is not None:
        facts.append(f"<li>at its longest: {_h(size_text(view.longest))}</li>")
    mark = None
    registered = ""
    if view.dlt is not None:
        verdict = "ok" if view.dlt.passed else ("bad" if view.dlt.code else "unsure")
        note = f"operators would drop it ({view.dlt.code})" if view.dlt.code else view.dlt.note
        facts.append(f'<li class="dlt {verdict}">DLT: {_h(note)}</li>')
        found, registration = view.dlt.mismatch, view.dlt.registration
        if found is not None and registration is not None:
            mark = found.position
            shown = _html_filled((Span(registration.text),), found.template_position)
            registered = (
                f'<p class="registered">registered as DLT template'
                f" {_h(registration.template_id)}:<br>{shown}</p>"
            )
    return (
        f'<p class="meta">{_h(view.provider)} · SMS{_h(sender)} · {_h(what)}</p>'
        f'<article class="bubble sms"><p class="body">{_html_filled(view.text, mark)}</p>'
        f'</article>{registered}<ul class="facts">{"".join(facts)}</ul>'
    )


def render_html(view: Preview) -> str:
    """A page that draws the message as a chat bubble; self-contained, safe to open anywhere."""
    match view:
        case WhatsAppPreview():
            inner, title = _html_whatsapp(view), view.template
        case SmsPreview():
            inner, title = _html_sms(view), view.template or "SMS"
        case _:
            assert_never(view)
    notes = ""
    if view.samples:
        notes += (
            f'<p><span class="sample">{_h(SAMPLE_LEGEND)}</span>: {_h(", ".join(view.samples))}</p>'
        )
    if view.problems:
        items = "".join(f"<li>{_h(p)}</li>" for p in view.problems)
        notes += f'<ul class="problems">{items}</ul>'
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy"'
        " content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>kctl preview: {_h(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{inner}"
        + (f'<aside class="notes">{notes}</aside>' if notes else "")
        + "</main></body></html>\n"
    )


# --- JSON ---------------------------------------------------------------------------------------


def _spans(filled: Filled) -> list[dict[str, str]]:
    return [{"text": s.text, "kind": s.kind.value} for s in filled]


def _media_data(media: Media) -> dict[str, Any]:
    return {
        "type": media.kind,
        "url": media.url.text if media.url is not None else None,
        "sample": media.url is not None and media.url.kind is Kind.SAMPLE,
        "filename": media.filename,
        "latitude": media.latitude,
        "longitude": media.longitude,
        "name": media.name,
        "address": media.address,
    }


def _header_data(header: HeaderView | None) -> dict[str, Any] | None:
    if header is None:
        return None
    if header.media is not None:
        return _media_data(header.media)
    return {"type": "text", "text": plain(header.text), "spans": _spans(header.text)}


def _buttons_data(buttons: tuple[ButtonView, ...]) -> list[dict[str, Any]]:
    return [{"type": b.kind, "text": b.label, "target": plain(b.target) or None} for b in buttons]


def preview_data(view: Preview) -> dict[str, Any]:
    match view:
        case WhatsAppPreview():
            offer = view.offer
            data: dict[str, Any] = {
                "channel": "whatsapp",
                "provider": view.provider,
                "template": view.template,
                "category": view.category,
                "header": _header_data(view.header),
                "body": plain(view.body),
                "body_spans": _spans(view.body),
                "footer": view.footer,
                "buttons": _buttons_data(view.buttons),
                "limited_time_offer": None
                if offer is None
                else {"title": offer.title, "expiration_time_ms": offer.expires_ms},
                "cards": [
                    {
                        "header": _header_data(card.header),
                        "body": plain(card.body),
                        "buttons": _buttons_data(card.buttons),
                    }
                    for card in view.cards
                ],
            }
        case SmsPreview():
            data = {
                "channel": "sms",
                "provider": view.provider,
                "template": view.template,
                "sender": view.sender,
                "text": plain(view.text),
                "text_spans": _spans(view.text),
                **size_data(view.size),
                "longest": size_data(view.longest) if view.longest is not None else None,
                "dlt": dlt_data(view.dlt),
            }
        case _:
            assert_never(view)
    data["samples"] = list(view.samples)
    data["problems"] = list(view.problems)
    return data


def render_json(view: Preview) -> str:
    from kctl.render.escape import escape_untrusted_json

    return (
        escape_untrusted_json(json.dumps(preview_data(view), indent=2, ensure_ascii=False)) + "\n"
    )
