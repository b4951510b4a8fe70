"""Streaming tables to and from a Veil server.

Sources are read with pyarrow's streaming readers (CSV block by block, Parquet batch by batch, a
DataFrame slice by slice), encoded as one Arrow IPC stream and sent in ~1 MiB messages, so client
memory stays flat whatever the file size. Downloads decode the stream as it arrives, or write its
bytes straight to a file.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
from veil_wire.csv_dialect import sniff_dialect
from veil_wire.csv_reader import CsvProblem, CsvReadError, open_csv, read_sample
from veil_wire.ipc import ChunkReader, StreamStats, ipc_chunks
from veil_wire.pandas_dtypes import TEXT_CODES_KEY, arrow_to_pandas

from veil_client.column_types import check_named_columns
from veil_client.errors import InvalidArgument
from veil_client.progress import transfer_bar

DATAFRAME_SLICE_ROWS = 65_536

TableSource: TypeAlias = str | os.PathLike[str] | pd.DataFrame | pa.Table

ARROW_TYPES = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "category": pa.string(),
    "datetime": pa.timestamp("ns"),
    "datetime_tz": pa.timestamp("ns", tz="UTC"),
}


@dataclass(frozen=True)
class EncodedSource:
    """A source ready to stream: its schema and a batch iterator."""

    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]
    size_hint: int


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file is written: its separator and its decimal mark."""

    delimiter: str = ","
    decimal_point: str = "."


def sniff_csv(path: Path, encoding: str | None = None) -> CsvDialect:
    """The separator (``,``, ``;``, tab or ``|``) and decimal mark of a CSV file.

    European spreadsheets write ``;`` between fields and ``,`` in numbers: read with the default
    separator, such a file became one column. The first 64 KiB decide.

    Args:
        encoding: The file's text encoding (a Python codec name), to read the sample with;
            None for UTF-8, the user having given none.

    Raises:
        InvalidArgument: the file is empty, or has a header but no row.
    """
    with open(path, "rb") as handle:
        try:
            raw, complete = read_sample(
                handle, encoding or "utf-8", gzipped=path.name.lower().endswith(".gz")
            )
        except CsvReadError as error:
            raise _csv_error(error, path, encoding) from None
    sample = raw.decode(encoding or "utf-8", errors="replace")
    lines = [line for line in sample.splitlines() if line.strip()]
    if not lines:
        raise InvalidArgument(f"CSV {path} is empty: there is nothing to upload.", field="data")
    if len(lines) == 1 and complete:
        raise InvalidArgument(
            f"CSV {path} has a header ({lines[0][:80]!r}) but no row: add the data rows.",
            field="data",
        )
    delimiter, decimal_point = sniff_dialect(sample, complete)
    return CsvDialect(delimiter, decimal_point)


def check_encoding(encoding: str | None) -> str | None:
    """``encoding`` as given, once Python knows it as a text codec (pyarrow transcodes a CSV to
    UTF-8 with Python's codecs, block by block).

    Raises:
        InvalidArgument: not a text encoding Python knows (naming ``encoding``).
    """
    if encoding is None:
        return None
    try:
        known = isinstance(encoding, str) and bool("a".encode(encoding))
    except (LookupError, UnicodeError):  # unknown, or not text to bytes (e.g. 'base64')
        known = False
    if not known:
        raise InvalidArgument(
            f"encoding {encoding!r} is not a text encoding Python knows; give the CSV's "
            "encoding by a codec name such as 'latin-1', 'cp1252' (a Windows spreadsheet's "
            "export), 'utf-16' or 'utf-8', or leave encoding unset for UTF-8.",
            field="encoding",
        )
    return encoding


def _csv_source(
    path: Path,
    column_types: dict[str, pa.DataType],
    encoding: str | None = None,
    text_codes: Sequence[str] = (),
) -> EncodedSource:
    """A CSV file's batches, read block by block.

    Args:
        text_codes: Columns declared ``category``, read as text (their codes may have leading
            zeros, or turn to letters past the first block) and marked
            :data:`~veil_wire.pandas_dtypes.TEXT_CODES_KEY`, so that the engine reads integer
            codes back as integers, as it does a DataFrame's.
    """
    dialect = sniff_csv(path, encoding)
    try:
        reader = open_csv(
            path,
            delimiter=dialect.delimiter,
            decimal_point=dialect.decimal_point,
            encoding=encoding or "utf8",
            column_types=column_types,
        )
    except CsvReadError as error:
        raise _csv_error(error, path, encoding) from None

    schema = _mark_text_codes(reader.schema, text_codes)

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            if schema is reader.schema:
                yield from reader.batches
            else:
                for batch in reader.batches:  # the same columns, under the marked schema
                    yield pa.RecordBatch.from_arrays(batch.columns, schema=schema)
        except CsvReadError as error:
            raise _csv_error(error, path, encoding) from None

    return EncodedSource(schema, batches(), path.stat().st_size)


