"""Caseworkers' and team managers' pages: the priority list (and its audited export), a household, the
actions recorded on it, and a manager's view of the team."""
from __future__ import annotations

import csv
import io
import urllib.parse

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from serving.dashboard import accounts, actions, audit, gazetteer, households, lists
from serving.dashboard.access import may, sees_ward
from serving.dashboard.chart import trend_svg
from serving.dashboard.security import Forbidden, allowed, checked_form
from serving.dashboard.web import render, root

router = APIRouter()
PURPOSES = {"priority-list": "Working this month's priority list",
            "follow-up": "Following up an action recorded earlier",
            "referral": "Preparing or checking a referral", "query": "Answering a query from the household",
            "supervision": "Supervision or allocation in my team"}
EXPORT_PURPOSES = {"home-visits": "Planning home visits or calls offline", "team-meeting": "A team allocation meeting",
                   "partner-referral": "Sharing agreed cases with a partner service under the data sharing agreement"}
MEANING = {"homelessness": "about {n} in 100 households with records like these are owed a homelessness prevention "
                           "or relief duty within six months.",
           "fuel_poverty": "about {n} in 100 households with records like these are found fuel poor at an assessment "
                           "within three months."}
# Each but "contacted" reveals the question it needs (household.html); the server checks it whatever the browser did
ACTION_CHOICES = {"contacted": "Contacted the household", "referred": "Referred them", "no_action": "No action",
                  "outcome": "Recording an outcome"}


def _filters(q, user) -> dict:
    """The list's filters from a query or a form; anything not offered to USER is ignored."""
    target = q.get("target") if q.get("target") in lists.TARGETS else "homelessness"
    return {"target": target, "ward": q.get("ward") if q.get("ward") in user.wards else "",
            "band": q.get("band") if q.get("band") in lists.BANDS else "",
            "status": q.get("status") if q.get("status") in actions.STATUSES else "",
            "sort": q.get("sort") if q.get("sort") in lists.SORTS else ""}


