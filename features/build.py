"""Build the modelling matrix: one row per resident household per as-of date, keyed by pseudonym.

Columns: `household_key`, `as_of`, every feature in the dictionary, and `label_homelessness`,
`label_fuel_poverty`. Staging happens once in pandas; the windows run on the chosen engine.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features import windows
from features.dictionary import FEATURES, LABEL_WINDOW_MONTHS, LABELS
from features.engines import connect, read
from features.equality import equality_path, write_equality
from features.sources import extracts_fingerprint
from features.staging import stage

FINGERPRINT_KEY = b"upstream.data_fingerprint"
SYNTHETIC_KEY = b"upstream.synthetic"  # "true" for a synthetic borough's matrix: the dashboard says so
COUNT_COLUMNS = [f.name for f in FEATURES if f.kind in ("count", "flag") and not f.name.startswith("missing_")]
# Counts of recovery actions and benefit changes have always been stored as doubles (DuckDB sums them to
# HUGEINT, written as float64); they stay so, so a model trained on an earlier matrix reads a new one.
DOUBLE_COUNTS = ["ct_reminders_6m", "ct_reminders_12m", "ct_summonses_6m", "ct_summonses_12m",
                 "ct_liability_orders_6m", "ct_liability_orders_12m", "ct_enforcement_12m", "benefit_ended_6m",
                 "uc_started_6m", "migrated_to_uc_12m", "income_changes_6m", "household_changes_12m"]
COUNT_TYPES = {c: pa.float64() if c in DOUBLE_COUNTS else pa.int64() for c in COUNT_COLUMNS}
MATRIX_COLUMNS = ["household_key", "as_of", *[f.name for f in FEATURES], *LABELS]


def as_of_table(dates: list[pd.Timestamp], extract_date: pd.Timestamp) -> pd.DataFrame:
    frame = pd.DataFrame({"as_of": pd.to_datetime(sorted(set(dates)))})
    if (frame["as_of"].dt.day != 1).any():
        raise ValueError("as-of dates must be the first day of a month")
    # The financial year of the last day the council has records of: on 1 April, the year just ended (the
    # new year's bill, reductions and discounts are posted on 1 April, which an as-of date does not see)
    last = frame["as_of"] - pd.Timedelta(days=1)
    frame["fy_start"] = pd.to_datetime({"year": last.dt.year - (last.dt.month < 4), "month": 4, "day": 1})
    observed = extract_date + pd.Timedelta(days=1)
    for target, months in LABEL_WINDOW_MONTHS.items():
        frame[f"{target}_observed"] = frame["as_of"] + pd.DateOffset(months=months) <= observed
    return frame


def default_as_of_dates(first_posting: pd.Timestamp, extract_date: pd.Timestamp) -> list[pd.Timestamp]:
    """Every month start from six months after the first posting (a history to look back on) to the
    month after the extract (the one a caseworker list is made for)."""
    start = (first_posting + pd.DateOffset(months=6)).to_period("M").to_timestamp()
    return list(pd.date_range(start, (extract_date + pd.Timedelta(days=1)).to_period("M").to_timestamp(), freq="MS"))


# The spine's columns the matrix reads (not its account, address or row number), and the equality step's
SPINE_COLUMNS = ["household_key", "as_of", "fy_start", "occ_start", "ct_band", "homelessness_observed",
                 "fuel_poverty_observed"]
EQUALITY_ROWS = ["household_key", "as_of", "uprn", "occ_start"]


def _not_yet_due(as_of, fy_start):
    """The share of a year's council tax not yet due at AS_OF: ten instalments, April to January."""
    due = ibis.greatest(windows.CT_INSTALMENTS - windows.months_into_year(as_of, fy_start), 0)
    return due.cast("float64") / windows.CT_INSTALMENTS


def _parts(s, t: dict) -> list:
    """Every feature group and label, each a table keyed by the spine's row number."""
    money, actions, discounts = windows.council_tax(s, t)
    current, changes = windows.benefits(s, t)
    epc, area, history, assessed = windows.property_and_history(s, t)
    homeless, fuel = windows.labels(s, t)
    return [windows.rent(s, t), money, actions, discounts, current, changes, epc, area, history, assessed,
            homeless, fuel]


def _joined(s, parts: list):
    """The spine with every part joined on the row number, in the matrix's order (Spark)."""
    m = s
    for part in parts:
        # Each part is computed on its own: one query with all of them holds every window and join in
        # memory at once (DuckDB ran out of its 2.5 GB), and the final joins on an integer key are cheap
        m = m.left_join(part.cache(), "row").drop("row_right")
    return m.order_by("row")