def _csv_error(error: CsvReadError, path: Path, encoding: str | None) -> InvalidArgument:
    """The client's words for a CSV the reader refused (naming ``encoding`` when one was
    given for text in another, else ``data``)."""
    if error.problem is CsvProblem.NOT_TEXT:
        return _not_decodable(path, encoding)
    if error.problem is CsvProblem.MARKED_OTHER:
        fix = (
            "leave encoding unset"
            if error.marked == "UTF-8"
            else f"pass encoding='{error.marked.lower() if error.marked else ''}'"
        )
        return InvalidArgument(
            f"CSV {path} starts with a {error.marked} byte-order mark, so it is {error.marked} "
            f"text, not {encoding or 'UTF-8'}: {fix}.",
            field="encoding" if encoding is not None else "data",
        )
    if error.problem is CsvProblem.UNREADABLE:
        return InvalidArgument(f"cannot read CSV {path}: {error.cause}", field="data")
    return InvalidArgument(
        f"CSV {path} is malformed or changes type after the first rows: {error.cause}. Fix the "
        "file, or declare column types with types={...}.",
        field="data",
    )


def _mark_text_codes(schema: pa.Schema, names: Sequence[str]) -> pa.Schema:
    """``schema`` with the text columns among ``names`` marked as codes read as text."""
    for name in names:
        position = schema.get_field_index(name)
        if position < 0 or not pa.types.is_string(schema.field(position).type):
            continue  # not in the file (refused by name later)
        field = schema.field(position)
        marked = field.with_metadata({**(field.metadata or {}), TEXT_CODES_KEY: b"category"})
        schema = schema.set(position, marked)
    return schema


def _not_decodable(path: Path, encoding: str | None) -> InvalidArgument:
    if encoding is not None:
        return InvalidArgument(
            f"CSV {path} is not {encoding} text: a byte has no meaning in that encoding. Give "
            "the file's own encoding (e.g. encoding='latin-1', or 'cp1252' for a Windows "
            "export), or re-save it as UTF-8 and leave encoding unset.",
            field="encoding",
        )
    return InvalidArgument(
        f"CSV {path} is not UTF-8 text (a spreadsheet's Latin-1 or Windows-1252 export?): "
        "pass its encoding, e.g. add_table(..., encoding='latin-1') ('cp1252' for a Windows "
        "export), or re-save it as UTF-8 (in Excel: 'CSV UTF-8').",
        field="data",
    )


def _parquet_source(path: Path) -> EncodedSource:
    parquet = pq.ParquetFile(path)
    return EncodedSource(
        parquet.schema_arrow, iter(parquet.iter_batches(batch_size=65_536)), path.stat().st_size
    )


def _arrow_table_source(table: pa.Table) -> EncodedSource:
    return EncodedSource(
        table.schema, iter(table.to_batches(max_chunksize=DATAFRAME_SLICE_ROWS)), table.nbytes
    )


def _dataframe_source(frame: pd.DataFrame) -> EncodedSource:
    if frame.columns.duplicated().any():
        dupes = sorted(set(frame.columns[frame.columns.duplicated()].astype(str)))
        raise InvalidArgument(f"duplicate column names {dupes}; rename them.", field="data")
    frame = frame.rename(columns=str)
    _check_finite(frame)
    head = _to_arrow(frame.iloc[:DATAFRAME_SLICE_ROWS], None)
    schema = head.schema

    def batches() -> Iterator[pa.RecordBatch]:
        yield from head.to_batches()
        for start in range(DATAFRAME_SLICE_ROWS, len(frame), DATAFRAME_SLICE_ROWS):
            yield from _to_arrow(
                frame.iloc[start : start + DATAFRAME_SLICE_ROWS], schema
            ).to_batches()

    return EncodedSource(schema, batches(), int(frame.memory_usage(deep=False).sum()))


def _to_arrow(frame: pd.DataFrame, schema: pa.Schema | None) -> pa.Table:
    """One slice of a DataFrame as Arrow, a column Arrow cannot type refused by name.

    pyarrow's own error (``ArrowInvalid: ("Could not convert 'a' with type str: tried to
    convert to int64", 'Conversion failed for column code with type object')``) reached the
    user raw; an object column mixing numbers and text is the usual cause.
    """
    try:
        return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        column = next(
            (str(c) for c in frame.columns if _arrow_refuses(frame[c], schema, str(c))), None
        )
        where = f"column {column!r}" if column else "a column"
        raise InvalidArgument(
            f"{where} cannot be sent as one type ({exc}): an object column mixing numbers and "
            "text is the usual cause. Give it one type first, e.g. frame[col] = "
            "frame[col].astype(str) for codes, or pd.to_numeric(frame[col], errors='coerce') "
            "for numbers.",
            field="data",
        ) from None


