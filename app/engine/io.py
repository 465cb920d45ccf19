"""Reading and writing tables (CSV or Parquet) without holding the whole file in memory.

CSV is read with ``pyarrow.csv.open_csv`` (a streaming reader) and every column comes back as
text unless the caller asks for ``float64``/``int64``; Parquet is read batch by batch and keeps
its native types. :func:`validate_table` is what the service calls on an upload: one pass over
the file that either returns a :class:`TableInfo` or raises :class:`DataError` with a one-line,
user-facing message.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from app.engine.errors import DataError

# Field values that mean "missing" in a CSV file (matched exactly, case-sensitive).
NULL_TOKENS: tuple[str, ...] = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None")

CSV_SUFFIXES = frozenset({".csv", ".txt"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
COLUMN_TYPES = {"float64": pa.float64(), "int64": pa.int64()}

_PARQUET_MAGIC = b"PAR1"
_SNIFF_BYTES = 8192
# One CSV block must hold at least one whole row; rows longer than this are refused.
_BLOCK_BYTES = 8 << 20
_HASH_BYTES = 1 << 20
# Signatures of formats people upload by mistake, so the error can say what the file looks like.
_KNOWN_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook is one)"),
    (b"\xd0\xcf\x11\xe0", "a legacy Office document (.xls)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"ARROW1", "an Arrow IPC file"),
    (b"Obj\x01", "an Avro file"),
)


@dataclass(frozen=True)
class TableInfo:
    """What :func:`validate_table` learned about a file in its single pass."""

    format: str
    columns: tuple[str, ...]
    rows: int
    size_bytes: int
    sha256: str


def detect_format(path: str | Path) -> str:
    """Tell whether ``path`` is a CSV or a Parquet file.

    Parquet is recognised by its ``PAR1`` magic bytes whatever the name; otherwise the suffix
    decides (``.csv``/``.txt``, or no suffix for text content), after refusing content that is
    plainly binary (images, archives, workbooks, anything with NUL bytes).

    Args:
        path: the file to look at.

    Returns:
        ``"csv"`` or ``"parquet"``.

    Raises:
        DataError: the file cannot be opened or is neither CSV nor Parquet.
    """
    path = Path(path)
    head = _read_head(path)
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    suffix = path.suffix.lower()
    for magic, what in _KNOWN_MAGIC:
        if head.startswith(magic):
            raise DataError(f"file is not CSV or Parquet: it looks like {what}")
    if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
        raise DataError("spreadsheet files are not supported: export the sheet as CSV or Parquet")
    if suffix in PARQUET_SUFFIXES:
        raise DataError("file is not a valid Parquet file (the PAR1 magic bytes are missing)")
    if suffix not in CSV_SUFFIXES and suffix != "":
        raise DataError(f"unsupported file type {suffix!r}: upload CSV or Parquet")
    if b"\x00" in head:
        raise DataError("file is not CSV or Parquet: it contains binary data")
    return "csv"


def read_header(path: str | Path) -> list[str]:
    """Column names of a CSV or Parquet file, in file order.

    Args:
        path: CSV or Parquet file.

    Returns:
        The names as written in the file (duplicates and empty names are not checked here).

    Raises:
        DataError: unreadable, empty or not CSV/Parquet.
    """
    path = Path(path)
    if detect_format(path) == "parquet":
        with _parquet_file(path) as pfile:
            return list(pfile.schema_arrow.names)
    with _open_binary(path) as fh:
        return _csv_header(fh)


def iter_chunks(
    path: str | Path,
    *,
    columns: list[str] | None = None,
    chunk_rows: int = 200_000,
    column_types: dict[str, str] | None = None,
) -> Iterator[pd.DataFrame]:
    """Stream a table as DataFrames of ``chunk_rows`` rows (the last one may be shorter).

    CSV columns are object columns of ``str`` with ``None`` for missing values (any of
    :data:`NULL_TOKENS`), except those ``column_types`` maps to ``"float64"`` (float64, NaN for
    missing) or ``"int64"`` (pandas nullable ``Int64``). Parquet columns keep their native dtypes
    (cast when ``column_types`` asks). A header-only file yields nothing.

    Args:
        path: CSV or Parquet file.
        columns: subset of columns to read, in the order wanted; all columns when None.
        chunk_rows: rows per yielded frame.
        column_types: per-column ``"float64"`` or ``"int64"`` parsed natively by pyarrow.

    Yields:
        DataFrames with a fresh RangeIndex each.

    Raises:
        DataError: unreadable file, bad header, ragged rows, unknown columns, or a value that does
            not parse as the requested type (the message names the column and the value).
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be >= 1")
    path = Path(path)
    types = _arrow_types(column_types)
    fmt = detect_format(path)
    if fmt == "parquet":
        with _parquet_file(path) as pfile:
            header = list(pfile.schema_arrow.names)
            check_header(header)
            wanted = _check_columns(header, columns, types)
            batches = _parquet_batches(pfile, wanted, chunk_rows)
            for table in _rebatch(batches, chunk_rows):
                yield _parquet_frame(table, types)
        return
    with _open_binary(path) as fh:
        header = _csv_header(fh)
        check_header(header)
        wanted = _check_columns(header, columns, types)
        fh.seek(0)
        batches = _csv_batches(fh, header, wanted, types)
        for table in _rebatch(batches, chunk_rows):
            yield table.to_pandas(types_mapper=_CSV_PANDAS_TYPES.get)


