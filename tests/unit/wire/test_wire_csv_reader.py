"""One CSV reader for the client's uploads (a path) and the web's (a file object, maybe gzip):
the same columns, and the same refusals, which each side words in its own error tree."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pyarrow as pa
import pytest
from veil_wire.csv_dialect import SNIFF_BYTES
from veil_wire.csv_reader import CSV_BLOCK_BYTES, CsvProblem, CsvReadError, open_csv, read_sample

EXPORT = "âge;ville;poids\n41;Orléans;72,5\n52;NA;80,25\n"


def _read(source: str | Path | io.BytesIO, **options: object) -> pa.Table:
    reader = open_csv(source, **options)  # type: ignore[arg-type]
    return pa.Table.from_batches(list(reader.batches), reader.schema)


def test_a_path_a_file_object_and_a_gzip_file_object_read_the_same_columns(
    tmp_path: Path,
) -> None:
    data = EXPORT.encode("cp1252")
    (tmp_path / "t.csv").write_bytes(data)
    options = {"delimiter": ";", "decimal_point": ",", "encoding": "cp1252"}
    from_path = _read(tmp_path / "t.csv", **options)
    assert from_path.to_pydict() == {
        "âge": [41, 52],
        "ville": ["Orléans", None],
        "poids": [72.5, 80.25],
    }
    assert _read(io.BytesIO(data), **options).equals(from_path)
    assert _read(io.BytesIO(gzip.compress(data)), gzipped=True, **options).equals(from_path)
    typed = _read(io.BytesIO(data), column_types={"âge": pa.string()}, **options)
    assert typed.column("âge").to_pylist() == ["41", "52"]


@pytest.mark.parametrize(
    "data",
    [
        "age,ville\n41,Orléans\n".encode("latin-1"),  # a value: pyarrow keeps it as bytes
        "âge,ville\n41,Lyon\n".encode("latin-1"),  # the header
    ],
)
def test_text_in_another_encoding_is_not_text(data: bytes) -> None:
    with pytest.raises(CsvReadError) as caught:
        open_csv(io.BytesIO(data))
    assert caught.value.problem is CsvProblem.NOT_TEXT
    assert _read(io.BytesIO(data), encoding="latin-1").column("ville").type == pa.string()


def test_an_empty_file_is_unreadable_with_pyarrows_reason() -> None:
    with pytest.raises(CsvReadError) as caught:
        open_csv(io.BytesIO(b""))
    assert caught.value.problem is CsvProblem.UNREADABLE
    assert isinstance(caught.value.cause, pa.ArrowInvalid)
    assert "Empty CSV file" in str(caught.value.cause)


def test_past_the_first_block_a_bad_row_is_malformed_and_bad_text_is_not_text() -> None:
    rows = CSV_BLOCK_BYTES // len(b"123,abc\n") + 10
    head = b"n,s\n" + b"123,abc\n" * rows
    reader = open_csv(io.BytesIO(head + b"1,2,3\n"))
    with pytest.raises(CsvReadError) as caught:
        list(reader.batches)
    assert caught.value.problem is CsvProblem.MALFORMED
    assert "Expected 2 columns, got 3" in str(caught.value.cause)
    reader = open_csv(io.BytesIO(head + "4,Orléans\n".encode("latin-1")))
    with pytest.raises(CsvReadError) as caught:
        list(reader.batches)
    assert caught.value.problem is CsvProblem.NOT_TEXT


def test_a_sample_is_of_the_text_a_gzip_file_holds_and_a_file_not_gzip_is_unreadable() -> None:
    data = EXPORT.encode()
    packed = io.BytesIO(gzip.compress(data))
    packed.seek(5)
    assert read_sample(packed, "utf-8", gzipped=True) == (data, True)
    assert packed.tell() == 0
    big = b"x" * (SNIFF_BYTES + 10)
    assert read_sample(io.BytesIO(gzip.compress(big)), "utf-8", gzipped=True) == (
        big[:SNIFF_BYTES],
        False,
    )
    plain = io.BytesIO(data)
    with pytest.raises(CsvReadError) as caught:
        read_sample(plain, "utf-8", gzipped=True)
    assert caught.value.problem is CsvProblem.UNREADABLE
    assert "Not a gzipped file" in str(caught.value.cause)
    assert plain.tell() == 0
    with pytest.raises(CsvReadError) as caught:
        open_csv(plain, gzipped=True)
    assert caught.value.problem is CsvProblem.UNREADABLE


@pytest.mark.parametrize(
    ("text", "python_encoding", "given", "marked"),
    [
        ("\ufeffa,b\n1,2\n", "utf-8", "cp1252", "UTF-8"),
        ("\ufeffa,b\n1,2\n", "utf-8", "latin-1", "UTF-8"),
        ("a,b\n1,2\n", "utf-16", "utf-8", "UTF-16"),
        ("a,b\n1,2\n", "utf-16-be", "cp1252", None),  # no mark: nothing to say
        ("\ufeffa,b\n1,2\n", "utf-16-be", "utf-8", "UTF-16"),
        ("a,b\n1,2\n", "utf-32", "utf-16", "UTF-32"),
        ("\ufeffa,b\n1,2\n", "utf-8", "utf-8", None),
        ("\ufeffa,b\n1,2\n", "utf-8", "UTF_8", None),
        ("\ufeffa,b\n1,2\n", "utf-8", "utf-8-sig", None),
        ("a,b\n1,2\n", "utf-16", "utf-16", None),
        ("a,b\n1,2\n", "utf-32", "utf-32", None),
    ],
)
def test_a_byte_order_mark_naming_another_encoding_is_refused(
    text: str, python_encoding: str, given: str, marked: str | None
) -> None:
    # A UTF-8 export read as Windows-1252 gave a column 'ï»¿a' and mangled every accent.
    data = io.BytesIO(text.encode(python_encoding))
    if marked is None:
        assert read_sample(data, given)[0] == text.encode(python_encoding)
        return
    with pytest.raises(CsvReadError) as caught:
        read_sample(data, given)
    assert (caught.value.problem, caught.value.marked) == (CsvProblem.MARKED_OTHER, marked)