def _arrow_refuses(series: pd.Series[Any], schema: pa.Schema | None, name: str) -> bool:
    """Whether Arrow refuses this one column (with its type in ``schema`` when given)."""
    try:
        pa.array(series, type=None if schema is None else schema.field(name).type, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, KeyError):
        return True
    return False


def _check_finite(frame: pd.DataFrame) -> None:
    """Refuse infinite numbers before the upload (the server refuses them at the job, which is
    later and costs the upload): no avatar can be drawn near one."""
    for name in frame.columns:
        if pd.api.types.is_float_dtype(frame[name].dtype):
            values = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
            count = int(np.isinf(values).sum())
            if count:
                raise InvalidArgument(
                    f"column {name!r} holds infinite values (inf or -inf) in {count} rows: "
                    "the avatarization needs finite numbers. Replace them with a finite value or "
                    "with NaN (e.g. frame.replace([np.inf, -np.inf], np.nan)), or drop the column.",
                    field="data",
                )


def open_source(
    source: TableSource,
    types: dict[str, Any] | None = None,
    drop: Sequence[str] = (),
    *,
    strict_drop: bool = True,
    encoding: str | None = None,
    declared_types: dict[str, Any] | None = None,
) -> EncodedSource:
    """Open a path (CSV or Parquet), a DataFrame or an Arrow table for streaming.

    Args:
        types: Column name -> avatar_yaml ColumnType value ("int", "float", "category", ...),
            applied while reading a CSV.
        drop: Columns left out of the upload (Octopize's ``columns_to_drop``), batch by batch.
        strict_drop: Refuse a column to drop that the table lacks (else skip it: avatar data
            may come without them already).
        encoding: A CSV file's text encoding (a Python codec name: ``"latin-1"``,
            ``"cp1252"``...), transcoded to UTF-8 block by block as it streams; None for
            UTF-8. Parquet files, DataFrames and Arrow tables hold decoded text already and
            ignore it (the name is still checked).
        declared_types: Types the table was declared with before (``add_table``, a YAML
            file). Its ``category`` columns are read as text from a CSV, under ``types``, when
            the file has them: a CSV uploaded with ``upload_file`` was read by inference alone,
            and codes declared ``category`` lost their leading zeros (``"04748"`` read as
            4748). Other declared types are left to the job, which casts (a YAML's ``int``
            column may hold floats the job rounds; reading it as int64 would fail).

    Raises:
        InvalidArgument: missing file, unsupported extension, unreadable content (a CSV not in
            ``encoding``, UTF-8 by default), an unknown ``encoding``, a column to drop that the
            table does not have, a type for a column it does not have (or drops).
    """
    as_text = {n: t for n, t in (declared_types or {}).items() if _kind(t) == "category"}
    encoded = _open(source, {**as_text, **(types or {})}, check_encoding(encoding))
    missing = [name for name in drop if name not in encoded.schema.names]
    if missing and strict_drop:
        raise InvalidArgument(
            f"columns_to_drop names columns the table does not have: {missing}; its columns: "
            f"{encoded.schema.names[:20]}.",
            field="columns_to_drop",
        )
    kept = [name for name in encoded.schema.names if name not in set(drop)]
    check_named_columns(map(str, types or {}), kept)
    if not drop:
        return encoded
    return EncodedSource(
        pa.schema(
            [encoded.schema.field(name) for name in kept],
            _pandas_metadata_for(encoded.schema.metadata, kept),
        ),
        (batch.select(kept) for batch in encoded.batches),
        encoded.size_hint,
    )


def _pandas_metadata_for(
    metadata: dict[bytes, bytes] | None, kept: list[str]
) -> dict[bytes, bytes] | None:
    """The schema's pandas metadata restricted to the kept columns (it lists every column's
    dtype, and a dropped one would confuse ``to_pandas``)."""
    if not metadata or b"pandas" not in metadata:
        return metadata
    described = json.loads(metadata[b"pandas"])
    described["columns"] = [c for c in described.get("columns", []) if c.get("name") in kept]
    return {**metadata, b"pandas": json.dumps(described).encode()}


def _kind(column_type: Any) -> str:
    """A ColumnType (or its value) as its value: ``"category"``, ``"int"``..."""
    return str(getattr(column_type, "value", column_type))


