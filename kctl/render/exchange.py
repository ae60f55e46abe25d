"""How a send-test exchange reads: a printout for humans (like httpie) and a JSON document.

Every piece of text from the config, the environment or the network is masked and then
escaped, in that order: escaping first would turn a secret holding a control character into
a spelling the masker does not know (``abc\x1bdef``), and the secret would be printed. The
whole printout goes through ``Masker.mask_text`` once more at the end, so no output path can
forget a secret.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from kctl.render.escape import escape_untrusted
from kctl.render.term import BOLD, CYAN, DIM, GREEN, RED, YELLOW, paint
from kctl.secrets import Masker
from kctl.send.wire import Request, Response

TYPE_CHECKING = False  # not typing's: kctl.lean says why
if TYPE_CHECKING:
    from typing import Any

    from kctl.send.outcome import Outcome

JSON_DOC_VERSION = 1


def _shown(text: str, masker: Masker) -> str:
    """One piece of outside text as it may reach the terminal: masked, then escaped."""
    return escape_untrusted(masker.mask_text(text))


def decode_body(body: bytes, content_type: str | None) -> Any:
    """The body as data: parsed JSON, form fields as a dict, or text."""
    text = body.decode("utf-8", "replace")
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        return dict(parse_qsl(text, keep_blank_values=True))
    if kind.endswith("json") or text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _body_lines(body: bytes, content_type: str | None, masker: Masker) -> list[str]:
    # masked as data, before the text is laid out, split into lines and escaped
    data = mask_tree(decode_body(body, content_type), masker)
    if isinstance(data, dict) and (content_type or "").startswith("application/x-www-form"):
        width = max((len(k) for k in data), default=0)
        lines = [f"{k.ljust(width)} = {v}" for k, v in data.items()]
    elif isinstance(data, dict | list):
        # json.dumps escapes C0 controls but leaves C1 controls and the like as they are
        lines = json.dumps(data, indent=2, ensure_ascii=False).split("\n")
    else:
        text = str(data)
        lines = text.removesuffix("\n").split("\n") if text else ["(empty body)"]
    return [escape_untrusted(line) for line in lines]


def format_request(
    request: Request, masker: Masker, *, color: bool = False, dry_run: bool = False
) -> str:
    lines = [
        paint(f"{request.method} {_shown(request.url, masker)}", BOLD, color)
        + paint(f"  ({request.label})", DIM, color)
    ]
    for name, value in request.headers:
        lines.append(f"{paint(_shown(name, masker), CYAN, color)}: {_shown(value, masker)}")
    lines.append(f"{paint('Content-Type', CYAN, color)}: {request.content_type}")
    if request.basic_auth is not None:
        user = _shown(request.basic_auth[0], masker)
        lines.append(f"{paint('Authorization', CYAN, color)}: Basic ({user}:****)")
    lines.append("")
    lines.extend(_body_lines(request.body, request.content_type, masker))
    if request.message_id:
        lines.append("")
        lines.append(paint(f"message id: {request.message_id}", DIM, color))
    if dry_run:
        lines.append(paint("dry run: nothing was sent", YELLOW, color))
    return masker.mask_text("\n".join(lines) + "\n")


def format_reply(
    response: Response,
    verdict: Outcome,
    masker: Masker,
    *,
    verbose: bool = False,
    color: bool = False,
) -> str:
    status = _shown(f"{response.http_version} {response.status} {response.reason}".strip(), masker)
    timing = f"  ({response.elapsed * 1000:.0f} ms"
    timing += f", {response.attempts} attempts)" if response.attempts > 1 else ")"
    lines = ["", paint(status, BOLD, color) + paint(timing, DIM, color)]
    if verbose:
        lines.extend(
            f"{paint(_shown(k, masker), CYAN, color)}: {_shown(v, masker)}"
            for k, v in response.headers
        )
        lines.append("")
    lines.extend(_body_lines(response.body, response.header("content-type"), masker))
    if response.truncated:
        lines.append(paint(f"(reply cut at {len(response.body):,} bytes)", DIM, color))
    lines.extend(paint(f"note: {_shown(n, masker)}", DIM, color) for n in response.notes)
    lines.append("")
    mark, style = ("✓", GREEN) if verdict.accepted else ("✗", RED)
    lines.append(paint(f"{mark} {_shown(verdict.verdict, masker)}", style + BOLD, color))
    if verdict.hint:
        lines.append(f"  hint: {_shown(verdict.hint, masker)}")
    return masker.mask_text("\n".join(lines) + "\n")


def exchange_document(
    request: Request,
    response: Response | None,
    verdict: Outcome | None,
    masker: Masker,
    *,
    dry_run: bool = False,
    extra: dict[str, Any] | None = None,
) -> str:
    """One JSON document for --json: request (masked), response, outcome, exit code."""
    doc: dict[str, Any] = {
        "version": JSON_DOC_VERSION,
        "dry_run": dry_run,
        "request": {
            "label": request.label,
            "method": request.method,
            "url": request.url,
            "headers": dict(request.headers) | {"Content-Type": request.content_type},
            "basic_auth_user": request.basic_auth[0] if request.basic_auth else None,
            "body": decode_body(request.body, request.content_type),
            "message_id": request.message_id or None,
        },
        "response": None,
        "outcome": None,
    }
    if response is not None:
        doc["response"] = {
            "status": response.status,
            "reason": response.reason,
            "http_version": response.http_version,
            "elapsed_ms": round(response.elapsed * 1000, 1),
            "attempts": response.attempts,
            "headers": dict(response.headers),
            "body": decode_body(response.body, response.header("content-type")),
            "truncated": response.truncated,
            "notes": list(response.notes),
        }
    if verdict is not None:
        doc["outcome"] = {
            "accepted": verdict.accepted,
            "verdict": verdict.verdict,
            "hint": verdict.hint,
            "error_code": verdict.error_code,
            "message_id": verdict.message_id,
        }
    doc["exit_code"] = verdict.exit_code if verdict is not None else 0
    if extra:
        doc.update(extra)
    return json.dumps(mask_tree(doc, masker), indent=2, ensure_ascii=False) + "\n"


def mask_tree(data: Any, masker: Masker) -> Any:
    """Mask every string (keys too) of a JSON-able value; numbers and syntax stay intact."""
    if isinstance(data, str):
        return masker.mask_text(data)
    if isinstance(data, dict):
        return {masker.mask_text(str(k)): mask_tree(v, masker) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [mask_tree(v, masker) for v in data]
    return data
