"""Loading never drops data silently: rows in = accepted + quarantined, and broken exports stop loudly."""
import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features.sources import BY_PATH, TABLES, Column, SourceError, accepted_columns, load_table, write_quarantine
from features.sources._loader import _blank, _broken, _typed

# Text near the edge of blank. \u00a1, \u2010 and \u3001 start with the same byte as \u00a0, \u2028 and \u3000
# (whitespace), "\x1c" and "\x85" are whitespace to str.strip() though rarely thought of as such
ODD_TEXT = ["", " ", "\t", "\u00a0", "\u3000", "\x1c", "\x85", " \n\u2029", "\u3000x", " x", "x ", "é", "\u00a1",
            "\u2010", "\u3001", "\x7f", "~", "a", None]


@pytest.fixture
def borough_copy(small_borough, tmp_path):
    copy = tmp_path / "borough"
    shutil.copytree(small_borough / "extracts", copy / "extracts")
    return copy


def _data_rows(files) -> int:
    return sum(sum(1 for _ in open(f)) - 1 if f.suffix == ".csv" else pq.read_metadata(f).num_rows for f in files)


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.path)
def test_rows_in_equal_accepted_plus_quarantined(small_borough, table):
    result = load_table(small_borough, table.path)
    assert result.rows_in == len(result.data) + len(result.quarantine) == _data_rows(result.files)
    assert result.data[table.key].is_unique


def test_the_generator_mess_is_caught(small_borough):
    reasons = pd.concat([load_table(small_borough, t.path).quarantine for t in TABLES])["reason"]
    assert reasons.str.startswith("duplicate").any()
    assert reasons.str.contains("invalid transaction_type").any()


def test_corrupted_rows_are_quarantined_with_file_row_and_reason(borough_copy, tmp_path):
    path = borough_copy / "extracts" / "council_tax" / "accounts.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[3, "account_start"] = "2024-13-45"   # impossible date
    frame.loc[5, "band"] = "Q"                     # not a valuation band
    frame.loc[7, "address"] = ""                   # required value missing
    frame.loc[9, "uprn"] = "not-a-uprn"            # wrong type in one row
    frame = pd.concat([frame, frame.iloc[[11]]])   # duplicate key
    frame.to_csv(path, index=False)

    result = load_table(borough_copy, "council_tax/accounts")
    assert result.rows_in == len(frame)
    q = result.quarantine.set_index("row_number")
    assert "invalid account_start" in q.loc[5, "reason"]  # file line = row index + 2
    assert "invalid band" in q.loc[7, "reason"]
    assert q.loc[9, "reason"] == "missing required address"
    assert "invalid uprn" in q.loc[11, "reason"]
    dup = result.quarantine[result.quarantine["reason"].str.startswith("duplicate")]
    assert (dup["account_ref"] == frame.iloc[11]["account_ref"]).any()
    assert set(result.quarantine["source_file"]) == {str(path)}
    written = write_quarantine(result, tmp_path / "q")
    assert len(pd.read_csv(written)) == len(result.quarantine)


def test_missing_file_names_the_expected_path(borough_copy):
    (borough_copy / "extracts" / "epc" / "certificates.csv").unlink()
    with pytest.raises(SourceError, match=r"epc/certificates.*certificates\.csv"):
        load_table(borough_copy, "epc/certificates")


def test_missing_column_names_file_and_column(borough_copy):
    path = borough_copy / "extracts" / "benefits" / "claims.csv"
    pd.read_csv(path, dtype=str).drop(columns=["start_date"]).to_csv(path, index=False)
    with pytest.raises(SourceError, match=r"claims\.csv.*'start_date'"):
        load_table(borough_copy, "benefits/claims")


def test_column_of_the_wrong_type_stops_with_file_and_column(borough_copy):
    path = borough_copy / "extracts" / "homelessness" / "cases.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["decision_date"] = "soon"
    frame.to_csv(path, index=False)
    with pytest.raises(SourceError, match=r"cases\.csv.*'decision_date'.*date"):
        load_table(borough_copy, "homelessness/cases")


