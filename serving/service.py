"""The BentoML service: `bentoml serve serving.service:Upstream` (what `upstream serve` runs).

On start it selects what to serve (registry.select: approved champions, else the cache), loads the latest
feature build and ranks the latest month; with nothing approved to serve it refuses to start, saying why.
A background thread follows the registry every $UPSTREAM_REFRESH_SECONDS (default 60). The API is a
FastAPI app mounted at `/`; the dashboard will be mounted beside it (e.g. at `/ui`) the same way.
BentoML adds /healthz, /livez, /readyz and /metrics; /readyz here also says "ready" or "degraded".
"""
from __future__ import annotations

import functools
import gc
import json
import logging
import os
import threading

import anyio
import bentoml

from serving import registry
from serving.api import app as api
from serving.api_use import api_use
from serving.dashboard.app import app as dashboard_app
from serving.startup import start

log = logging.getLogger("upstream.serving")
REFRESH_SECONDS = float(os.environ.get("UPSTREAM_REFRESH_SECONDS", "60"))


class Readiness:
    """ASGI middleware answering /readyz: 200 with "ready" or "degraded" (and why); 503 while nothing is served
    or the application database cannot answer (every scoring request would fail on its token)."""

    def __init__(self, app, scoring=lambda: getattr(api.state, "scoring", None)):
        self.app, self.scoring = app, scoring

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/readyz" or scope["method"] not in ("GET", "HEAD"):
            return await self.app(scope, receive, send)
        scoring = self.scoring()
        if scoring is None or not scoring.selection.models:
            status, body = 503, {"status": "not ready", "problems": ["no approved model is loaded"]}
        elif problem := await anyio.to_thread.run_sync(_database_problem):  # a connect may take seconds
            status, body = 503, {"status": "not ready", "problems": [problem]}
        else:
            selection = scoring.selection
            body = {"status": "degraded" if selection.degraded else "ready", "problems": selection.problems,
                    "models": {t: {"version": s.version, "source": s.source} for t, s in selection.models.items()}}
            status = 200
        payload = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


def _database_problem() -> str | None:
    """Why the application database cannot answer (tokens, audit and lists live there), or None."""
    import sqlalchemy as sa

    from serving.database import DatabaseUnavailable, available, engine

    try:
        with available(), engine().connect() as db:
            db.execute(sa.text("SELECT 1"))
    except DatabaseUnavailable as exc:
        return str(exc)
    return None


# BentoML's endpoints, described here: its own document also listed the dashboard's HTML pages and its project's
# badges and contact, and /metrics even when it is off
HEALTH = {
    "/healthz": ("The process is alive (BentoML's)", {"200": {"description": "Alive"}}),
    "/livez": ("The process is alive (BentoML's)", {"200": {"description": "Alive"}}),
    "/readyz": ("Whether a model is served: ready, or degraded with the problems", {
        "200": {"description": '{"status": "ready" or "degraded", "problems": [...], "models": {...}}'},
        "503": {"description": "No approved model is loaded yet, or the application database cannot answer"}}),
    "/metrics": ("Prometheus metrics (only when UPSTREAM_METRICS=1)", {"200": {"description": "Metrics"}}),
}


def api_document(metrics: bool) -> dict:
    """The OpenAPI document served at /docs.json: the API's routes and the health endpoints."""
    spec = api.openapi()
    paths = {path: {"get": {"summary": summary, "tags": ["Health"], "responses": responses}}
             for path, (summary, responses) in HEALTH.items() if metrics or path != "/metrics"}
    return {**spec, "paths": {**spec["paths"], **paths}}


METRICS = os.environ.get("UPSTREAM_METRICS") == "1"
MAX_BODY = int(os.environ.get("UPSTREAM_MAX_BODY_BYTES", str(2 << 20)))  # 1,000 households by values is ~0.6 MB


