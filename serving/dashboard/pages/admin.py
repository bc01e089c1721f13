"""Admins' pages: accounts, API tokens (serving's, shown once) and the audit log with its CSV export."""
from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from serving import tokens
from serving.dashboard import accounts, audit, lists
from serving.dashboard.access import ROLES
from serving.dashboard.security import allowed, checked_form
from serving.dashboard.web import render, root

router = APIRouter()


def _users_page(request: Request, errors=None, form=None, status_code=200):
    return render(request, "admin_users.html", status_code, users=accounts.everyone(), ROLES=ROLES,
                  errors=errors or {}, form=form or {}, added=request.query_params.get("added"))


def _sentence(text) -> str:
    text = str(text)
    return text[:1].upper() + text[1:]


@router.get("/admin/users")
def users_page(request: Request, user=Depends(allowed("admin"))):
    return _users_page(request)


@router.post("/admin/users")
async def add_user(request: Request, user=Depends(allowed("admin"))):
    form = await checked_form(request)
    fields = {k: str(form.get(k, "")) for k in ("name", "role", "wards", "password")}
    try:
        added = accounts.add(fields["name"], fields["role"], fields["password"], fields["wards"].split(","),
                             lists.known_wards())
    except accounts.Invalid as exc:
        fields.pop("password")
        return _users_page(request, {exc.field: _sentence(exc)}, fields, 400)
    audit.record(user.name, user.role, "added user", detail=f"{added.name} ({added.role})")
    return RedirectResponse(f"{root(request)}/admin/users?added={added.name}", status_code=303)


def _user_page(request: Request, user, found: dict, errors=None, form=None, status_code=200):
    return render(request, "admin_user.html", status_code, person=found, ROLES=ROLES, errors=errors or {},
                  form=form or {"role": found["role"], "wards": ", ".join(found["wards"] or [])},
                  done=CHANGES.get(request.query_params.get("done"), (None, None))[1], is_self=found["id"] == user.id)


def _not_found(request: Request):
    return render(request, "message.html", 404, heading="User not found", paragraphs=["No account has that id."])


@router.get("/admin/users/{user_id}")
def user_page(user_id: int, request: Request, user=Depends(allowed("admin"))):
    found = accounts.one(user_id)
    return _user_page(request, user, found) if found else _not_found(request)


# What each change to an account is called on the page, in the audit log, and what it does
CHANGES = {"access": ("changed user access", "Role and wards changed"),
           "password": ("set user password", "New password set"),
           "disable": ("disabled user", "Account disabled")}


@router.post("/admin/users/{user_id}/{change}")
async def change_user(user_id: int, change: str, request: Request, user=Depends(allowed("admin"))):
    form = await checked_form(request)
    found = accounts.one(user_id)
    if found is None or change not in CHANGES | {"unlock": None}:
        return _not_found(request)
    fields = {k: str(form.get(k, "")) for k in ("role", "wards")}
    try:
        if change == "unlock":
            accounts.unlock(user_id)
            audit.record(user.name, user.role, "unlocked user", detail=found["name"])
            return RedirectResponse(f"{root(request)}/admin/users", status_code=303)
        if change == "access":
            accounts.change_access(user_id, fields["role"], fields["wards"].split(","), lists.known_wards())
        elif change == "password":
            accounts.set_password(user_id, str(form.get("password", "")))
        elif user_id == user.id:
            raise accounts.Invalid("disable", "you cannot disable your own account: ask another admin")
        else:
            accounts.disable(user_id)
    except accounts.Invalid as exc:
        return _user_page(request, user, found, {exc.field: _sentence(exc)}, fields if change == "access" else None,
                          400)
    what = CHANGES[change][0]
    detail = f"{found['name']}" + (f": {fields['role']}; wards {fields['wards']}" if change == "access" else "")
    audit.record(user.name, user.role, what, detail=detail)
    return RedirectResponse(f"{root(request)}/admin/users/{user_id}?done={change}", status_code=303)


def _tokens_page(request: Request, created=None, errors=None, status_code=200):
    return render(request, "admin_tokens.html", status_code, tokens=tokens.everyone(), ROLES=tokens.ROLES,
                  created=created,
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


@router.post("/admin/tokens/revoke")
async def revoke_token(request: Request, user=Depends(allowed("admin"))):
    form = await checked_form(request)
    name = str(form.get("name", ""))
    try:
        tokens.revoke(name)
    except ValueError as exc:
        return _tokens_page(request, errors={"name": _sentence(exc)}, status_code=400)
    audit.record(user.name, user.role, "revoked API token", detail=name)
    return RedirectResponse(f"{root(request)}/admin/tokens", status_code=303)


def _audit_filters(request: Request) -> tuple[dict, dict, dict]:
    """(filters, what was typed, errors): a date that is not one is said so, not silently dropped."""
    q = request.query_params
    typed = {k: q.get(k, "").strip() for k in ("who", "what", "household", "since", "until")}
    filters, errors = dict(typed), {}
    for key, label in (("since", "From"), ("until", "To")):
        try:
            filters[key] = dt.date.fromisoformat(typed[key]) if typed[key] else None
        except ValueError:
            filters[key] = None
            errors[key] = f"{label} must be a date like 2026-03-31"
    if filters["since"] and filters["until"] and filters["since"] > filters["until"]:
        errors["until"] = "To must be the same as or after From"
    return filters, typed, errors


@router.get("/admin/audit")
def audit_page(request: Request, user=Depends(allowed("admin"))):
    filters, typed, errors = _audit_filters(request)
    return render(request, "admin_audit.html", 400 if errors else 200, rows=[] if errors else audit.search(**filters),
                  filters=typed, errors=errors, kinds=audit.kinds(), query=request.url.query)


@router.get("/admin/audit.csv")
def audit_csv(request: Request, user=Depends(allowed("admin"))):
    filters, _, errors = _audit_filters(request)
    if errors:
        return Response("; ".join(errors.values()), status_code=400, media_type="text/plain")
    rows = audit.search(**filters, limit=None)
    audit.record(user.name, user.role, "exported audit log", purpose="Audit",
                 detail="; ".join(f"{k}={v}" for k, v in filters.items() if v) + f"; {len(rows)} rows")
    return Response(audit.as_csv(rows), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="upstream-audit.csv"'})