def test_parquet_column_of_the_wrong_type_stops(borough_copy):
    part = next((borough_copy / "extracts" / "rent" / "transactions").glob("*.parquet"))
    frame = pq.read_table(part).to_pandas()
    frame["posting_date"] = frame["posting_date"].astype("int64")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), part)
    with pytest.raises(SourceError, match=r"part-00000\.parquet.*'posting_date'"):
        load_table(borough_copy, "rent/transactions")


@pytest.mark.parametrize("path", ["rent/transactions", "council_tax/transactions", "council_tax/recovery"])
def test_arrow_loading_accepts_the_rows_and_values_load_table_accepts(borough_copy, path):
    table = BY_PATH[path]
    if table.file_format == "parquet":  # break one part file in every way a row can be broken
        part = sorted((borough_copy / "extracts" / table.system / table.name).glob("*.parquet"))[0]
        frame = pq.read_table(part).to_pandas()
        ref = frame.columns[1]
        frame.loc[0, ref] = "\u3000 "  # blank once trimmed, as Python trims
        frame.loc[1, "transaction_type"] = "gift"  # not an allowed value
        frame.loc[2, "posting_date"] = pd.NaT  # required date missing
        frame.loc[4, "transaction_id"] = frame.loc[5, "transaction_id"]  # duplicate key
        amount = frame["amount"].to_numpy().copy()
        amount[3] = float("nan")  # NaN, not null: pandas reads it as missing
        written = pa.Table.from_pandas(frame, preserve_index=False)
        written = written.set_column(written.schema.get_field_index("amount"), "amount", pa.array(amount))
        pq.write_table(written, part)
    columns = [c.name for c in table.columns]
    fast = accepted_columns(borough_copy, path, columns).to_pandas()
    slow = load_table(borough_copy, path).data[columns]
    slow = slow.astype({c.name: "datetime64[us]" for c in table.columns if c.kind == "date"})
    pd.testing.assert_frame_equal(fast, slow, check_dtype=False)
    assert table.file_format == "csv" or len(fast) <= load_table(borough_copy, path).rows_in - 5



def test_duplicate_keys_name_their_first_row_in_any_order_and_across_files(borough_copy):
    folder = borough_copy / "extracts" / "rent" / "transactions"
    rows = pd.concat([pq.read_table(p).to_pandas() for p in sorted(folder.glob("*.parquet"))])
    rows = rows.iloc[::-1].reset_index(drop=True)  # keys out of order
    keys = rows["transaction_id"].copy()
    rows.loc[7, "transaction_id"] = keys[2]
    rows.loc[104, "transaction_id"] = keys[3]  # in the second file
    for part in folder.glob("*.parquet"):
        part.unlink()
    parts = [folder / "part-00000.parquet", folder / "part-00001.parquet"]
    for frame, part in ((rows[:100], parts[0]), (rows[100:], parts[1])):
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), part)

    result = load_table(borough_copy, "rent/transactions")
    reasons = result.quarantine.set_index(["source_file", "row_number"])["reason"]
    assert reasons[(str(parts[0]), 8)] == f"duplicate transaction_id {keys[2]!r} (first at row 3)"
    assert reasons[(str(parts[1]), 5)] == f"duplicate transaction_id {keys[3]!r} (first at row 4 of {parts[0]})"
    assert result.data["transaction_id"].is_unique
    fast = accepted_columns(borough_copy, "rent/transactions", ["transaction_id"])["transaction_id"].to_pylist()
    assert fast == result.data["transaction_id"].tolist()


def test_a_value_written_unusually_does_not_change_how_the_others_are_typed(borough_copy):
    """Plainly written values are parsed by Arrow, anything else by pandas: both must give the same values."""
    path = borough_copy / "extracts" / "council_tax" / "recovery.csv"
    plain = load_table(borough_copy, "council_tax/recovery").data
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    row = frame.index[frame["action_date"].str[5] == "0"][0]  # a month before October, written 2022-4-10 below
    frame.loc[row, "action_date"] = "{}-{}-{}".format(*map(int, frame.loc[row, "action_date"].split("-")))
    frame.loc[row, "amount_outstanding"] = f"{float(frame.loc[row, 'amount_outstanding']):e}"  # 1.477780e+03
    frame.to_csv(path, index=False)

    unusual = load_table(borough_copy, "council_tax/recovery").data
    pd.testing.assert_frame_equal(unusual, plain, check_exact=True)


