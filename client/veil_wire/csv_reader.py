"""pyarrow's streaming CSV reader as every upload path builds it: one set of options, one check.

The Python client (``veil_client.tables``, a path) and the web application's upload form
(``veil_service.web.uploads``, an uploaded file object, possibly gzip) read a CSV into the same
columns: the separator and decimal mark of :func:`veil_wire.csv_dialect.sniff_dialect`, the same
null markers, the same block size, the file's text encoding. They also refuse the same files.
pyarrow keeps text that is not valid in the encoding as ``binary`` columns (which the engine
refused only once the job ran), or fails on it while reading, as :class:`UnicodeDecodeError` or
as an ``ArrowInvalid`` naming UTF-8; each of these is a file in another encoding. Both sides
first read the file's first 64 KiB of text with :func:`read_sample` (a gzip file's uncompressed,
its byte-order mark checked against the encoding given) to sniff its dialect.

The reader raises :class:`CsvReadError`, which says what went wrong (:class:`CsvProblem`), never
how to tell the user: each side translates it into its own error tree and words (a form's field,
a keyword argument), so this module imports neither side.
"""

from __future__ import annotations

import codecs
import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pyarrow as pa

from veil_wire.csv_dialect import SNIFF_BYTES

CSV_BLOCK_BYTES = 4 << 20
"""Bytes pyarrow reads and parses at a time: one record batch."""

CSV_NULLS = ["", "NA", "N/A", "NaN", "nan", "null", "NULL"]
"""The cells read as missing (pandas' usual markers)."""


class CsvProblem(enum.Enum):
    """Why a CSV could not be read."""

    NOT_TEXT = "not_text"
    """Not text in the encoding given (a Latin-1 or Windows-1252 export read as UTF-8)."""
    UNREADABLE = "unreadable"
    """pyarrow cannot start reading it (no header, not CSV, not gzip)."""
    MARKED_OTHER = "marked_other"
    """It starts with the byte-order mark of another encoding (:attr:`CsvReadError.marked`):
    a UTF-8 file read as Windows-1252 gave a first column named ``ï»¿âge`` and ``OrlÃ©ans``
    for ``Orléans``, without a word."""
    MALFORMED = "malformed"
    """Past the first block: a row with more fields, a column that changes type, a gzip file
    cut short."""


class CsvReadError(Exception):
    """A CSV the reader refuses, for the caller to word in its own error tree.

    Attributes:
        problem: What is wrong.
        cause: pyarrow's error (its message is the detail the user sees), or None.
        marked: With ``MARKED_OTHER``, the encoding the byte-order mark names (``UTF-8``,
            ``UTF-16``, ``UTF-32``).
    """

    def __init__(
        self, problem: CsvProblem, cause: BaseException | None = None, marked: str | None = None
    ) -> None:
        super().__init__(
            f"{problem.value}: {cause or marked}" if cause or marked else problem.value
        )
        self.problem = problem
        self.cause = cause
        self.marked = marked


_MARKS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),  # before UTF-16's, which it starts with
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF8, "UTF-8"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
"""Byte-order marks, and the encoding each says the file is in."""


def check_byte_order_mark(sample: bytes, encoding: str) -> None:
    """Refuse a file whose byte-order mark names another encoding than ``encoding``.

    A mark is what a program writes to say which Unicode encoding follows (Excel's 'CSV UTF-8'
    writes UTF-8's, its 'Unicode Text' UTF-16's); no real CSV starts with those bytes as
    Windows-1252 or Latin-1 text, which would read them without an error.

    Raises:
        CsvReadError: ``MARKED_OTHER``.
    """
    marked = next((name for mark, name in _MARKS if sample.startswith(mark)), None)
    if marked is None:
        return
    try:
        family = codecs.lookup(encoding).name.upper()
    except LookupError:
        family = encoding.upper()
    if not family.startswith(marked):
        raise CsvReadError(CsvProblem.MARKED_OTHER, marked=marked)


@dataclass(frozen=True)
class CsvReader:
    """An open CSV: its schema (from its first block) and its record batches.

    Iterating ``batches`` raises :class:`CsvReadError` (``NOT_TEXT`` or ``MALFORMED``).
    """

    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]