def _moved(part: pa.Table, at: np.ndarray, length: int) -> dict:
    """PART's columns (but its row numbers) moved to positions AT of arrays of LENGTH: null elsewhere, or, for a
    count, 0 (as `_counts_filled` fills them). Numbers are scattered with numpy into arrays Arrow takes as they
    are, with one validity bitmap for every column the part has a value for in each of its rows: several times
    faster than Arrow's take with a masked index, which text and flags not counted still use. Counts are held
    in the narrowest integers that hold them (`_completed` gives them their types): this VM fills fresh memory
    at about 1 GB/s, and 29 counts of 8 bytes each are most of the placed matrix."""
    present = np.zeros(length, dtype=bool)
    present[at] = True
    in_part = pa.array(present).buffers()[1]
    moved = {}
    for name in (name for name in part.column_names if name != "row"):
        column, count = part[name].combine_chunks(), COUNT_TYPES.get(name)  # (a part without rows has no chunk)
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
                or (pa.types.is_boolean(column.type) and count)):
            source = np.full(length, -1)
            source[at] = np.arange(len(at))
            moved[name] = column.take(pa.array(source, mask=source < 0))
            continue
        given = column.fill_null(False if pa.types.is_boolean(column.type) else 0) if column.null_count else column
        given = given.to_numpy(zero_copy_only=False)
        values = np.zeros(length, dtype=_narrowest(given) if count else given.dtype)
        values[at] = given
        if count:
            valid, nulls = None, 0
        elif column.null_count == 0:
            valid, nulls = in_part, length - len(at)
        else:
            each = np.zeros(length, dtype=bool)
            each[at] = column.is_valid().to_numpy(zero_copy_only=False)
            valid, nulls = pa.array(each).buffers()[1], length - int(each.sum())
        held = pa.from_numpy_dtype(values.dtype) if count else column.type
        moved[name] = pa.Array.from_buffers(held, length, [valid, pa.py_buffer(values)], nulls)
    return moved


def _narrowest(counts: np.ndarray) -> np.dtype:
    """The narrowest integer type that holds every one of COUNTS (flags, or whole numbers) and 0."""
    if counts.dtype == bool or not len(counts):
        return np.dtype(np.int8)
    if counts.dtype.kind == "f" and not np.array_equal(counts, np.trunc(counts)):
        return counts.dtype
    low, high = min(counts.min(), 0), max(counts.max(), 0)
    return next(t for t in map(np.dtype, (np.int8, np.int16, np.int32, np.int64))
                if np.iinfo(t).min <= low and high <= np.iinfo(t).max)


def _in_order(spine: pa.Table) -> tuple[dict, np.ndarray]:
    """The SPINE's columns (but its row numbers) in the matrix's order, and each row number's position in it:
    rows are numbered in the matrix's order, with gaps."""
    rows = spine["row"].to_numpy()
    present = np.zeros(rows.max() + 1, dtype=bool)
    present[rows] = True
    position = np.cumsum(present) - 1
    order = np.empty(len(rows), dtype=np.int64)
    order[position[rows]] = np.arange(len(rows))
    ordered = spine.drop_columns("row").take(order)
    return dict(zip(ordered.column_names, ordered.columns, strict=True)), position


def _placed(s, parts: list):
    """The same table as `_joined` (DuckDB), built without joining and sorting 3.4 million wide rows, where
    DuckDB spent a third of the build: row numbers are dense, so each part, fetched narrow into Arrow, is
    moved into place by position, counts filled as `_counts_filled` fills them. The result is an Arrow table
    already in the matrix's order."""
    spine = s.select(*SPINE_COLUMNS, "uprn", "row").to_pyarrow()
    length = spine.num_rows
    # The spine is put in order, then each part moved into place, in a second thread while DuckDB computes
    # the parts (putting the spine in order first held DuckDB up for a third of a second)
    with ThreadPoolExecutor(max_workers=1) as mover:
        ordered = mover.submit(_in_order, spine)
        del spine

        def moved(part: pa.Table) -> dict:
            _, position = ordered.result()
            return _moved(part, position[part["row"].to_numpy()], length)

        moves = [mover.submit(moved, part.to_pyarrow()) for part in parts]
        columns = dict(ordered.result()[0])
        for done in moves:
            columns.update(done.result())
    return pa.table(columns)


def _counts_filled(m) -> dict:
    """Counts and flags of M no record gave: 0."""
    return {c: (m[c].fill_null(False) if m[c].type().is_boolean() else m[c].fill_null(0)).cast(COUNT_TYPES[c])
            for c in COUNT_COLUMNS if c in m.columns}


