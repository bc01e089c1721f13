"""A version's model card (Mitchell et al., 2019) and its Algorithmic Transparency Recording Standard record.

Both are built from the version's own facts: its MLflow run (parameters, metrics, splits), the fairness
and mitigation numbers, and the SHAP importance. Fixed text states policy (what the tool may never be
used for); every number and every finding comes from the data. Fields only the council can fill (its
senior responsible owner, its impact assessments) are marked COUNCIL, never guessed.

A section is {"title", "text": [paragraphs], "facts": [[name, value]], "table": {"columns", "rows"}}, so the
JSON twins and the rendered report carry the same content.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from features.dictionary import BY_NAME, LABELS

COUNCIL = "[Council to complete]"

PURPOSE = {
    "homelessness": (
        "Ranks the borough's households each month by the chance that they will be owed a homelessness "
        "prevention or relief duty in the next 6 months, so that the council's prevention team can offer help "
        "(money advice, a tenancy sustainment visit, a benefits check) before a crisis."),
    "fuel_poverty": (
        "Ranks the borough's households each month by the chance that an assessment would find them fuel poor "
        "(Low Income Low Energy Efficiency), so that the council can offer energy-efficiency schemes, "
        "grants and advice to those most likely to need them."),
}
LABEL_BIAS = {
    "homelessness": (
        "The label is a duty the council recorded, so only households that approached the council (or were "
        "referred) are seen. Households who became homeless without approaching the council, or who approached "
        "another borough, count as negatives: the model learns who reaches the council, not only who needs help."),
    "fuel_poverty": (
        "Fuel poverty is only observed for households that were assessed, a referred, non-random subset; "
        "unassessed households carry no label. The model learns fuel poverty among those assessed, and the "
        "scores of groups rarely referred for assessment are the least certain."),
}
UNRECORDED = {
    "homelessness": "a private landlord's decision to sell, family asking someone to leave, a relationship ending",
    "fuel_poverty": "the income of households claiming nothing, the efficiency of homes with no EPC",
}
OUT_OF_SCOPE = [
    "Any automated decision. A person reviews every case and decides what, if anything, to offer; the score "
    "never decides alone (UK GDPR Article 22).",
    "Eligibility, priority need or intentionality decisions under the Housing Act 1996 Part 7; allocations.",
    "Enforcement: rent or council tax recovery, possession proceedings, fraud investigation.",
    "Sharing scores with landlords, creditors, the police or any other organisation.",
    "Any borough, population or period it was not validated on without retraining and a new report.",
]
SCORERS = {"model": "This model", "logistic": "Logistic regression", "rule": "Council rule",
           "oracle": "Oracle (true risks)"}


@dataclass
class VersionFacts:
    """What a report knows about one registered version."""
    name: str
    version: str
    target: str
    run_id: str
    created: str
    params: dict
    metrics: dict
    splits: dict  # split name -> {"train", "calibration", "test"} month spans
    split_metrics: pd.DataFrame  # one row per split and scorer
    fairness: dict
    mitigation: list[dict]
    importance: pd.DataFrame
    flagged_vs_rest: pd.DataFrame
    shap_rows: int = 0
    ceiling: dict | None = None  # synthetic boroughs: the perfect-records ceiling
    plots: dict[str, bytes] = field(default_factory=dict)


def _section(title, text=(), facts=(), table=None) -> dict:
    return {"title": title, "text": list(text), "facts": [list(f) for f in facts], "table": table}


def _table(frame: pd.DataFrame, columns: dict[str, str], digits: int = 3) -> dict:
    rows = []
    for record in frame[list(columns)].to_dict("records"):
        rows.append([("" if v != v else round(v, digits)) if isinstance(v, float) else v for v in record.values()])
    return {"columns": list(columns.values()), "rows": rows}


def _metric(facts: VersionFacts, key: str) -> float | None:
    value = facts.metrics.get(key)
    return None if value is None or pd.isna(value) else float(value)


def _fmt(value, spec=".3f") -> str:
    return "not measured" if value is None else format(value, spec)


def _disparities(facts: VersionFacts, clear: bool = True) -> list[dict]:
    return [g for g in facts.fairness["groups"]
            if not g["suppressed"] and g.get("verdict") == "disparity" and (g.get("clear_disparity") or not clear)]


def _disparity_sentence(g: dict) -> str:
    side = "lower" if (g["tpr_ratio"] or 0) < 1 else "higher"
    low, high = g["tpr_wilson"]
    need = g.get("households_in_need")
    return (f"{g['attribute']} = {g['group']}: recall {_fmt(g['tpr'])} (of {g['positives']:,} household-months of "
            f"need{'' if need is None else f', {need:,} households'}; 95% interval {_fmt(low)}-{_fmt(high)}), "
            f"{g['tpr_ratio']:.2f} times the reference group's: {side}, and clearly outside 0.8-1.25.")


def _clearest(facts: VersionFacts, most: int = 8) -> list[str]:
    """The clear disparities, the groups reached least (against their reference) first: missing those in
    need is the harm the report looks for."""
    clear = sorted(_disparities(facts), key=lambda g: (g["tpr_ratio"], -g["positives"]))
    said = [_disparity_sentence(g) for g in clear[:most]]
    if len(clear) > most:
        said.append(f"And {len(clear) - most} more clear disparities, nearer parity: see the fairness table.")
    return said


def fairness_summary(facts: VersionFacts) -> str:
    assessable = [g for g in facts.fairness["groups"] if not g["suppressed"] and g.get("tpr_ratio") is not None]
    outside, clear = _disparities(facts, clear=False), _disparities(facts)
    return (f"Of {len(assessable)} groups whose recall could be compared with their reference group's, "
            f"{len(outside)} fall outside 0.8-1.25; for {len(clear)} of them the whole 95% interval of recall "
            "does too, against the whole of the reference group's (Wilson intervals over the households in need, "
            "not their months, since a household's months are not independent). "
            "The others are too small to tell a real difference from chance.")


def findings(facts: VersionFacts) -> list[str]:
    """What the numbers say that a board must weigh, each a sentence built from them."""
    out = []
    k = facts.fairness["capacity"]
    model, rule, logistic = (_metric(facts, m) for m in ("precision_at_k", "rule.precision_at_k",
                                                         "logistic.precision_at_k"))
    if model is not None and rule:
        out.append(f"At {k} households a month, {model:.1%} of those flagged went on to need help, "
                   f"{model / rule:.1f} times the council rule ({rule:.1%}).")
    if model is not None and logistic:
        versus = model / logistic
        if versus < 0.95:
            said = "worse than a logistic regression on the same features"
        elif versus < 1.05:
            said = "no better than a logistic regression on the same features"
        else:
            said = "better than a logistic regression on the same features"
        out.append(f"At capacity it is {said} ({logistic:.1%}, ratio {versus:.2f})"
                   + (": the simpler, easier to explain model is a real alternative." if versus < 1.05 else "."))
    skill, ratio = _metric(facts, "auc_skill"), _metric(facts, "precision_ratio")
    if skill is not None:
        out.append(f"On this synthetic borough, whose true risks are known, it reaches {skill:.0%} of the best "
                   f"possible AUC skill and {_fmt(ratio, '.0%')} of the best possible precision at capacity. "
                   "Part of the gap is irreducible: the records do not carry every cause of risk.")
    if facts.ceiling:
        c = facts.ceiling
        out.append(f"The irreducible part, estimated: a model given perfect records of everything a council could "
                   f"record reaches {c['auc_skill']:.0%} of the oracle's AUC skill and {c['precision_ratio']:.0%} of "
                   f"its precision at capacity on the latest test window; the rest of the oracle's edge comes from "
                   f"what no council system records ({UNRECORDED[facts.target]}).")
        if skill is not None and (c["auc_skill"] < skill or (ratio is not None and c["precision_ratio"] < ratio)):
            out.append("That estimate falls below this model's own figures, so on this borough it is too noisy "
                       "to rely on (one fit on one test window, with no interval): read it as rough.")
    error, floor = _metric(facts, "calibration_error"), _metric(facts, "calibration_floor")
    if error is not None:
        base = facts.fairness.get("overall", {}).get("base_rate")
        state = "well calibrated" if error <= 0.01 else "not well calibrated: recalibrate on recent months"
        out.append(f"Calibration error {error:.3f} on the latest test months ({state} by the 0.01 goal"
                   + (f"; a perfectly calibrated model would show about {floor:.3f} on the same households, "
                      "from chance alone" if floor is not None else "")
                   + (f"; for scale, {base:.1%} of these household-months went on to need help" if base else "")
                   + ").")
    out.append(fairness_summary(facts))
    out += _clearest(facts)
    costs = [(m["attribute"], m["equal_recall_at_capacity"]) for m in facts.mitigation
             if m["equal_recall_at_capacity"]["precision_change"] is not None]
    if costs:
        worst = min(costs, key=lambda c: c[1]["precision_change"])
        out.append(f"Equalising recall within an attribute at the same capacity would change precision at capacity "
                   f"by between {100 * worst[1]['precision_change']:+.1f} percentage points ({worst[0]}) and "
                   f"{100 * max(c[1]['precision_change'] for c in costs):+.1f}; see the group-aware thresholds "
                   "table for the households reached that this would cost or gain.")
    return out


def _performance_table(facts: VersionFacts) -> dict:
    table = facts.split_metrics.copy()
    table["scorer"] = table["scorer"].map(SCORERS).fillna(table["scorer"])
    columns = {"split": "Test window", "scorer": "Scorer", "auc": "AUC", "average_precision": "Average precision",
               "precision_at_k": f"Precision@{facts.fairness['capacity']}",
               "recall_at_k": f"Recall@{facts.fairness['capacity']}", "calibration_error": "Calibration error"}
    return _table(table[[c for c in columns if c in table]], {c: n for c, n in columns.items() if c in table})


def _fairness_table(facts: VersionFacts) -> dict:
    rows = []
    for g in facts.fairness["groups"]:
        if g["suppressed"]:
            rows.append([g["attribute"], g["group"], "fewer than 10", "", "", "", "", "", "suppressed"])
            continue
        # Wilson's interval, which the verdict uses: the bootstrap's collapses to 0.000-0.000 when none was reached
        ci = g.get("tpr_wilson") or (None, None)
        rows.append([g["attribute"], g["group"] + (" (reference)" if g.get("reference") else ""),
                     f"{g['households']:,}", f"{g.get('households_in_need', 0):,}", _fmt(g["base_rate"]),
                     _fmt(g["selection_rate"], ".4f"),
                     "" if g["tpr"] is None else f"{g['tpr']:.3f} ({_fmt(ci[0])}-{_fmt(ci[1])})",
                     _fmt(g["tpr_ratio"], ".2f") if g["tpr_ratio"] is not None else "",
                     "clear disparity" if g.get("clear_disparity") else g["verdict"]])
    return {"columns": ["Attribute", "Group", "Households", "Households in need", "Base rate", "Selection rate",
                        "Recall (95% interval)", "Recall ratio", "Verdict"], "rows": rows}


def _interval(value, bounds, spec=".3f") -> str:
    if value is None:
        return ""
    low, high = bounds or (None, None)
    return _fmt(value, spec) + ("" if low is None else f" ({_fmt(low, spec)} to {_fmt(high, spec)})")


def _other_metrics_table(facts: VersionFacts) -> dict:
    rows = []
    for g in facts.fairness["groups"]:
        if g["suppressed"]:
            continue
        rows.append([g["attribute"], g["group"], _fmt(g["selection_rate"], ".4f"), _fmt(g["fpr"], ".4f"),
                     "" if g["precision"] is None else _fmt(g["precision"]),
                     _interval(g.get("auc"), g.get("auc_ci")),
                     _interval(g.get("calibration_gap"), g.get("calibration_gap_ci"), "+.3f")])
    return {"columns": ["Attribute", "Group", "Selection rate", "False positive rate", "Precision",
                        "AUC (95% interval)", "Mean score minus observed rate (95% interval)"], "rows": rows}


def _mitigation_table(facts: VersionFacts) -> dict:
    rows = []
    for m in facts.mitigation:
        for key, name in (("model", "The model's list"), ("equal_recall_at_capacity", "Equal recall, same capacity"),
                          ("threshold_optimizer", "ThresholdOptimizer (TPR parity)")):
            r = m[key]
            rows.append([m["attribute"], name, f"{r['selected']:,}", f"{r['reached']:,}", _fmt(r["precision"]),
                         _fmt(r["recall_ratio_min_max"], ".2f")])
    return {"columns": ["Attribute", "Selection", "Household-months selected", "Reached who needed help",
                        "Precision", "Lowest / highest group recall"], "rows": rows}


def _cross_fitted(p: dict) -> bool:
    return int(p.get("calibration_folds") or 0) > 1


CALIBRATION_NAMES = {"isotonic": "isotonic", "platt": "Platt (logistic)"}


def _calibration(p: dict) -> str:
    return CALIBRATION_NAMES.get(p.get("calibration"), str(p.get("calibration")))


def _calibrated_on(p: dict) -> str:
    if _cross_fitted(p):
        return (f"on out-of-fold scores over the latest {p.get('calibration_months')} labelled months "
                f"({p.get('calibration_folds')} folds of households)")
    return "on later months"


def model_card(facts: VersionFacts) -> list[dict]:
    p, k = facts.params, facts.fairness["capacity"]
    label = f"label_{facts.target}"
    features = [f for f in facts.importance["feature"]]
    return [
        _section("Model details", facts=[
            ("Name and version", f"{facts.name} version {facts.version}"),
            ("Registered", facts.created), ("MLflow run", facts.run_id),
            ("Type", f"LightGBM gradient-boosted trees ({p.get('lgbm.trees')} trees of up to {p.get('lgbm.num_leaves')} "
                     f"leaves), with {_calibration(p)} calibration {_calibrated_on(p)}"),
            ("Features", f"{len(features)}, from the groups {str(p.get('feature_groups', '')).replace(',', ', ')}"),
            ("Data fingerprint", p.get("data_fingerprint")), ("Licence", "MIT (Upstream, open source)"),
            ("Owner and contact", COUNCIL)]),
        _section("Intended use", text=[
            PURPOSE[facts.target],
            f"Primary users: the council's caseworkers, who can reach {k} households a month. They see each "
            "household's score with its plain-English reasons and decide, with what they know, whether and how to "
            "offer help. The score supports, and never replaces, their professional judgement."],
            table={"columns": ["Out of scope"], "rows": [[u] for u in OUT_OF_SCOPE]}),
        _section("Factors", text=[
            "Performance is disaggregated by the equality-monitoring fields the council's extracts carry for the "
            "lead person (sex, age band, ethnicity, disability, lone parent), by tenure as the council's records "
            "show it, by ward, and by ethnicity and sex together. \"Not recorded\" is a group of its own. Groups of "
            f"fewer than {facts.fairness['min_group_size']} households are suppressed.",
            "Each group is compared with its attribute's reference group, the largest recorded one:"],
            facts=[(f"{a}: reference group", r) for a, r in facts.fairness["reference_groups"].items()]),
        _section("Metrics and thresholds", text=[
            f"Each month the {k} highest-scoring households are flagged (the caseworkers' capacity). Precision@{k} "
            f"asks how many of them went on to need help; recall@{k}, what share of all who needed help were "
            "flagged. AUC and average precision judge the whole ranking; calibration error, whether a score of 0.2 "
            "means a 1 in 5 chance.",
            "Fairness criterion: recall (true positive rate) parity, judged by the 0.8-1.25 rule against the "
            "largest recorded group. Prevention is assistive and capacity small, so missing those who need help is "
            "the harm to watch (the Aequitas fairness tree)."]),
        _section("Training and evaluation data", text=[
            f"Label: {LABELS[label]}.",
            f"Evaluated on {len(facts.splits) - 1} rolling temporal splits: " + (
                "each model is trained on months whose labels closed before its test months, and calibrated on "
                "scores of households it was not trained on (cross-fitting), so no test outcome was known at "
                "training time." if _cross_fitted(p) else
                "each model is trained on months whose labels closed before its calibration months, which close "
                "before its test months, so no test outcome was known at training time.")
            + " The registered model is refitted on every labelled month."],
            facts=[(name, f"train {s['train']}; calibration {s['calibration']}; test {s['test']}")
                   for name, s in facts.splits.items()] + [("Labelled household-months", f"{int(p.get('labelled_rows', 0)):,}")]),
        _section("Quantitative analyses", text=[
            "Performance on each test window against simple baselines and, on a synthetic borough, the oracle: a "
            "scorer that knows each household's true risk, the best any model could do."],
            table=_performance_table(facts)),
        _section("Disaggregated recall at capacity", text=[
            f"Held-out months {facts.fairness['months'][0]} to {facts.fairness['months'][-1]}, "
            f"{facts.fairness['rows']:,} household-months. Recall is over household-months of need; its 95% "
            "interval (Wilson's) counts households in need, not months, since one household's months are not "
            "independent evidence. A clear disparity: the whole interval lies outside 0.8-1.25 times the whole of "
            "the reference group's."], table=_fairness_table(facts)),
        _section("Other metrics by group", text=[
            "Shown for completeness; recall is the criterion. A calibration gap above zero means the scores "
            "overstate the group's risk, below zero that they understate it."], table=_other_metrics_table(facts)),
        _section("Group-aware thresholds: what they would change and cost", text=[
            "Fitted on the labels they are judged on, so an upper bound on what group-aware thresholds could do. "
            "ThresholdOptimizer also chooses how many to select; equal recall keeps the caseworkers' capacity."],
            table=_mitigation_table(facts)),
        _section("Ethical considerations", text=[
            LABEL_BIAS[facts.target],
            "The data is about people in financial difficulty. Modelling data carries pseudonymous keys only; "
            "names and addresses never reach the model, its logs or MLflow.",
            fairness_summary(facts) + " The clear ones are listed under caveats."]),
        _section("Caveats and recommendations", text=[*findings(facts),
            "Monitor precision at capacity, calibration and the score distribution monthly; retrain and re-report "
            "when they drift. Record caseworkers' disagreements with the score: they are evidence about the model."]),
    ]


def atrs_record(facts: VersionFacts) -> dict:
    """ATRS: Tier 1 for the public, Tier 2 for specialists. COUNCIL marks what only the council can say."""
    k, p = facts.fairness["capacity"], facts.params
    precision, rule = _metric(facts, "precision_at_k"), _metric(facts, "rule.precision_at_k")
    tier1 = [
        ("Name", f"Upstream {facts.target.replace('_', ' ')} risk model, version {facts.version}"),
        ("Description", PURPOSE[facts.target] + " A caseworker reviews every flagged household; the tool makes no "
                        "decision about anyone."),
        ("Website", COUNCIL), ("Contact email", COUNCIL), ("Organisation", COUNCIL), ("Team", COUNCIL),
        ("Senior responsible owner", COUNCIL), ("Phase", COUNCIL + " (pre-deployment, pilot or production)"),
        ("How to find out more or challenge a decision", COUNCIL + " (the council's complaints and appeals route)"),
    ]
    tier2 = [
        _section("Owner and responsibility", facts=[
            ("Organisation and team", COUNCIL), ("Senior responsible owner", COUNCIL),
            ("Supplier", "None: Upstream is open-source software the council runs itself"),
            ("Approval", "The council's ethics board approves each version after reading this report; only an "
                         "approved version is served")]),
        _section("Description and rationale", text=[
            PURPOSE[facts.target],
            f"Alternatives considered, on the same test months: the council's current rule ({p.get('rule')}) and a "
            "logistic regression. " + " ".join(findings(facts)[:2])]),
        _section("Decision-making process", text=[
            f"Each month caseworkers receive the {k} highest-risk households of the borough with each one's score, "
            "risk band and plain-English reasons. A caseworker reviews every case, decides whether and how to "
            "offer help, records what they did and may disagree with the score, saying why.",
            "No decision is automated (UK GDPR Article 22). Households may ask what data was used and challenge "
            "it through the council's route below."],
            facts=[("Scale", f"Every resident household, monthly; capacity {k} a month"),
                   ("Training for caseworkers", COUNCIL), ("Appeals and review", COUNCIL)]),
        _section("Technical specification and data", facts=[
            ("Model", f"LightGBM, {p.get('lgbm.trees')} trees, {_calibration(p)} calibration"),
            ("Performance", f"Precision@{k} {_fmt(precision)} (council rule {_fmt(rule)}); AUC "
                            f"{_fmt(_metric(facts, 'auc'))}; calibration error {_fmt(_metric(facts, 'calibration_error'))}"),
            ("Data sources", "The council's rent accounts, council tax accounts and recovery, Housing Benefit, "
                             "Council Tax Reduction and Universal Credit notifications, EPC and property records, "
                             "and its own homelessness casework history, linked by UPRN"),
            ("Features", ", ".join(BY_NAME[f].meaning if f in BY_NAME else f for f in facts.importance["feature"][:10])
             + ", and others (the feature dictionary lists all)"),
            ("Label", LABELS[f"label_{facts.target}"]),
            ("Data sharing agreements and retention", COUNCIL),
            ("Personal data in modelling", "Pseudonymous household keys only; the key-to-property map stays in "
                                           "the council's application")]),
        _section("Risks, mitigations and impact assessments", text=[
            LABEL_BIAS[facts.target],
            fairness_summary(facts), *_clearest(facts),
            "Mitigations: human review of every case; reasons shown with every score; fairness measured for every "
            "version with intervals and a group-aware-threshold comparison; the approval gate; monthly monitoring."],
            facts=[("Data protection impact assessment", COUNCIL), ("Equality impact assessment", COUNCIL)]),
    ]
    return {"tier_1": [list(f) for f in tier1], "tier_2": tier2, "council_to_complete": COUNCIL}