def validate_table(path: str | Path) -> TableInfo:
    """Check an uploaded table in one streaming pass and describe it.

    Args:
        path: the uploaded file.

    Returns:
        Format, column names, number of data rows, size in bytes and SHA-256 of the bytes.

    Raises:
        DataError: one line saying what is wrong: not CSV/Parquet, unreadable, empty, header
            only, duplicate or empty column names, a row with the wrong number of fields, or
            text that is not UTF-8.
    """
    path = Path(path)
    fmt = detect_format(path)
    if fmt == "parquet":
        with _parquet_file(path) as pfile:
            header = list(pfile.schema_arrow.names)
            check_header(header)
            rows = 0
            with _arrow_errors():
                for batch in pfile.iter_batches(batch_size=65_536):
                    rows += batch.num_rows
        size, digest = _hash_file(path)
    else:
        with _open_binary(path) as raw:
            if os.fstat(raw.fileno()).st_size == 0:
                raise DataError("file is empty")
            header = _csv_header(raw)
            check_header(header)
            _check_delimiter(header)
            raw.seek(0)
            hashing = _HashingReader(raw)
            rows = 0
            for batch in _csv_batches(hashing, header, header, {}):
                rows += batch.num_rows
            hashing.drain()
            size, digest = hashing.size, hashing.hexdigest()
    if rows == 0:
        raise DataError("file has a header but no data rows")
    return TableInfo(format=fmt, columns=tuple(header), rows=rows, size_bytes=size, sha256=digest)


