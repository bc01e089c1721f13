"""A small but protocol-complete OpenID Connect provider for the single sign-on tests, run as its own process
on the loopback interface (no cloud identity provider is reachable from a test).

It serves discovery, a JWKS, an authorization endpoint (a sign-in page where a person types a user name) and
a token endpoint, and signs RS256 ID tokens. It enforces what a real provider does: a registered client and
redirect URI (any port on the loopback address, as RFC 8252 allows), `response_type=code`, the `openid`
scope, PKCE with S256, client authentication (basic or post), codes used once, within a minute, with the
redirect URI they were issued for. Each user in the users file has the claims their ID token carries and,
for the tests of refusals, a `token` fault: `tampered` (payload edited after signing), `wrong-audience`,
`expired`, `wrong-issuer`, `wrong-nonce` or `unknown-key` (signed by a key the JWKS does not hold).

    python -m tests.dashboard.oidc_provider --port PORT --users users.json
    users.json: {"client_id": ..., "client_secret": ..., "users": {"NAME": {"claims": {...}, "token": "good"}}}
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import secrets
import time
import urllib.parse

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.routing import Route

FAULTS = ("good", "tampered", "wrong-audience", "expired", "wrong-issuer", "wrong-nonce", "unknown-key")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _loopback_match(registered: str, asked: str) -> bool:
    a, b = urllib.parse.urlsplit(registered), urllib.parse.urlsplit(asked)
    if a.hostname in ("127.0.0.1", "localhost") and a.scheme == "http":  # RFC 8252 §7.3: any port on loopback
        return (a.scheme, a.hostname, a.path) == (b.scheme, b.hostname, b.path) and not b.query
    return registered == asked


def create_app(issuer: str, config: dict) -> Starlette:
    key = RSAKey.generate_key(2048, parameters={"kid": "upstream-test-1", "use": "sig", "alg": "RS256"})
    stranger = RSAKey.generate_key(2048, parameters={"kid": "upstream-test-1", "use": "sig", "alg": "RS256"})
    client_id, client_secret = config["client_id"], config["client_secret"]
    redirect_uris, users = config["redirect_uris"], config["users"]
    codes: dict[str, dict] = {}
    seen: list[dict] = []  # every authorization request, for the tests to read (/test/requests)

    def error_page(message: str, status: int = 400):
        return HTMLResponse(f"<!DOCTYPE html><html lang='en'><title>Error</title><h1>{html.escape(message)}</h1>",
                            status)

    async def discovery(request: Request):
        return JSONResponse({
            "issuer": issuer, "authorization_endpoint": f"{issuer}/authorize", "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks", "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"], "scopes_supported": ["openid", "profile", "email"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"], "grant_types_supported": ["authorization_code"]})

    async def jwks(request: Request):
        return JSONResponse(KeySet([key]).as_dict(private=False))

    async def authorize(request: Request):
        q = dict(request.query_params) if request.method == "GET" else dict(await request.form())
        seen.append({k: v for k, v in q.items() if k != "user"})
        if q.get("client_id") != client_id:
            return error_page("Unknown client")
        if not any(_loopback_match(r, q.get("redirect_uri", "")) for r in redirect_uris):
            return error_page("The redirect URI is not registered for this client")
        back = q["redirect_uri"]
        if q.get("response_type") != "code" or "openid" not in q.get("scope", "").split():
            return RedirectResponse(f"{back}?error=invalid_request&state={q.get('state', '')}", 302)
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge") or not q.get("state"):
            return RedirectResponse(f"{back}?error=invalid_request&error_description=PKCE+S256+and+state+required"
                                    f"&state={q.get('state', '')}", 302)
        if request.method == "GET":  # the provider's own sign-in page
            hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                             for k, v in q.items())
            return HTMLResponse(f"""<!DOCTYPE html><html lang="en"><head><title>Test council sign-in</title></head>
<body><main><h1>Test council: sign in</h1><form method="post" action="{issuer}/authorize">{hidden}
<label for="user">Work account</label> <input id="user" name="user" autocomplete="username">
<button type="submit">Sign in</button></form></main></body></html>""")
        user = q.get("user", "")
        if user not in users:
            return RedirectResponse(f"{back}?error=access_denied&state={urllib.parse.quote(q['state'])}", 302)
        code = secrets.token_urlsafe(24)
        codes[code] = {"user": user, "redirect_uri": back, "challenge": q["code_challenge"], "nonce": q.get("nonce"),
                       "expires": time.time() + 60}
        return RedirectResponse(f"{back}?{urllib.parse.urlencode({'code': code, 'state': q['state']})}", 302)

    def id_token(user: str, nonce: str | None) -> str:
        entry = users[user]
        fault = entry.get("token", "good")
        now = int(time.time())
        claims = {"iss": issuer, "sub": entry["claims"].get("sub", f"sub-{user}"), "aud": client_id, "iat": now,
                  "exp": now + 300, "auth_time": now, **entry["claims"]}
        if nonce is not None:
            claims["nonce"] = nonce
        if fault == "wrong-audience":  # issued to another application (azp naming us, so only the aud check stops it)
            claims["aud"], claims["azp"] = "another-application", client_id
        elif fault == "expired":
            claims["iat"], claims["exp"] = now - 7200, now - 3600
        elif fault == "wrong-issuer":
            claims["iss"] = "https://impostor.example/"
        elif fault == "wrong-nonce":
            claims["nonce"] = "not-the-nonce-you-sent"
        token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, stranger if fault == "unknown-key" else key)
        if fault == "tampered":  # promote the person after signing: the signature no longer matches
            head, _, signature = token.split(".")
            token = ".".join([head, _b64(json.dumps({**claims, "roles": ["admin"]}).encode()), signature])
        return token

    async def token_endpoint(request: Request):
        form = dict(await request.form())
        sent_id, sent_secret = form.get("client_id"), form.get("client_secret")
        if request.headers.get("authorization", "").startswith("Basic "):
            decoded = base64.b64decode(request.headers["authorization"][6:]).decode()
            sent_id, sent_secret = (urllib.parse.unquote(p) for p in decoded.split(":", 1))
        if sent_id != client_id or sent_secret != client_secret:
            return JSONResponse({"error": "invalid_client"}, 401)
        if form.get("grant_type") != "authorization_code":
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        issued = codes.pop(form.get("code", ""), None)  # a code works once
        if issued is None or issued["expires"] < time.time() or issued["redirect_uri"] != form.get("redirect_uri"):
            return JSONResponse({"error": "invalid_grant"}, 400)
        verifier = form.get("code_verifier", "")
        if _b64(hashlib.sha256(verifier.encode()).digest()) != issued["challenge"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE verification failed"}, 400)
        return JSONResponse({"access_token": secrets.token_urlsafe(24), "token_type": "Bearer", "expires_in": 300,
                             "id_token": id_token(issued["user"], issued["nonce"])},
                            headers={"Cache-Control": "no-store"})

    async def requests_seen(request: Request):
        return JSONResponse(seen)

    return Starlette(routes=[Route("/.well-known/openid-configuration", discovery), Route("/jwks", jwks),
                             Route("/authorize", authorize, methods=["GET", "POST"]),
                             Route("/token", token_endpoint, methods=["POST"]),
                             Route("/test/requests", requests_seen)])


def main(argv=None):
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--users", required=True)
    args = parser.parse_args(argv)
    config = json.loads(open(args.users).read())
    issuer = f"http://127.0.0.1:{args.port}"
    uvicorn.run(create_app(issuer, config), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
