"""The dashboard as one ASGI app: mounted into the BentoML service at /ui (serving/service.py), or run on
its own with `uvicorn serving.dashboard.app:app` (the same pages, without the scoring API beside it)."""
from __future__ import annotations

import urllib.parse
from types import SimpleNamespace

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware

from serving.dashboard import assets, single_sign_on
from serving.dashboard.pages import admin, caseworker, governance, sign_in
from serving.dashboard.security import (
    SESSION_COOKIE, SESSION_HOURS, CsrfRejected, Forbidden, SignInRequired, secure_cookies, session_secret)
from serving.dashboard.web import render, root
from serving.database import DatabaseUnavailable

POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-src 'self'; "
          "frame-ancestors 'self'; form-action 'self'; base-uri 'none'; object-src 'none'")


class SecurityHeaders:
    """Headers for every answer: a strict content policy, no sniffing, no caching of pages about people."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {k.lower() for k, _ in headers}
                extra = {b"content-security-policy": POLICY.encode(), b"x-content-type-options": b"nosniff",
                         b"referrer-policy": b"same-origin", b"x-frame-options": b"SAMEORIGIN",
                         b"cache-control": b"no-store"}
                headers.extend((k, v) for k, v in extra.items() if k not in present)
            await send(message)
        await self.app(scope, receive, with_headers)


class Sessions:
    """Starlette's signed-cookie sessions, built on the first request: the secret comes from $UPSTREAM_HOME,
    which importing the app (as serving/service.py does) must not touch."""

    def __init__(self, app):
        self.app, self.sessions = app, None

    async def __call__(self, scope, receive, send):
        if self.sessions is None:
            self.sessions = SessionMiddleware(self.app, secret_key=session_secret(), session_cookie=SESSION_COOKIE,
                                              max_age=int(SESSION_HOURS * 3600), same_site="lax",
                                              https_only=secure_cookies())
        await self.sessions(scope, receive, send)


def _message(request: Request, status: int, heading: str, *paragraphs: str):
    return render(request, "message.html", status, heading=heading, paragraphs=list(paragraphs))


def create_app() -> FastAPI:
    assets.check()
    app = FastAPI(title="Upstream dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    sso = single_sign_on.settings()  # None unless $UPSTREAM_OIDC_ISSUER is set
    app.state.sso = SimpleNamespace(settings=sso, client=single_sign_on.client(sso)) if sso else None
    for router in (sign_in.router, caseworker.router, governance.router, admin.router, assets.router):
        app.include_router(router)
    # Last, so it answers only what no page did: BentoML hands the mount only paths one of its routes matches,
    # and without this an unknown address would get BentoML's bare "Not Found" instead of the service's page
    @app.api_route("/{anything:path}", methods=["GET", "HEAD", "POST"], include_in_schema=False)
    async def _unknown(anything: str):
        raise HTTPException(404)

    app.add_middleware(Sessions)
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _):
        here = request.url.path[len(root(request)):] + (f"?{request.url.query}" if request.url.query else "")
        nxt = urllib.parse.quote(here) if request.method == "GET" else ""
        return RedirectResponse(f"{root(request)}/sign-in" + (f"?next={nxt}" if nxt else ""), status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, _):
        return _message(request, 403, "You do not have access to this page",
                        "Your role does not include this page or this household. Ask your team manager if you need it.")

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, _):
        return _message(request, 403, "This form has expired",
                        "Go back, reload the page and try again. Nothing was saved.")

    @app.exception_handler(DatabaseUnavailable)
    async def _database(request: Request, exc: DatabaseUnavailable):
        return _message(request, 503, "Sorry, there is a problem with the service", str(exc))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        if exc.status_code == 404:
            return _message(request, 404, "Page not found", "Check the address, or go to your start page.")
        return _message(request, exc.status_code, "Sorry, that did not work", str(exc.detail))

    return app


app = create_app()
