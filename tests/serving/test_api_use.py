"""API scoring is audited as one row per token and target per interval; a failed write loses nothing."""
import pytest


def test_api_use_is_one_row_per_token_and_target_and_kept_when_a_write_fails(monkeypatch):
    from serving.api_use import ApiUse
    from serving.dashboard import audit

    use = ApiUse(seconds=3600)
    use.add("housing system", "homelessness", 2, 0)
    use.add("housing system", "homelessness", 1, 1)
    use.add("energy team", "fuel_poverty", 5, 0)

    def down(rows):
        raise RuntimeError("the database is down")

    with monkeypatch.context() as patch:
        patch.setattr(audit, "record_all", down)
        with pytest.raises(RuntimeError):
            use.flush()
    assert audit.search(what="scored via API") == []
    use.flush()
    rows = {r["who"]: r["detail"] for r in audit.search(what="scored via API")}
    assert set(rows) == {"token housing system", "token energy team"}
    assert rows["token housing system"].startswith("homelessness: 2 requests, 3 households by UPRN, 1 by values")
    use.flush()  # nothing new: no new row
    assert len(audit.search(what="scored via API")) == 2
