"""Single sign-on with the council's identity provider (OpenID Connect), beside local accounts.

Set $UPSTREAM_OIDC_ISSUER (with the client id and secret) and the sign-in page offers "Sign in with your
council account": the authorization code flow with PKCE (S256), `state` and `nonce` checked, the ID token's
signature checked against the provider's JWKS (from its discovery document) and its issuer, audience and
expiry checked. The person's Upstream role and wards come from the token's claims on every sign-in; the
local user record is created or updated from them and holds no password. A sign-in whose claims name no
Upstream role is refused. Local accounts stay, for break-glass admin access.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from serving.dashboard.access import ROLES, normalised_role

CLIENT_NAME = "council"
WARD_ROLES = ("caseworker", "team-manager")


class NotConfigured(Exception):
    """$UPSTREAM_OIDC_ISSUER is set but something the flow needs is not."""


class Refused(Exception):
    """A verified sign-in whose claims give Upstream no account: the message is shown to the person."""


@dataclass(frozen=True)
class Settings:
    issuer: str
    client_id: str
    client_secret: str
    roles_claim: str = "roles"
    wards_claim: str = "wards"
    ward_prefix: str = ""  # only claim values starting with it name a ward (e.g. groups "Upstream ward: X")
    name_claim: str = "preferred_username"
    scopes: str = "openid profile email"
    redirect_uri: str | None = None  # else built from the request: https://<host>/ui/oidc/callback
    provider_name: str = "your council account"

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def settings() -> Settings | None:
    """The configuration from the environment, or None when single sign-on is off."""
    env = os.environ
    issuer = env.get("UPSTREAM_OIDC_ISSUER", "").strip()
    if not issuer:
        return None
    client_id, secret = env.get("UPSTREAM_OIDC_CLIENT_ID", "").strip(), env.get("UPSTREAM_OIDC_CLIENT_SECRET", "")
    if not client_id or not secret:
        raise NotConfigured("UPSTREAM_OIDC_ISSUER is set: set UPSTREAM_OIDC_CLIENT_ID and UPSTREAM_OIDC_CLIENT_SECRET "
                            "too (the app registration's client id and secret)")
    chosen = {key: env[f"UPSTREAM_OIDC_{key.upper()}"].strip() for key in
              ("roles_claim", "wards_claim", "ward_prefix", "name_claim", "scopes", "redirect_uri", "provider_name")
              if env.get(f"UPSTREAM_OIDC_{key.upper()}", "").strip()}
    if "openid" not in chosen.get("scopes", "openid").split():
        raise NotConfigured("UPSTREAM_OIDC_SCOPES must include openid")
    return Settings(issuer, client_id, secret, **chosen)


def client(chosen: Settings):
    """Authlib's Starlette client for the provider: discovery, PKCE S256, state and nonce kept in the session."""
    from authlib.integrations.starlette_client import OAuth

    oauth = OAuth()
    return oauth.register(CLIENT_NAME, client_id=chosen.client_id, client_secret=chosen.client_secret,
                          server_metadata_url=chosen.discovery_url,
                          client_kwargs={"scope": chosen.scopes, "code_challenge_method": "S256", "timeout": 15})


def claims_options(chosen: Settings) -> dict:
    """What the ID token must say beyond a good signature: this issuer, this client as its audience, a
    subject, an expiry (checked against the clock by the library, with two minutes' leeway)."""
    return {"iss": {"essential": True, "value": chosen.issuer}, "aud": {"essential": True, "value": chosen.client_id},
            "sub": {"essential": True}, "exp": {"essential": True}, "iat": {"essential": True}}


@dataclass(frozen=True)
class Identity:
    subject: str
    name: str
    role: str
    wards: tuple[str, ...]


def _values(claim) -> list[str]:
    """A claim as a list of strings: a JSON list, or one string of values separated by commas."""
    if claim is None:
        return []
    if isinstance(claim, str):
        return [part.strip() for part in claim.split(",") if part.strip()]
    if isinstance(claim, (list, tuple)):
        return [str(part).strip() for part in claim if str(part).strip()]
    return [str(claim)]


def identity(claims: dict, chosen: Settings) -> Identity:
    """Who the verified CLAIMS say this is in Upstream, or Refused with a reason a person can act on."""
    subject = str(claims["sub"])
    name = str(claims.get(chosen.name_claim) or claims.get("email") or subject).strip()
    roles = set()
    for value in _values(claims.get(chosen.roles_claim)):
        try:
            roles.add(normalised_role(value.rsplit(".", 1)[-1]))  # "Upstream.caseworker" as Entra app roles often read
        except ValueError:
            continue  # a role for another application
    if not roles:
        raise Refused(f"Your council account has no Upstream role. Ask your administrator to give you one of "
                      f"the Upstream roles ({', '.join(ROLES)}) in the council's identity provider.")
    if len(roles) > 1:
        raise Refused(f"Your council account has more than one Upstream role ({', '.join(sorted(roles))}). "
                      "Each person has one role in Upstream: ask your administrator to remove the others.")
    role = roles.pop()
    wards = ()
    if role in WARD_ROLES:
        found = [v[len(chosen.ward_prefix):].strip() for v in _values(claims.get(chosen.wards_claim))
                 if v.startswith(chosen.ward_prefix)]
        wards = tuple(sorted({w for w in found if w}))
        if not wards:
            raise Refused(f"Your council account has the {role} role but no wards, so Upstream would show you no "
                          "household. Ask your administrator to assign your wards in the council's identity provider.")
    return Identity(subject, name, role, wards)
