"""Load an extract through its contract: typed columns out, every rejected row in quarantine.

Nothing is dropped silently: rows in = rows accepted + rows quarantined. A missing file, a missing
column, or a column none of whose values parse as its type stops the load with a message naming the
file and the column, since that is a wrong export, not a bad row.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from features.sources._contract import Column, Table
from features.sources.catalogue import BY_PATH


class SourceError(Exception):
    """An extract that cannot be read as its contract says; the message names the file and column."""


@dataclass
class LoadResult:
    table: Table
    data: pd.DataFrame  # accepted rows, typed
    quarantine: pd.DataFrame  # source_file, row_number, reason, then the row as exported
    files: list[Path]

    @property
    def rows_in(self) -> int:
        return len(self.data) + len(self.quarantine)


def table_files(data_dir: Path, table: Table) -> list[Path]:
    base = Path(data_dir) / "extracts" / table.system
    single = [base / f"{table.name}.{ext}" for ext in ("csv", "parquet")]
    found = [p for p in single if p.is_file()]
    folder = base / table.name
    if folder.is_dir():
        found += sorted(p for p in folder.iterdir() if p.suffix in (".csv", ".parquet"))
    if not found:
        raise SourceError(f"{table.path}: no extract found; expected {single[0]} or {folder}/part-*.parquet")
    return found


def _read_csv(path: Path) -> pd.DataFrame:
    """Every value as text, blanks as empty strings. Arrow's multithreaded reader is five times faster than
    pandas' own; a file it cannot parse (a line break inside a quoted value, a ragged row) is read by pandas'."""
    text = {"dtype": str, "keep_default_na": False, "na_values": []}
    try:
        return pd.read_csv(path, engine="pyarrow", **text)
    except (pa.ArrowInvalid, ValueError):
        pass
    try:
        return pd.read_csv(path, **text)
    except pd.errors.EmptyDataError as exc:
        raise SourceError(f"{path}: the file is empty") from exc
    except pd.errors.ParserError as exc:  # a ragged row or an unclosed quote: the file's shape, not one value
        raise SourceError(f"{path} cannot be read as CSV ({str(exc).strip()}): fix or re-export the file") from exc
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path} is not UTF-8 text (byte {exc.start} cannot be decoded): re-export it as "
                          "UTF-8") from exc


def _read(path: Path, table: Table) -> pd.DataFrame:
    if path.suffix == ".csv":
        frame = _read_csv(path)
    else:
        frame = pq.read_table(path).to_pandas()
    missing = [c.name for c in table.columns if c.name not in frame.columns]
    if missing:
        raise SourceError(f"{path}: missing column {missing[0]!r} (contract {table.path} needs "
                          f"{', '.join(missing)})")
    return frame


def _is_text(values: pd.Series) -> bool:
    return values.dtype == object or pd.api.types.is_string_dtype(values)


WHITESPACE = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())  # what str.strip() strips


def _blank(values: pd.Series) -> np.ndarray:
    """Null, or text that is empty once trimmed (only text needs the string work: it is the slow part)."""
    if not _is_text(values):
        return values.isna().to_numpy()
    if isinstance(values.array, pd.arrays.ArrowStringArray):  # how pandas holds text: read it without a copy
        return _blank_text(pa.array(values.array))
    return (values.isna() | values.str.strip().eq("").fillna(False)).to_numpy(dtype=bool)


def _blank_text(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Per value of Arrow text: null, or empty once trimmed as `str.strip` trims."""
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    return np.concatenate([np.zeros(0, bool)] + [_blank_chunk(c) for c in chunks if len(c)])


def _blank_chunk(text: pa.Array) -> np.ndarray:
    """Trimming every value copies them all; but a value starting with a printable ASCII char (0x21-0x7E) is not
    blank, and nearly all do. So only the values that are empty or start with another byte, read in place from
    the offsets and data buffers, are trimmed."""
    _, offsets, data = text.buffers()
    width = np.dtype(np.int64 if pa.types.is_large_string(text.type) else np.int32)
    offsets = np.frombuffer(offsets, width, len(text) + 1, text.offset * width.itemsize)
    starts, ends = offsets[:-1], offsets[1:]
    if data is None or data.size == 0:
        unsure = np.ones(len(text), bool)
    else:  # clip: an empty value at the end starts past the data; uint8 wraps below 0x21 to above 0x5D
        first = np.frombuffer(data, np.uint8).take(starts, mode="clip")
        unsure = (starts == ends) | (first - np.uint8(0x21) > 0x5D)
    blank = text.is_null().to_numpy(zero_copy_only=False) if text.null_count else np.zeros(len(text), bool)
    rows = np.flatnonzero(unsure)
    if len(rows):
        blank[rows] |= _trimmed_empty(text.take(rows))
    return blank


