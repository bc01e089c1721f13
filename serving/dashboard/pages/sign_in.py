"""Signing in (a local account, or the council's identity provider through OIDC) and out, and each role's
start page."""
from __future__ import annotations

import logging

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException

from serving.dashboard import accounts, audit, single_sign_on
from serving.dashboard.access import HOME, landing
from serving.dashboard.security import checked_form, current_user, safe_next, signed_in, start_session
from serving.dashboard.web import render, root

router = APIRouter()
log = logging.getLogger(__name__)
SSO_NEXT = "sso_next"  # where the person was going, kept in the session across the provider's pages


def _page(request: Request, errors=None, name="", next_path=None, status_code=200):
    sso = getattr(request.app.state, "sso", None)
    return render(request, "sign_in.html", status_code, errors=errors or {}, name=name, next=next_path,
                  max_failures=accounts.MAX_FAILURES, lockout_minutes=int(accounts.LOCKOUT.total_seconds() // 60),
                  sso_name=sso.settings.provider_name if sso else None)


@router.get("/")
def start(request: Request):
    user = current_user(request)
    return RedirectResponse(f"{root(request)}{HOME[user.role] if user else '/sign-in'}", status_code=303)


@router.get("/sign-in")
def sign_in_page(request: Request):
    next_path = safe_next(request.query_params.get("next"))
    user = current_user(request)
    if user is not None:  # signed in already: where they were going, else their own start page
        return RedirectResponse(f"{root(request)}{landing(user.role, next_path)}", status_code=303)
    return _page(request, next_path=next_path)


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
    return RedirectResponse(f"{root(request)}{landing(user.role, next_path)}", status_code=303)


@router.post("/sign-out")
async def sign_out(request: Request, user=Depends(signed_in)):
    await checked_form(request)
    accounts.sign_out_everywhere(user.id)
    audit.record(user.name, user.role, "signed out")
    request.session.clear()
    return RedirectResponse(f"{root(request)}/sign-in", status_code=303)


def _sso(request: Request):
    sso = getattr(request.app.state, "sso", None)
    if sso is None:
        raise HTTPException(404)
    return sso


def _sso_refused(request: Request, reason: str, status_code: int = 403):
    return render(request, "sso_refused.html", status_code, reason=reason)


@router.get("/oidc/sign-in")
async def sso_start(request: Request):
    """To the provider's sign-in page, with a fresh state, nonce and PKCE verifier kept in the session."""
    sso = _sso(request)
    next_path = safe_next(request.query_params.get("next"))
    for key in [k for k in request.session if k.startswith("_state_")]:  # one sign-in in flight at a time
        request.session.pop(key)
    request.session[SSO_NEXT] = next_path or ""
    redirect_uri = sso.settings.redirect_uri or str(request.url_for("sso_callback"))
    try:
        return await sso.client.authorize_redirect(request, redirect_uri)
    except (httpx.HTTPError, ValueError, KeyError) as exc:  # discovery failed: the provider is down or misnamed
        log.warning("Single sign-on: the provider's discovery document could not be read (%s)", type(exc).__name__)
        return _sso_refused(request, "Your council's sign-in service cannot be reached just now. Try again in a few "
                                     "minutes; if it keeps happening, tell your administrator.", 503)


@router.get("/oidc/callback", name="sso_callback")
async def sso_callback(request: Request):
    """The provider's answer: state checked, the code exchanged (with the PKCE verifier), the ID token verified
    (signature against the provider's keys, issuer, audience, expiry, nonce), then the person's account."""
    from authlib.integrations.base_client import MismatchingStateError, OAuthError
    from joserfc.errors import JoseError

    sso = _sso(request)
    next_path = safe_next(request.session.pop(SSO_NEXT, None))
    try:
        token = await sso.client.authorize_access_token(request, claims_options=single_sign_on.claims_options(
            sso.settings))
    except MismatchingStateError:
        audit.record("-", "-", "refused sign-in", detail="single sign-on: state did not match a sign-in started here")
        return _sso_refused(request, "This sign-in was not started from this browser, or it has already been used. "
                                     "Start again from the sign-in page.", 400)
    except OAuthError as exc:  # the provider refused (the person cancelled, say) or the code exchange failed
        audit.record("-", "-", "refused sign-in", detail=f"single sign-on: the provider answered {exc.error}")
        return _sso_refused(request, "Your council's sign-in service did not sign you in. Start again from the "
                                     "sign-in page.", 400)
    except JoseError as exc:  # the ID token's signature, issuer, audience, expiry or nonce is wrong
        audit.record("-", "-", "refused sign-in",
                     detail=f"single sign-on: ID token refused ({exc.error}: {exc.description})")
        return _sso_refused(request, "The answer from your council's sign-in service could not be verified, so "
                                     "you have not been signed in. Tell your administrator if this keeps happening.")
    except httpx.HTTPError as exc:
        log.warning("Single sign-on: the provider could not be reached (%s)", type(exc).__name__)
        return _sso_refused(request, "Your council's sign-in service cannot be reached just now. Try again in a few "
                                     "minutes.", 503)
    claims = token.get("userinfo")
    if not claims:  # no ID token: nothing verified says who this is
        audit.record("-", "-", "refused sign-in", detail="single sign-on: the provider sent no ID token")
        return _sso_refused(request, "Your council's sign-in service did not say who you are, so you have not been "
                                     "signed in. Tell your administrator.")
    try:
        person = single_sign_on.identity(dict(claims), sso.settings)
        user = accounts.from_single_sign_on(sso.settings.issuer, person.subject, person.name, person.role,
                                            person.wards)
    except single_sign_on.Refused as why:
        audit.record(str(claims.get(sso.settings.name_claim) or claims["sub"]), "-", "refused sign-in",
                     detail=f"single sign-on: {why}")
        return _sso_refused(request, str(why))
    except accounts.Disabled as why:
        audit.record(person.name, "-", "refused sign-in", detail=f"single sign-on: {why}")
        return _sso_refused(request, "Your Upstream account has been disabled, so you have not been signed in. "
                                     "Ask your administrator if you still need it.")
    except ValueError as why:  # the name belongs to another account
        audit.record(person.name, "-", "refused sign-in", detail=f"single sign-on: {why}")
        return _sso_refused(request, f"Your council account's user name ({person.name}) is already used by another "
                                     "Upstream account, so you have not been signed in. Ask your administrator.")
    start_session(request, user)
    audit.record(user.name, user.role, "signed in", detail="single sign-on")
    return RedirectResponse(f"{root(request)}{landing(user.role, next_path)}", status_code=303)
