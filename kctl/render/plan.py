"""``kctl plan`` as text (what to type, aligned), one JSON document, or a Markdown checklist
to paste into a ticket. Values are printed whole, never wrapped: they are copied."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable

from kctl.config.plan import Field, Plan, ProviderPlan, TemplatePlan
from kctl.contract.channels import CHANNELS
from kctl.render.escape import escape_untrusted
from kctl.render.term import BOLD, DIM, paint

_LABEL = 34  # the longest form label, "Maximum Concurrent API requests", and room


def _heading(p: ProviderPlan) -> str:
    return f"{p.nickname} ({CHANNELS[p.channel].label})"


def _template_title(t: TemplatePlan) -> str:
    tags = ", ".join(x for x in (t.language, t.category) if x)
    return f"{t.name} ({tags})" if tags else t.name


# --- text ---------------------------------------------------------------------------------------


def _rows(fields: Iterable[Field], width: int, color: bool, indent: str = "  ") -> list[str]:
    lines = []
    for f in fields:
        label = escape_untrusted(f.label)
        value = escape_untrusted(f.value)
        lines.append(f"{indent}{label:<{_LABEL - len(indent) + 2}}{value}")
        if f.note:
            pad = " " * (_LABEL + 2)
            wrapped = textwrap.wrap(
                escape_untrusted(f.note),
                max(width - len(pad), 30),
                break_on_hyphens=False,
                break_long_words=False,
            )
            lines += [paint(pad + w, DIM, color) for w in wrapped]
    return lines


def render_text(plan: Plan, *, width: int = 100, color: bool = False) -> str:
    out: list[str] = []
    for p in plan.providers:
        if out:
            out.append("")
        out.append(paint(f"{_heading(p)} from {escape_untrusted(plan.file)}", BOLD, color))
        out.append("")
        out.append("CleverTap provider form:")
        out += _rows(p.form, width, color)
        out.append("  Headers (name, value):")
        out += _rows(p.headers, width, color, indent="    ")
        if p.parameters:
            out.append("  Parameters (name, value):")
            out += _rows(p.parameters, width, color, indent="    ")
        out.append("")
        out.append("For Kaleyra (hand to Kaleyra support):")
        out += _rows(p.kaleyra, width, color)
        for note in p.notes:
            out += textwrap.wrap(
                escape_untrusted(note),
                max(width, 40),
                initial_indent="  ! ",
                subsequent_indent="    ",
                break_on_hyphens=False,
                break_long_words=False,
            )
        out.append("")
        if p.templates:
            out.append("Templates to create in CleverTap (name and language exactly as here):")
            for t in p.templates:
                out.append(f"  {escape_untrusted(_template_title(t))}")
                out.append(f"    body: {escape_untrusted(t.summary)}")
                out += [
                    f"    {escape_untrusted(d.label)}: {escape_untrusted(d.value)}"
                    for d in t.details
                ]
        else:
            out.append("Templates to create in CleverTap: none in the config")
    return "\n".join(out) + "\n"


# --- json ---------------------------------------------------------------------------------------


def _field_data(f: Field) -> dict[str, object]:
    return {"field": f.label, "value": f.value, "note": f.note or None, "secret": f.secret}


def render_json(plan: Plan) -> str:
    document = {
        "version": 1,
        "file": plan.file,
        "providers": [
            {
                "nickname": p.nickname,
                "channel": p.channel.value,
                "form": [_field_data(f) for f in p.form],
                "headers": [_field_data(f) for f in p.headers],
                "parameters": [_field_data(f) for f in p.parameters],
                "kaleyra": [_field_data(f) for f in p.kaleyra],
                "notes": list(p.notes),
                "templates": [
                    {
                        "name": t.name,
                        "language": t.language,
                        "category": t.category,
                        "body": t.summary,
                        "details": [_field_data(d) for d in t.details],
                    }
                    for t in p.templates
                ],
            }
            for p in plan.providers
        ],
        "exit_code": 0,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --- markdown -----------------------------------------------------------------------------------


def _md(text: str) -> str:
    """Inline code for a value: backticks inside it get a longer fence."""
    text = escape_untrusted(text)
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_text(text: str) -> str:
    return escape_untrusted(text).replace("|", "\\|")


def _checks(fields: Iterable[Field], indent: str = "") -> list[str]:
    lines = []
    for f in fields:
        note = f" — {_md_text(f.note)}" if f.note else ""
        lines.append(f"{indent}- [ ] **{_md_text(f.label)}**: {_md(f.value)}{note}")
    return lines


def render_markdown(plan: Plan) -> str:
    out = [f"# Provider set-up: {_md_text(plan.file)}", ""]
    for p in plan.providers:
        out += [f"## {_md_text(_heading(p))}", "", "### CleverTap provider form", ""]
        out += _checks(p.form)
        out.append("- [ ] **Headers**:")
        out += _checks(p.headers, "  ")
        if p.parameters:
            out.append("- [ ] **Parameters**:")
            out += _checks(p.parameters, "  ")
        out += ["", "### For Kaleyra support", ""]
        out += _checks(p.kaleyra)
        out += [f"- [ ] ⚠ {_md_text(n)}" for n in p.notes]
        out += ["", "### Templates to create in CleverTap", ""]
        if not p.templates:
            out.append("None in the config.")
        for t in p.templates:
            tags = ", ".join(x for x in (t.language, t.category) if x)
            out.append(f"- [ ] {_md(t.name)}" + (f" ({_md_text(tags)})" if tags else ""))
            out.append(f"  - body: {_md(t.summary)}")
            out += [f"  - {_md_text(d.label)}: {_md(d.value)}" for d in t.details]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
