"""Features: from council extracts to one leak-free, pseudonymous household view.

Public API: `sources` (contracts and loading), `link` (records to UPRNs), `build_matrix` (the modelling
matrix on DuckDB or Spark), `FEATURES` and `LABELS` (the dictionary), `household_key` (pseudonyms).
Never reads truth/. The heavy parts (Ibis, the address matcher) load on first use.
"""
from importlib import import_module

from features import sources

_LAZY = {"link": "features.linkage", "build_matrix": "features.build", "FEATURES": "features.dictionary",
         "LABELS": "features.dictionary", "household_key": "features.pseudonym"}
__all__ = ["sources", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'features' has no attribute {name!r}")
