"""Kaleyra's template APIs, as the sandbox serves them from its approved set (SPEC 4.8).

* ``GET /v1/{sid}/whatsapp/templates/status[?name=NAME]``: every template of the SID with its
  status in Kaleyra's words ("Approved", "Paused", "Submission Rejected"), its creation time and
  its content as Meta components.
* ``GET /v2/{sid}/whatsapp/{waba-id}/message_templates[?limit=&after=&before=]``: Meta's
  format in pages of 25 by default, ``paging.next`` while more follow.

Kaleyra's pages show the routes and the ``api-key`` header but not the replies; these replies
are kctl's reading of them (Meta's list format for v2, the fields the v1 page names for v1),
and ``kctl.templates.remote`` reads exactly what is served here.

The approved set is a ``TemplateStore``: templates with their status, changed from any thread
while the server runs (a test pauses one, edits a body, adds another). The sandbox's WhatsApp
route can read the same store to refuse a PAUSED or DISABLED template, as Kaleyra does.
``Sandbox`` hands these paths to ``Sandbox.templates_api`` when one is set.
"""

from __future__ import annotations

import hmac
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import assert_never

from kctl.config.model import Provider, SmsProvider, WhatsAppProvider, WhatsAppTemplate
from kctl.contract import kaleyra, meta
from kctl.errors import UsageError
from kctl.servers.http import App, HttpRequest, HttpResponse
from kctl.templates.export import PagingError, page_document, page_of, page_request
from kctl.templates.meta import stable_id, template_key, to_meta

_HOST = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


@dataclass(frozen=True, slots=True)
class Entry:
    template: WhatsAppTemplate
    status: str
    created_at: str


class TemplateStore:
    """Templates and their statuses, one per name and language, in the order they were put."""

    def __init__(self, templates: Iterable[tuple[WhatsAppTemplate, str]] = ()) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], Entry] = {}
        for template, status in templates:
            self.put(template, status)

    def put(self, template: WhatsAppTemplate, status: str = meta.APPROVED) -> None:
        """Add ``template``, or replace the one of the same name and language (keeping its
        place in the list)."""
        status = _checked_status(status)
        key = template_key(template)
        with self._lock:
            old = self._entries.get(key)
            created = old.created_at if old else time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
            self._entries[key] = Entry(template, status, created)

    def set_status(self, name: str, language: str, status: str) -> None:
        status = _checked_status(status)
        with self._lock:
            entry = self._entries.get((name, language))
            if entry is None:
                raise UsageError(f"the sandbox has no template {name} ({language})")
            self._entries[(name, language)] = Entry(entry.template, status, entry.created_at)

    def remove(self, name: str, language: str) -> None:
        with self._lock:
            self._entries.pop((name, language), None)

    def find(self, name: str, language: str) -> Entry | None:
        with self._lock:
            return self._entries.get((name, language))

    def status_of(self, name: str, language: str) -> str | None:
        entry = self.find(name, language)
        return entry.status if entry is not None else None

    def entries(self) -> list[Entry]:
        with self._lock:
            return list(self._entries.values())


def _checked_status(status: str) -> str:
    name = meta.status_name(status)
    if name not in meta.STATUSES:
        raise UsageError(
            f"unknown template status {status!r}", "one of " + ", ".join(meta.STATUSES)
        )
    return name


