"""``kctl templates serve``: the config's templates as the vendor endpoint CleverTap imports
from (SPEC 4.9): ``GET URL?limit=N[&after=CURSOR]`` answered with ``{"data", "paging"}``.

Any path answers, so the URL handed to CleverTap (often through a tunnel) needs no particular
one. Without configured auth every request is served; with it, a request must carry the basic
credentials or the token, compared in constant time, or gets 401. Credentials are never logged.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from kctl.servers.http import App, HttpRequest, HttpResponse
from kctl.templates.export import Key, PagingError, page_document, page_of, page_request


@dataclass(frozen=True, slots=True)
class ImportAuth:
    kind: Literal["basic", "token"]
    secret: str  # the password, or the token
    username: str = ""
    header: str = "Authorization"  # token only: a custom header carries the token bare

    def accepts(self, request: HttpRequest) -> bool:
        given = request.header(self.header if self.kind == "token" else "Authorization") or ""
        if self.kind == "basic":
            scheme, _, encoded = given.partition(" ")
            if scheme.lower() != "basic":
                return False
            try:
                user, sep, password = (
                    base64.b64decode(encoded, validate=True).decode().partition(":")
                )
            except (binascii.Error, UnicodeDecodeError):
                return False
            return bool(sep) & _same(user, self.username) & _same(password, self.secret)
        if self.header.lower() == "authorization":
            scheme, _, given = given.partition(" ")
            if scheme.lower() != "bearer":
                return False
        return _same(given.strip(), self.secret)

    @property
    def challenge(self) -> str:
        return 'Basic realm="kctl templates"' if self.kind == "basic" else 'Bearer realm="kctl"'


def _same(given: str, wanted: str) -> bool:
    return hmac.compare_digest(given.encode(), wanted.encode())


class ImportEndpoint(App):
    def __init__(
        self,
        entries: Sequence[tuple[Key, dict[str, Any]]],
        *,
        auth: ImportAuth | None = None,
        public_url: str | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.entries = list(entries)
        self.auth = auth
        self.public_url = public_url.rstrip("/") if public_url else None
        self._log = log or (lambda _line: None)
        self.served = 0  # requests answered with a page

    async def handle(self, request: HttpRequest) -> HttpResponse:
        response, summary = self._answer(request)
        # the target, never the headers: they carry the credentials
        self._log(f"{request.method} {request.target[:200]} {response.status} {summary}")
        return response

    def _answer(self, request: HttpRequest) -> tuple[HttpResponse, str]:
        if request.method not in ("GET", "HEAD"):
            return _error(405, "use GET", (("Allow", "GET, HEAD"),)), "method not allowed"
        if self.auth is not None and not self.auth.accepts(request):
            headers = (("WWW-Authenticate", self.auth.challenge),)
            return _error(401, "missing or wrong credentials", headers), "unauthorised"
        try:
            wanted = page_request(request.query)
            page = page_of(self.entries, wanted)
        except PagingError as e:
            return _error(400, str(e)), str(e)
        base = self.public_url or self._own_url(request)
        self.served += 1
        summary = f"{len(page.items)} of {page.total} templates"
        return HttpResponse.json(200, page_document(page, base, wanted)), summary

    def _own_url(self, request: HttpRequest) -> str:
        server = self._server
        origin = server.url if server is not None else "http://127.0.0.1"
        return origin + request.path


def _error(status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> HttpResponse:
    # Graph API's error shape, which CleverTap's importer was built against
    return HttpResponse.json(status, {"error": {"message": message, "code": status}}, headers)
