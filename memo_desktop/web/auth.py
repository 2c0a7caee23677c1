"""Every request needs the token (DESIGN): the `?token=` of the dashboard link once (it sets an HttpOnly,
SameSite=Strict cookie and redirects to the same URL without it), then the cookie, or `Authorization: Bearer`.
Without it: 401 (JSON for `/api/*` and `/metrics`). State-changing requests are refused when they come from another
site (`Sec-Fetch-Site`, else `Origin`), so a page elsewhere cannot act with the user's cookie. Nothing is public:
`/openapi.json` needs the token too (it describes an API only a token holder can use).

A pure ASGI middleware (not Starlette's BaseHTTPMiddleware), so event streams pass through unbuffered.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable

from starlette.datastructures import URL
from starlette.requests import Request

from memo_desktop.core.http_token import HttpToken

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
SAME_SITE = {"same-origin", "none"}  # `none`: typed in the address bar, a bookmark

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


def cookie_name(port: int) -> str:
    """Cookies ignore ports: two servers on one host (the GUI's and `serve`) must not overwrite each other's."""
    return f"memo_desktop_token_{port}"


class TokenAuth:
    def __init__(self, app: ASGIApp, token: HttpToken, port: int) -> None:
        self.app = app
        self.token = token
        self.cookie = cookie_name(port)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        offered = request.query_params.get("token")
        if offered is not None and request.method == "GET":
            await (self._log_in(request, send) if self.token.matches(offered) else self._refuse(request, send))
            return
        if not self.token.matches(self._presented(request)):
            await self._refuse(request, send)
            return
        if request.method not in SAFE_METHODS and self._cross_site(request):
            await _send_json(send, 403, {"success": False, "error": "refused: this request came from another site"})
            return
        await self.app(scope, receive, send)

    def _presented(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            return header[7:].strip()
        return request.cookies.get(self.cookie)

    @staticmethod
    def _cross_site(request: Request) -> bool:
        fetch_site = request.headers.get("sec-fetch-site")
        if fetch_site is not None:
            return fetch_site not in SAME_SITE
        origin = request.headers.get("origin")
        if origin is None:
            return False  # not a browser (curl, a script holding the bearer token): no ambient credentials
        own = f"{request.url.scheme}://{request.headers.get('host', '')}"
        return origin != own

    async def _log_in(self, request: Request, send: Any) -> None:
        target = URL(str(request.url)).remove_query_params("token")
        cookie = f"{self.cookie}={self.token.value}; Path=/; HttpOnly; SameSite=Strict"
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", f"{target.path}{'?' + target.query if target.query else ''}".encode()),
                                (b"set-cookie", cookie.encode()), (b"cache-control", b"no-store"),
                                (b"referrer-policy", b"no-referrer"), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    async def _refuse(self, request: Request, send: Any) -> None:
        path = request.url.path
        if path.startswith("/api/") or path == "/metrics" or path == "/openapi.json":
            await _send_json(send, 401, {"success": False, "error": "a valid token is needed (cookie or "
                                                                    "'Authorization: Bearer TOKEN')"})
            return
        body = ("<!doctype html><meta charset=utf-8><title>memo-desktop: sign in</title>"
                "<p>This dashboard needs its token: open the link <code>memo-desktop serve</code> printed "
                "(<code>/queue?token=…</code>), or the menu item <em>Open web dashboard</em> of the app.").encode()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"text/html; charset=utf-8"),
                                (b"content-length", str(len(body)).encode()),
                                (b"www-authenticate", b"Bearer")]})
        await send({"type": "http.response.body", "body": body})


async def _send_json(send: Any, status: int, data: dict[str, Any]) -> None:
    body = json.dumps(data).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                + ([(b"www-authenticate", b"Bearer")] if status == 401 else [])})
    await send({"type": "http.response.body", "body": body})