class TemplatesApi(App):
    """Answers Kaleyra's two template routes from a ``TemplateStore``.

    ``api_key``, ``sid`` and ``waba_id``, when given, must match (any non-empty api-key passes
    otherwise, as in the sandbox's other routes)."""

    def __init__(
        self,
        templates: TemplateStore | Iterable[tuple[WhatsAppTemplate, str]] = (),
        *,
        api_key: str | None = None,
        sid: str | None = None,
        waba_id: str | None = None,
        page_size: int = meta.DEFAULT_PAGE_SIZE,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.store = templates if isinstance(templates, TemplateStore) else TemplateStore(templates)
        self.api_key = api_key or None
        self.sid = sid or None
        self.waba_id = waba_id or None
        self.page_size = page_size
        self._log = log or (lambda _line: None)

    @staticmethod
    def serves(path: str) -> bool:
        return kaleyra.is_template_api_path(path)

    async def handle(self, request: HttpRequest) -> HttpResponse:
        response = self._answer(request)
        self._log(f"{request.method} {request.path} {response.status}")
        return response

    def _answer(self, request: HttpRequest) -> HttpResponse:
        v1 = kaleyra.TEMPLATE_STATUS_PATH.fullmatch(request.path)
        v2 = kaleyra.MESSAGE_TEMPLATES_PATH.fullmatch(request.path)
        match = v1 or v2
        if match is None:
            return _error(404, "E404", f"no route {request.path}")
        if request.method not in ("GET", "HEAD"):
            return _error(405, "E405", "use GET", (("Allow", "GET, HEAD"),))
        key = request.header("api-key")
        if not key:
            return _error(401, "E401", "missing api-key header")
        if self.api_key is not None and not hmac.compare_digest(
            key.encode(), self.api_key.encode()
        ):
            return _error(401, "E401", "invalid api-key")
        if self.sid is not None and match.group(1) != self.sid:
            return _error(401, "E401", "the api-key does not belong to this SID")
        if v2 is not None:
            if self.waba_id is not None and v2.group(2) != self.waba_id:
                return _error(
                    404, "E404", "no WABA with this id is onboarded on API v2 for the SID"
                )
            return self._v2(request)
        return self._v1(request)

    def _v1(self, request: HttpRequest) -> HttpResponse:
        from urllib.parse import parse_qs

        wanted = parse_qs(request.query).get("name", [None])[-1]
        data = []
        for entry in self.store.entries():
            t = entry.template
            if wanted is not None and t.name != wanted:
                continue
            item = to_meta(t, status=entry.status, template_id=stable_id(t), samples=False)
            item["status"] = kaleyra.V1_STATUS_WORDS.get(entry.status, entry.status.title())
            item["created_at"] = entry.created_at
            data.append(item)
        return HttpResponse.json(200, {"data": data})

    def _v2(self, request: HttpRequest) -> HttpResponse:
        try:
            wanted = page_request(request.query, default_limit=self.page_size)
        except PagingError as e:
            return _error(400, "E400", str(e))
        entries = [
            (
                template_key(e.template),
                to_meta(
                    e.template, status=e.status, template_id=stable_id(e.template), samples=False
                ),
            )
            for e in self.store.entries()
        ]
        try:
            page = page_of(entries, wanted)
        except PagingError as e:
            return _error(400, "E400", str(e))
        host = request.header("host") or ""
        base = f"http://{host if _HOST.fullmatch(host) else '127.0.0.1'}{request.path}"
        return HttpResponse.json(200, page_document(page, base, wanted))


def _error(
    status: int, code: str, message: str, headers: tuple[tuple[str, str], ...] = ()
) -> HttpResponse:
    return HttpResponse.json(status, {"error": {"code": code, "message": message}}, headers)


def store_for(providers: Iterable[Provider], statuses: Iterable[str] = ()) -> TemplateStore:
    """The WhatsApp providers' templates, APPROVED unless ``statuses`` (``NAME[:LANG]=STATUS``,
    as ``kctl sandbox --template-status`` takes them) say otherwise."""
    from kctl.servers.whatsapp_adapter import parse_template_status

    marks = [parse_template_status(item) for item in statuses]
    store = TemplateStore()
    for provider in providers:
        match provider:
            case WhatsAppProvider():
                templates = provider.templates
            case SmsProvider():
                continue  # SMS templates live with DLT, not in Kaleyra's WhatsApp APIs
            case _:
                assert_never(provider)
        for template in templates:
            status = meta.APPROVED
            for name, language, marked in marks:
                if name == template.name and language in (None, template.language):
                    status = marked
            store.put(template, status)
    return store
