"""The report a board reads: self-contained HTML and PDF, a model card and an ATRS record built from the
version's own numbers, in MLflow with everything but the twin, and no personal data anywhere."""
import hashlib
import json
import re
from html.parser import HTMLParser

import pandas as pd
import pytest
from mlflow import MlflowClient
from pypdf import PdfReader

from ethics.importance import DEPENDENCE
from ethics.report import MITIGATED, MLFLOW_FILES
from features.build import key_map_path

NAME = "homelessness-risk"
CARD_SECTIONS = ["Model details", "Intended use", "Factors", "Metrics and thresholds", "Training and evaluation data",
                 "Quantitative analyses", "Disaggregated recall at capacity", "Other metrics by group",
                 "Group-aware thresholds: what they would change and cost", "Ethical considerations",
                 "Caveats and recommendations"]
ATRS_TIER_2 = ["Owner and responsibility", "Description and rationale", "Decision-making process",
               "Technical specification and data", "Risks, mitigations and impact assessments"]


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.links, self.scripts, self.headings, self._heading = [], [], [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        if tag == "link" or (tag == "a" and not attrs.get("href", "").startswith("#")):
            self.links.append(attrs)
        if tag == "script":
            self.scripts.append(attrs)
        if tag in ("h2", "h3", "h4"):
            self._heading = ""

    def handle_data(self, data):
        if self._heading is not None:
            self._heading += data

    def handle_endtag(self, tag):
        if tag in ("h2", "h3", "h4") and self._heading is not None:
            self.headings.append(self._heading.strip())
            self._heading = None


@pytest.fixture(scope="module")
def run_artifacts(reported, tmp_path_factory):
    """Every file the reported version's MLflow run holds."""
    import mlflow

    from models import tracking

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UPSTREAM_HOME", str(reported.home))
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
            patch.delenv(name, raising=False)
        tracking.configure()
        run_id = MlflowClient().get_model_version(NAME, "1").run_id
        folder = mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(tmp_path_factory.mktemp("run")))
    return run_id, folder


def test_mlflow_holds_every_part_of_the_report_but_never_the_twin(reported, run_artifacts):
    run_id, folder = run_artifacts
    from pathlib import Path

    logged = {p.name for p in (Path(folder) / "report").iterdir()}
    assert logged == set(MLFLOW_FILES)
    assert not list(Path(folder).rglob("*.parquet"))
    for name in MLFLOW_FILES:
        assert (Path(folder) / "report" / name).read_bytes() == (reported.out / name).read_bytes()
    digest = (reported.out / "predictions.sha256").read_text().split()[0]
    assert digest == hashlib.sha256((reported.out / "predictions.parquet").read_bytes()).hexdigest()


def test_the_page_is_self_contained_with_every_section_and_plot(reported):
    page = Page()
    page.feed((reported.out / "report.html").read_text())
    assert not page.links and not page.scripts  # readable offline: nothing fetched, nothing run
    assert page.images and all(i["src"].startswith("data:image/png;base64,") and i.get("alt") for i in page.images)
    assert len(page.images) == 5 + 2 + DEPENDENCE  # performance plots, importance, beeswarm, dependence
    for heading in [*CARD_SECTIONS, "Tier 1", "Tier 2", *ATRS_TIER_2, "Findings",
                    "How the flagged households differ from the rest"]:
        assert heading in page.headings, heading


def test_the_card_is_built_from_the_versions_own_numbers(in_reported_home):
    card = json.loads((in_reported_home.out / "model_card.json").read_text())
    sections = {s["title"]: s for s in card["sections"]}
    assert list(sections) == CARD_SECTIONS
    run = MlflowClient().get_run(MlflowClient().get_model_version(NAME, "1").run_id)

    splits = pd.read_csv(run_artifacts_csv(run.info.run_id))
    table = sections["Quantitative analyses"]["table"]
    mine = [r for r in table["rows"] if r[1] == "This model"]
    expected = splits[splits["scorer"] == "model"]
    assert [r[0] for r in mine] == expected["split"].tolist()
    column = table["columns"].index("Precision@30")
    assert [r[column] for r in mine] == pytest.approx(expected["precision_at_k"].tolist(), abs=5e-4)

    details = dict(sections["Model details"]["facts"])  # the calibration this version was fitted with
    assert f"with {run.data.params['calibration']} calibration on later months" in details["Type"]

    numbers = json.loads((in_reported_home.out / "fairness.json").read_text())
    assert len(sections["Disaggregated recall at capacity"]["table"]["rows"]) == len(numbers["groups"])
    headline = run.data.metrics["precision_at_k"]
    caveats = " ".join(sections["Caveats and recommendations"]["text"])
    assert f"{headline:.1%} of those flagged" in caveats
    assert "only households that approached the council" in " ".join(sections["Ethical considerations"]["text"])
    assert "The irreducible part, estimated: a model given perfect records" in caveats  # a synthetic borough
    out_of_scope = " ".join(r[0] for r in sections["Intended use"]["table"]["rows"])
    assert "Article 22" in out_of_scope


def run_artifacts_csv(run_id):
    import mlflow

    return mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="metrics/splits.csv")


