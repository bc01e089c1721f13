"""Admins' pages: accounts, API tokens (serving's, shown once) and the audit log with its CSV export."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from serving import tokens
from serving.dashboard import accounts, audit
from serving.dashboard.access import ROLES
from serving.dashboard.security import allowed, checked_form
from serving.dashboard.store import available, engine
from serving.dashboard.web import render, root

router = APIRouter()


def _users_page(request: Request, errors=None, form=None, status_code=200):
    return render(request, "admin_users.html", status_code, users=accounts.everyone(), ROLES=ROLES,
                  errors=errors or {}, form=form or {}, added=request.query_params.get("added"))


@router.get("/admin/users")
def users_page(request: Request, user=Depends(allowed("admin"))):
    return _users_page(request)


@router.post("/admin/users")
async def add_user(request: Request, user=Depends(allowed("admin"))):
    form = await checked_form(request)
    fields = {k: str(form.get(k, "")) for k in ("name", "role", "wards", "password")}
    try:
        added = accounts.add(fields["name"], fields["role"], fields["password"],
                             [w for w in fields["wards"].split(",")])
    except ValueError as exc:
        fields.pop("password")
        return _users_page(request, {"name": str(exc)[0].upper() + str(exc)[1:]}, fields, 400)
    audit.record(user.name, user.role, "added user", detail=f"{added.name} ({added.role})")
    return RedirectResponse(f"{root(request)}/admin/users?added={added.name}", status_code=303)


@router.post("/admin/users/{user_id}/unlock")
async def unlock(user_id: int, request: Request, user=Depends(allowed("admin"))):
    await checked_form(request)
    accounts.unlock(user_id)
    audit.record(user.name, user.role, "unlocked user", detail=f"user id {user_id}")
    return RedirectResponse(f"{root(request)}/admin/users", status_code=303)


def _tokens_page(request: Request, created=None, errors=None, status_code=200):
    with available(), engine().connect() as db:
        rows = db.execute(sa.select(tokens.api_tokens.c.name, tokens.api_tokens.c.role, tokens.api_tokens.c.created_at)
                          .order_by(tokens.api_tokens.c.id.desc())).mappings().all()
    return render(request, "admin_tokens.html", status_code, tokens=rows, ROLES=tokens.ROLES, created=created,
                  errors=errors or {})


@router.get("/admin/tokens")
def tokens_page(request: Request, user=Depends(allowed("admin"))):
    return _tokens_page(request)


@router.post("/admin/tokens")
async def create_token(request: Request, user=Depends(allowed("admin"))):
    form = await checked_form(request)
    try:
        token = tokens.create(str(form.get("name", "")), str(form.get("role", "")))
    except ValueError as exc:
        return _tokens_page(request, errors={"name": str(exc)[0].upper() + str(exc)[1:]}, status_code=400)
    audit.record(user.name, user.role, "created API token", detail=f"{form.get('name')} ({form.get('role')})")
    response = _tokens_page(request, created=token)
    response.headers["Cache-Control"] = "no-store"
    return response


def _audit_filters(request: Request) -> dict:
    q = request.query_params

    def day(text: str):
        try:
            return dt.date.fromisoformat(text) if text else None
        except ValueError:
            return None
    return {"who": q.get("who", "").strip(), "what": q.get("what", "").strip(),
            "household": q.get("household", "").strip(), "since": day(q.get("since", "")),
            "until": day(q.get("until", ""))}


@router.get("/admin/audit")
def audit_page(request: Request, user=Depends(allowed("admin"))):
    filters = _audit_filters(request)
    return render(request, "admin_audit.html", rows=audit.search(**filters), filters=filters, kinds=audit.kinds(),
                  query=request.url.query)


@router.get("/admin/audit.csv")
def audit_csv(request: Request, user=Depends(allowed("admin"))):
    filters = _audit_filters(request)
    rows = audit.search(**filters, limit=None)
    audit.record(user.name, user.role, "exported audit log", purpose="Audit",
                 detail="; ".join(f"{k}={v}" for k, v in filters.items() if v) + f"; {len(rows)} rows")
    return Response(audit.as_csv(rows), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="upstream-audit.csv"'})
