"""Arrow IPC stream framing: where each message of a stored stream starts and ends.

Downloads cut a stored stream at message boundaries, packing whole messages into gRPC messages
of at most ~1 MiB, so the client decodes every record batch in place, from the bytes gRPC
handed it, instead of first copying the stream into one buffer (a copy and a fresh allocation of
the whole table, about a third of a download's client CPU). Finding the boundaries needs only
each message's 8-byte prefix and the ``bodyLength`` field of its flatbuffer metadata (Arrow's
``Message.fbs``), read here with ``struct``: pyarrow has no metadata-only reader, and reading
every body through it would cost the copy this module exists to avoid.

Anything that does not parse as the current IPC stream format (a pre-1.0 stream without the
continuation marker, a blob that is not Arrow at all, a truncated tail) ends the scan; the rest
is sent in plain fixed-size pieces, which the client reassembles. Framing only decides where
gRPC messages are cut, never which bytes are sent.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator

CONTINUATION_MARKER = 0xFFFFFFFF
PREFIX_BYTES = 8
"""Continuation marker (uint32) + metadata length (int32) in front of every message."""

_BODY_LENGTH_SLOT = 4 + 2 * 3
"""vtable byte offset of ``Message.bodyLength``: field id 3 (the union ``header`` takes ids 1
and 2), after the vtable's two uint16 sizes."""

_PREFIX = struct.Struct("<Ii")


def body_length(metadata: bytes) -> int | None:
    """``bodyLength`` of an IPC ``Message`` flatbuffer, or None if it is not a valid one.

    Every offset is bounds-checked against ``metadata``: the bytes come from a client.
    """
    size = len(metadata)
    if size < 8:
        return None
    (table,) = struct.unpack_from("<I", metadata, 0)
    if table + 4 > size:
        return None
    (to_vtable,) = struct.unpack_from("<i", metadata, table)
    vtable = table - to_vtable
    if vtable < 0 or vtable + 4 > size:
        return None
    (vtable_bytes,) = struct.unpack_from("<H", metadata, vtable)
    if vtable_bytes < _BODY_LENGTH_SLOT + 2:
        return 0  # field absent from an older writer's vtable: default 0
    if vtable + _BODY_LENGTH_SLOT + 2 > size:
        return None
    (field_offset,) = struct.unpack_from("<H", metadata, vtable + _BODY_LENGTH_SLOT)
    if field_offset == 0:
        return 0
    if table + field_offset + 8 > size:
        return None
    (value,) = struct.unpack_from("<q", metadata, table + field_offset)
    return value if value >= 0 else None


def message_spans(fd: int, size: int) -> Iterator[tuple[int, int]]:
    """(offset, length) of each message of the IPC stream in ``fd``, prefix to end of body.

    Stops at the end-of-stream marker or at the first bytes that are not a whole message.
    Reads only prefixes and metadata (``os.pread``), a few hundred bytes per message.
    """
    position = 0
    while position + PREFIX_BYTES <= size:
        marker, metadata_bytes = _PREFIX.unpack(os.pread(fd, PREFIX_BYTES, position))
        if marker != CONTINUATION_MARKER or metadata_bytes <= 0:
            return
        if position + PREFIX_BYTES + metadata_bytes > size:
            return
        body = body_length(os.pread(fd, metadata_bytes, position + PREFIX_BYTES))
        if body is None:
            return
        length = PREFIX_BYTES + metadata_bytes + body
        if position + length > size:
            return
        yield position, length
        position += length


def aligned_ranges(
    spans: Iterable[tuple[int, int]], size: int, chunk_bytes: int
) -> Iterator[tuple[int, int]]:
    """Cut ``size`` bytes into (offset, length) pieces of at most ``chunk_bytes``.

    Whole messages are packed together; a piece ends where adding the next message would make
    it too large. A message larger than ``chunk_bytes`` is cut in full-size pieces (its tail
    starts the next piece). Bytes after the last span are cut in plain pieces. The pieces always
    cover ``[0, size)`` exactly, in order.
    """
    start = 0
    end = 0
    for offset, length in spans:
        message_end = offset + length
        if message_end - start > chunk_bytes and end > start:
            yield start, end - start
            start = end
        while message_end - start > chunk_bytes:
            yield start, chunk_bytes
            start += chunk_bytes
        end = message_end
    if size - start > chunk_bytes and end > start:
        yield start, end - start
        start = end
    while start < size:
        length = min(chunk_bytes, size - start)
        yield start, length
        start += length


def read_aligned(path: str | os.PathLike[str], chunk_bytes: int) -> Iterator[bytes]:
    """The bytes of the IPC stream file at ``path``, in message-aligned pieces."""
    with open(path, "rb") as handle:
        fd = handle.fileno()
        size = os.fstat(fd).st_size
        for offset, length in aligned_ranges(message_spans(fd, size), size, chunk_bytes):
            yield os.pread(fd, length, offset)