def _open(source: TableSource, types: dict[str, Any] | None, encoding: str | None) -> EncodedSource:
    if isinstance(source, pd.DataFrame):
        return _dataframe_source(source)
    if isinstance(source, pa.Table):
        return _arrow_table_source(source)
    path = Path(source)
    if not path.is_file():
        raise InvalidArgument(
            f"no file at {path}; pass a CSV or Parquet path or a DataFrame.", field="data"
        )
    suffix = "".join(path.suffixes[-2:]).lower()
    if suffix.endswith((".parquet", ".pq")):
        return _parquet_source(path)
    if suffix.endswith((".csv", ".csv.gz", ".txt")):
        kinds = {name: _kind(t) for name, t in (types or {}).items()}
        column_types = {name: ARROW_TYPES[k] for name, k in kinds.items() if k in ARROW_TYPES}
        codes = [name for name, kind in kinds.items() if kind == "category"]
        return _csv_source(path, column_types, encoding, codes)
    raise InvalidArgument(
        f"unsupported file type {path.suffix!r}; use .csv or .parquet.", field="data"
    )


def _progress(total: int, description: str) -> Any:
    return transfer_bar(total, description)


def upload_messages(
    header: Any,
    source: EncodedSource,
    stats: StreamStats,
    description: str = "upload",
    *,
    digest: bool = False,
) -> Iterator[Any]:
    """The request stream of an upload RPC: the header message, then framed chunks.

    Args:
        digest: Hash the stream on the client too (into ``stats.sha256``).
    """
    yield header
    with _progress(source.size_hint, description) as bar:
        for framed in ipc_chunks(source.schema, source.batches, stats, digest=digest):
            bar.update(len(framed))
            yield framed


def split_download(responses: Iterable[Any]) -> tuple[Any, Iterator[memoryview]]:
    """Split a download response stream into its header message and its byte chunks."""
    iterator = iter(responses)
    header = next(iterator, None)
    if header is None or isinstance(header, memoryview):
        raise InvalidArgument("the server sent no header; the download is unusable.")

    def chunks() -> Iterator[memoryview]:
        for item in iterator:
            if isinstance(item, memoryview):
                yield item
            else:
                raise InvalidArgument("the server sent a second header.")

    return header, chunks()


def to_dataframe(table: pa.Table) -> pd.DataFrame:
    """A downloaded table as pandas, missing values as pandas writes them.

    Arrow has one missing value, null, and pyarrow turns a null of an ``object`` column into
    ``None``; a table read with ``pd.read_csv`` (Octopize's tutorials, most uploads) holds
    ``NaN`` there. So the avatars of an uploaded ``NaN`` came back ``None``: ``isna()`` agrees,
    but ``astype(str)``, ``unique()`` and equality checks against the input do not. Nulls of
    ``object`` columns come back as ``NaN``, pandas' missing value for them; ``string``,
    ``category`` and nullable columns keep their own (``pd.NA``, ``NaN``).
    """
    frame = arrow_to_pandas(table)
    for position, dtype in enumerate(frame.dtypes):
        if not pd.api.types.is_object_dtype(dtype):
            continue
        column = frame.iloc[:, position]
        missing = column.isna()
        if missing.any():
            frame.isetitem(position, column.where(~missing, np.nan).to_numpy(dtype=object))
    return frame


def read_arrow(chunks: Iterator[memoryview], expected_sha256: str = "") -> pa.Table:
    """Decode an Arrow IPC stream from chunks, checking its digest when one is given.

    Veil servers cut downloads between IPC messages, so every record batch lies within one
    chunk and is decoded in place: the table's buffers are the bytes gRPC delivered, with no
    further copy. A message spread over several chunks (another server, a huge dictionary) is
    joined first. The digest, when asked for, is computed on a helper thread while decoding.

    Args:
        expected_sha256: The server's sha256 of the stream; empty skips the check (gRPC over
            TCP, and TLS in production, already protect the bytes in transit; the check costs
            about 0.5 CPU second per GB).

    Raises:
        InvalidArgument: the bytes do not match ``expected_sha256``.
    """
    reader = ChunkReader(chunks, digest=bool(expected_sha256), background=True)
    try:
        table = ipc.open_stream(reader).read_all()
        while reader.read(1 << 20):
            pass  # bytes after the end-of-stream marker count for the digest too
        if expected_sha256 and reader.digest.hexdigest() != expected_sha256:
            raise InvalidArgument("the downloaded bytes do not match the server's sha256; retry.")
    finally:
        reader.close()
    return table


def write_bytes(
    chunks: Iterator[memoryview], path: Path, expected_sha256: str = "", total: int = 0
) -> str:
    """Write a download to ``path`` (via a temp file), returning the bytes' sha256."""
    digest = hashlib.sha256()
    temp = path.with_name(path.name + ".part")
    with open(temp, "wb") as sink, _progress(total, "download") as bar:
        for chunk in chunks:
            sink.write(chunk)
            digest.update(chunk)
            bar.update(len(chunk))
    if expected_sha256 and digest.hexdigest() != expected_sha256:
        temp.unlink(missing_ok=True)
        raise InvalidArgument("the downloaded bytes do not match the server's sha256; retry.")
    os.replace(temp, path)
    return digest.hexdigest()
