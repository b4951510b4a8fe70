"""Cutting stored Arrow IPC streams between messages for downloads.

The framing scanner reads the flatbuffer metadata by hand, so these tests pin it against
pyarrow's own reader, and check that the cuts always cover the file exactly, whatever it holds.
"""

from __future__ import annotations

import os
import random
import struct
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc
import pytest
from veil_service.ipc_framing import aligned_ranges, body_length, message_spans, read_aligned
from veil_wire.ipc import ChunkReader


def _stream(table: pa.Table, max_rows: int) -> bytes:
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=max_rows):
            writer.write_batch(batch)
    return bytes(sink.getvalue())


def _table(rows: int) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "x": pa.array([i * 0.25 for i in range(rows)]),
            "s": pa.array([f"text-{i % 113}" for i in range(rows)]),
            "c": pa.array([f"cat{i % 7}" for i in range(rows)]).dictionary_encode(),
            "n": pa.array([None if i % 3 else i for i in range(rows)], pa.int32()),
        }
    )


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "blob.arrows"
    path.write_bytes(data)
    return path


def _spans(path: Path) -> list[tuple[int, int]]:
    with open(path, "rb") as handle:
        return list(message_spans(handle.fileno(), os.fstat(handle.fileno()).st_size))


def test_spans_match_pyarrows_messages(tmp_path: Path) -> None:
    data = _stream(_table(30_000), 4_000)
    spans = _spans(_write(tmp_path, data))
    expected = []
    offset = 0
    for message in ipc.MessageReader.open_stream(pa.py_buffer(data)):
        size = message.serialize().size
        expected.append((offset, size))
        offset += size
    assert spans == expected
    assert len(spans) == 1 + 1 + 8  # schema, dictionary, 8 record batches
    assert offset + 8 == len(data)  # then the end-of-stream marker


def test_body_length_rejects_garbage() -> None:
    assert body_length(b"") is None
    assert body_length(b"\xff" * 7) is None
    assert body_length(struct.pack("<I", 10_000) + b"\x00" * 12) is None
    rng = random.Random(3)
    for _ in range(200):  # random bytes never raise, whatever they claim
        value = body_length(rng.randbytes(rng.randint(0, 64)))
        assert value is None or value >= 0


@pytest.mark.parametrize("chunk_bytes", [64 << 10, 256 << 10, 1 << 20])
def test_aligned_pieces_cover_the_file_and_hold_whole_messages(
    tmp_path: Path, chunk_bytes: int
) -> None:
    data = _stream(_table(60_000), 1_000)  # messages of ~36 KB: all fit in a piece
    path = _write(tmp_path, data)
    pieces = list(read_aligned(path, chunk_bytes))
    assert b"".join(pieces) == data
    assert all(len(piece) <= chunk_bytes for piece in pieces)
    ends = {offset + length for offset, length in _spans(path)} | {0}
    position = 0
    for piece in pieces[:-1]:
        position += len(piece)
        assert position in ends  # every cut falls between two messages
    decoded = ipc.open_stream(ChunkReader(iter(map(memoryview, pieces)), digest=False)).read_all()
    assert decoded.equals(_table(60_000))


def test_a_message_larger_than_a_piece_is_cut_and_still_decodes(tmp_path: Path) -> None:
    data = _stream(_table(50_000), 50_000)  # one record batch of about 1.2 MB
    pieces = list(read_aligned(_write(tmp_path, data), 256 << 10))
    assert b"".join(pieces) == data
    assert max(len(p) for p in pieces) == 256 << 10
    decoded = ipc.open_stream(ChunkReader(iter(map(memoryview, pieces)), digest=False)).read_all()
    assert decoded.num_rows == 50_000


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an arrow stream at all" * 10_000,
        b"\xff\xff\xff\xff" + struct.pack("<i", 1 << 30) + b"\x00" * 100,
    ],
)
def test_anything_else_is_sent_in_plain_pieces(tmp_path: Path, data: bytes) -> None:
    pieces = list(read_aligned(_write(tmp_path, data), 64 << 10))
    assert b"".join(pieces) == data
    assert all(0 < len(p) <= 64 << 10 for p in pieces)


def test_a_truncated_stream_keeps_its_whole_messages_aligned(tmp_path: Path) -> None:
    data = _stream(_table(20_000), 2_000)
    cut = data[: len(data) - 5_000]
    path = _write(tmp_path, cut)
    assert b"".join(read_aligned(path, 64 << 10)) == cut
    spans = _spans(path)
    assert spans and spans[-1][0] + spans[-1][1] <= len(cut)


def test_ranges_are_contiguous_for_synthetic_spans() -> None:
    spans = [(0, 100), (100, 900), (1000, 5000), (6000, 10), (6010, 10)]
    ranges = list(aligned_ranges(spans, 6100, 1024))
    assert ranges[0] == (0, 1000)
    position = 0
    for offset, length in ranges:
        assert offset == position and 0 < length <= 1024
        position += length
    assert position == 6100
