"""Tables uploaded from a browser: a CSV or Parquet file becomes a run's Arrow table.

The file arrives in a spooled temporary file (python-multipart: on disk past 1 MiB). It is read
with pyarrow's streaming readers, a CSV's opened as the Python client opens it
(``veil_wire.csv_reader``: type inference, the same null markers, the same refusals), cut into
IPC messages by ``veil_wire.ipc.ipc_chunks`` (the client's encoder) in a worker thread, and
handed to the runs
domain's ``upload_table``, which validates, hashes and registers it like a gRPC upload. Memory
stays at about one record batch whatever the file size; a bad file stores nothing.

A CSV is read as the client reads it: the separator (``,``, ``;``, tab, ``|``) and the decimal
mark are sniffed from the first 64 KiB, as a French spreadsheet writes ``;`` between fields and
``,`` in numbers; the text is decoded with the encoding the form names (UTF-8 unless the user
chooses Windows-1252 or Latin-1). A file that is not text in that encoding is refused naming the
``encoding`` field: read anyway, pyarrow keeps its text columns as bytes, which the engine refused
only once the job ran.
"""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import AsyncIterator, Iterator
from typing import IO, Any

import pyarrow as pa
from starlette.datastructures import UploadFile
from veil_wire.csv_dialect import sniff_dialect
from veil_wire.csv_reader import CsvProblem, CsvReadError, open_csv, read_sample
from veil_wire.framing import parse_bytes_field
from veil_wire.ipc import ipc_chunks

from veil_service.dpquery.dataset_files import PARQUET_BATCH_ROWS
from veil_service.errors import InvalidArgumentError, Message
from veil_service.runs.tables import StoredTable
from veil_service.web.context import WebContext

SUFFIXES = (".csv", ".csv.gz", ".txt", ".parquet", ".pq")
#: The text encodings the forms offer (Python codec names, UTF-8 first: the default), with the
#: names the messages give them.
ENCODING_NAMES = {"utf-8": "UTF-8", "cp1252": "Windows-1252", "latin-1": "Latin-1"}
ENCODINGS = tuple(ENCODING_NAMES)


def table_name_of(filename: str) -> str:
    """The default table name of a file: its name without the extension (``wbcd.csv``: wbcd)."""
    name = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def check_encoding(encoding: str, field: str = "encoding") -> str:
    """The form's encoding, one of :data:`ENCODINGS` (empty: UTF-8).

    Raises:
        InvalidArgumentError: another value (naming ``field``).
    """
    if not encoding:
        return "utf-8"
    if encoding not in ENCODINGS:
        raise InvalidArgumentError(
            f"{field}: {encoding!r} is not an encoding the form offers; choose one of "
            f"{', '.join(ENCODING_NAMES[e] for e in ENCODINGS)}.",
            field=field,
            code=Message.UPLOAD_UNKNOWN_ENCODING,
            params={
                "field": field,
                "encoding": encoding,
                "choices": ", ".join(ENCODING_NAMES[e] for e in ENCODINGS),
            },
        )
    return encoding


def _not_text(filename: str, encoding: str, field: str) -> InvalidArgumentError:
    if encoding == "utf-8":
        return InvalidArgumentError(
            f"{field}: {filename} is not UTF-8 text (a spreadsheet's Windows-1252 or Latin-1 "
            "export?): choose Windows-1252 in the encoding list and upload it again, or re-save "
            "it as UTF-8 (in Excel: 'CSV UTF-8').",
            field=field,
            code=Message.UPLOAD_NOT_UTF8,
            params={"field": field, "filename": filename},
        )
    return InvalidArgumentError(
        f"{field}: {filename} is not {ENCODING_NAMES[encoding]} text: a byte has no meaning in "
        "that encoding. Choose the file's own encoding in the encoding list, or re-save it as "
        "UTF-8 (in Excel: 'CSV UTF-8').",
        field=field,
        code=Message.UPLOAD_NOT_IN_ENCODING,
        params={"field": field, "filename": filename, "encoding": ENCODING_NAMES[encoding]},
    )