def test_the_atrs_record_has_both_tiers_and_marks_what_the_council_must_complete(reported):
    record = json.loads((reported.out / "atrs.json").read_text())
    tier1 = dict(record["tier_1"])
    assert {"Name", "Description", "Organisation", "Senior responsible owner", "Phase"} <= set(tier1)
    assert tier1["Senior responsible owner"] == record["council_to_complete"]
    assert [s["title"] for s in record["tier_2"]] == ATRS_TIER_2
    facts = {name: value for s in record["tier_2"] for name, value in s["facts"]}
    assert facts["Data protection impact assessment"] == record["council_to_complete"]
    assert facts["Performance"].startswith("Precision@30 ")


def test_mitigation_is_compared_for_every_reviewed_attribute_on_the_models_own_list(reported):
    numbers = json.loads((reported.out / "fairness.json").read_text())
    twin = pd.read_parquet(reported.out / "predictions.parquet")
    assert [m["attribute"] for m in numbers["mitigation"]] == MITIGATED
    for m in numbers["mitigation"]:
        assert m["model"]["selected"] == int(twin["selected"].sum())
        assert m["model"]["precision"] == pytest.approx(twin.loc[twin["selected"], "label"].mean())
        assert m["equal_recall_at_capacity"]["selected"] <= m["model"]["selected"]


def test_the_pdf_is_the_same_report(reported):
    pdf = PdfReader(reported.out / "report.pdf")
    assert len(pdf.pages) >= 8
    text = " ".join(page.extract_text() for page in pdf.pages)
    for phrase in ("homelessness-risk version 1", "Model card", "Tier 2", "Council to complete"):
        assert phrase in text


def _identifiers(borough) -> dict[str, set[str]]:
    """What would identify a person or a home in the borough's extracts."""
    extracts = borough / "extracts"
    people = pd.concat([pd.read_csv(extracts / "rent" / "tenants.csv", dtype=str),
                        pd.read_csv(extracts / "benefits" / "members.csv", dtype=str)])
    gazetteer = pd.read_csv(extracts / "llpg" / "gazetteer.csv", dtype=str)
    return {
        "name": set((people["first_name"] + " " + people["last_name"]).str.lower()),
        "uprn": set(gazetteer["uprn"].dropna()),
        "postcode": set(gazetteer["postcode"].dropna()),
        "street address": set(gazetteer["address"].dropna().str.split(",").str[0].str.strip()),
        "date of birth": set(people["date_of_birth"].dropna()),
        "reference": set(people["person_ref"].dropna()) | set(people["member_ref"].dropna()),
    }


def _text(path) -> str:
    if path.suffix == ".pdf":
        return " ".join(page.extract_text() for page in PdfReader(path).pages)
    text = path.read_bytes().decode("utf-8", errors="ignore")
    return re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)


def test_no_personal_data_in_any_artifact(reported, run_artifacts, model_borough, model_matrix):
    from pathlib import Path

    found = _identifiers(model_borough)
    keys = set(pd.read_parquet(key_map_path(model_matrix), columns=["household_key"])["household_key"])
    files = [p for p in Path(run_artifacts[1]).rglob("*") if p.is_file()]
    files += [reported.out / n for n in ("fairness.json", "model_card.json", "atrs.json", "report.html", "report.pdf")]
    assert len(files) > 10
    for path in files:
        text = _text(path)
        tokens = set(re.findall(r"[A-Za-z0-9-]+", text))
        lowered = " ".join(text.lower().split())
        assert not tokens & keys, f"a household key in {path}"
        assert not tokens & found["uprn"], f"a UPRN in {path}"
        assert not tokens & found["reference"], f"a person reference in {path}"
        assert not tokens & found["date of birth"], f"a date of birth in {path}"
        assert not set(re.findall(r"[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}", text)) & found["postcode"], path
        pairs = set(re.findall(r"[a-z'-]+ [a-z'-]+", lowered)) | set(re.findall(r"(?=\b([a-z'-]+ [a-z'-]+))", lowered))
        assert not pairs & found["name"], f"a name in {path}: {sorted(pairs & found['name'])[:3]}"
        assert not any(a in text for a in found["street address"] if len(a) > 8), f"an address in {path}"


def test_the_same_explanations_draw_the_same_plots():
    """SHAP shuffles and jitters points at random: a report made again from the same numbers must not differ."""
    import types

    import numpy as np
    import shap

    from ethics.importance import importance_table, plots
    from features.dictionary import FEATURES

    features = [f.name for f in FEATURES if f.kind == "number"][:6]
    rng = np.random.default_rng(3)
    values = shap.Explanation(values=rng.normal(size=(400, 6)), base_values=np.zeros(400),
                              data=rng.normal(size=(400, 6)), feature_names=features)
    model = types.SimpleNamespace(features=features)
    table = importance_table(model, values)
    np.random.seed(1)
    first = plots(model, values, table)
    after_first = np.random.random()
    np.random.seed(2)
    assert plots(model, values, table) == first
    np.random.seed(1)
    assert np.random.random() == after_first  # the caller's random state is left as it was


def test_the_ethnicity_and_sex_groups_read_as_words_when_either_is_not_recorded():
    from ethics.report import _ethnicity_and_sex

    ethnicity = pd.Series(["White British", "Not recorded", "Not recorded", "Asian", None], dtype="category")
    sex = pd.Series(["Female", "Male", "Not recorded", "Not recorded", "Male"], dtype="category")
    assert _ethnicity_and_sex(ethnicity, sex).tolist()[:4] == [
        "White British female", "Ethnicity not recorded, male", "Not recorded", "Asian, sex not recorded"]
    assert pd.isna(_ethnicity_and_sex(ethnicity, sex).iloc[4])  # a row without equality data is in no group
