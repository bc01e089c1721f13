"""The HTTP API (FastAPI, mounted into the BentoML service): /score, /explain, /models, behind API tokens.

Every failure a client can cause is a 4xx naming the field and the reason; an unreachable database is a
503 saying so. Routes read what they serve from `app.state.scoring`, which the service sets and swaps.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os

import anyio
import numpy as np
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from serving import explanations, ranking, tokens
from serving.api_use import api_use
from serving.dashboard import audit, households
from serving.database import DatabaseUnavailable
from serving.feature_build import month_number, month_start
from serving.schemas import (
    ByUprn, ExplainRequest, Explanation, ModelsResponse, Problem, Result, ScoreRequest, ScoreResponse)
from serving.scoring import NotServed, Scored, Scoring

log = logging.getLogger("upstream.serving")
INLINE = 20  # households scored on the event loop when their months are ranked already; else a worker thread
MLFLOW_UI = os.environ.get("UPSTREAM_MLFLOW_UI", "http://127.0.0.1:5000")
errors = {401: {"model": Problem, "description": "No API token, or an unknown one"},
          403: {"model": Problem, "description": "The token's role may not do this"},
          413: {"model": Problem, "description": "The body is larger than the service accepts (2 MB by default)"},
          503: {"model": Problem, "description": "The database is unavailable, or no approved model is served"}}

app = FastAPI(title="Upstream", version="1", description="Risk scores, reasons and explanations from approved "
              "models. Send an API token from `upstream tokens create` as `Authorization: Bearer <token>`.",
              docs_url=None, redoc_url=None, openapi_url=None)  # the document is /docs.json (service.api_document)


class _OneOfEachKey(Request):
    """A body whose object repeats a key is refused: JSON parsers disagree on which copy counts (Python's
    takes the last), so a proxy or log and the service could read two different requests."""

    async def json(self):
        if not hasattr(self, "_json"):
            try:
                self._json = json.loads(await self.body(), object_pairs_hook=_no_repeats)
            except UnicodeDecodeError:  # a 422 like any other JSON that does not parse, not FastAPI's bare 400
                raise json.JSONDecodeError("the body is not UTF-8 text", "", 0) from None
        return self._json


def _no_repeats(pairs: list[tuple]) -> dict:
    found = dict(pairs)
    if len(found) < len(pairs):
        seen = [k for k, _ in pairs]
        repeated = sorted({k[:40] for k in seen if seen.count(k) > 1})
        raise json.JSONDecodeError(f"{', '.join(map(repr, repeated))} given more than once", "", 0)
    return found


class _Route(APIRoute):
    def get_route_handler(self):
        handle = super().get_route_handler()

        async def handler(request: Request):
            return await handle(_OneOfEachKey(request.scope, request.receive))
        return handler


app.router.route_class = _Route
bearer = HTTPBearer(auto_error=False, description="An API token from `upstream tokens create`")


async def holder(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> tuple[str, str]:
    """(name, role) of the request's token."""
    # on the event loop, not a thread: one indexed read (~0.2 ms), and PostgreSQL connects time out in 5 s
    if credentials is None:
        raise HTTPException(401, "send an API token: Authorization: Bearer <token>",
                            headers={"WWW-Authenticate": "Bearer"})
    found = tokens.holder_of(credentials.credentials)
    if found is None:
        raise HTTPException(401, "unknown API token", headers={"WWW-Authenticate": "Bearer"})
    return found


async def role(who: tuple[str, str] = Depends(holder)) -> str:
    return who[1]


async def may_score(who: tuple[str, str] = Depends(holder)) -> str:
    """The token's name, if it may score."""
    if who[1] != "service":
        raise HTTPException(403, f"a {who[1]} token may read health and model information only; scoring needs a "
                                 "service token")
    return who[0]


@app.exception_handler(RequestValidationError)
async def _invalid(_: Request, exc: RequestValidationError):
    """422 naming where and why, never echoing the input: it may hold UPRNs, and FastAPI's own answer failed
    (a 500, logged with the whole body) on a NaN it could not write back as JSON."""
    return JSONResponse({"detail": [{"loc": list(e.get("loc", ())), "msg": _message(e), "type": e.get("type", "")}
                                    for e in exc.errors()]}, status_code=422)


