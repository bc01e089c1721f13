"""A household's address, from the council's gazetteer (its LLPG extract), for the household page only.

Only serving maps a pseudonym back to a UPRN and an address, and only for a person allowed to open that
household (the page's ward check runs first, and the view is audited). Addresses are never logged, never in
a URL and never in the audit log. The extract is the one the features were built from: $UPSTREAM_GAZETTEER
(a borough folder holding extracts/llpg/, or the gazetteer file itself), else $UPSTREAM_HOME/borough.
"""
from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import pandas as pd

from features.sources import load_table


def source() -> Path | None:
    chosen = os.environ.get("UPSTREAM_GAZETTEER")
    if chosen:
        return Path(chosen)
    from upstream.config import home

    default = home() / "borough"
    return default if (default / "extracts" / "llpg").is_dir() else None


POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2}$")


def readable(address: str) -> str:
    """A gazetteer's capitals as people write an address: "12 ST JOHN'S ROAD, EASTBROOK, UP1 0AA" reads
    "12 St John's Road, Eastbrook, UP1 0AA" (the postcode stays in capitals)."""
    def word(w: str) -> str:  # "2A" and "FLAT" read "2A" and "Flat"
        return w if any(c.isdigit() for c in w) else "-".join(p[:1].upper() + p[1:].lower() for p in w.split("-"))
    parts = [p.strip() for p in address.split(",")]
    return ", ".join(p if POSTCODE.match(p.upper()) else " ".join(word(w) for w in p.split()) for p in parts)


def address(uprn: int) -> str | None:
    """The gazetteer's single-line address of UPRN, or None (no gazetteer configured, or the UPRN not in it)."""
    where = source()
    if where is None or not where.exists():
        return None
    files = [where] if where.is_file() else sorted((where / "extracts" / "llpg").glob("gazetteer*"))
    stamp = tuple(f.stat().st_mtime_ns for f in files if f.exists())
    return _addresses(str(where), stamp).get(int(uprn))


@functools.lru_cache(maxsize=2)
def _addresses(where: str, _stamp: tuple) -> dict[int, str]:
    path = Path(where)
    if path.is_file():  # the extract on its own: the columns the catalogue names, read as text
        frame = (pd.read_csv(path, dtype=str, keep_default_na=False, usecols=["uprn", "address"])
                 if path.suffix == ".csv" else pd.read_parquet(path, columns=["uprn", "address"]))
    else:  # a borough folder: the same loader (and checks) the feature build used
        frame = load_table(path, "llpg/gazetteer").data[["uprn", "address"]]
    frame = frame[frame["address"].astype(str).str.strip() != ""]
    return dict(zip(pd.to_numeric(frame["uprn"]).astype("int64"), frame["address"].astype(str).str.strip(), strict=True))