def _list_page(request: Request, user, filters: dict, errors: dict | None = None, status_code: int = 200):
    month = lists.latest(filters["target"])
    context = {"target": filters["target"], "month": month, "filters": filters, "errors": errors or {},
               "STATUSES": actions.STATUSES, "STATUS_COLOURS": actions.STATUS_COLOURS,
               "EXPORT_PURPOSES": EXPORT_PURPOSES, "withdrawn": lists.withdrawn(filters["target"]),
               **{k: filters[k] for k in ("ward", "band", "status")}}
    if month is not None:
        rows = lists.filtered(month, user.wards, filters["ward"], filters["band"], filters["status"], filters["sort"])
        asked_page = request.query_params.get("page", "1")
        last_page = max(1, -(-len(rows) // lists.PAGE))
        page = min(max(1, int(asked_page) if asked_page.isdigit() else 1), last_page)  # a stale link: the last page
        start = (page - 1) * lists.PAGE
        query = {k: v for k, v in filters.items() if v}
        context |= {
            "rows": rows.iloc[start:start + lists.PAGE].to_dict("records"), "total": len(rows), "first": start + 1,
            "in_wards_capacity": int((month.rows["ward"].isin(user.wards) & (month.rows["band"] == "very_high")).sum()),
            "previous_page": urllib.parse.urlencode(query | {"page": page - 1}) if page > 1 else None,
            "next_page": urllib.parse.urlencode(query | {"page": page + 1}) if start + lists.PAGE < len(rows) else None,
            "sort_links": {key: urllib.parse.urlencode({k: v for k, v in query.items() if k != "sort"}
                                                       | ({"sort": key} if key else {})) for key in ("", *lists.SORTS)},
            "chosen": [label for label in (lists.BANDS.get(filters["band"]), actions.STATUSES.get(filters["status"]),
                                           filters["ward"]) if label]}
    return render(request, "list.html", status_code, **context)


@router.get("/list")
def priority_list(request: Request, user=Depends(allowed("priority list"))):
    return _list_page(request, user, _filters(request.query_params, user))


@router.post("/list/export")
async def export_list(request: Request, user=Depends(allowed("priority list"))):
    form = await checked_form(request)
    filters = _filters(form, user)
    purpose = str(form.get("purpose", ""))
    if purpose not in EXPORT_PURPOSES:
        return _list_page(request, user, filters, {"purpose": "Choose why you need a copy of the list"}, 400)
    month = lists.latest(filters["target"])
    rows = (lists.filtered(month, user.wards, filters["ward"], filters["band"], filters["status"], filters["sort"])
            if month else [])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["rank", "uprn", "ward", "target", "score", "band", "status", "reasons", "model_version", "as_of"])
    for row in (rows.to_dict("records") if month else []):
        writer.writerow([row["rank"], row["uprn"], row["ward"], filters["target"], f"{row['score']:.4f}", row["band"],
                         row["status"], "; ".join(row["reasons"]), month.model_version, f"{month.as_of:%Y-%m-%d}"])
    chosen = "; ".join(f"{k}={v}" for k, v in filters.items() if v)
    audit.record(user.name, user.role, "exported list", purpose=EXPORT_PURPOSES[purpose],
                 detail=f"{chosen}; {len(rows)} rows" + (f" of the {month.as_of:%Y-%m} list" if month else ""))
    name = f"upstream-{filters['target']}-{month.as_of:%Y-%m}.csv" if month else "upstream-list.csv"
    return Response(out.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _household(request: Request, user, household: str):
    """(uprn, register row) of HOUSEHOLD if USER may see it (its ward is theirs), else 404 or 403 (audited)."""
    month = lists.latest("homelessness") or lists.latest("fuel_poverty")
    found = households.find(month.as_of, household) if month else None
    if found is None:
        return None
    uprn, row = found
    if not sees_ward(user.wards, row["ward"]):
        audit.record(user.name, user.role, "refused household", household=household,
                     detail="outside the wards the user is assigned")
        raise Forbidden()
    return uprn, row


def _household_page(request: Request, user, household: str, uprn: int, row, purpose: str,
                    errors: dict | None = None, form: dict | None = None, status_code: int = 200):
    """The household's page, opened for PURPOSE (a key of PURPOSES): its forms carry it, so what is done
    there is audited under the purpose the caseworker gave."""
    scores, trend = {}, {}
    for target in lists.TARGETS:
        month = lists.latest(target)
        hit = lists.on_list(month, uprn) if month else None
        if hit:
            hit |= {"of": len(month.rows), "model_version": month.model_version, "as_of": month.as_of,
                    "meaning": f"A score of {hit['score']:.3f}: "
                               + MEANING[target].format(n=f"{hit['score'] * 100:.0f}"),
                    "band_meaning": lists.meaning(hit["band"], month.capacity)}
        scores[target] = hit
        trend[target] = lists.trend(target, uprn)
    facts, quiet = households.key_facts(row)
    history = actions.timeline(household)
    allocated = next((a["detail"] for a in history if a["kind"] == "allocated"), None)
    team = ([u["name"] for u in accounts.team_of(user) if u["role"] == "caseworker"]
            if user.role == "team-manager" else [])
    months = sorted({p["as_of"] for points in trend.values() for p in points})
    address = gazetteer.address(uprn)
    return render(request, "household.html", status_code, household=household, uprn=uprn, ward=row["ward"],
                  address=gazetteer.readable(address) if address else None,
                  scores=scores, trend=trend, trend_months=months,
                  trend_svg=trend_svg(trend, lists.TARGETS) if months else None, facts=facts, quiet_facts=quiet,
                  timeline=history, allocated_to=allocated, can_allocate=bool(team), team=team,
                  KINDS=actions.KINDS, REFERRED_TO=actions.REFERRED_TO, ACTION_CHOICES=ACTION_CHOICES,
                  errors=errors or {}, form=form or {}, purpose=purpose,
                  withdrawn={target: lists.withdrawn(target) for target in lists.TARGETS},
                  recorded=request.query_params.get("recorded") == "1")


@router.get("/households/{household}")
def household_page(household: str, request: Request, user=Depends(allowed("household"))):
    found = _household(request, user, household)
    if found is None:  # a guessed reference is on the record too
        audit.record(user.name, user.role, "refused household", household=household[:80],
                     detail="no household on this month's lists has that reference")
        return render(request, "message.html", 404, heading="Household not found",
                      paragraphs=["No household on this month's lists has that reference."])
    purpose = request.query_params.get("purpose", "")
    if purpose not in PURPOSES:
        asked = "purpose" in request.query_params or "asked" in request.query_params  # the question was answered blank
        errors = {"purpose": "Choose why you are opening this household"} if asked else {}
        return render(request, "purpose.html", 400 if errors else 200, household=household, PURPOSES=PURPOSES,
                      errors=errors)
    audit.record(user.name, user.role, "viewed household", household=household, purpose=PURPOSES[purpose])
    return _household_page(request, user, household, *found, purpose)


TEXT_FIELDS = {"reason": "The reason", "outcome": "What happened", "disagreement": "Why you disagree",
               "note": "The note"}
MAX_TEXT = 2_000
# Characters that reorder how text is shown (right-to-left overrides and isolates): a note could otherwise
# display as something other than what was typed
BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def _action_errors(form) -> dict:
    errors = {field: f"{label} must be {MAX_TEXT:,} characters or fewer"
              for field, label in TEXT_FIELDS.items() if len(form.get(field, "")) > MAX_TEXT}
    if form.get("target") not in lists.TARGETS:
        errors["target"] = "Choose which risk this action is about"
    kind = form.get("kind")
    if kind not in ("contacted", "referred", "no_action", "outcome"):
        errors["kind"] = "Choose what you did"
    elif kind == "referred" and form.get("referred_to") not in actions.REFERRED_TO:
        errors["referred_to"] = "Choose the service you referred them to"
    elif kind == "no_action" and not str(form.get("reason", "")).strip():
        errors["reason"] = "Say why you took no action"
    elif kind == "outcome" and not str(form.get("outcome", "")).strip():
        errors["outcome"] = "Say what happened"
    if form.get("agrees") not in ("yes", "no"):
        errors["agrees"] = "Say whether you agree with the score"
    elif form.get("agrees") == "no" and not str(form.get("disagreement", "")).strip():
        errors["disagreement"] = "Say why you disagree with the score"
    return errors


@router.post("/households/{household}/actions")
async def record_action(household: str, request: Request, user=Depends(allowed("record action"))):
    form = await checked_form(request)
    found = _household(request, user, household)
    if found is None:
        return render(request, "message.html", 404, heading="Household not found", paragraphs=[])
    fields = {k: str(v).translate(BIDI_CONTROLS) for k, v in form.items() if k != "csrf_token"}
    purpose = fields.get("purpose") if fields.get("purpose") in PURPOSES else "follow-up"
    errors = _action_errors(fields)
    if errors:
        return _household_page(request, user, household, *found, purpose, errors=errors, form=fields, status_code=400)
    kind, target = fields["kind"], fields["target"]
    detail = {"referred": actions.REFERRED_TO.get(fields.get("referred_to", ""), ""),
              "no_action": fields.get("reason", ""), "outcome": fields.get("outcome", "")}.get(kind, "")
    month = lists.latest(target)
    actions.record(household, user.name, kind, detail, fields.get("note", ""), target,
                   month.model_version if month else None, fields["agrees"] == "no",
                   fields.get("disagreement", "") if fields["agrees"] == "no" else "")
    audit.record(user.name, user.role, "recorded action", household=household, purpose=PURPOSES[purpose],
                 detail=f"{actions.KINDS[kind]} ({target})"
                 + ("; disagrees with the score" if fields["agrees"] == "no" else ""))
    return RedirectResponse(f"{root(request)}/households/{household}?purpose={purpose}&recorded=1", status_code=303)


@router.post("/households/{household}/allocate")
async def allocate(household: str, request: Request, user=Depends(allowed("team"))):
    form = await checked_form(request)
    found = _household(request, user, household)
    team = {u["name"] for u in accounts.team_of(user) if u["role"] == "caseworker"}
    if found is None or form.get("allocate_to") not in team:
        return render(request, "message.html", 400, heading="That allocation cannot be made",
                      paragraphs=["Choose a caseworker in your team for a household in your wards."])
    actions.record(household, user.name, "allocated", str(form["allocate_to"]))
    audit.record(user.name, user.role, "recorded action", household=household, purpose=PURPOSES["supervision"],
                 detail=f"Allocated to {form['allocate_to']}")
    return RedirectResponse(f"{root(request)}/households/{household}?purpose=supervision&recorded=1", status_code=303)


@router.get("/team")
def team_page(request: Request, user=Depends(allowed("team"))):
    members = accounts.team_of(user)
    month = lists.latest("homelessness")
    counts = {}
    if month is not None:
        rows = lists.filtered(month, user.wards, band="very_high")
        counts = rows.groupby("status").size().to_dict()
        allocated = rows["allocated_to"].value_counts().to_dict()
    else:
        allocated = {}
    return render(request, "team.html", members=members, month=month, counts=counts, allocated=allocated,
                  STATUSES=actions.STATUSES, may_list=may(user.role, "priority list"))
