"""The API's request and response types: the OpenAPI document and every 422 message come from these."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

BATCH_LIMIT = 1000
Target = Literal["homelessness", "fuel_poverty"]
Band = Literal["very_high", "high", "medium", "low"]
FeatureValue = Union[Annotated[float, Field(allow_inf_nan=False)], Annotated[str, Field(max_length=100)], None]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Month(Strict):
    as_of: dt.date = Field(description="First day of the month the household is scored at", examples=["2025-06-01"])

    @field_validator("as_of")
    @classmethod
    def _first_of_month(cls, value: dt.date) -> dt.date:
        if value.day != 1:
            raise ValueError("must be the first day of a month (YYYY-MM-01)")
        return value


class ByUprn(Month):
    """A household of the borough, looked up in the latest feature build."""
    uprn: str = Field(pattern=r"^[0-9]{1,12}$", description="The property's UPRN", examples=["100023336956"])


class ByValues(Month):
    """A household sent with its own feature values, under its pseudonymous key (nothing is looked up)."""
    household_key: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$",
                               description="The household's pseudonym, echoed back")
    features: dict[str, FeatureValue] = Field(
        description="Every feature the target's model uses (GET /models lists them); null where not known")


def _form(value) -> str:
    return "values" if isinstance(value, dict) and ("features" in value or "household_key" in value) else "uprn"


Household = Annotated[Union[Annotated[ByUprn, Tag("uprn")], Annotated[ByValues, Tag("values")]], Discriminator(_form)]


class ScoreRequest(Strict):
    target: Target
    households: list[Household] = Field(min_length=1, max_length=BATCH_LIMIT,
                                        description=f"1 to {BATCH_LIMIT} households")


class ExplainRequest(Strict):
    target: Target
    household: Household


class Identity(BaseModel):
    uprn: str | None = Field(None, description="Set when the household was given by UPRN")
    household_key: str | None = Field(None, description="Set when the household was given by pseudonym")
    as_of: dt.date
    target: Target


class Result(Identity):
    score: float = Field(description="Calibrated probability of the outcome in its label window")
    band: Band = Field(description="very_high: rank within caseworker capacity k; high: within 4k; "
                                   "medium: within 20k; low: the rest")
    rank: int = Field(ge=1, description="Rank within the borough at that as-of date (1 = highest risk)")
    reasons: list[str] = Field(description="What moved the score most, in plain English")
    model_version: str
    ranked_among: dt.date | None = Field(None, description=(
        "Set when a household sent with its own values was placed among another month's residents, because the "
        "feature build does not hold its as-of month: rank and band are against this month's"))


class ScoreResponse(BaseModel):
    results: list[Result]


class Contribution(BaseModel):
    feature: str
    value: float | str | None
    text: str = Field(description="The value in plain English")
    direction: Literal["raises", "lowers", "no effect"]
    contribution: float = Field(description="TreeSHAP contribution to the raw score (log-odds)")


class Explanation(Result):
    raw_score: float = Field(description="The booster's raw score (log-odds): expected_value + contributions")
    expected_value: float = Field(description="The raw score of an average household")
    contributions: list[Contribution] = Field(description="Every feature, largest effect first")


class Approval(BaseModel):
    decision: str
    decided_by: str = Field(description="The ethics board member accountable for the decision")
    at: str
    note: str
    report_sha256: str
    demo: bool


class Report(BaseModel):
    artifact_uri: str | None = Field(description="The approved fairness report in the MLflow artifact store")
    mlflow_ui: str = Field(description="The version in MLflow's UI (`make mlflow-ui`)")


class ServedModel(BaseModel):
    target: Target
    name: str
    version: str
    source: Literal["registry", "cache"]
    capacity: int
    features: list[str]
    approval: Approval
    report: Report


class FeatureBuildInfo(BaseModel):
    as_of_first: dt.date
    as_of_last: dt.date
    rows: int


class ModelsResponse(BaseModel):
    status: Literal["ready", "degraded"]
    problems: list[str] = Field(description="Why something is not served as it should be")
    models: list[ServedModel]
    feature_build: FeatureBuildInfo


class Problem(BaseModel):
    detail: str
