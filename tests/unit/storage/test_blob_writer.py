"""BlobWriter: what lands on disk is exactly what was written, whatever it reserved ahead."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

import pytest
from veil_service.storage.blobs import BlobStore


@pytest.mark.parametrize(
    ("pieces", "piece_bytes"), [(0, 0), (1, 700), (3, 1 << 20), (70, 1 << 20), (5, 3_333_333)]
)
@pytest.mark.parametrize("background", [False, True])
def test_a_committed_blob_holds_exactly_the_bytes_written(
    tmp_path: Path, pieces: int, piece_bytes: int, background: bool
) -> None:
    store = BlobStore(tmp_path)
    rng = random.Random(pieces)
    data = [rng.randbytes(piece_bytes) for _ in range(pieces)]
    with store.writer(".bin", hash_in_background=background) as writer:
        for piece in data:
            writer.write(memoryview(piece))
        stored = writer.commit()
    path = store.path(stored.relative_path)
    content = path.read_bytes()
    assert content == b"".join(data)
    assert stored.size_bytes == len(content)
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    # Blocks reserved ahead of the writes are given back: at most one block of slack.
    assert os.stat(path).st_blocks * 512 <= len(content) + 4096
    assert list(store.temp_dir.iterdir()) == []


def test_an_aborted_blob_leaves_nothing(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with pytest.raises(RuntimeError), store.writer(".bin", hash_in_background=True) as writer:
        writer.write(b"x" * (5 << 20))
        raise RuntimeError("client went away")
    assert list(store.temp_dir.iterdir()) == []
    assert [p for p in store.root.rglob("*") if p.is_file()] == []
