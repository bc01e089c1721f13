"""The world hangs together: every record traces to the truth, and scenarios move what they should."""
import pandas as pd
import pytest

from features.sources import load_table
from synth import BoroughSpec, generate

# Records that belong to a household or property; event rows (transactions, recovery actions, changes,
# discounts) belong to one of these through its account, tenancy or claim reference.
RECORD_TABLES = {"rent": ["rent/tenancies", "rent/tenants"], "council_tax": ["council_tax/accounts"],
                 "benefits": ["benefits/claims", "benefits/members"], "epc": ["epc/certificates"],
                 "homelessness": ["homelessness/cases"], "fuel_poverty": ["fuel_poverty/assessments"]}


def test_gazetteer_has_unique_uprns_and_addresses(small_borough):
    llpg = load_table(small_borough, "llpg/gazetteer").data
    assert llpg["uprn"].is_unique and llpg["address"].is_unique


@pytest.mark.parametrize("source,paths", RECORD_TABLES.items())
def test_crosswalk_covers_every_record_of_every_extract(small_borough, source, paths):
    cross = pd.read_parquet(small_borough / "truth" / "crosswalk.parquet")
    keys = set()
    for path in paths:
        table = load_table(small_borough, path)
        keys |= set(table.data[table.table.key]) | set(table.quarantine[table.table.key])
    assert keys == set(cross.loc[cross["source"] == source, "record_id"])
    assert cross["record_id"].is_unique
    llpg = set(load_table(small_borough, "llpg/gazetteer").data["uprn"])
    assert set(cross.loc[cross["source"] == source, "uprn"]) <= llpg


@pytest.mark.parametrize("name", ["homelessness", "fuel_poverty"])
def test_one_household_per_property_per_month(small_borough, name):
    truth = pd.read_parquet(small_borough / "truth" / f"{name}.parquet")
    assert not truth.duplicated(["uprn", "as_of"]).any()
    assert (truth["as_of"].dt.day == 1).all()


def test_recorded_uprns_are_the_true_ones(small_borough):
    cross = pd.read_parquet(small_borough / "truth" / "crosswalk.parquet").set_index("record_id")
    accounts = load_table(small_borough, "council_tax/accounts").data.dropna(subset=["uprn"])
    assert (accounts["uprn"].to_numpy() == cross.loc[accounts["account_ref"], "uprn"].to_numpy()).all()


def test_some_records_lack_a_uprn_and_carry_free_text_addresses(small_borough):
    claims = load_table(small_borough, "benefits/claims").data
    assert 0.4 < claims["uprn"].isna().mean() < 0.8
    assert claims["address"].str.len().min() > 5


def _panel(root):
    return pd.read_parquet(root / "truth" / "panel.parquet")


@pytest.fixture(scope="module")
def scenario_runs(boroughs):
    runs = {}
    for name in ("baseline", "energy-shock", "uc-migration", "rent-rise"):
        out = boroughs / f"scenario-{name}"
        if not (out / "manifest.json").exists():
            generate(BoroughSpec(households=3_000, months=24, seed=21, scenario=name), out)
        panel = _panel(out)
        tenure = pd.read_parquet(out / "truth" / "households.parquet").set_index("household_id")["tenure"]
        runs[name] = panel.assign(tenure=panel["household_id"].map(tenure))
    return runs


def test_energy_shock_raises_fuel_poverty_after_the_shock(scenario_runs):
    after = lambda p: p[p["as_of"] >= "2024-04-01"]["fuel_poor"].mean()  # noqa: E731
    before = lambda p: p[p["as_of"] < "2024-04-01"]["fuel_poor"].mean()  # noqa: E731
    base, shock = scenario_runs["baseline"], scenario_runs["energy-shock"]
    assert before(shock) == pytest.approx(before(base))  # the same world until the shock
    assert after(shock) - after(base) >= 0.005
    # The shock works through income after energy costs: more low-income households, in every band.
    assert shock[shock["as_of"] >= "2024-04-01"]["low_income"].mean() > \
        base[base["as_of"] >= "2024-04-01"]["low_income"].mean() + 0.01


def test_uc_migration_moves_claimants_to_universal_credit(scenario_runs):
    late = lambda p: p[p["as_of"] >= "2024-10-01"]  # noqa: E731
    base, wave = late(scenario_runs["baseline"]), late(scenario_runs["uc-migration"])
    assert wave["universal_credit"].mean() > base["universal_credit"].mean() + 0.01
    assert wave["housing_benefit"].mean() < base["housing_benefit"].mean()


def test_rent_rise_raises_private_renters_risk_of_homelessness(scenario_runs):
    def private_hazard(p, after):
        p = p[p["tenure"] == "private"]
        return p[(p["as_of"] >= "2024-04-01") == after]["hazard"].mean()

    base, rise = scenario_runs["baseline"], scenario_runs["rent-rise"]
    assert private_hazard(rise, after=False) == pytest.approx(private_hazard(base, after=False))
    assert private_hazard(rise, after=True) > private_hazard(base, after=True) * 1.05


def test_unknown_scenario_is_refused():
    with pytest.raises(ValueError, match="unknown scenario"):
        BoroughSpec(scenario="meteor")