def _message(error: dict) -> str:
    """The error's message; for JSON that does not parse, also the parser's reason (never the text itself)."""
    said = error.get("msg", "")
    reason = (error.get("ctx") or {}).get("error") if error.get("type") == "json_invalid" else None
    return f"{said}: {reason}" if isinstance(reason, str) else said


@app.exception_handler(DatabaseUnavailable)
async def _database_down(_: Request, exc: DatabaseUnavailable):
    return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "5"})


@app.exception_handler(NotServed)
async def _not_served(_: Request, exc: NotServed):
    return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "60"})


def scoring_of(request: Request) -> Scoring:
    scoring = getattr(request.app.state, "scoring", None)
    if scoring is None:
        raise HTTPException(503, "the service is still starting")
    return scoring


def invalid(problems: list[tuple[tuple, str, str]]):
    """A 422 in FastAPI's own shape: where (loc), what (msg) and a machine-readable type."""
    raise RequestValidationError([{"loc": loc, "msg": msg, "type": kind} for loc, msg, kind in problems])


def _score(scoring: Scoring, target: str, households: list, where: tuple) -> tuple[Scored, list]:
    """Score HOUSEHOLDS (one form or both); returns the result and the households in its order."""
    served = scoring.served(target)
    build, model = scoring.build, served.model
    by_uprn = [i for i, h in enumerate(households) if isinstance(h, ByUprn)]
    by_values = [i for i, h in enumerate(households) if not isinstance(h, ByUprn)]
    problems = []
    rows = np.empty(0, dtype="int64")
    if by_uprn:
        uprns = np.array([int(households[i].uprn) for i in by_uprn], dtype="int64")
        months = np.array([month_number(households[i].as_of) for i in by_uprn], dtype="int64")
        rows = build.find(uprns, months)
        for i, row in zip(by_uprn, rows):
            if row < 0:
                first, last = build.as_of_range
                problems.append(((*where, i, "uprn"), f"no household is resident at this UPRN on "
                                 f"{households[i].as_of} in the feature build (it holds {first} to {last})",
                                 "unknown_household"))
    given = []
    for i in by_values:
        values, wanted = households[i].features, set(model.features)
        for name in sorted(set(values) - wanted):
            problems.append(((*where, i, "features", name), f"not a feature of {served.name} version "
                             f"{served.version}", "unknown_feature"))
        for name in model.features:
            if name not in values:
                problems.append(((*where, i, "features", name), f"required by {served.name} version "
                                 f"{served.version} (send null when not known)", "missing"))
            elif (name == "ward") != isinstance(values[name], str) and values[name] is not None:
                problems.append(((*where, i, "features", name),
                                 "must be text (the ward's name)" if name == "ward" else "must be a number",
                                 "type_error"))
            elif name == "ward" and values[name] is not None and values[name] not in model.wards:
                problems.append(((*where, i, "features", name), f"not a ward {served.name} version "
                                 f"{served.version} knows (GET /models lists its features; send null when not "
                                 "known)", "unknown_ward"))
        given.append(values)
    if problems:
        invalid(problems)
    parts, order = [], []
    if by_uprn:
        parts.append(scoring.known(target, rows, months))
        order += by_uprn
    if by_values:
        x = _values_matrix(model, given)
        months = np.array([month_number(households[i].as_of) for i in by_values], dtype="int64")
        parts.append(scoring.given(target, x, months))
        order += by_values
    return _joined(parts), [households[i] for i in order]


def _values_matrix(model, given: list[dict]) -> np.ndarray:
    wards = {w: float(i) for i, w in enumerate(model.wards)}
    return np.array([[(wards.get(v, np.nan) if name == "ward" else float(v)) if v is not None else np.nan
                      for name, v in ((n, values[n]) for n in model.features)] for values in given], dtype="float64")


def _joined(parts: list[Scored]) -> Scored:
    if len(parts) == 1:
        return parts[0]
    return Scored(parts[0].served, *(np.concatenate([getattr(p, f) for p in parts])
                                     for f in ("x", "raw", "score", "rank", "band")))


def _pseudonym(household) -> str | None:
    """The household's pseudonym for the audit log (never its UPRN): from the feature build's key map."""
    if not isinstance(household, ByUprn):
        return household.household_key[:80]
    register = households.register(household.as_of)
    found = register["household"].get(int(household.uprn)) if len(register) else None
    return found or None


