"""Signing in and out, and each role's start page."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from serving.dashboard import accounts, audit
from serving.dashboard.access import HOME
from serving.dashboard.security import checked_form, current_user, safe_next, signed_in, start_session
from serving.dashboard.web import render, root

router = APIRouter()


def _page(request: Request, errors=None, name="", next_path=None, status_code=200):
    return render(request, "sign_in.html", status_code, errors=errors or {}, name=name, next=next_path,
                  max_failures=accounts.MAX_FAILURES, lockout_minutes=int(accounts.LOCKOUT.total_seconds() // 60))


@router.get("/")
def start(request: Request):
    user = current_user(request)
    return RedirectResponse(f"{root(request)}{HOME[user.role] if user else '/sign-in'}", status_code=303)


@router.get("/sign-in")
def sign_in_page(request: Request):
    return _page(request, next_path=safe_next(request.query_params.get("next")))


@router.post("/sign-in")
async def sign_in(request: Request):
    form = await checked_form(request)
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    next_path = safe_next(str(form.get("next", "")))
    try:
        user = accounts.authenticate(name, password)
    except accounts.Refused as why:
        if str(why) != "unknown":  # failures against real accounts are audited; made-up names are noise
            audit.record(name, "-", "refused sign-in", detail=str(why))
        message = "Enter a correct user name and password (accounts lock after repeated failures)"
        return _page(request, {"name": message}, name, next_path, 400)
    start_session(request, user)
    audit.record(user.name, user.role, "signed in")
    return RedirectResponse(f"{root(request)}{next_path or HOME[user.role]}", status_code=303)


@router.post("/sign-out")
async def sign_out(request: Request, user=Depends(signed_in)):
    await checked_form(request)
    accounts.sign_out_everywhere(user.id)
    audit.record(user.name, user.role, "signed out")
    request.session.clear()
    return RedirectResponse(f"{root(request)}/sign-in", status_code=303)
