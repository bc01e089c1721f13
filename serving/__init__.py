"""The BentoML service (scoring and explanation API, batch risk lists) and the caseworker dashboard, for
approved models only. Reads only what models and ethics publish.

Public API: `serving.service:Upstream`, the BentoML service (what `upstream serve` and `bentoml serve` run;
importing it imports BentoML), and, loaded on first use so `import serving` stays light:
`create_token` (an API token, shown once, stored hashed), `month_lists` (a month's risk lists for the whole
borough), `replace_risk_lists` and `read_risk_list` (the lists in the application database).
"""
from __future__ import annotations

import importlib

_PUBLIC = {"create_token": ("serving.tokens", "create"), "month_lists": ("serving.batch", "month_lists"),
           "replace_risk_lists": ("serving.risk_lists", "replace"), "read_risk_list": ("serving.risk_lists", "read")}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'serving' has no attribute {name!r}")
    module, attribute = _PUBLIC[name]
    return getattr(importlib.import_module(module), attribute)