def _derived(m) -> dict:
    """The features and labels that read several parts (M: the spine with every part, counts filled)."""
    return dict(
        ct_balance=m.ct_balance.fill_null(0),
        ct_arrears=ibis.greatest(m.ct_balance.fill_null(0)
                                 - m.ct_year_billed.fill_null(0) * _not_yet_due(m.as_of, m.fy_start), 0),
        ct_highest_stage_12m=m.ct_highest_stage_12m.fill_null(0),
        ct_single_person_discount=ibis.coalesce(m.spd_latest, m.spd_billed, False).cast("int64"),
        ct_account_months=windows.months_between(m.as_of, m.occ_start),
        tenure_private_rented=((m.hb_active == 1) & m.rent_balance.isnull()).cast("int64"),
        missing_rent_account=m.rent_balance.isnull().cast("int64"),
        missing_epc=m.epc_band.isnull().cast("int64"),
        missing_benefit_claim=((m.hb_active == 0) & (m.ctr_active == 0)).cast("int64"),
        missing_ct_action=m.ct_months_since_action.isnull().cast("int64"),
        missing_approach=(m.previous_approaches == 0).cast("int64"),
        label_homelessness=ibis.ifelse(m.homelessness_observed, (m.duty.fill_null(0) > 0).cast("int64"),
                                       ibis.null("int64")),
        label_fuel_poverty=ibis.ifelse(m.fuel_poverty_observed, m.assessed_fuel_poor, ibis.null("int64")),
    )


def _finished(m):
    """The matrix's columns from the spine and its parts (M): counts filled, derived features and labels."""
    m = m.mutate(**_counts_filled(m))
    return m.mutate(**_derived(m)).select(*MATRIX_COLUMNS)


def _completed(placed: pa.Table, derived) -> Iterator[pa.Table]:
    """The matrix batch by batch: the DERIVED columns (an expression over PLACED, with its `uprn`), computed by
    the engine, beside the placed table's columns, final already: sending all 55 through DuckDB and back cost
    twice the time. DuckDB keeps a scan's order; the UPRNs prove it. Counts, held narrow, get their types here."""
    done = 0
    for batch in derived.to_pyarrow_batches(chunk_size=500_000):
        rows = placed.slice(done, batch.num_rows)
        if not np.array_equal(batch["uprn"].to_numpy(), rows["uprn"].to_numpy()):
            raise RuntimeError("the engine returned the matrix's rows out of order")
        done += batch.num_rows
        columns = {c: batch[c] if c in batch.schema.names else rows[c] for c in MATRIX_COLUMNS}
        yield pa.table({c: v.cast(COUNT_TYPES[c]) if c in COUNT_TYPES else v for c, v in columns.items()})
    if done != placed.num_rows:
        raise RuntimeError(f"the engine returned {done:,} of the matrix's {placed.num_rows:,} rows")


def extract_date_of(data_dir: Path, staged_postings: pd.Series) -> pd.Timestamp:
    """The date the extracts were taken: from the export's manifest.json when there is one, else the last
    posting date seen."""
    manifest = Path(data_dir) / "manifest.json"
    if manifest.exists():
        return pd.Timestamp(json.loads(manifest.read_text())["extract_date"])
    return staged_postings.max().normalize()


def is_synthetic(data_dir: Path) -> bool:
    """Whether the extracts are a synthetic borough's (its manifest names the generator that wrote them)."""
    manifest = Path(data_dir) / "manifest.json"
    return manifest.exists() and "generator_version" in json.loads(manifest.read_text())


def synthetic_matrix(matrix: Path) -> bool:
    return (pq.read_metadata(matrix).metadata or {}).get(SYNTHETIC_KEY) == b"true"


def _batches(expr) -> Iterator[pa.Table]:
    for batch in expr.to_pyarrow_batches(chunk_size=500_000):
        yield pa.Table.from_batches([batch])


