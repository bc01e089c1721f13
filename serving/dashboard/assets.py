"""GOV.UK Frontend and MOJ Frontend as installed from npm (`make install` runs `npm ci` here), served by the
app itself. Their stylesheets point at /assets/…; served from a mount such as /ui they are rewritten to
point inside it, and to use Arial: the GDS Transport typeface is only for services on GOV.UK."""
from __future__ import annotations

import functools
import logging
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response

NODE_MODULES = Path(__file__).with_name("node_modules")
GOVUK = NODE_MODULES / "govuk-frontend" / "dist" / "govuk"
MOJ = NODE_MODULES / "@ministryofjustice" / "frontend" / "moj"
OWN = Path(__file__).with_name("static")
FILES = {"govuk-frontend.min.css": GOVUK, "govuk-frontend.min.js": GOVUK, "moj-frontend.min.css": MOJ,
         "moj-frontend.min.js": MOJ, "app.css": OWN, "app.js": OWN, "favicon.svg": OWN}
CACHE = {"Cache-Control": "public, max-age=3600"}
router = APIRouter()


def check() -> None:
    """Warn (never fail: the scoring API beside the dashboard must still start) when npm has not run."""
    if not (GOVUK / "govuk-frontend.min.css").exists() or not (MOJ / "moj-frontend.min.css").exists():
        logging.getLogger("upstream.dashboard").warning(
            "GOV.UK and MOJ Frontend are not installed in %s: run `make install` (npm ci in serving/dashboard); "
            "pages are served unstyled", NODE_MODULES)


@functools.lru_cache(maxsize=8)
def _stylesheet(path: Path, root: str) -> str:
    css = path.read_text()
    return css.replace("url(/assets/", f"url({root}/assets/").replace("GDS Transport,arial", "arial")


@router.get("/static/{name}", include_in_schema=False)
def static(name: str, request: Request):
    folder = FILES.get(name)
    if folder is None or not (folder / name).exists():
        raise HTTPException(404)
    if name.endswith(".css") and folder is not OWN:
        root = request.scope.get("root_path", "").rstrip("/")
        return Response(_stylesheet(folder / name, root), media_type="text/css", headers=CACHE)
    return FileResponse(folder / name, headers=CACHE)


@router.get("/assets/{kind}/{name}", include_in_schema=False)
def asset(kind: str, name: str):
    if kind not in ("fonts", "images") or "/" in name or name.startswith("."):
        raise HTTPException(404)
    for base in (GOVUK / "assets", MOJ / "assets"):
        if (base / kind / name).is_file():
            return FileResponse(base / kind / name, headers=CACHE)
    raise HTTPException(404)
