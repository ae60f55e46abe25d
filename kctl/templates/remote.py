"""Where remote templates come from: Kaleyra's template APIs, or a Meta-format file or URL.

* v2 ``GET {kaleyra-host}/v2/{sid}/whatsapp/{waba_id}/message_templates``: Meta's format in
  pages. Kaleyra's page documents the route and its headers (``api-key``, ``Content-Type:
  application/json``); the body and its paging are not visible there, so kctl reads what the
  Graph API answers (``data``, ``paging.next``) and follows ``next`` only on the same origin,
  because the api-key goes with every request.
* v1 ``GET {kaleyra-host}/v1/{sid}/whatsapp/templates/status``: the page documents names,
  statuses (Approved, Pending, Rejected, Submission Rejected, Paused, Disabled) and creation
  dates, and says newer accounts also get header, body, footer and buttons; the JSON itself is
  not shown. kctl reads ``data`` (or a bare list) of objects with ``name``/``template_name``,
  ``language``/``lang_code``, ``status``, and Meta ``components`` when present. Without
  components a template has a status and no content to compare or pull.
* ``--from``: a file, ``-`` (stdin) or an http(s) URL holding Meta's format: one template, a
  list, or a page ``{"data": [...]}`` (what ``kctl templates export`` writes).

Every error message is masked (the api-key) and quotes at most a short piece of any reply.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from kctl.config.model import WhatsAppProvider
from kctl.contract import kaleyra, meta
from kctl.errors import KctlError, ProviderFailed, ProviderRejected, UsageError
from kctl.secrets import Masker, parse_reference
from kctl.send.wire import Request, Response
from kctl.templates.meta import MetaFormatError, RemoteTemplate, from_meta

Api = Literal["auto", "v1", "v2"]
MAX_PAGES = 1000
MAX_REPLY_BYTES = 32 * 1024 * 1024
MAX_FILE_BYTES = 32 * 1024 * 1024
_QUOTED = 200  # characters of a reply quoted in an error


@dataclass(frozen=True, slots=True)
class Fetched:
    templates: list[RemoteTemplate]
    source: str  # for humans: "Kaleyra v2 https://…/message_templates", "file t.json"
    masker: Masker


Sender = Callable[[Request], Response]


def fetch(
    provider: WhatsAppProvider | None,
    *,
    source: str | None = None,
    api: Api = "auto",
    timeout: float = 30.0,
    verify: bool | str = True,
) -> Fetched:
    """The remote templates: from ``source`` (file, ``-`` or URL) when given, else from the
    provider's Kaleyra account."""

    def sender(request: Request) -> Response:
        from kctl.send.transport import send

        return send(request, timeout=timeout, retries=2, max_body=MAX_REPLY_BYTES, verify=verify)

    if source is not None:
        return fetch_source(source, sender)
    if provider is None:
        raise UsageError("no provider to fetch templates for")
    return fetch_kaleyra(provider, api, sender)


# --- Kaleyra ----------------------------------------------------------------------------------


def kaleyra_request(provider: WhatsAppProvider, api: Api) -> tuple[Request, str]:
    """The first request of a fetch (secret references unresolved) and the API it uses."""
    chosen = api if api != "auto" else ("v2" if provider.waba_id else "v1")
    host = provider.header("kaleyra-host") or ""
    sid = _path_segment(provider.header("sid") or "")
    if chosen == "v2":
        if not provider.waba_id:
            raise UsageError(
                f"provider '{provider.nickname}' has no waba_id, which Kaleyra's v2 API needs",
                "add waba_id (the WhatsApp Business Account id) to the provider, or use --api v1",
            )
        url = kaleyra.message_templates_url(host, sid, quote(provider.waba_id, safe=""))
    else:
        url = kaleyra.template_status_url(host, sid)
    request = Request(
        method="GET",
        url=url,
        headers=(("api-key", provider.header("api-key") or ""), ("Accept", "application/json")),
        body=b"",
        # Kaleyra's pages list Content-Type: application/json as a mandatory header, GET or not
        content_type="application/json",
        label=f"Kaleyra {chosen} templates, provider {provider.nickname}",
    )
    return request, chosen


def _path_segment(value: str) -> str:
    return value if parse_reference(value) is not None else quote(value, safe="")


