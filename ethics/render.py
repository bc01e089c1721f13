"""The report as people read it: one self-contained HTML page (plots embedded, readable offline) and a PDF of it.

The page is rendered from the same model card, ATRS record and numbers as the JSON twins, so what the
board reads and what a machine checks cannot drift apart.
"""
from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from ethics.card import COUNCIL, VersionFacts, atrs_record, findings, model_card

TEMPLATES = Path(__file__).parent / "templates"
PERFORMANCE_PLOTS = {
    "roc.png": "ROC curve on the latest test months: the model against the baselines",
    "precision_recall.png": "Precision against recall on the latest test months",
    "calibration.png": "Calibration: mean score against the observed rate, by score bin",
    "precision_at_k.png": "Precision among the top k households, by k (the dashed line is the capacity)",
    "skill_over_time.png": "Precision at capacity in each test window",
}


def _council(text) -> Markup:
    """Highlight the fields the council must complete."""
    return Markup(str(escape(text)).replace(COUNCIL, f'<span class="council">{COUNCIL}</span>'))


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _explain_captions(names) -> list[tuple[str, str]]:
    out = [(n, c) for n, c in (("shap_importance.png", "Importance: mean absolute SHAP value by feature"),
                               ("shap_beeswarm.png", "Beeswarm: each household-month's SHAP value, coloured by the "
                                                     "feature's value")) if n in names]
    for name in sorted(n for n in names if n.startswith("shap_dependence_")):  # in order of importance
        feature = name.split("_", 3)[3].removesuffix(".png")
        out.append((name, f"Dependence: how the score responds to {feature}, coloured by the feature it "
                          "interacts with most"))
    return out


def _number(value: float) -> str:
    if value != value:
        return ""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def html(facts: VersionFacts, status: str = "Written for the ethics board's decision, which the version's approval record holds") -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["council"] = _council
    importance = facts.importance.head(15)
    flagged = facts.flagged_vs_rest
    return env.get_template("report.html").render(
        title=f"{facts.name} version {facts.version}", generated=dt.date.today().isoformat(), status=status,
        facts=facts, fairness=facts.fairness, findings=findings(facts), card=model_card(facts),
        atrs=atrs_record(facts), sample_rows=facts.shap_rows,
        importance={"columns": ["Feature", "Meaning", "Mean |SHAP|", "Share of household-months it raises"],
                    "rows": [[r.feature, r.meaning, f"{r.mean_abs_shap:.4f}", f"{r.share_raising:.0%}"]
                             for r in importance.itertuples()]},
        flagged={"columns": ["Feature", "Meaning", "Flagged (mean)", "Everyone else (mean)", "Ratio"],
                 "rows": [[r.feature, r.meaning, _number(r.flagged), _number(r.rest),
                           "" if r.ratio != r.ratio else f"{r.ratio:.2f}"] for r in flagged.itertuples()]},
        images={name: _data_uri(png) for name, png in facts.plots.items()},
        explain_plots=_explain_captions(set(facts.plots)),
        performance_plots=[(n, c) for n, c in PERFORMANCE_PLOTS.items() if n in facts.plots])


def pdf(page: str, out: Path) -> Path:
    import weasyprint  # slow to import (fonts); only when a PDF is written

    weasyprint.HTML(string=page).write_pdf(out)
    return out