def _batches(
    source: IO[bytes], filename: str, field: str, encoding: str = "utf-8"
) -> tuple[pa.Schema, Iterator[Any]]:
    # Imported on use: the server does not load CSV and Parquet readers at start
    # (tests/unit/test_server_imports.py).
    lower = filename.lower()
    if lower.endswith((".parquet", ".pq")):
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(source)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InvalidArgumentError(
                f"{field}: {filename} is not a readable Parquet file ({_first_line(exc)}).",
                field=field,
                code=Message.UPLOAD_NOT_PARQUET,
                params={"field": field, "filename": filename, "detail": _first_line(exc)},
            ) from None
        return parquet.schema_arrow, iter(parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS))
    if not lower.endswith((".csv", ".csv.gz", ".txt")):
        raise InvalidArgumentError(
            f"{field}: {filename or 'the file'} is neither CSV nor Parquet; "
            "upload a .csv or .parquet file.",
            field=field,
            code=Message.UPLOAD_NOT_CSV_OR_PARQUET,
            params={"field": field, "filename": filename or "the file"},
        )
    gzipped = lower.endswith(".gz")
    try:
        sample, complete = read_sample(source, encoding, gzipped)
        # Incremental: a character cut at the sample's end is no error.
        text = codecs.getincrementaldecoder(encoding)().decode(sample, final=complete)
    except UnicodeDecodeError:
        raise _not_text(filename, encoding, "encoding") from None
    except CsvReadError as error:
        raise _csv_error(error, filename, encoding, field) from None
    delimiter, decimal_point = sniff_dialect(text, complete)
    try:
        reader = open_csv(
            source,
            delimiter=delimiter,
            decimal_point=decimal_point,
            encoding=encoding,
            gzipped=gzipped,
        )
    except CsvReadError as error:
        raise _csv_error(error, filename, encoding, field) from None

    def batches() -> Iterator[Any]:
        try:
            yield from reader.batches
        except CsvReadError as error:
            raise _csv_error(error, filename, encoding, field) from None

    return reader.schema, batches()


def _csv_error(
    error: CsvReadError, filename: str, encoding: str, field: str
) -> InvalidArgumentError:
    """The form's words for a CSV the reader refused (naming ``encoding`` for text in another
    encoding, else the file's ``field``)."""
    if error.problem is CsvProblem.NOT_TEXT:
        return _not_text(filename, encoding, "encoding")
    if error.problem is CsvProblem.MARKED_OTHER:
        if error.marked == "UTF-8":
            fix = "choose UTF-8 in the encoding list and upload it again."
        else:
            fix = (
                "the form reads UTF-8, Windows-1252 and Latin-1: re-save it as UTF-8 (in Excel: "
                f"'CSV UTF-8'), or upload it with the Python client and encoding='{error.marked}'."
            )
        chosen = ENCODING_NAMES.get(encoding, encoding)
        return InvalidArgumentError(
            f"encoding: {filename} starts with a {error.marked} byte-order mark, so it is "
            f"{error.marked} text, not {chosen}: {fix}",
            field="encoding",
            code=Message.UPLOAD_MARKED_UTF8
            if error.marked == "UTF-8"
            else Message.UPLOAD_MARKED_OTHER,
            params={"filename": filename, "marked": error.marked, "encoding": chosen},
        )
    detail = _first_line(error.cause) if error.cause is not None else error.problem.value
    params = {"field": field, "filename": filename, "detail": detail}
    if error.problem is CsvProblem.UNREADABLE:
        return InvalidArgumentError(
            f"{field}: cannot read {filename} as CSV ({detail}).",
            field=field,
            code=Message.UPLOAD_BAD_CSV,
            params=params,
        )
    return InvalidArgumentError(
        f"{field}: {filename} is malformed or a column changes type after the first rows "
        f"({detail}). Fix the file, or upload it with the Python client and types={{...}}.",
        field=field,
        code=Message.UPLOAD_MALFORMED_CSV,
        params=params,
    )


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__


async def arrow_chunks(
    upload: UploadFile, field: str, encoding: str = "utf-8"
) -> AsyncIterator[object]:
    """An uploaded CSV or Parquet file as Arrow IPC stream chunks (memoryviews), as the gRPC
    upload codec delivers them."""
    source, filename = upload.file, upload.filename or ""

    def encoded() -> Iterator[memoryview]:
        source.seek(0)
        schema, batches = _batches(source, filename, field, encoding)
        for framed in ipc_chunks(schema, batches):
            payload = parse_bytes_field(framed)
            assert payload is not None
            yield payload

    iterator = encoded()  # runs in the worker thread, one next() at a time
    done = object()
    while True:
        chunk = await asyncio.to_thread(next, iterator, done)
        if chunk is done:
            return
        yield chunk


async def store_upload(
    ctx: WebContext,
    owner_id: str,
    *,
    run_id: str,
    table_name: str,
    upload: UploadFile,
    field: str = "file",
    encoding: str = "utf-8",
) -> StoredTable:
    """Store an uploaded CSV or Parquet file as a table of one of the owner's runs.

    Raises:
        InvalidArgumentError: no file, an unsupported or unreadable file, text not in
            ``encoding`` (one of :data:`ENCODINGS`), a bad table name.
        NotFoundError: not the owner's run.
    """
    if not upload.filename or upload.size == 0:
        raise InvalidArgumentError(
            f"{field}: choose a CSV or Parquet file.",
            field=field,
            code=Message.UPLOAD_NO_FILE,
            params={"field": field},
        )
    return await ctx.runs.upload_table(
        owner_id,
        run_id=run_id,
        table_name=table_name,
        role="original",
        replace=True,
        expected_sha256="",
        chunks=arrow_chunks(upload, field, check_encoding(encoding)),
    )