def _write_streaming(tables: Iterable[pa.Table], out: Path, fingerprint: str | Callable[[], str],
                     synthetic: bool = False) -> Path:
    """Write the matrix batch by batch (TABLES), so it never has to fit in memory twice; the extracts'
    FINGERPRINT (or a function giving it, asked for last: hashing the extracts takes a core a fifth of a
    second) goes into the file's metadata, so a model always knows which data it was trained on, and whether
    the extracts are a SYNTHETIC borough's. Each batch is encoded in a second thread while the engine computes
    the next one."""
    writer, written = None, None
    with ThreadPoolExecutor(max_workers=1) as encoder:
        for table in tables:
            position = table.schema.get_field_index("as_of")
            table = table.set_column(position, "as_of", table["as_of"].cast(pa.timestamp("us")))
            if writer is None:
                # SQL sums come back as decimal128, which readers turn into Python objects: store them as doubles
                schema = pa.schema([pa.field(f.name, pa.float64()) if pa.types.is_decimal(f.type) else f
                                    for f in table.schema])
                writer = _matrix_writer(out, schema)
            if written is not None:
                written.result()  # batches reach the file in order, one at a time
            written = encoder.submit(writer.write_table, table.cast(writer.schema))
        written.result()
    writer.add_key_value_metadata({FINGERPRINT_KEY: fingerprint() if callable(fingerprint) else fingerprint,
                                   SYNTHETIC_KEY: str(synthetic).lower()})
    writer.close()
    return out


