"""Build the modelling matrix: one row per resident household per as-of date, keyed by pseudonym.

Columns: `household_key`, `as_of`, every feature in the dictionary, and `label_homelessness`,
`label_fuel_poverty`. Staging happens once in pandas; the windows run on the chosen engine.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features import windows
from features.dictionary import FEATURES, LABELS
from features.engines import connect, read
from features.staging import stage

COUNT_COLUMNS = [f.name for f in FEATURES if f.kind in ("count", "flag") and not f.name.startswith("missing_")]


def as_of_table(dates: list[pd.Timestamp], extract_date: pd.Timestamp) -> pd.DataFrame:
    frame = pd.DataFrame({"as_of": pd.to_datetime(sorted(set(dates)))})
    if (frame["as_of"].dt.day != 1).any():
        raise ValueError("as-of dates must be the first day of a month")
    frame["fy_start"] = pd.to_datetime({"year": frame["as_of"].dt.year - (frame["as_of"].dt.month < 4),
                                        "month": 4, "day": 1})
    observed = extract_date + pd.Timedelta(days=1)
    frame["homelessness_observed"] = frame["as_of"] + pd.DateOffset(months=6) <= observed
    frame["fuel_poverty_observed"] = frame["as_of"] + pd.DateOffset(months=3) <= observed
    return frame


def default_as_of_dates(first_posting: pd.Timestamp, extract_date: pd.Timestamp) -> list[pd.Timestamp]:
    """Every month start from six months after the first posting (a history to look back on) to the
    month after the extract (the one a caseworker list is made for)."""
    start = (first_posting + pd.DateOffset(months=6)).to_period("M").to_timestamp()
    return list(pd.date_range(start, (extract_date + pd.Timedelta(days=1)).to_period("M").to_timestamp(), freq="MS"))


def _assemble(t: dict):
    s = windows.spine(t)
    keys = ["household_key", "as_of"]
    money, actions, discounts = windows.council_tax(s, t)
    current, changes = windows.benefits(s, t)
    epc, area, history, assessed = windows.property_and_history(s, t)
    homeless, fuel = windows.labels(s, t)
    m = s
    for part in (windows.rent(s, t), money, actions, discounts, current, changes, epc, area, history, assessed,
                 homeless, fuel):
        m = m.left_join(part, keys).drop(*[c for c in (f"{k}_right" for k in keys)])
    asof = t["asof"]
    m = m.left_join(asof.select("as_of", "homelessness_observed", "fuel_poverty_observed"), "as_of").drop("as_of_right")
    fill = {c: (m[c].fill_null(False) if m[c].type().is_boolean() else m[c].fill_null(0)).cast("int64")
            for c in COUNT_COLUMNS if c in m.columns}
    m = m.mutate(**fill)
    m = m.mutate(
        ct_balance=m.ct_balance.fill_null(0),
        ct_highest_stage_12m=m.ct_highest_stage_12m.fill_null(0),
        ct_single_person_discount=ibis.coalesce(m.spd_latest, m.spd_billed, False).cast("int64"),
        ct_account_months=windows.months_between(m.as_of, m.occ_start),
        tenure_private_rented=((m.hb_active == 1) & m.rent_balance.isnull()).cast("int64"),
        missing_rent_account=m.rent_balance.isnull().cast("int64"),
        missing_epc=m.epc_band.isnull().cast("int64"),
        missing_benefit_claim=((m.hb_active == 0) & (m.ctr_active == 0)).cast("int64"),
        missing_ct_action=m.ct_months_since_action.isnull().cast("int64"),
        missing_approach=(m.previous_approaches == 0).cast("int64"),
        label_homelessness=ibis.ifelse(m.homelessness_observed, (m.duty.fill_null(0) > 0).cast("int64"),
                                       ibis.null("int64")),
        label_fuel_poverty=ibis.ifelse(m.fuel_poverty_observed, m.assessed_fuel_poor, ibis.null("int64")),
    )
    return m.select("household_key", "as_of", *[f.name for f in FEATURES], *LABELS).order_by(["as_of", "household_key"])


def extract_date_of(data_dir: Path, staged_postings: pd.Series) -> pd.Timestamp:
    """The date the extracts were taken: from the export's manifest.json when there is one, else the last
    posting date seen."""
    manifest = Path(data_dir) / "manifest.json"
    if manifest.exists():
        return pd.Timestamp(json.loads(manifest.read_text())["extract_date"])
    return staged_postings.max().normalize()


def _write_streaming(expr, out: Path) -> Path:
    """Write the matrix batch by batch, so it never has to fit in memory twice."""
    writer = None
    for batch in expr.to_pyarrow_batches(chunk_size=500_000):
        table = pa.Table.from_batches([batch])
        position = table.schema.get_field_index("as_of")
        table = table.set_column(position, "as_of", table["as_of"].cast(pa.timestamp("us")))
        if writer is None:
            writer = pq.ParquetWriter(out, table.schema, compression="zstd")
        writer.write_table(table.cast(writer.schema))
    writer.close()
    return out


def build_matrix(data_dir: Path, links: pd.DataFrame, out: Path, secret: bytes, as_of: list | None = None,
                 engine: str = "duckdb", work: Path | None = None) -> Path:
    """Stage, compute and write the matrix to OUT (Parquet); returns OUT."""
    owned = work is None
    work = Path(work or tempfile.mkdtemp(prefix="upstream-features-"))
    try:
        paths = stage(Path(data_dir), links, work / "staged", secret)
        ct = pq.read_table(paths["ct_tx"], columns=["posting_date"]).column(0).to_pandas()
        extract_date = extract_date_of(data_dir, ct)
        dates = [pd.Timestamp(d) for d in as_of] if as_of else default_as_of_dates(ct.min(), extract_date)
        asof_path = work / "staged" / "asof.parquet"
        as_of_table(dates, extract_date).astype({"as_of": "datetime64[us]", "fy_start": "datetime64[us]"}).to_parquet(
            asof_path, index=False)
        con = connect(engine, work)
        tables = {name: read(con, engine, name, path) for name, path in {**paths, "asof": asof_path}.items()}
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        return _write_streaming(_assemble(tables), out)
    finally:
        if owned:
            shutil.rmtree(work, ignore_errors=True)
