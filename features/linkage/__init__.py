"""Record linkage: every record of every source joined to a property (UPRN), or explicitly unmatched.

First pass, exact: a UPRN on the record that the gazetteer knows. Second pass, address: the free-text
address matched to the gazetteer with uk-address-matcher (Splink). Everything else is kept as `unmatched`
with its best candidate and score; no record is dropped. A record is linked only by what it says itself
(against the gazetteer), never by other records, so a record from after an as-of date cannot change how
an earlier one is linked.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.linkage.address import match_addresses
from features.linkage.records import LINKED_SOURCES, LinkedSource, records
from features.sources import extracts_fingerprint, load_table

FINGERPRINT_KEY = b"upstream.extracts_fingerprint"
LINK_COLUMNS = ["source", "record_id", "uprn", "method", "score", "candidate_uprn", "had_uprn"]


def _exact(frame: pd.DataFrame, known: set) -> pd.Series:
    """The recorded UPRN where the gazetteer knows it."""
    return frame["recorded_uprn"].where(frame["recorded_uprn"].isin(known)).astype("Int64")


def link(data_dir: Path, work: Path | None = None, progress=None) -> pd.DataFrame:
    """One row per source record: source, record_id, uprn (null if unmatched), method, score, ..."""
    gazetteer = load_table(data_dir, "llpg/gazetteer").data
    known = set(gazetteer["uprn"].astype("int64"))
    frames = []
    for spec in LINKED_SOURCES:
        frame = records(data_dir, spec)
        frame["uprn"] = _exact(frame, known)
        frame["method"] = np.where(frame["uprn"].notna(), "exact", "unmatched")
        frame["score"] = np.where(frame["uprn"].notna(), 1.0, 0.0)
        frame["candidate_uprn"] = frame["uprn"]
        frame["had_uprn"] = frame["recorded_uprn"].notna().to_numpy()
        frames.append(frame)
        progress and progress(spec.source)
    allrec = pd.concat(frames, ignore_index=True)
    todo = allrec["uprn"].isna() & allrec["address"].notna()
    if todo.any():
        with tempfile.TemporaryDirectory(dir=work) as tmp:
            wanted = allrec[todo].assign(record_key=allrec["source"] + "|" + allrec["record_id"])
            found = match_addresses(gazetteer, wanted, Path(tmp)).set_index("record_key")
        keys = (allrec["source"] + "|" + allrec["record_id"])[todo]
        hit = found.loc[keys]
        idx = allrec.index[todo]
        allrec.loc[idx, "candidate_uprn"] = hit["candidate_uprn"].to_numpy()
        allrec.loc[idx, "score"] = hit["score"].to_numpy()
        accepted = hit["accepted"].to_numpy()
        allrec.loc[idx[accepted], "uprn"] = hit["candidate_uprn"].to_numpy()[accepted]
        allrec.loc[idx[accepted], "method"] = "address"
        progress and progress("address matching")
    return allrec[LINK_COLUMNS].astype({"uprn": "Int64", "candidate_uprn": "Int64"})


def write_links(links: pd.DataFrame, out: Path, data_dir: Path) -> None:
    """LINKS to OUT (Parquet), with the fingerprint of the extracts they link, so that they are never used
    for other extracts."""
    table = pa.Table.from_pandas(links, preserve_index=False)
    fingerprint = {FINGERPRINT_KEY: extracts_fingerprint(data_dir).encode()}
    pq.write_table(table.replace_schema_metadata({**(table.schema.metadata or {}), **fingerprint}), out)


def read_links(path: Path, data_dir: Path) -> pd.DataFrame:
    """The links in PATH, if `upstream link` wrote them for DATA_DIR's extracts; ValueError says what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} is not a links file: write one with `upstream link --data DIR --out FILE`")
    linked = (pq.read_schema(path).metadata or {}).get(FINGERPRINT_KEY)
    if linked is None or linked.decode() != extracts_fingerprint(data_dir):
        raise ValueError(f"{path} does not link the extracts in {data_dir}"
                         + (" (it carries no fingerprint of its extracts)" if linked is None else "")
                         + ": link them with `upstream link`, or leave out --links to link them now")
    return pd.read_parquet(path)


def linked_uprns(links: pd.DataFrame, source: str) -> pd.Series:
    """The UPRN of each linked record of SOURCE, by record id (unmatched records are left out)."""
    linked = links[(links["source"] == source) & links["uprn"].notna()]
    return linked.set_index("record_id")["uprn"].astype("int64")


__all__ = ["LINK_COLUMNS", "LINKED_SOURCES", "LinkedSource", "link", "linked_uprns", "read_links", "write_links"]
