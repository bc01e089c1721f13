"""The ethics board's and analysts' pages: every model version with its report, the board's decisions
(through the approval gate), and how the models perform and drift. No household is shown here."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from serving.dashboard import actions, audit, drift, lists, model_versions
from serving.dashboard.access import may
from serving.dashboard.security import allowed, checked_form
from serving.dashboard.web import render, root

router = APIRouter()
# The report is self-contained (inline styles, embedded plots); inside the dashboard it may run nothing.
REPORT_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox"


@router.get("/models")
def versions(request: Request, user=Depends(allowed("model versions"))):
    by_model: dict[str, list] = {}
    for v in model_versions.everything():
        by_model.setdefault(v.name, []).append(v)
    return render(request, "models.html", by_model=by_model)


def _version_page(request: Request, user, v, errors=None, note="", status_code=200):
    report, history = model_versions.report_files(v), model_versions.history(v)
    rejected = bool(history) and history[0].decision == "reject" and history[0].report_sha256 == report["fingerprint"]
    return render(request, "model_version.html", status_code, v=v, report=report, history=history,
                  rejected_this_report=rejected, may_decide=may(user.role, "decide"), errors=errors or {}, note=note,
                  on_lists=lists.listed(v.target, v.version),
                  decided=request.query_params.get("decided") == "1")


def _not_found(request: Request):
    return render(request, "message.html", 404, heading="Model version not found",
                  paragraphs=["No registered model has that version."])


@router.get("/models/{name}/{version}")
def version_page(name: str, version: str, request: Request, user=Depends(allowed("model versions"))):
    v = model_versions.one(name, version)
    return _version_page(request, user, v) if v else _not_found(request)


@router.get("/models/{name}/{version}/report.html")
def report_page(name: str, version: str, request: Request, user=Depends(allowed("model versions"))):
    v = model_versions.one(name, version)
    html = model_versions.report_files(v)["html"] if v else None
    if html is None:
        return _not_found(request)
    return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_POLICY})


@router.post("/models/{name}/{version}/decision")
async def decide(name: str, version: str, request: Request, user=Depends(allowed("decide"))):
    from ethics.approval import NotServable

    form = await checked_form(request)
    v = model_versions.one(name, version)
    if v is None:
        return _not_found(request)
    decision, note = str(form.get("decision", "")), str(form.get("note", "")).strip()
    errors = {}
    if decision not in ("approve", "reject"):
        errors["decision"] = "Choose approve or reject"
    if not note:
        errors["note"] = "Give the board's reasons"
    read = str(form.get("report_sha256", ""))
    if not read:
        errors["decision"] = "Reload the page and read the report before deciding: the page did not say which report"
    if not errors:
        try:
            model_versions.decide(v, decision, user.name, note, read, overturn=form.get("overturn") == "yes")
        except (NotServable, ValueError) as exc:
            errors["decision"] = f"The decision cannot be recorded: {exc}"
    if errors:
        return _version_page(request, user, v, errors, note, 400)
    audit.record(user.name, user.role, {"approve": "approved model", "reject": "rejected model"}[decision],
                 purpose="Ethics board decision",
                 detail=f"{name} version {version}")
    return RedirectResponse(f"{root(request)}/models/{name}/{version}?decided=1", status_code=303)


@router.get("/performance")
def performance(request: Request, user=Depends(allowed("performance"))):
    versions = model_versions.with_metrics(model_versions.everything())
    return render(request, "performance.html", versions=versions, by_split=model_versions.by_split,
                  drift={t: drift.score_drift(t) for t in lists.TARGETS}, outcomes=actions.summary(),
                  KINDS=actions.KINDS, mlflow_ui=model_versions.MLFLOW_UI)
