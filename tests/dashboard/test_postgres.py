"""The dashboard's tables on PostgreSQL (the production option): accounts, lockout, audit, actions, and the
append-only triggers, against the local server."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from upstream.cli import app


def test_accounts_audit_and_actions_work_on_postgresql(postgres_database, monkeypatch):
    from serving.dashboard import accounts, actions, audit
    from serving.dashboard.store import engine

    monkeypatch.setenv("UPSTREAM_DATABASE_URL", postgres_database)
    result = CliRunner().invoke(app, ["users", "add", "pat", "--role", "team-manager", "--ward", "Abbey Mead",
                                      "--ward", "Eastbrook", "--password-stdin"], input="a-long-password\n")
    assert result.exit_code == 0, result.output
    assert engine().dialect.name == "postgresql"
    user = accounts.authenticate("pat", "a-long-password")
    assert user.role == "team-manager" and user.wards == ("Abbey Mead", "Eastbrook")
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(accounts.Refused):
            accounts.authenticate("pat", "wrong password")
    with pytest.raises(accounts.Refused, match="locked"):
        accounts.authenticate("pat", "a-long-password")
    audit.record("pat", "team-manager", "viewed household", household="k" * 64, purpose="Supervision")
    actions.record("k" * 64, "pat", "no_action", "Already helped by the hub", target="homelessness",
                   model_version="3", disagrees=True, disagreement="Arrears already repaid")
    assert audit.search(household="k" * 64)[0]["purpose"] == "Supervision"
    assert actions.statuses(["k" * 64])["k" * 64]["status"] == "no_action"
    assert actions.summary()[0]["disagreements"] == 1
    for table in (audit.audit_log, actions.household_actions):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with engine().begin() as db:
                db.execute(table.delete())
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):  # nor emptied in one statement
            with engine().begin() as db:
                db.execute(sa.text(f"TRUNCATE {table.name}"))
