"""Schemathesis against the served OpenAPI document (BentoML's /docs.json: the API, health, readiness and
metrics): generated valid and invalid requests, with a service token, and never a 5xx.

`positive_data_acceptance` is left out: a request can match the schema and still be refused with a 422
because of what only the service knows (a UPRN no household lives at, the served model's features).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))


def test_the_openapi_document_is_complete_and_typed(served):
    spec = httpx.get(f"{served.url}/docs.json").json()
    for path in ("/score", "/explain", "/models", "/readyz", "/metrics", "/healthz"):
        assert path in spec["paths"], path
    score = spec["paths"]["/score"]["post"]
    assert set(score["responses"]) >= {"200", "401", "403", "422", "503"}
    assert score["security"] == [{"HTTPBearer": []}] and "HTTPBearer" in spec["components"]["securitySchemes"]
    result = spec["components"]["schemas"]["Result"]
    assert set(result["properties"]) >= {"uprn", "as_of", "target", "score", "band", "rank", "reasons",
                                         "model_version"}
    # the API's own document: not the dashboard's HTML pages, nor BentoML's badges and contact
    assert not [path for path in spec["paths"] if path.startswith("/ui")]
    assert spec["info"]["title"] == "Upstream" and "bentoml.com" not in json.dumps(spec)


def schemathesis(served, *options, schema: str | None = None) -> str:
    result = subprocess.run(
        [SCHEMATHESIS, "run", schema or f"{served.url}/docs.json",
         "-H", f"Authorization: Bearer {served.service_token}",
         "--max-examples", "25", "--seed", "20261124", "--workers", "2", *options],
        capture_output=True, text=True, timeout=300)
    summary = result.stdout.split("SUMMARY")[-1]
    assert result.returncode == 0, result.stdout[-4000:]
    assert int(re.search(r"(\d+) generated", summary).group(1)) >= 100, summary
    return summary


def operations_tested(summary: str) -> int:
    return int(re.search(r"Tested: (\d+)", summary).group(1))


def test_schemathesis_finds_no_server_error(served, tmp_path):
    """Every check on the API and BentoML's endpoints; the dashboard's HTML pages (tested on their own, and
    not in the API's document) must at least never answer with a 5xx."""
    from serving.dashboard.app import app as dashboard

    assert operations_tested(schemathesis(served, "--exclude-checks", "positive_data_acceptance")) == 7
    spec, pages = dashboard.openapi(), tmp_path / "dashboard.json"
    pages.write_text(json.dumps(spec))
    assert operations_tested(schemathesis(served, "--checks", "not_a_server_error", "--url", f"{served.url}/ui",
                               schema=str(pages))) == sum(len(operations) for operations in spec["paths"].values())