def _python_blank(values) -> list[bool]:
    return [v is None or v.strip() == "" for v in values]


def _arrow_layouts(values, kind):
    """VALUES as Arrow text: in one array, sliced out of a longer one (offset != 0), in chunks (one empty)."""
    whole = pa.array(values, kind)
    return {"whole": pa.chunked_array([whole]), "sliced": pa.chunked_array([pa.array(["pad", *values], kind)[1:]]),
            "chunks": pa.chunked_array([whole[:5], whole[5:5], whole[5:12], whole[12:]], kind)}


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()], ids=str)
def test_arrow_checks_call_text_blank_as_str_strip_does(kind):
    blank = _python_blank(ODD_TEXT)
    allowed = ("a", "", " ", " x", "é")
    not_allowed = [not b and v not in allowed for v, b in zip(ODD_TEXT, blank, strict=True)]
    for layout, values in _arrow_layouts(ODD_TEXT, kind).items():
        assert _broken(Column("v", "string", "", required=True), values).tolist() == blank, layout
        assert _broken(Column("v", "category", "", allowed=allowed), values).tolist() == not_allowed, layout
        assert _broken(Column("v", "category", "", required=True, allowed=allowed), values).tolist() == \
            [b or n for b, n in zip(blank, not_allowed, strict=True)], layout
        assert _typed(Column("v", "string", ""), values).to_pylist() == \
            [None if b else v for v, b in zip(ODD_TEXT, blank, strict=True)], layout


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()], ids=str)
def test_a_null_is_blank_whatever_text_lies_under_it(kind):
    text = pa.array(["x", "y"], kind)
    validity = pa.py_buffer(np.packbits([0, 1], bitorder="little"))
    hidden = pa.chunked_array([pa.Array.from_buffers(kind, 2, [validity, *text.buffers()[1:]], null_count=1)])
    assert _broken(Column("v", "string", "", required=True), hidden).tolist() == [True, False]
    assert _typed(Column("v", "string", ""), hidden).to_pylist() == [None, "y"]


@pytest.mark.parametrize("dtype", ["str", "string[pyarrow]", object])
def test_pandas_check_calls_text_blank_as_str_strip_does(dtype):
    values = pd.Series(ODD_TEXT, dtype=dtype)
    blank = _python_blank(ODD_TEXT)
    assert _blank(values).tolist() == blank
    assert _blank(pd.concat([values, values], ignore_index=True)).tolist() == blank * 2  # two Arrow chunks
    assert _blank(values.iloc[3:].reset_index(drop=True)).tolist() == blank[3:]  # an Arrow slice


def test_blank_text_is_missing_and_other_text_kept_or_invalid_in_both_loaders(borough_copy):
    part = sorted((borough_copy / "extracts" / "rent" / "transactions").glob("*.parquet"))[0]
    before = load_table(borough_copy, "rent/transactions")
    fine = before.data["transaction_id"].iloc[:2 * len(ODD_TEXT)]
    frame = pq.read_table(part).to_pandas()
    rows = frame.index[frame["transaction_id"].isin(fine)][:2 * len(ODD_TEXT)]
    refs, types = rows[:len(ODD_TEXT)], rows[len(ODD_TEXT):]
    frame.loc[refs, "tenancy_ref"] = ODD_TEXT
    frame.loc[types, "transaction_type"] = ODD_TEXT
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), part)

    result = load_table(borough_copy, "rent/transactions")
    reasons = result.quarantine[result.quarantine["source_file"] == str(part)].set_index("row_number")["reason"]
    blank = _python_blank(ODD_TEXT)
    assert [reasons.get(i + 1) for i in refs] == [("missing required tenancy_ref" if b else None) for b in blank]
    assert [reasons.get(i + 1) for i in types] == [
        "missing required transaction_type" if b else f"invalid transaction_type: {v!r}"
        for v, b in zip(ODD_TEXT, blank, strict=True)]
    fast = accepted_columns(borough_copy, "rent/transactions", ["transaction_id", "tenancy_ref"]).to_pandas()
    pd.testing.assert_frame_equal(fast, result.data[["transaction_id", "tenancy_ref"]], check_dtype=False)