def fetch_kaleyra(provider: WhatsAppProvider, api: Api, sender: Sender) -> Fetched:
    from kctl.send.resolve import resolve_request

    first, chosen = kaleyra_request(provider, api)
    resolved, masker = resolve_request(first)
    label = f"Kaleyra {chosen} {masker.mask_text(_without_query(resolved.url))}"
    read_page = _meta_page if chosen == "v2" else _v1_page
    templates = list(_pages(resolved, sender, masker, read_page))
    return Fetched(_unique(templates), label, masker)


# --- a file, stdin or a URL -------------------------------------------------------------------


def fetch_source(source: str, sender: Sender) -> Fetched:
    masker = Masker()
    scheme = urlsplit(source).scheme.lower()
    if scheme in ("http", "https"):
        from kctl.urls import is_loopback_host

        host = urlsplit(source).hostname or ""
        if scheme == "http" and not is_loopback_host(host):
            raise UsageError(
                f"--from {source}: http:// is for loopback only", "use the https:// URL"
            )
        request = Request(
            "GET", source, (("Accept", "application/json"),), b"", "", label="--from URL"
        )
        templates = list(_pages(request, sender, masker, _meta_page))
        return Fetched(_unique(templates), f"URL {_without_query(source)}", masker)
    if source == "-":
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        shown = "<stdin>"
    else:
        try:
            with open(source, "rb") as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
        except OSError as e:
            raise UsageError(f"cannot read {source}: {e.strerror or e}") from e
        shown = str(Path(source))
    if len(data) > MAX_FILE_BYTES:
        raise UsageError(f"{shown} is over {MAX_FILE_BYTES // 2**20} MiB; not a template list")
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise UsageError(f"{shown} is not JSON: {e}") from e
    try:
        templates, _ = _meta_page(doc)
    except MetaFormatError as e:
        raise UsageError(f"{shown}: {e}", "expected Meta's template format") from e
    return Fetched(_unique(templates), f"file {shown}", masker)


# --- pages ------------------------------------------------------------------------------------

PageReader = Callable[[Any], tuple[list[RemoteTemplate], str | None]]


def _pages(
    first: Request, sender: Sender, masker: Masker, read_page: PageReader
) -> Iterator[RemoteTemplate]:
    request = first
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        seen.add(request.url)
        response = sender(request)
        doc = _json_reply(response, request, masker)
        try:
            templates, next_url = read_page(doc)
        except MetaFormatError as e:
            raise ProviderFailed(
                masker.mask_text(f"{_where(request, masker)} answered in an unexpected shape: {e}"),
                "kctl reads Meta's template format; report the shape to the kctl maintainers",
            ) from e
        yield from templates
        if not next_url:
            return
        target = _same_origin(request.url, next_url, masker)
        if target in seen:
            raise ProviderFailed(
                f"{_where(request, masker)} sent a paging.next that was already fetched",
                "the remote's paging goes round in a circle",
            )
        request = Request(
            request.method,
            target,
            request.headers,
            request.body,
            request.content_type,
            label=request.label,
        )
    raise ProviderFailed(f"{_where(first, masker)}: more than {MAX_PAGES} pages of templates")


def _same_origin(current: str, next_url: str, masker: Masker) -> str:
    here, there = urlsplit(current), urlsplit(next_url)
    if not there.scheme and not there.netloc and next_url.startswith("/"):
        return f"{here.scheme}://{here.netloc}{next_url}"
    origin = (here.scheme.lower(), (here.hostname or "").lower(), here.port)
    other = (there.scheme.lower(), (there.hostname or "").lower(), there.port)
    if origin != other:
        raise ProviderFailed(
            masker.mask_text(
                f"paging.next points at another origin ({there.scheme}://{there.netloc}); "
                "not followed, as the api-key would go with it"
            )
        )
    return next_url


