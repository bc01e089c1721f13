"""Placing the parts by row number gives what joining them gives, whatever a part holds."""
import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features.build import COUNT_TYPES, MATRIX_COLUMNS, SPINE_COLUMNS, _completed, _joined, _placed, _write_streaming


def test_parts_placed_by_row_number_equal_the_joined_parts_also_when_a_part_has_no_rows():
    """Rows numbered with gaps, a part covering some rows (numbers, flags, text, nulls) and a part with none:
    a borough without a homelessness case after the as-of date gives an empty label part."""
    con = ibis.duckdb.connect()
    spine = pd.DataFrame({"row": [4, 0, 7, 2], "uprn": [10, 11, 12, 13], "household_key": list("dabc"),
                          **{c: [1, 2, 3, 4] for c in SPINE_COLUMNS if c != "household_key"}})
    some = pd.DataFrame({"row": [7, 0], "balance": [2.5, None], "flag": [True, False], "ward": ["W", None]})
    none = pd.DataFrame({"row": pd.Series(dtype="int64"), "duty": pd.Series(dtype="float64")})
    s = con.create_table("spine", spine)
    parts = [con.create_table("some", some), con.create_table("none", none)]
    placed = _placed(s, parts).to_pandas()
    joined = _joined(s, parts).to_pandas()[list(placed.columns)]
    assert placed["household_key"].tolist() == ["a", "c", "d", "b"]  # in row order
    assert placed["duty"].isna().all() and placed["balance"].isna().sum() == 3
    pd.testing.assert_frame_equal(placed, joined, check_dtype=False)


def test_derived_columns_returned_in_another_order_stop_the_build():
    """The derived columns are put beside the placed ones by position: rows in another order must not pass."""
    placed = pa.table({**{c: [0, 0, 0] for c in MATRIX_COLUMNS}, "household_key": list("abc"), "uprn": [3, 1, 2]})
    m = ibis.duckdb.connect().create_table("placed", placed)
    [table] = _completed(placed, m.select("uprn", label_homelessness=m.uprn * 10))
    assert table.column_names == MATRIX_COLUMNS
    assert table["household_key"].to_pylist() == list("abc") and table["label_homelessness"].to_pylist() == [30, 10, 20]
    with pytest.raises(RuntimeError, match="out of order"):
        list(_completed(placed, m.order_by("uprn").select("uprn", label_homelessness=m.uprn * 10)))


def test_counts_are_held_narrow_when_placed_and_written_with_their_types():
    """Counts fill with 0 where a part has no row, whatever integer holds them while placed, and leave
    `_completed` as the matrix stores them: int64, or double for the counts always stored so."""
    con = ibis.duckdb.connect()
    spine = pd.DataFrame({"row": [0, 1, 2], "uprn": [10, 11, 12], "household_key": list("abc"),
                          **{c: [1, 2, 3] for c in SPINE_COLUMNS if c != "household_key"}})
    counts = pd.DataFrame({"row": [0, 2], "rent_payments_13w": [300, 2], "ct_reminders_6m": [1.0, 2.0],
                           "hb_active": [True, None]})
    s = con.create_table("spine", spine)
    placed = _placed(s, [con.create_table("counts", counts)])
    assert placed["rent_payments_13w"].type == pa.int16() and placed["ct_reminders_6m"].type == pa.int8()
    for c in MATRIX_COLUMNS:
        if c not in placed.column_names:
            placed = placed.append_column(c, pa.array([0, 0, 0]))
    m = ibis.duckdb.connect().create_table("placed", placed)
    [table] = _completed(placed, m.select("uprn", "label_homelessness"))
    assert table["rent_payments_13w"].type == COUNT_TYPES["rent_payments_13w"] == pa.int64()
    assert table["ct_reminders_6m"].type == COUNT_TYPES["ct_reminders_6m"] == pa.float64()
    assert table["rent_payments_13w"].to_pylist() == [300, 0, 2]
    assert table["ct_reminders_6m"].to_pylist() == [1.0, 0.0, 2.0]
    assert table["hb_active"].to_pylist() == [1, 0, 0]


def test_the_matrix_file_tells_readers_which_row_groups_hold_an_as_of_date(tmp_path):
    """Readers of one as-of date (the dashboard, scoring) skip the row groups of others by their statistics,
    which the writer keeps for the keys (and, to save encoding time, for no feature)."""
    batches = [pa.table({"household_key": ["a", "b"], "as_of": pd.to_datetime([month] * 2), "rent_balance": [1.5, 2.5]})
               for month in ("2025-01-01", "2025-02-01")]
    meta = pq.read_metadata(_write_streaming(batches, tmp_path / "m.parquet", "fingerprint"))
    assert meta.num_row_groups == 2
    for i, month in enumerate(("2025-01-01", "2025-02-01")):
        group = meta.row_group(i)
        as_of = group.column(1).statistics
        assert pd.Timestamp(as_of.min) == pd.Timestamp(as_of.max) == pd.Timestamp(month)
        assert (group.column(0).statistics.min, group.column(0).statistics.max) == ("a", "b")
        assert group.column(2).statistics is None


def test_a_rotated_secret_never_reuses_the_cached_matrix(small_borough, small_links, tmp_path, monkeypatch):
    """The cache is named by the extracts and by the secret: after rotation, pseudonyms under the old secret
    are never handed out again."""
    import features.build as build
    import features.linkage as linkage

    built = []

    def pretend_build(data_dir, links, out, secret, as_of=None):
        built.append(secret)
        for path in (out, build.key_map_path(out), build.equality_path(out)):
            path.write_bytes(b"")

    monkeypatch.setattr(build, "build_matrix", pretend_build)
    monkeypatch.setattr(linkage, "link", lambda data_dir, work: small_links)
    first = build.cached_matrix(small_borough, b"old secret", tmp_path)
    assert build.cached_matrix(small_borough, b"old secret", tmp_path) == first and len(built) == 1
    rotated = build.cached_matrix(small_borough, b"new secret", tmp_path)
    assert rotated != first and built == [b"old secret", b"new secret"]
    assert "secret" not in rotated.name