def read_table(
    path: str | Path,
    *,
    columns: list[str] | None = None,
    column_types: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Read a whole (small) table into one DataFrame; same typing rules as :func:`iter_chunks`.

    Args:
        path: CSV or Parquet file.
        columns: subset of columns, in order; all when None.
        column_types: per-column ``"float64"``/``"int64"``.

    Returns:
        The table; a header-only file gives an empty frame with the header's columns.

    Raises:
        DataError: as :func:`iter_chunks`.
    """
    chunks = list(iter_chunks(path, columns=columns, column_types=column_types, chunk_rows=1 << 30))
    if chunks:
        return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)
    names = columns if columns is not None else read_header(path)
    return pd.DataFrame({name: pd.Series([], dtype=object) for name in names})


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` as CSV or Parquet (by suffix), atomically and with reproducible bytes.

    CSV has no index, missing values as empty fields and ``\\n`` line ends; Parquet has no index
    column and no index metadata. The same frame always gives the same bytes.

    Args:
        df: the table; its index is not written.
        path: destination ending in ``.csv`` or ``.parquet``/``.pq``.

    Returns:
        The path written.

    Raises:
        DataError: unsupported suffix or duplicate column names.
    """
    return write_chunks([df], path)


def write_chunks(frames: Iterable[pd.DataFrame], path: str | Path) -> Path:
    """Stream frames with the same columns into one CSV or Parquet file, atomically.

    Writing a table in chunks gives the same CSV bytes as writing it whole, so memory need not
    grow with the number of rows. Raises DataError as :func:`write_table`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES and suffix not in PARQUET_SUFFIXES:
        raise DataError(f"cannot write {suffix or 'a file without suffix'!r}: use .csv or .parquet")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            writer: pq.ParquetWriter | None = None
            for i, df in enumerate(frames):
                if i == 0:
                    check_header([str(c) for c in df.columns])
                if suffix in CSV_SUFFIXES:
                    text = df.to_csv(index=False, header=i == 0, na_rep="", lineterminator="\n")
                    fh.write(text.encode("utf-8"))
                    continue
                table = pa.Table.from_pandas(df, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(fh, table.schema)
                writer.write_table(table.cast(writer.schema))
            if writer is not None:
                writer.close()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def check_header(header: list[str]) -> None:
    """Raise DataError unless every column has a non-empty, unique name.

    >>> check_header(["a", "b"])
    >>> check_header(["a", "a"])
    Traceback (most recent call last):
    app.engine.errors.DataError: duplicate column names: 'a'
    """
    if not header:
        raise DataError("file has no columns")
    for i, name in enumerate(header, start=1):
        if not str(name).strip():
            raise DataError(f"column {i} has an empty name: every column needs a header")
    seen: set[str] = set()
    dupes: list[str] = []
    for name in header:
        if name in seen and name not in dupes:
            dupes.append(name)
        seen.add(name)
    if dupes:
        raise DataError(f"duplicate column names: {', '.join(repr(d) for d in dupes)}")


# --- internals -------------------------------------------------------------------------------


_CSV_PANDAS_TYPES = {pa.int64(): pd.Int64Dtype()}


class _HashingReader(io.RawIOBase):
    """A read-only stream that hashes and counts every byte the reader pulls through it."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._sha = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)
        if n:
            self._sha.update(memoryview(buffer)[:n])
            self.size += n
        return n or 0

    def drain(self) -> None:
        """Hash whatever the CSV reader left unread (it may stop before the end)."""
        while chunk := self._raw.read(_HASH_BYTES):
            self._sha.update(chunk)
            self.size += len(chunk)

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def _read_head(path: Path) -> bytes:
    with _open_binary(path) as fh:
        return fh.read(_SNIFF_BYTES)


@contextmanager
def _open_binary(path: Path) -> Iterator[BinaryIO]:
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise DataError(f"file {path.name!r} does not exist") from None
    except IsADirectoryError:
        raise DataError(f"{path.name!r} is a directory, not a file") from None
    except OSError as exc:
        raise DataError(f"cannot read file {path.name!r}: {exc.strerror or exc}") from None
    with fh:
        yield fh


def _hash_file(path: Path) -> tuple[int, str]:
    sha = hashlib.sha256()
    size = 0
    with _open_binary(path) as fh:
        while chunk := fh.read(_HASH_BYTES):
            sha.update(chunk)
            size += len(chunk)
    return size, sha.hexdigest()


def _arrow_types(column_types: dict[str, str] | None) -> dict[str, pa.DataType]:
    out: dict[str, pa.DataType] = {}
    for name, kind in (column_types or {}).items():
        if kind not in COLUMN_TYPES:
            raise ValueError(f"column_types[{name!r}] must be one of {sorted(COLUMN_TYPES)}, got {kind!r}")
        out[name] = COLUMN_TYPES[kind]
    return out


def _check_delimiter(header: list[str]) -> None:
    """A one-column header that contains another delimiter is almost surely not comma-separated."""
    if len(header) != 1:
        return
    for delimiter, label in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
        if delimiter in header[0]:
            raise DataError(f"file looks {label}-separated: upload comma-separated CSV or Parquet")


def _check_columns(header: list[str], columns: list[str] | None, types: dict[str, pa.DataType]) -> list[str]:
    wanted = list(header) if columns is None else list(columns)
    unknown = [c for c in (*wanted, *types) if c not in header]
    if unknown:
        raise DataError(f"the data has no column {unknown[0]!r}")
    if len(set(wanted)) != len(wanted):
        raise DataError("columns lists a column twice")
    return wanted


def _read_options() -> pacsv.ReadOptions:
    # Single-threaded parsing keeps row numbers in pyarrow's errors (and 2 cores gain little).
    return pacsv.ReadOptions(use_threads=False, block_size=_BLOCK_BYTES)


def _parse_options(bad_rows: list[Any] | None = None) -> pacsv.ParseOptions:
    def on_invalid_row(row: Any) -> str:
        if bad_rows is not None:
            bad_rows.append(row)
        return "error"

    return pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid_row)