def _trimmed_empty(text: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The plain definition, null or nothing left once trimmed, by trimming every value."""
    return pc.fill_null(pc.equal(pc.utf8_trim(text, WHITESPACE), ""), True).to_numpy(zero_copy_only=False)


PLAIN = {"date": r"^\d{4}-\d{2}-\d{2}$", "integer": r"^-?\d+$", "number": r"^-?\d+(\.\d+)?$"}
PLAIN_CHARS = 15  # so at most 15 digits: a double holds them exactly, and pandas rounds them as Arrow does
DATES_IN_RANGE = (np.datetime64("1678-01-01"), np.datetime64("2261-12-31"))  # pandas' nanoseconds reach


def _plain(col: Column, raw: pd.Series, blank: np.ndarray) -> pd.Series | None:
    """RAW's non-blank values typed by Arrow, several times faster than pandas, when every one is written
    plainly (digits with a sign and a point; a valid yyyy-mm-dd date in pandas' range), so that pandas would
    read the same values; None otherwise, and pandas parses them all and finds the bad ones."""
    if col.kind == "date" and col.date_format != "%Y-%m-%d":
        return None
    text = pa.array(raw.where(~blank), type=pa.large_string())  # blanks as nulls
    plain = pc.match_substring_regex(text, PLAIN[col.kind])
    if not pc.all(plain).as_py() or (pc.max(pc.utf8_length(text)).as_py() or 0) > PLAIN_CHARS:
        return None
    if col.kind == "date":
        try:
            days = pc.cast(text, pa.date32()).to_numpy(zero_copy_only=False).astype("datetime64[D]")
        except pa.ArrowInvalid:  # a day that does not exist
            return None
        if ((days < DATES_IN_RANGE[0]) | (days > DATES_IN_RANGE[1])).any():
            return None
        return pd.Series(days.astype("datetime64[ns]"), index=raw.index, name=raw.name)
    if col.kind == "integer":
        ints = pc.cast(text, pa.int64()).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
        return pd.Series(ints.array, index=raw.index, name=raw.name)
    numbers = pc.cast(text, pa.float64())
    if pc.any(pc.and_(pc.equal(numbers, 0), pc.starts_with(text, "-"))).as_py():
        return None  # minus zero: pandas keeps or drops the sign by what else is in the column
    return pd.Series(numbers.to_numpy(zero_copy_only=False), index=raw.index, name=raw.name)


def _parse(col: Column, raw: pd.Series, blank: np.ndarray, path: Path) -> tuple[pd.Series, np.ndarray]:
    """Typed values and a mask of non-blank values that failed to parse or broke a rule."""
    if col.kind == "date":
        if pd.api.types.is_datetime64_any_dtype(raw):
            typed = pd.to_datetime(raw)
        elif _is_text(raw):
            typed = _plain(col, raw, blank)
            if typed is None:
                typed = pd.to_datetime(raw.where(~blank), format=col.date_format, errors="coerce")
        else:
            raise SourceError(f"{path}: column {col.name!r} should hold dates but holds {raw.dtype}")
        typed = typed.astype("datetime64[ns]")
    elif col.kind in ("integer", "number"):
        if not (pd.api.types.is_numeric_dtype(raw) or _is_text(raw)):
            raise SourceError(f"{path}: column {col.name!r} should be numeric but holds {raw.dtype}")
        typed = _plain(col, raw, blank) if _is_text(raw) else None
        if typed is None:
            typed = pd.to_numeric(raw.where(~blank), errors="coerce")
        if col.kind == "integer":
            whole = typed.isna() | (typed == np.floor(typed))
            typed = typed.where(whole).astype("Int64")
        else:
            typed = typed.astype("float64")
    else:
        typed = raw.where(~blank) if col.kind == "string" else raw
    bad = ~blank & pd.isna(typed).to_numpy() if col.kind in ("date", "integer", "number") else np.zeros(len(raw), bool)
    parsed = ~blank & ~bad
    if col.kind in ("date", "integer", "number") and parsed.sum() == 0 and (~blank).sum() > 0:
        example = raw[~blank].iloc[0]
        raise SourceError(f"{path}: column {col.name!r} should be {col.kind} but no value parses "
                          f"(first value {example!r})")
    if col.allowed:  # a blank is "missing" when required, else allowed
        bad |= ~raw.isin(col.allowed).to_numpy() & ~blank
    if col.minimum is not None:
        bad |= (pd.Series(typed).astype("float64") < col.minimum).fillna(False).to_numpy()
    if col.maximum is not None:
        bad |= (pd.Series(typed).astype("float64") > col.maximum).fillna(False).to_numpy()
    return typed, bad


def _check(table: Table, frame: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Typed columns, and per row the first rule it breaks (None when it breaks none)."""
    typed, reasons, broken = {}, np.empty(len(frame), dtype=object), np.zeros(len(frame), bool)
    for col in table.columns:
        raw = frame[col.name].reset_index(drop=True)
        blank = _blank(raw)
        values, bad = _parse(col, raw, blank, path)
        typed[col.name] = values
        missing = col.required & blank
        for i in np.flatnonzero((missing | bad) & ~broken):
            reasons[i] = f"missing required {col.name}" if missing[i] else f"invalid {col.name}: {raw.iloc[i]!r}"
        broken |= missing | bad
    return pd.DataFrame(typed), reasons


def _first_seen(keys: pd.Series | pa.ChunkedArray) -> np.ndarray:
    """For each row, the position of the first row with the same key (a null key repeats no other)."""
    if isinstance(keys, pd.Series):
        keys = pa.Table.from_pandas(keys.to_frame(), preserve_index=False).column(0)
    first = np.arange(len(keys))
    if _increasing(keys):  # extracts usually come in key order, and then no key repeats: nothing to hash
        return first
    codes = _codes(keys)
    repeats = np.bincount(codes)[codes] > 1
    if keys.null_count:
        repeats &= keys.is_valid().to_numpy(zero_copy_only=False)
    repeated = np.flatnonzero(repeats)  # usually few: only their positions are sorted
    if len(repeated):
        by_key = repeated[np.argsort(codes[repeated], kind="stable")]  # each key's rows in file order
        starts = np.r_[True, codes[by_key][1:] != codes[by_key][:-1]]
        first[by_key] = by_key[starts][np.cumsum(starts) - 1]
    return first


def _increasing(keys: pa.ChunkedArray) -> bool:
    """Whether every key is present and greater than the one before it (so none repeats)."""
    return keys.null_count == 0 and (len(keys) < 2 or pc.all(pc.greater(keys[1:], keys[:-1])).as_py())


def _codes(keys: pa.ChunkedArray) -> np.ndarray:
    """One integer per distinct key (nulls share one), by Arrow's hash table: millions of text keys in well
    under a second, where grouping them in DuckDB took several times as long."""
    encoded = pc.dictionary_encode(keys, null_encoding="encode")  # one dictionary across all chunks
    return np.concatenate([np.zeros(0, np.int32)] + [c.indices.to_numpy(zero_copy_only=False)
                                                       for c in encoded.chunks])


def load_table(data_dir: Path, path: str) -> LoadResult:
    table = BY_PATH[path]
    files = table_files(Path(data_dir), table)
    raws, typed, reasons, origin, rows = [], [], [], [], []
    for index, file in enumerate(files):
        raw = _read(file, table)
        t, r = _check(table, raw, file)
        raws.append(raw[[c.name for c in table.columns]].reset_index(drop=True))
        typed.append(t)
        reasons.append(r)
        origin.append(np.full(len(raw), index, dtype=np.int32))
        # row_number: the line in a CSV file (the header is line 1), the 1-based row in a Parquet file
        rows.append(np.arange(len(raw)) + (2 if file.suffix == ".csv" else 1))
    data, reason = pd.concat(typed, ignore_index=True), np.concatenate(reasons)
    origin, rows = np.concatenate(origin), np.concatenate(rows)
    keys = data[table.key]
    first = _first_seen(keys)
    for i in np.flatnonzero((first != np.arange(len(keys))) & pd.isna(reason)):
        j = first[i]
        where = f"row {rows[j]}" + ("" if origin[j] == origin[i] else f" of {files[origin[j]]}")
        reason[i] = f"duplicate {table.key} {keys.iloc[i]!r} (first at {where})"
    ok = pd.isna(reason)
    # Only rejected rows are copied out of the raw files: at millions of rows, copying all of them is the slow part
    ends = np.cumsum([len(r) for r in raws])
    quarantine = pd.concat([raw[~part] for raw, part in zip(raws, np.split(ok, ends[:-1]), strict=True)],
                           ignore_index=True).astype(str)
    quarantine.insert(0, "reason", reason[~ok])
    quarantine.insert(0, "row_number", rows[~ok])
    quarantine.insert(0, "source_file", np.array([str(f) for f in files], dtype=object)[origin[~ok]])
    return LoadResult(table, data if ok.all() else data[ok].reset_index(drop=True),
                      quarantine.reset_index(drop=True), files)


def write_quarantine(result: LoadResult, folder: Path) -> Path | None:
    """Write rejected rows to FOLDER/<system>__<table>.csv (nothing when there are none)."""
    if result.quarantine.empty:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.table.system}__{result.table.name}.csv"
    result.quarantine.to_csv(path, index=False)
    return path


def _native(col: Column, kind: pa.DataType) -> bool:
    """Whether a Parquet column already has the type COL's contract asks for, so no value needs parsing."""
    if col.kind == "date":
        return pa.types.is_date(kind) or (pa.types.is_timestamp(kind) and kind.tz is None)
    if col.kind in ("integer", "number"):
        return pa.types.is_integer(kind) or (col.kind == "number" and pa.types.is_floating(kind))
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _broken(col: Column, values: pa.ChunkedArray) -> np.ndarray:
    """`_check`'s rules for a column of native type: blank when required, not allowed, out of range."""
    bad = np.zeros(len(values), bool)
    if col.kind in ("string", "category") and col.allowed:
        # a value among the allowed ones that are not blank is neither blank nor bad: only the others are trimmed
        listed = pc.is_in(values, value_set=pa.array([a for a in col.allowed if a.strip()], pa.string()))
        others = np.flatnonzero(~listed.to_numpy(zero_copy_only=False))
        blank = np.zeros(len(values), bool)
        blank[others] = _blank_text(values.take(others))
        bad[others] = ~blank[others]
    elif col.kind in ("string", "category"):
        blank = _blank_text(values)
    else:
        blank = values.is_null(nan_is_null=True).to_numpy(zero_copy_only=False)  # pandas reads NaN as missing
        if col.allowed:
            bad = ~pc.is_in(values, value_set=pa.array(col.allowed)).to_numpy(zero_copy_only=False) & ~blank
    for limit, beyond in ((col.minimum, pc.less), (col.maximum, pc.greater)):
        if limit is not None:
            bad |= pc.fill_null(beyond(pc.cast(values, pa.float64()), limit), False).to_numpy(zero_copy_only=False)
    if col.required:
        bad |= blank
    return bad


def _typed(col: Column, values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Values as `load_table` types them (dates to the microsecond, as staging writes them)."""
    if col.kind == "date":
        return values.cast(pa.timestamp("us"))
    if col.kind in ("integer", "number"):
        return values.cast(pa.int64() if col.kind == "integer" else pa.float64())
    if col.kind == "string":  # blank text is missing, as in `_parse`
        blank = _blank_text(values)
        return pc.if_else(pa.array(blank), pa.scalar(None, values.type), values) if blank.any() else values
    return values


def accepted_columns(data_dir: Path, path: str, columns: list[str]) -> pa.Table:
    """COLUMNS of the rows `load_table` accepts, with the same values, as Arrow. Parquet extracts whose columns
    already have their contract's types (the large transaction tables) are checked in Arrow: several times
    faster than through pandas. Anything else goes through `load_table`, which also explains rejections."""
    table = BY_PATH[path]
    files = table_files(Path(data_dir), table)
    names = [c.name for c in table.columns]
    parts = [pq.read_table(f) for f in files] if all(f.suffix == ".parquet" for f in files) else []
    if not parts or not all(set(names) <= set(p.column_names) and all(_native(c, p.schema.field(c.name).type)
                                                                      for c in table.columns) for p in parts):
        data = load_table(data_dir, path).data[columns]
        return pa.Table.from_pandas(data.astype({c: "datetime64[us]" for c in columns
                                                 if table.column(c).kind == "date"}), preserve_index=False)
    data = pa.concat_tables([p.select(names) for p in parts], promote_options="permissive")
    broken = np.zeros(data.num_rows, bool)
    for col in table.columns:
        broken |= _broken(col, data[col.name])
    accepted = ~broken & (_first_seen(data[table.key]) == np.arange(data.num_rows))
    kept = data.select(columns)
    if not accepted.all():  # only the columns asked for are copied, and only when a row is rejected
        kept = kept.filter(pa.array(accepted))
    return pa.table({c: _typed(table.column(c), kept[c]) for c in columns})