class Guard:
    """ASGI middleware for what BentoML serves of its own: its index page (Swagger UI, which loads a
    third-party tag manager script on the dashboard's origin) and its assets are not served, `/` leads to
    the dashboard; a body declared larger than MAX_BODY is refused before it is read; and every answer
    of the API is marked for no cache (scores are tied to UPRNs) and as the type it says it is. /docs.json is
    the API's own document (api_document), not BentoML's."""
    KEPT_OUT = [(b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            path = scope["path"]
            if path == "/" and scope["method"] in ("GET", "HEAD"):
                return await self._answer(send, 303, b"", [(b"location", b"/ui/")])
            if path.startswith(("/static_content", "/assets")):
                return await self._answer(send, 404, b'{"detail": "Not Found"}')
            if path == "/docs.json" and scope["method"] in ("GET", "HEAD"):
                return await self._answer(send, 200, self.document())
            declared = dict(scope["headers"]).get(b"content-length")
            if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
                said = f"the body is larger than {MAX_BODY:,} bytes: send fewer households a request"
                return await self._answer(send, 413, json.dumps({"detail": said}).encode())
            if path.startswith("/ui"):  # the dashboard sets its own (its pages not kept, its assets cached)
                return await self.app(scope, receive, send)

            async def marked(message):
                if message["type"] == "http.response.start":
                    given = {name.lower() for name, _ in message.get("headers", [])}
                    message["headers"] = [*message.get("headers", []),
                                          *((k, v) for k, v in self.KEPT_OUT if k not in given)]
                await send(message)
            return await self.app(scope, receive, marked)
        return await self.app(scope, receive, send)

    @staticmethod
    @functools.cache
    def document() -> bytes:
        return json.dumps(api_document(metrics=METRICS)).encode()

    @staticmethod
    async def _answer(send, status: int, body: bytes, headers: list | None = None):
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            *Guard.KEPT_OUT, *(headers or [])]})
        await send({"type": "http.response.body", "body": body})


# Per request, an access-log line and OpenTelemetry's spans cost about as much as scoring a household: off
# unless asked for (UPSTREAM_ACCESS_LOG=1; UPSTREAM_TRACING=1 with a tracing exporter in BentoML's configuration).
# /metrics too (UPSTREAM_METRICS=1): it answers anyone, and labels its series with every path asked for, the
# dashboard's household pages included, so it belongs on a monitoring network only.
@bentoml.service(name="upstream", traffic={"timeout": 120}, workers=int(os.environ.get("UPSTREAM_WORKERS", "1")),
                 logging={"access": {"enabled": os.environ.get("UPSTREAM_ACCESS_LOG") == "1"}},
                 metrics={"enabled": METRICS},
                 tracing={"excluded_urls": "" if os.environ.get("UPSTREAM_TRACING") == "1" else "."})
@bentoml.asgi_app(api, path="/")
@bentoml.asgi_app(dashboard_app, path="/ui")  # the dashboard; mounted first, so "/" does not shadow it
class Upstream:
    """Risk scores, reasons and explanations from the ethics board's approved models."""

    def __init__(self):
        self.scoring = start()
        api.state.scoring = self.scoring
        gc.collect()
        gc.freeze()  # start-up's millions of objects out of the collector's way: no long pauses under load
        self._stop = threading.Event()
        threading.Thread(target=self._follow_registry, name="registry-refresh", daemon=True).start()
        log.warning("Serving %s", ", ".join(f"{s.name} version {s.version} ({s.source})"
                                            for s in self.scoring.selection.models.values()))

    def __is_ready__(self) -> bool:
        return bool(self.scoring.selection.models)

    def _follow_registry(self):
        while not self._stop.wait(REFRESH_SECONDS):
            try:
                self.scoring.replace_selection(registry.select(self.scoring.selection.models))
            except Exception:  # never let a refresh take the service down: keep serving what is loaded
                log.exception("Refreshing the served versions failed; still serving the loaded ones")

    @bentoml.on_shutdown
    def _shutdown(self):
        self._stop.set()
        api_use.write_remaining()  # a restart must not lose the last minute's audit of scoring


Upstream.add_asgi_middleware(Readiness)
Upstream.add_asgi_middleware(Guard)
