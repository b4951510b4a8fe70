"""The hand-made protobuf framing of Arrow chunks and the readers built on it.

Both ends skip protobuf for the bytes field, so these tests pin that the bytes are exactly what
protobuf would produce and parse, and that the stream reader is right across chunk boundaries.
"""

from __future__ import annotations

import hashlib
import random

import pyarrow as pa
import pyarrow.ipc as ipc
import pytest
from veil.v1 import common_pb2, runs_pb2
from veil_wire.framing import (
    chunk_deserializer,
    chunk_serializer,
    frame_bytes_field,
    parse_bytes_field,
)
from veil_wire.ipc import ChunkReader, StreamStats, ipc_chunks


@pytest.mark.parametrize("size", [0, 1, 127, 128, 16_383, 16_384, 1 << 20, (1 << 20) + 7])
def test_framing_round_trip_matches_protobuf(size: int) -> None:
    payload = random.Random(size).randbytes(size)
    framed = frame_bytes_field(payload)
    assert framed == runs_pb2.UploadTableRequest(arrow_ipc=payload).SerializeToString()
    parsed = parse_bytes_field(framed)
    assert parsed is not None and bytes(parsed) == payload


@pytest.mark.parametrize("field_number", [3, 4, 15])
def test_framing_other_field_numbers(field_number: int) -> None:
    framed = frame_bytes_field(b"abc", field_number)
    assert parse_bytes_field(framed, field_number) == memoryview(b"abc")
    assert parse_bytes_field(framed) is None


def test_parse_returns_a_zero_copy_view() -> None:
    framed = frame_bytes_field(b"x" * 1000)
    view = parse_bytes_field(framed)
    assert isinstance(view, memoryview) and view.obj is framed


def test_non_chunk_messages_are_not_mistaken_for_chunks() -> None:
    header = runs_pb2.UploadTableRequest(
        header=runs_pb2.UploadTableHeader(
            run_id="r", table_name="t", role=common_pb2.TABLE_ROLE_ORIGINAL
        )
    ).SerializeToString()
    assert parse_bytes_field(header) is None
    assert parse_bytes_field(b"") is None
    # Right tag, wrong length: trailing bytes or a short payload are not one chunk.
    assert parse_bytes_field(frame_bytes_field(b"abc") + b"\x00") is None
    assert parse_bytes_field(frame_bytes_field(b"abc")[:-1]) is None
    # A varint that never ends.
    assert parse_bytes_field(b"\x12" + b"\xff" * 12) is None


def test_deserializer_and_serializer_mix_headers_and_chunks() -> None:
    deserialize = chunk_deserializer(runs_pb2.UploadTableRequest)
    header = runs_pb2.UploadTableRequest(header=runs_pb2.UploadTableHeader(table_name="t"))
    decoded = deserialize(chunk_serializer(header))
    assert isinstance(decoded, runs_pb2.UploadTableRequest)
    assert decoded.header.table_name == "t"
    chunk = deserialize(chunk_serializer(frame_bytes_field(b"payload")))
    assert isinstance(chunk, memoryview) and bytes(chunk) == b"payload"


def _split(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    pieces, start = [], 0
    while start < len(data):
        size = rng.choice([1, 3, 8, 100, 4096, 65_536])
        pieces.append(data[start : start + size])
        start += size
    return pieces


@pytest.mark.parametrize("seed", range(5))
def test_chunk_reader_reads_across_chunk_boundaries(seed: int) -> None:
    data = random.Random(seed).randbytes(300_000)
    reader = ChunkReader(iter(_split(data, seed)))
    rng = random.Random(seed + 100)
    out = bytearray()
    while piece := reader.read(rng.choice([1, 7, 4096, 70_000, 200_000])):
        out += bytes(piece)
    assert bytes(out) == data
    assert reader.read(10) == b""
    assert reader.total == len(data)
    assert reader.digest.hexdigest() == hashlib.sha256(data).hexdigest()


def test_chunk_reader_read_all_and_empty_chunks() -> None:
    reader = ChunkReader(iter([b"ab", b"", memoryview(b"cde"), b"", b"f"]))
    assert bytes(reader.read(1)) == b"a"
    assert bytes(reader.read(-1)) == b"bcdef"
    assert reader.read(1) == b""


def test_chunk_reader_without_digest_skips_hashing() -> None:
    reader = ChunkReader(iter([b"abc"]), digest=False)
    assert bytes(reader.read(3)) == b"abc"
    assert reader.digest.hexdigest() == hashlib.sha256(b"").hexdigest()


def _table(rows: int) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "x": pa.array([i * 0.5 for i in range(rows)]),
            "s": pa.array([f"value-{i % 97}" for i in range(rows)]),
            "c": pa.array([f"cat{i % 5}" for i in range(rows)]).dictionary_encode(),
        }
    )


