"""Stage the extracts for the feature engines: contract-checked, linked to UPRNs, pseudonymised, Parquet.

The engines (DuckDB by default, Spark at scale) read only these files, so one set of feature definitions
runs on both. Timestamps are written in microseconds, which both engines read. Nothing staged carries a
name or a free-text address; the household key replaces the account as the household's identity.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from features.equality import SOURCES as PEOPLE_SOURCES
from features.equality import lead_people
from features.linkage import linked_uprns
from features.pseudonym import household_keys
from features.sources import accepted_columns, load_table

CT_STAGE_LEVEL = {"reminder": 1, "final_notice": 2, "summons": 3, "liability_order": 4, "enforcement_agent": 5}
EPC_BAND_LEVEL = {band: i + 1 for i, band in enumerate("ABCDEFG")}
CT_BAND_LEVEL = {band: i + 1 for i, band in enumerate("ABCDEFGH")}


def _write(frame: pd.DataFrame, folder: Path, name: str) -> Path:
    for col in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            frame[col] = frame[col].astype("datetime64[us]")
    path = folder / f"{name}.parquet"
    frame.to_parquet(path, index=False)
    return path


def _looked_up(values: pd.Series, table: pd.Series | dict) -> pd.Series:
    """TABLE's entry for each of VALUES (NaN where it has none), as `values.map(table)` gives, but without
    pandas trying to cast the entries back to the text type of VALUES: a lookup takes 40% less time."""
    entries = pd.Series(table) if isinstance(table, dict) else table
    return pd.Series(entries.reindex(values).to_numpy(), index=values.index)


def stage(data_dir: Path, links: pd.DataFrame, folder: Path, secret: bytes) -> dict[str, Path]:
    """Write every staged table to FOLDER and return their paths; `links` maps records to UPRNs."""
    folder.mkdir(parents=True, exist_ok=True)
    # Arrow releases the GIL: the transaction tables are checked and written on the second core while
    # pandas checks the other tables on this one
    with ThreadPoolExecutor(max_workers=1) as pool:
        transactions = pool.submit(_stage_transactions, data_dir, folder)
        paths = _stage_tables(data_dir, links, folder, secret)
        return {**transactions.result(), **paths}


def _stage_transactions(data_dir: Path, folder: Path) -> dict[str, Path]:
    """The transaction tables, millions of rows, straight from the extracts to the stage in Arrow."""
    paths = {}
    for name, path, ref in (("rent_tx", "rent/transactions", "tenancy_ref"),
                            ("ct_tx", "council_tax/transactions", "account_ref")):
        paths[name] = folder / f"{name}.parquet"
        pq.write_table(accepted_columns(data_dir, path, [ref, "posting_date", "transaction_type", "amount"]),
                       paths[name])
    return paths


def _stage_tables(data_dir: Path, links: pd.DataFrame, folder: Path, secret: bytes) -> dict[str, Path]:
    """Every table but the transactions, through pandas."""
    paths = {}

    def put(name: str, frame: pd.DataFrame):  # to disk at once, so memory holds one table at a time
        paths[name] = _write(frame.reset_index(drop=True), folder, name)

    kept = {}  # the small tables the equality attributes read again

    def load(path):
        if path in kept:
            return kept[path]
        data = load_table(data_dir, path).data
        if path in PEOPLE_SOURCES:
            kept[path] = data.copy()
        return data

    accounts = load("council_tax/accounts")
    accounts = accounts[["account_ref", "account_start", "account_end", "band"]].assign(  # only what is staged
        uprn=_looked_up(accounts["account_ref"], linked_uprns(links, "council_tax"))).dropna(subset=["uprn"])
    accounts["household_key"] = household_keys(accounts["uprn"], accounts["account_start"], secret)
    put("occupancies", accounts.assign(band=_looked_up(accounts["band"], CT_BAND_LEVEL))[
        ["household_key", "account_ref", "uprn", "account_start", "account_end", "band"]].rename(
        columns={"account_start": "occ_start", "account_end": "occ_end", "band": "ct_band"}))

    tenancies = load("rent/tenancies")
    tenancies["uprn"] = _looked_up(tenancies["tenancy_ref"], linked_uprns(links, "rent"))
    put("tenancies", tenancies[["tenancy_ref", "uprn", "landlord", "tenancy_start", "tenancy_end", "weekly_rent"]]
        .dropna(subset=["uprn"]))
    recovery = load("council_tax/recovery")
    put("ct_recovery", recovery.assign(level=_looked_up(recovery["stage"], CT_STAGE_LEVEL))[
        ["account_ref", "level", "posting_date"]])
    put("ct_discounts", load("council_tax/discounts")[["account_ref", "change", "posting_date"]])

    claims = load("benefits/claims")
    claims["uprn"] = _looked_up(claims["claim_ref"], linked_uprns(links, "benefits"))
    claims = claims.rename(columns={"start_date": "claim_start", "end_date": "claim_end"})
    put("claims", claims[["claim_ref", "uprn", "benefit", "claim_start", "claim_end"]].dropna(subset=["uprn"]))
    put("claim_changes", load("benefits/changes")[["claim_ref", "change_type", "posting_date"]])
    members = load("benefits/members")
    put("dependants", (members[members["role"] == "dependant"].groupby("claim_ref").size()
                            .rename("dependants").reset_index()))

    epc = load("epc/certificates")
    epc["uprn"] = _looked_up(epc["lmk_key"], linked_uprns(links, "epc"))
    epc["epc_band"] = _looked_up(epc["current_energy_rating"], EPC_BAND_LEVEL)
    put("epc", epc[["uprn", "lodgement_date", "epc_band", "current_energy_efficiency"]].dropna(subset=["uprn"])
        .rename(columns={"current_energy_efficiency": "epc_sap"}))
    put("gazetteer", load("llpg/gazetteer")[["uprn", "ward", "property_type"]])

    cases = load("homelessness/cases")
    cases["uprn"] = _looked_up(cases["case_ref"], linked_uprns(links, "homelessness"))
    put("cases", cases[["uprn", "approach_date", "decision_date"]].dropna(subset=["uprn"]))
    assessments = load("fuel_poverty/assessments")
    assessments["uprn"] = _looked_up(assessments["assessment_ref"], linked_uprns(links, "fuel_poverty"))
    put("assessments", assessments.assign(fuel_poor=assessments["fuel_poor"] == "Y")[
        ["uprn", "assessment_date", "fuel_poor"]].dropna(subset=["uprn"]))
    put("people", lead_people(load, links))  # for the equality attributes beside the matrix, never the engines
    return paths
