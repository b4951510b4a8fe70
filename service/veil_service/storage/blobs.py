"""The blob store: files under the data dir, written atomically.

A blob is written to a temp file while it streams in (hashed on the way), fsynced, renamed into
place, and only then registered in the database by the caller. A failure at any step deletes the
temp file, so nothing half-written is ever visible. ``sweep`` removes temp files and unregistered
files left by a crash.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

READ_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class StoredBlob:
    """A blob that is durably on disk (not yet necessarily in the database)."""

    blob_id: str
    relative_path: str
    size_bytes: int
    sha256: str


class BlobWriter:
    """Writes one blob; use as a context manager so an exception discards it."""

    def __init__(self, store: BlobStore, suffix: str) -> None:
        self._store = store
        self.blob_id = str(uuid.uuid4())
        self.relative_path = f"{self.blob_id[:2]}/{self.blob_id}{suffix}"
        self.temp_path = store.temp_dir / f"{self.blob_id}{suffix}.part"
        self._file: BinaryIO = open(self.temp_path, "wb")  # noqa: SIM115 - closed in commit/abort
        self._hash = hashlib.sha256()
        self.size_bytes = 0
        self._done = False

    def write(self, data: bytes | memoryview) -> None:
        """Append bytes and update the digest."""
        self._file.write(data)
        self._hash.update(data)
        self.size_bytes += len(data)

    @property
    def sha256(self) -> str:
        """Digest of the bytes written so far."""
        return self._hash.hexdigest()

    def close_temp(self) -> Path:
        """Flush and fsync the temp file (so it can be validated before commit)."""
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
        return self.temp_path

    def commit(self) -> StoredBlob:
        """Make the blob durable under its final name."""
        self.close_temp()
        final = self._store.root / self.relative_path
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.temp_path, final)
        _fsync_dir(final.parent)
        self._done = True
        return StoredBlob(self.blob_id, self.relative_path, self.size_bytes, self.sha256)

    def abort(self) -> None:
        """Discard the temp file."""
        if not self._file.closed:
            self._file.close()
        self.temp_path.unlink(missing_ok=True)
        self._done = True

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self._done:
            self.abort()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore:
    """Files of tables, results and datasets under ``<data dir>/blobs``."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "blobs"
        self.temp_dir = data_dir / "tmp"
        self.root.mkdir(parents=True, exist_ok=True)
        self.temp_dir.mkdir(parents=True, exist_ok=True)

    def writer(self, suffix: str = ".arrows") -> BlobWriter:
        """Start writing a new blob."""
        return BlobWriter(self, suffix)

    def path(self, relative_path: str) -> Path:
        """Absolute path of a stored blob."""
        return self.root / relative_path

    def delete(self, relative_path: str) -> None:
        """Remove a blob file (the caller removes its database row in the same step)."""
        (self.root / relative_path).unlink(missing_ok=True)

    def iter_chunks(self, relative_path: str, chunk_bytes: int = READ_CHUNK_BYTES) -> Iterator[bytes]:
        """Read a blob in bounded pieces (plain reads, not mmap, so RSS stays flat)."""
        with open(self.root / relative_path, "rb") as handle:
            while chunk := handle.read(chunk_bytes):
                yield chunk

    def sweep(self, registered: set[str]) -> int:
        """Delete temp files and files that no database row references; return how many."""
        removed = 0
        for leftover in self.temp_dir.iterdir():
            leftover.unlink(missing_ok=True)
            removed += 1
        for file in self.root.rglob("*"):
            if file.is_file() and str(file.relative_to(self.root)) not in registered:
                file.unlink(missing_ok=True)
                removed += 1
        return removed

    def stored_bytes(self) -> int:
        """Total size of the stored blobs."""
        return sum(f.stat().st_size for f in self.root.rglob("*") if f.is_file())