def _json_reply(response: Response, request: Request, masker: Masker) -> Any:
    where = _where(request, masker)
    if response.truncated:
        raise ProviderFailed(f"{where} answered with more than {MAX_REPLY_BYTES} bytes")
    text = response.body.decode("utf-8", "replace")
    if not 200 <= response.status < 300:
        detail = _error_detail(text, masker)
        message = f"{where} answered HTTP {response.status}" + (f": {detail}" if detail else "")
        error: KctlError
        if response.status in (401, 403):
            error = ProviderRejected(message, "check the provider's api-key and sid")
        elif response.status == 404:
            error = ProviderRejected(
                message, "check sid and waba_id; v2 needs a WABA onboarded on Kaleyra's API v2"
            )
        elif response.status < 500 and response.status != 429:
            error = ProviderRejected(message)
        else:
            error = ProviderFailed(message, "try again later")
        raise error
    try:
        return json.loads(response.body)
    except (ValueError, RecursionError) as e:
        raise ProviderFailed(
            f"{where} answered HTTP {response.status} with a body that is not JSON: "
            + _excerpt(masker.mask_text(text))
        ) from e


def _error_detail(text: str, masker: Masker) -> str:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return _excerpt(masker.mask_text(text))
    error = doc.get("error") if isinstance(doc, dict) else None
    if isinstance(error, dict):
        message = error.get("message") or json.dumps(error, ensure_ascii=False)
        return _excerpt(masker.mask_text(str(message)))
    return _excerpt(masker.mask_text(text))


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _QUOTED else flat[:_QUOTED] + "…"


def _where(request: Request, masker: Masker) -> str:
    return masker.mask_text(_without_query(request.url))


def _without_query(url: str) -> str:
    return url.split("?", 1)[0]


# --- page shapes ------------------------------------------------------------------------------


def _items(doc: Any, where: str) -> tuple[list[Any], str | None]:
    """The templates of a page and its ``paging.next``: ``{"data": [...]}``, a list, or one
    template."""
    if isinstance(doc, list):
        return doc, None
    if not isinstance(doc, dict):
        raise MetaFormatError(f"{where} must be an object or a list")
    if "data" not in doc:
        if "name" in doc:
            return [doc], None
        raise MetaFormatError(f"{where} has no 'data' list of templates")
    data = doc["data"]
    if isinstance(data, dict):  # one template, or v1 wrapping its list one level deeper
        data = data.get("templates", [data]) if "name" not in data else [data]
    if not isinstance(data, list):
        raise MetaFormatError(f"{where}.data must be a list")
    paging = doc.get("paging")
    next_url = paging.get("next") if isinstance(paging, dict) else None
    return data, next_url if isinstance(next_url, str) and next_url else None


def _meta_page(doc: Any) -> tuple[list[RemoteTemplate], str | None]:
    items, next_url = _items(doc, "reply")
    return [from_meta(item, f"data[{i}]") for i, item in enumerate(items)], next_url


def _v1_page(doc: Any) -> tuple[list[RemoteTemplate], str | None]:
    items, next_url = _items(doc, "reply")
    return [_v1_template(item, f"data[{i}]") for i, item in enumerate(items)], next_url


_V1_NAME_KEYS = ("name", "template_name")
_V1_LANGUAGE_KEYS = ("language", "lang_code", "languageCode", "lang")


def _v1_template(item: Any, where: str) -> RemoteTemplate:
    if not isinstance(item, dict):
        raise MetaFormatError(f"{where} must be an object")
    fields = dict(item)
    name = next((fields[k] for k in _V1_NAME_KEYS if isinstance(fields.get(k), str)), None)
    language = next((fields[k] for k in _V1_LANGUAGE_KEYS if fields.get(k)), None)
    if name is None:
        raise MetaFormatError(f"{where} has no template name")
    if language is None:
        raise MetaFormatError(f"{where} ({name}) has no language")
    fields["name"], fields["language"] = name, language
    has_content = isinstance(fields.get("components"), list)
    if not has_content:
        fields["components"] = [{"type": meta.BODY, "text": ""}]
    status = fields.get("status")
    if not isinstance(status, str) or not status.strip():
        raise MetaFormatError(f"{where} ({name}) has no status")
    remote = from_meta(fields, where)
    if has_content:
        return remote
    return RemoteTemplate(remote.template, remote.status, remote.id, (), has_content=False)


def _unique(templates: list[RemoteTemplate]) -> list[RemoteTemplate]:
    """One template per name and language; a later page wins (the newest answer)."""
    found: dict[tuple[str, str], RemoteTemplate] = {}
    for t in templates:
        found.pop(t.key, None)
        found[t.key] = t
    return list(found.values())
