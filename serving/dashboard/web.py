"""Rendering pages: Jinja2 templates with what every page needs (the user, their navigation, the CSRF
token, links that work wherever the app is mounted)."""
from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates

from serving.dashboard import households, lists, uk_time
from serving.dashboard.access import NAVIGATION, ROLE_NAMES, may
from serving.dashboard.security import csrf_token, current_user

templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
templates.env.globals.update(TARGETS=lists.TARGETS, BANDS=lists.BANDS, BAND_COLOURS=lists.BAND_COLOURS,
                             ROLE_NAMES=ROLE_NAMES)
templates.env.filters["uk_time"] = uk_time.shown
templates.env.globals["synthetic"] = households.synthetic


def root(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")


def render(request: Request, template: str, status_code: int = 200, **context):
    user = current_user(request)
    navigation = [(label, path) for label, path, permission in NAVIGATION if user and may(user.role, permission)]
    context = {"user": user, "navigation": navigation, "csrf_token": csrf_token(request), "root": root(request),
               "path": request.url.path[len(root(request)):] or "/", **context}
    return templates.TemplateResponse(request, template, context, status_code=status_code)
