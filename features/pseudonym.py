"""Pseudonymous household keys: modelling tables never carry a name, an address or a UPRN.

A household is one occupancy of a property: the UPRN plus the date its council tax liability began.
Its key is a keyed hash (HMAC-SHA256) of that pair under the council's secret, so the same secret gives
the same keys on every run, and nobody without the secret can recompute a key from a known address.
Only the application (the `upstream` command line, and `serving` for authorised users) maps a key back to
a UPRN; modelling code never does.

Rotation: set a new UPSTREAM_SECRET and rebuild features; every key changes, so `serving` re-keys its
recorded actions through its key map (old key -> UPRN + occupancy start -> new key) in the same release.
"""
from __future__ import annotations

import hashlib
import hmac

import pandas as pd

KEY_HEX_CHARS = 20  # 80 bits: no collision in practice across millions of households


def _message(uprn: int, occupancy_start: str) -> bytes:
    return f"{int(uprn)}|{occupancy_start}".encode()


def household_key(uprn: int, occupancy_start: str, secret: bytes) -> str:
    return hmac.new(secret, _message(uprn, occupancy_start), hashlib.sha256).hexdigest()[:KEY_HEX_CHARS]


def household_keys(uprns: pd.Series, occupancy_starts: pd.Series, secret: bytes) -> pd.Series:
    """`household_key` of every pair; the secret is keyed into the hash once, not once per household."""
    keyed = hmac.new(secret, digestmod=hashlib.sha256)

    def key(uprn: int, start: str) -> str:
        h = keyed.copy()
        h.update(_message(uprn, start))
        return h.hexdigest()[:KEY_HEX_CHARS]

    starts = pd.to_datetime(occupancy_starts).dt.strftime("%Y-%m-%d")
    return pd.Series([key(u, s) for u, s in zip(uprns.tolist(), starts.tolist(), strict=True)],
                     index=uprns.index, dtype=object)
