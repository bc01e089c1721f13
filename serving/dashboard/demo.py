"""`make demo`'s dashboard step: the latest months' risk lists in the database (for the list and the
trend), one demo account per role, and the URL and sign-ins printed — marked DEMO ONLY.

python -m serving.dashboard.demo --features MATRIX [--data BOROUGH] [--months 3] [--url http://127.0.0.1:3000/ui/]

Demo passwords are random, made once per $UPSTREAM_HOME and kept in demo-sign-ins.json there (readable
only by its owner), so a second `make demo` prints the same ones. A council creates real accounts with
`upstream users add` and never runs this.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pandas as pd

from serving.dashboard.access import ROLE_NAMES, ROLES


def _scored_months() -> set:
    import sqlalchemy as sa

    from serving import risk_lists
    from serving.database import engine

    with engine().connect() as db:
        return {pd.Timestamp(d) for d in db.execute(sa.select(risk_lists.risk_lists.c.as_of).distinct()).scalars()}


def score_latest(matrix: Path, months: int, data: Path | None = None) -> list[pd.Timestamp]:
    """`upstream score --as-of` for each of the matrix's latest MONTHS not yet in the database."""
    wanted = sorted(pd.read_parquet(matrix, columns=["as_of"])["as_of"].unique())[-months:]
    done = _scored_months()
    upstream = str(Path(sys.executable).with_name("upstream"))
    for month in map(pd.Timestamp, wanted):
        if month not in done:
            borough = ["--data", str(data)] if data else []
            subprocess.run([upstream, "score", *borough, "--as-of", f"{month:%Y-%m-%d}", "--features", str(matrix)],
                           check=True)
    return [pd.Timestamp(m) for m in wanted]


def demo_accounts(wards: list[str]) -> dict[str, str]:
    """{name: password} for one demo account per role, created once."""
    from serving.dashboard import accounts
    from upstream.config import home

    path = home() / "demo-sign-ins.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    existing = {u["name"] for u in accounts.everyone()}
    for role in ROLES:
        name = f"demo-{role}"
        if name not in existing:
            known[name] = known.get(name) or secrets.token_urlsafe(9)
            accounts.add(name, role, known[name], wards if role in ("caseworker", "team-manager") else [])
    path.write_text(json.dumps(known, indent=1))
    os.chmod(path, 0o600)
    return {f"demo-{role}": known.get(f"demo-{role}", "(set before this file existed)") for role in ROLES}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--data", type=Path, help="the borough (default: $UPSTREAM_HOME/borough)")
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--url", default="http://127.0.0.1:3000/ui/")
    args = parser.parse_args(argv)
    os.environ.setdefault("UPSTREAM_FEATURES", str(args.features.resolve()))
    score_latest(args.features, args.months, args.data)
    from serving.dashboard import lists

    month = lists.latest("homelessness")
    top_wards = month.rows.dropna(subset=["ward"]).head(month.capacity)["ward"].value_counts().index[:2].tolist()
    sign_ins = demo_accounts(top_wards)
    print("\n==================== DEMO ONLY: synthetic data, throwaway accounts ====================")
    print(f"Dashboard: {args.url}  (served by `upstream serve`: make demo starts it last)")
    for role in ROLES:
        name = f"demo-{role}"
        wards = f"  wards: {', '.join(top_wards)}" if role in ("caseworker", "team-manager") else ""
        print(f"  {ROLE_NAMES[role]:<13} user {name:<18} password {sign_ins[name]}{wards}")
    print("Never use these accounts with real data: create real ones with `upstream users add`.")
    print("========================================================================================")


if __name__ == "__main__":
    main()