def _matrix_writer(out: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """A Parquet writer whose encodings suit each column; encoding is the longest step of writing, on one core.
    Measured on the default borough against Snappy with dictionaries for all (2.35 CPU seconds, 130 MB): 2.0 s
    and 123 MB. Integers (flags, counts, bands) are delta-encoded, cheaper than a dictionary and as small;
    continuous numbers, mostly distinct, skip the dictionary they would outgrow anyway; household keys, half
    the file when their dictionary outgrew its default 1 MB, get room for one of every key (65 -> 22 MB).
    Snappy, not zstd: faster read and written. Statistics (each page's and row group's least and greatest
    value) only for the keys, which readers filter on (the dashboard reads one as-of date): kept for every
    column they cost 0.2 s more."""
    integers = {field.name for field in schema if pa.types.is_integer(field.type)}
    numbers = {feature.name for feature in FEATURES if feature.kind == "number"}
    return pq.ParquetWriter(out, schema, compression="snappy", dictionary_pagesize_limit=16 << 20,
                            use_dictionary=[name for name in schema.names if name not in integers | numbers],
                            column_encoding={name: "DELTA_BINARY_PACKED" for name in integers},
                            write_statistics=["household_key", "as_of"])


def matrix_fingerprint(matrix: Path) -> str | None:
    """The fingerprint of the extracts a matrix was built from (None for a matrix without one)."""
    value = (pq.read_metadata(matrix).metadata or {}).get(FINGERPRINT_KEY)
    return value.decode() if value else None


def key_map_path(matrix: Path) -> Path:
    """Beside every matrix, the map from household key back to its UPRN: identifying, so only the application
    (`upstream`, `serving`), the equality step that writes beside it, and the synthetic borough's evaluation
    read it; modelling code never does."""
    return Path(matrix).with_name(Path(matrix).stem + ".keys.parquet")


def _write_key_map(occupancies: Path, out: Path):
    keys = pd.read_parquet(occupancies, columns=["household_key", "uprn", "occ_start"])
    keys.drop_duplicates("household_key").to_parquet(out, index=False)


def _matrix_rows(matrix: Path, key_map: Path) -> pa.Table:
    """The equality step's columns of every row of a written MATRIX, in its order, through its KEY_MAP."""
    rows = pq.read_table(matrix, columns=["household_key", "as_of"])
    keys = pd.read_parquet(key_map).set_index("household_key")
    households = pd.Index(keys.index).get_indexer(rows["household_key"].to_pandas())
    return rows.append_column("uprn", pa.array(keys["uprn"].to_numpy()[households])).append_column(
        "occ_start", pa.array(keys["occ_start"].to_numpy()[households]))


def _write_matrix(paths: dict, engine: str, work: Path, out: Path, data_dir: Path):
    """Compute the matrix on ENGINE from the staged tables and write it to OUT, and its rows' equality
    attributes beside it."""
    con = connect(engine, work)
    t = {name: read(con, engine, name, path) for name, path in paths.items() if name != "people"}
    s = windows.spine(t).cache()  # every part starts from the spine: computed once, not once per part
    if engine == "spark":
        _write_streaming(_batches(_finished(_joined(s, _parts(s, t)))), out, extracts_fingerprint(data_dir),
                         is_synthetic(data_dir))
        write_equality(_matrix_rows(out, key_map_path(out)), paths["people"], equality_path(out))
        return
    # Lent to DuckDB, not copied. Its cached tables are dropped before the matrix is written (rent's with its
    # part, the spine here), and the placed matrix is taken back after: Ibis would keep a memtable to the end
    placed = _placed(s, _parts(s, t))
    con.con.register("placed", placed)
    s.release()
    with ThreadPoolExecutor(max_workers=1) as attributes:
        # Writing the matrix keeps a core and a half busy: the equality attributes are found on the other half
        equality = attributes.submit(write_equality, placed.select(EQUALITY_ROWS), paths["people"], equality_path(out))
        fingerprint = attributes.submit(extracts_fingerprint, data_dir)  # then, on the same half core
        m = con.table("placed")
        _write_streaming(_completed(placed, m.select("uprn", **_derived(m))), out, fingerprint.result,
                         is_synthetic(data_dir))
        equality.result()
    con.con.unregister("placed")
    con.disconnect()  # DuckDB holds its buffer pool until disconnected
    del placed
    pa.default_memory_pool().release_unused()  # and Arrow's allocator the placed matrix's


def _check_as_of(dates: list, supported: list, first_posting: pd.Timestamp, extract_date: pd.Timestamp):
    """Refuse as-of dates the extracts cannot answer: before six months of history (every count over a
    window would start short, and a label's months would be read as quiet), or after the month the extract
    was taken (nothing after it is known)."""
    if not supported:
        raise ValueError(f"the extracts hold less than six months of history (from {first_posting:%Y-%m-%d} to "
                         f"{extract_date:%Y-%m-%d}): no as-of date can be built")
    for date in dates:
        if date < supported[0]:
            raise ValueError(f"as-of {date:%Y-%m-%d} is before the extracts hold six months of history (they start "
                             f"{first_posting:%Y-%m-%d}): the earliest as-of date is {supported[0]:%Y-%m-%d}")
        if date > supported[-1]:
            raise ValueError(f"as-of {date:%Y-%m-%d} is after the extracts were taken ({extract_date:%Y-%m-%d}): "
                             f"the latest as-of date is {supported[-1]:%Y-%m-%d}")


def build_matrix(data_dir: Path, links: pd.DataFrame, out: Path, secret: bytes, as_of: list | None = None,
                 engine: str = "duckdb", work: Path | None = None) -> Path:
    """Stage, compute and write the matrix to OUT (Parquet); returns OUT."""
    owned = work is None
    work = Path(work or tempfile.mkdtemp(prefix="upstream-features-"))
    try:
        paths = stage(Path(data_dir), links, work / "staged", secret)
        pa.default_memory_pool().release_unused()  # Arrow's allocator keeps what staging freed unless asked
        ct = pq.read_table(paths["ct_tx"], columns=["posting_date"]).column(0).to_pandas()
        extract_date = extract_date_of(data_dir, ct)
        supported = default_as_of_dates(ct.min(), extract_date)
        dates = [pd.Timestamp(d) for d in as_of] if as_of else supported
        _check_as_of(dates, supported, ct.min(), extract_date)
        asof_path = work / "staged" / "asof.parquet"
        as_of_table(dates, extract_date).astype({"as_of": "datetime64[us]", "fy_start": "datetime64[us]"}).to_parquet(
            asof_path, index=False)
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        _write_key_map(paths["occupancies"], key_map_path(out))
        _write_matrix({**paths, "asof": asof_path}, engine, work, out, Path(data_dir))
        return out
    finally:
        if owned:
            shutil.rmtree(work, ignore_errors=True)


def cached_matrix(data_dir: Path, secret: bytes, cache: Path, progress=lambda _: None,
                  as_of: list | None = None) -> Path:
    """The matrix for DATA_DIR's extracts, built once and kept in CACHE under their fingerprint, the secret's
    (a rotated secret must never be served the old pseudonyms) and the as-of dates, when not the default
    ones; links are cached the same way."""
    from features.linkage import link, write_links

    fingerprint = extracts_fingerprint(data_dir)
    keyed = hmac.new(secret, b"upstream feature cache", hashlib.sha256).hexdigest()[:8]  # names it, reveals nothing
    dates = "" if not as_of else "-" + "-".join(f"{pd.Timestamp(d):%Y%m}" for d in as_of)
    out = Path(cache) / f"features-{fingerprint[:16]}-{keyed}{dates}.parquet"
    if out.exists() and key_map_path(out).exists() and equality_path(out).exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    links_file = Path(cache) / f"links-{fingerprint[:16]}.parquet"
    if links_file.exists():
        links = pd.read_parquet(links_file)
    else:
        progress("linking records to the gazetteer")
        links = link(data_dir, work=Path(cache))
        write_links(links, links_file, data_dir)
    progress("building point-in-time features")
    partial = out.with_suffix(".partial")
    build_matrix(data_dir, links, partial, secret, as_of=as_of)
    key_map_path(partial).replace(key_map_path(out))
    equality_path(partial).replace(equality_path(out))
    partial.replace(out)  # atomic: a crash never leaves a half-written matrix under the final name
    return out