def test_ipc_chunks_round_trip_through_chunk_reader() -> None:
    table = _table(50_000)
    stats = StreamStats()
    framed = list(
        ipc_chunks(
            table.schema,
            table.to_batches(max_chunksize=7_000),
            stats,
            chunk_bytes=64 << 10,
            digest=True,
        )
    )
    assert len(framed) > 10
    payloads = [parse_bytes_field(message) for message in framed]
    assert all(p is not None and p.nbytes <= 64 << 10 for p in payloads)
    data = b"".join(bytes(p) for p in payloads if p is not None)
    assert stats.size_bytes == len(data)
    assert stats.sha256 == hashlib.sha256(data).hexdigest()
    assert stats.num_rows == table.num_rows
    reader = ChunkReader(iter(p for p in payloads if p is not None))
    assert ipc.open_stream(reader).read_all().equals(table)
    assert reader.digest.hexdigest() == stats.sha256


def test_ipc_chunks_skip_the_digest_unless_asked() -> None:
    table = _table(1_000)
    stats = StreamStats()
    framed = list(ipc_chunks(table.schema, table.to_batches(), stats))
    assert stats.sha256 == ""
    assert stats.size_bytes == sum(p.nbytes for p in map(parse_bytes_field, framed) if p)


def _message_sizes(data: bytes) -> list[int]:
    """Sizes of the IPC messages in ``data`` (which must hold whole messages only)."""
    reader = ipc.MessageReader.open_stream(pa.py_buffer(data))
    sizes = []
    for message in reader:
        sizes.append(message.serialize().size)
    return sizes


def test_ipc_chunks_cut_between_messages_and_slice_big_batches() -> None:
    """Every chunk holds whole IPC messages, so the server decodes batches in place."""
    table = _table(200_000)  # one 200,000-row batch of about 4 MB: sliced to fit in 256 KiB
    chunk = 256 << 10
    framed = list(ipc_chunks(table.schema, table.to_batches(), chunk_bytes=chunk))
    payloads = [parse_bytes_field(message) for message in framed]
    assert len(payloads) > 10
    stream = b"".join(bytes(p) for p in payloads if p is not None)
    for payload in payloads[:-1]:  # the last one ends with the end-of-stream marker
        assert payload is not None and payload.nbytes <= chunk
        assert sum(_message_sizes(bytes(payload))) == payload.nbytes
    assert ipc.open_stream(pa.py_buffer(stream)).read_all().equals(table)


def test_chunk_reader_decodes_aligned_chunks_without_copying() -> None:
    table = _table(100_000)
    payloads = [
        parse_bytes_field(m)
        for m in ipc_chunks(table.schema, table.to_batches(), chunk_bytes=128 << 10)
    ]
    views = [p for p in payloads if p is not None]
    spans = [(pa.py_buffer(v).address, v.nbytes) for v in views]
    decoded = ipc.open_stream(ChunkReader(iter(views), digest=False)).read_all()
    assert decoded.equals(table)
    for column in decoded.columns:
        for array in column.chunks:
            for buffer in array.buffers():
                if buffer is not None and buffer.size:
                    assert any(start <= buffer.address < start + size for start, size in spans)


def test_background_digest_matches_and_stops_its_thread() -> None:
    data = random.Random(9).randbytes(500_000)
    reader = ChunkReader(iter(_split(data, 9)), background=True)
    while reader.read(65_536):
        pass
    assert reader.digest.hexdigest() == hashlib.sha256(data).hexdigest()
    reader.close()
    early = ChunkReader(iter(_split(data, 9)), background=True)
    early.read(10)
    early.close()  # stopping before the end must not leave the hashing thread waiting
    assert not early.digest._thread.is_alive()


def test_read_arrow_checks_the_digest_only_when_given() -> None:
    from veil_client.errors import InvalidArgument
    from veil_client.tables import read_arrow

    table = _table(20_000)
    payloads = [
        parse_bytes_field(m)
        for m in ipc_chunks(table.schema, table.to_batches(), chunk_bytes=64 << 10)
    ]
    views = [p for p in payloads if p is not None]
    digest = hashlib.sha256(b"".join(bytes(v) for v in views)).hexdigest()
    assert read_arrow(iter(views)).equals(table)
    assert read_arrow(iter(views), digest).equals(table)
    with pytest.raises(InvalidArgument, match="do not match the server's sha256"):
        read_arrow(iter(views), "0" * 64)