def _csv_header(fh: BinaryIO) -> list[str]:
    fh.seek(0)
    with _arrow_errors():
        reader = pacsv.open_csv(fh, read_options=_read_options(), parse_options=_parse_options())
        names = list(reader.schema.names)
        reader.close()
    return names


def _csv_batches(fh: BinaryIO, header: list[str], wanted: list[str], types: dict[str, pa.DataType]) -> Iterator[pa.RecordBatch]:
    bad_rows: list[Any] = []
    convert = pacsv.ConvertOptions(
        column_types={name: types.get(name, pa.string()) for name in header},
        include_columns=wanted,
        null_values=list(NULL_TOKENS),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    with _arrow_errors(header, bad_rows):
        reader = pacsv.open_csv(fh, read_options=_read_options(), parse_options=_parse_options(bad_rows), convert_options=convert)
        yield from reader


def _parquet_file(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError):
        raise DataError("file is not a valid Parquet file (it may be truncated or corrupt)") from None


def _parquet_batches(pfile: pq.ParquetFile, wanted: list[str], chunk_rows: int) -> Iterator[pa.RecordBatch]:
    with _arrow_errors():
        yield from pfile.iter_batches(batch_size=chunk_rows, columns=wanted)


def _parquet_frame(table: pa.Table, types: dict[str, pa.DataType]) -> pd.DataFrame:
    for name, typ in types.items():
        if name not in table.column_names:
            continue
        idx = table.column_names.index(name)
        try:
            table = table.set_column(idx, name, table.column(idx).cast(typ))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise DataError(f"column {name!r}: cannot convert to {_type_word(typ)}: {exc}") from None
    return table.to_pandas()


def _rebatch(batches: Iterable[pa.RecordBatch], chunk_rows: int) -> Iterator[pa.Table]:
    """Regroup record batches of any size into tables of exactly ``chunk_rows`` rows."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        count += batch.num_rows
        while count >= chunk_rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, chunk_rows)
            rest = table.slice(chunk_rows)
            pending = rest.to_batches()
            count = rest.num_rows
    if count:
        yield pa.Table.from_batches(pending)


def _type_word(typ: pa.DataType) -> str:
    return "an integer" if pa.types.is_integer(typ) else "a number"


@contextmanager
def _arrow_errors(header: list[str] | None = None, bad_rows: list[Any] | None = None) -> Iterator[None]:
    """Turn pyarrow's parse and conversion errors into one-line DataErrors."""
    try:
        yield
    except DataError:
        raise
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowIOError) as exc:
        raise DataError(_arrow_message(str(exc), header, bad_rows)) from None
    except UnicodeDecodeError:
        raise DataError("file is not UTF-8 encoded text") from None


def _arrow_message(text: str, header: list[str] | None, bad_rows: list[Any] | None) -> str:
    if "Empty CSV file" in text:
        return "file is empty"
    if bad_rows:
        row = bad_rows[0]
        where = f"line {row.number}" if row.number is not None else "a row"
        return f"{where} has {row.actual_columns} fields but the header has {row.expected_columns}"
    if "Expected" in text and "columns, got" in text:
        m = re.search(r"Expected (\d+) columns, got (\d+)", text)
        line = re.search(r"Row #(\d+)", text)
        where = f"line {line.group(1)}" if line else "a row"
        if m:
            return f"{where} has {m.group(2)} fields but the header has {m.group(1)}"
    if "straddling" in text or "straddles" in text:
        return f"a row is longer than {_BLOCK_BYTES >> 20} MiB (or a quote is never closed)"
    column = _column_of(text, header)
    if "invalid UTF8" in text:
        return f"file is not UTF-8 encoded text (column {column!r})" if column else "file is not UTF-8 text"
    m = re.search(r"conversion error to (\w+): invalid value '(.*)'$", text, flags=re.DOTALL)
    if m:
        kind = "an integer" if m.group(1).startswith("int") else "a number"
        value = m.group(2)
        if len(value) > 40:
            value = value[:37] + "..."
        return f"column {column!r}: value {value!r} is not {kind}"
    first = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return f"cannot read the table: {first}"


def _column_of(text: str, header: list[str] | None) -> str | None:
    m = re.search(r"In CSV column #(\d+)", text)
    if m and header is not None and int(m.group(1)) < len(header):
        return header[int(m.group(1))]
    return None