def _identity(household) -> dict:
    if isinstance(household, ByUprn):
        return {"uprn": household.uprn, "as_of": household.as_of}
    return {"household_key": household.household_key, "as_of": household.as_of}


def _results(scoring: Scoring, scored: Scored, households: list, target: str) -> list[dict]:
    reasons = scored.reasons()
    return [{**_identity(h), "target": target, "score": float(scored.score[i]), "band": scored.band[i],
             "rank": int(scored.rank[i]), "reasons": reasons[i], "model_version": scored.served.version,
             "ranked_among": _ranked_among(scoring, h)} for i, h in enumerate(households)]


def _ranked_among(scoring: Scoring, household) -> dt.date | None:
    """The month a household sent with its values was ranked among, when not its own (else None, left out)."""
    month = month_number(household.as_of)
    among = month if isinstance(household, ByUprn) else scoring.ranked_month(month)
    return None if among == month else month_start(among).date()


@app.post("/score", response_model=ScoreResponse, response_model_exclude_none=True, responses=errors,
          summary="Score households: probability, band, rank in the borough and the top reasons")
async def score(body: ScoreRequest, request: Request, token: str = Depends(may_score)) -> dict:
    scoring = scoring_of(request)

    def work():
        scored, ordered = _score(scoring, body.target, body.households, ("body", "households"))
        by_uprn = sum(isinstance(h, ByUprn) for h in body.households)
        api_use.add(token, body.target, by_uprn, len(body.households) - by_uprn)
        return {"results": _results(scoring, scored, ordered, body.target)}

    return await _run(work, scoring, body.target, body.households)


@app.post("/explain", response_model=Explanation, response_model_exclude_none=True, responses=errors,
          summary="The full TreeSHAP breakdown of one household's score")
async def explain(body: ExplainRequest, request: Request, token: str = Depends(may_score)) -> dict:
    scoring = scoring_of(request)

    def work():
        scored, _ = _score(scoring, body.target, [body.household], ("body", "household"))
        audit.record(f"token {token}", "service", "explained via API", household=_pseudonym(body.household),
                     detail=body.target)
        model, contrib = scored.served.model, scored.contributions()
        full = explanations.detailed(model, scored.x, contrib, top=None)[0]
        result = _results(scoring, scored, [body.household], body.target)[0]
        return {**result, "raw_score": float(scored.raw[0]), "expected_value": float(contrib[0, -1]),
                "contributions": full}

    return await _run(work, scoring, body.target, [body.household])


async def _run(work, scoring: Scoring, target: str, households: list):
    """WORK on the event loop for a few households whose months are ranked already (a thread hop put p99 at
    32 clients from 39 to 63 ms); else in a worker thread: a month first asked for is ranked over the whole
    borough, seconds that on the event loop held up every request, health checks included."""
    months = [month_number(h.as_of) for h in households]
    if len(households) <= INLINE and scoring.ranked(target, months):
        return work()
    return await anyio.to_thread.run_sync(work)


@app.get("/models", response_model=ModelsResponse, responses={k: errors[k] for k in (401, 503)},
         summary="The versions served, their approval and links to their fairness reports")
def models(request: Request, _: str = Depends(role)) -> dict:
    scoring = scoring_of(request)
    selection, build = scoring.selection, scoring.build
    first, last = build.as_of_range
    return {
        "status": "degraded" if selection.degraded else "ready",
        "problems": selection.problems,
        "models": [{
            "target": s.target, "name": s.name, "version": s.version, "source": s.source,
            "capacity": ranking.capacity_of(s.model), "features": s.model.features,
            "approval": {k: s.approval.get(k) for k in ("decision", "decided_by", "at", "note", "report_sha256")}
            | {"demo": bool(s.approval.get("demo"))},
            "report": {"artifact_uri": f"runs:/{s.run_id}/report" if s.run_id else None,
                       "mlflow_ui": f"{MLFLOW_UI}/#/models/{s.name}/versions/{s.version}"},
        } for s in selection.models.values()],
        "feature_build": {"as_of_first": dt.date.fromisoformat(first), "as_of_last": dt.date.fromisoformat(last),
                          "rows": len(build)},
    }
