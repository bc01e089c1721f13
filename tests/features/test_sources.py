"""Loading never drops data silently: rows in = accepted + quarantined, and broken exports stop loudly."""
import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features.sources import BY_PATH, TABLES, SourceError, accepted_columns, load_table, write_quarantine


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