def read_sample(source: IO[bytes], encoding: str, gzipped: bool = False) -> tuple[bytes, bool]:
    """The first :data:`~veil_wire.csv_dialect.SNIFF_BYTES` of a CSV, uncompressed (to find its
    dialect), and whether that is all of it; ``source`` is left at its start. A byte-order
    mark naming another encoding than ``encoding`` is refused (:func:`check_byte_order_mark`).

    A gzip file's sample is of its text: the client sniffed a gzipped ``;`` export from its
    compressed bytes, read it with ``,`` and refused it. The gzip reader is opened ``rb``
    whatever ``source``'s mode: the web's spooled upload is ``w+b``, from which ``GzipFile``
    inferred writing, and every ``.csv.gz`` sent from the form failed (an internal error).

    Raises:
        CsvReadError: ``UNREADABLE``, ``gzipped`` and not gzip; ``MARKED_OTHER``.
    """
    import gzip
    import zlib

    source.seek(0)
    reader: IO[bytes] | gzip.GzipFile = (
        gzip.GzipFile(fileobj=source, mode="rb") if gzipped else source
    )
    try:
        sample = reader.read(SNIFF_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise CsvReadError(CsvProblem.UNREADABLE, exc) from None
    finally:
        source.seek(0)
    check_byte_order_mark(sample, encoding)
    return sample[:SNIFF_BYTES], len(sample) <= SNIFF_BYTES


def open_csv(
    source: str | Path | IO[bytes],
    *,
    delimiter: str = ",",
    decimal_point: str = ".",
    encoding: str = "utf-8",
    column_types: Mapping[str, pa.DataType] | None = None,
    gzipped: bool = False,
) -> CsvReader:
    """Open ``source`` with pyarrow's streaming CSV reader.

    Args:
        source: A path (pyarrow decompresses a ``.gz`` one) or a binary file object.
        delimiter: The separator (:func:`~veil_wire.csv_dialect.sniff_dialect`).
        decimal_point: The decimal mark (idem).
        encoding: The file's text encoding, a Python codec name (pyarrow reads UTF-8 itself,
            byte-order mark skipped, and transcodes any other with Python's codec).
        column_types: Arrow types of columns not to infer.
        gzipped: ``source`` is a gzip file object.

    Raises:
        CsvReadError: ``NOT_TEXT`` (the header or the first block is not text in
            ``encoding``) or ``UNREADABLE``.
    """
    import pyarrow.csv as pacsv

    stream: str | Path | IO[bytes] | pa.NativeFile = source
    if gzipped and not isinstance(source, str | Path):
        stream = pa.CompressedInputStream(pa.PythonFile(source, mode="r"), "gzip")
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES, encoding=encoding),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types=dict(column_types or {}),
                strings_can_be_null=True,
                null_values=CSV_NULLS,
                decimal_point=decimal_point,
            ),
        )
    except UnicodeDecodeError as exc:  # the header, transcoded by Python
        raise CsvReadError(CsvProblem.NOT_TEXT, exc) from None
    except (pa.ArrowInvalid, OSError) as exc:  # OSError: a gzip file that is not gzip
        raise CsvReadError(CsvProblem.UNREADABLE, exc) from None
    # pyarrow keeps text that is not UTF-8 as bytes: values as binary columns (which the engine
    # cannot read), a header as names that fail only when something asks for them.
    try:
        reader.schema.names  # noqa: B018 (decoded for the check)
    except UnicodeDecodeError as exc:
        raise CsvReadError(CsvProblem.NOT_TEXT, exc) from None
    if any(pa.types.is_binary(field.type) for field in reader.schema):
        raise CsvReadError(CsvProblem.NOT_TEXT)

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from reader
        except UnicodeDecodeError as exc:
            raise CsvReadError(CsvProblem.NOT_TEXT, exc) from None
        except pa.ArrowInvalid as exc:
            if "UTF8" in str(exc) or "UTF-8" in str(exc):
                raise CsvReadError(CsvProblem.NOT_TEXT, exc) from None
            raise CsvReadError(CsvProblem.MALFORMED, exc) from None
        except OSError as exc:  # a gzip file cut short
            raise CsvReadError(CsvProblem.MALFORMED, exc) from None

    return CsvReader(reader.schema, batches())
