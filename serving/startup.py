"""What the service serves when it starts, or why it cannot start (no approved model, no feature build).

`upstream serve` runs `preflight` before BentoML starts, so a refusal is one clear line, not a crashing
worker; the service's `start` does the same checks and then loads the feature build.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from serving import registry
from serving.feature_build import FeatureBuild, latest_matrix
from serving.scoring import Scoring

log = logging.getLogger("upstream.serving")


class CannotStart(RuntimeError):
    pass


def _checked() -> tuple[registry.Selection, Path]:
    selection = registry.select()
    if not selection.models:
        raise CannotStart("no approved model can be served: " + "; ".join(selection.problems))
    chosen = os.environ.get("UPSTREAM_FEATURES")
    matrix = Path(chosen) if chosen else latest_matrix()
    if matrix is None or not matrix.exists():
        raise CannotStart(f"no feature build to look households up in ({matrix or 'none under $UPSTREAM_HOME'}): "
                          "build one with `upstream features`, or pass --features")
    return selection, matrix


def preflight() -> str:
    selection, matrix = _checked()
    served = ", ".join(f"{s.name} version {s.version}" + (" (from the local cache)" if s.source == "cache" else "")
                       for s in selection.models.values())
    problems = "".join(f"\nDegraded: {p}" for p in selection.problems)
    return f"Will serve {served}, looking households up in {matrix}{problems}"


def start() -> Scoring:
    os.umask(0o077)  # the approved-model cache and the SQLite database are the service account's alone
    selection, matrix = _checked()
    features = sorted({name for s in selection.models.values() for name in s.model.features})
    scoring = Scoring(selection, FeatureBuild(matrix, features))
    for problem in selection.problems:
        log.warning("Degraded: %s", problem)
    return scoring
