"""The blob store: files under the data dir, written atomically.

A blob is written to a temp file while it streams in (hashed on the way), fsynced, renamed into
place, and only then registered in the database by the caller. A failure at any step deletes the
temp file, so nothing half-written is ever visible. ``sweep`` removes temp files and unregistered
files left by a crash.

A new blob stays in the page cache: the next thing to touch a table is usually a job or a
download, and reading it back from disk made downloads right after an upload run at the disk's
speed (about 550 MB/s here) instead of memory's. What gets dropped instead is the blob an upload
supersedes (:meth:`BlobStore.uncache`), so the new pages recycle the old ones' memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import hashlib
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from veil_wire.digest import BackgroundDigest

from veil_service.ipc_framing import read_aligned

READ_CHUNK_BYTES = 1 << 20

WRITEBACK_BYTES = 32 << 20
"""Start the kernel's writeback every this many bytes, so the final fsync has little left to do."""

PREALLOCATE_MIN_BYTES = 4 << 20
PREALLOCATE_MAX_BYTES = 64 << 20
"""A blob's disk blocks are reserved ahead of its writes in steps growing with the file, from 4
to 64 MiB, then the file is cut to its size: ext4 then maps each page to a block already there
instead of reserving one per page (0.24 -> 0.14-0.20 machine CPU s/GB for a 500 MB write here)."""

PIPE_DEPTH = 2
"""Chunks (~1 MiB each) a :class:`ChunkPipe` (and an upload's hash queue) holds: bounds server
memory per upload. 2 and 4 measured the same speed; 2 kept peak RSS ~6 MiB lower."""

_SYNC_FILE_RANGE_WRITE = 2

log = logging.getLogger("veil.blobs")


def _load_libc_function(name: str) -> Callable[..., int] | None:
    """A libc ``(int fd, int flags/mode, int64, int64)`` call the standard library lacks.

    ``sync_file_range`` and ``fallocate`` are Linux-only. ``os.posix_fallocate`` is not used:
    where the filesystem cannot preallocate, glibc emulates it by writing every block.
    """
    library = ctypes.util.find_library("c")
    if not library:
        return None
    try:
        function = getattr(ctypes.CDLL(library, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    if name == "sync_file_range":
        function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    else:
        function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


_sync_file_range = _load_libc_function("sync_file_range")
_fallocate = _load_libc_function("fallocate")


def _drop_cache(fd: int, offset: int, length: int) -> None:
    """Let the kernel drop the (clean) page-cache pages of a file range (``length`` 0 = to EOF)."""
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


@dataclass(frozen=True)
class StoredBlob:
    """A blob that is durably on disk (not yet necessarily in the database)."""

    blob_id: str
    relative_path: str
    size_bytes: int
    sha256: str


class BlobWriter:
    """Writes one blob; use as a context manager so an exception discards it."""

    def __init__(self, store: BlobStore, suffix: str, *, hash_in_background: bool = False) -> None:
        self._store = store
        self.blob_id = str(uuid.uuid4())
        self.relative_path = f"{self.blob_id[:2]}/{self.blob_id}{suffix}"
        self.temp_path = store.temp_dir / f"{self.blob_id}{suffix}.part"
        self._file: BinaryIO = open(self.temp_path, "wb")  # noqa: SIM115 - closed in commit/abort
        self._hash: Any = (
            BackgroundDigest(depth=PIPE_DEPTH) if hash_in_background else hashlib.sha256()
        )
        self.size_bytes = 0
        self._synced_to = 0
        self._allocated = 0 if _fallocate is not None else -1
        self._done = False

    def write(self, data: bytes | memoryview) -> None:
        """Append bytes and update the digest.

        Both the write and the hash release the GIL, so a writer fed from a worker thread runs in
        parallel with the event loop; with ``hash_in_background`` the hash (about 0.6 CPU s/GB,
        a third of an upload's server CPU) runs on a thread of its own, beside the write.
        Every :data:`WRITEBACK_BYTES` the kernel is asked to start writing the new pages out
        (without waiting), which spreads the disk work over the upload instead of leaving it all
        to the fsync at the end.
        """
        size = memoryview(data).nbytes
        self._hash.update(data)  # first: a background hasher then overlaps with the write
        if 0 <= self._allocated < self.size_bytes + size:
            self._preallocate(self.size_bytes + size)
        self._file.write(data)
        self.size_bytes += size
        if self.size_bytes - self._synced_to >= WRITEBACK_BYTES:
            self._start_writeback()

    def _preallocate(self, needed: int) -> None:
        """Reserve blocks up to at least ``needed`` bytes (see :data:`PREALLOCATE_MAX_BYTES`)."""
        assert _fallocate is not None
        step = min(PREALLOCATE_MAX_BYTES, max(PREALLOCATE_MIN_BYTES, self.size_bytes))
        length = max(step, needed - self._allocated)
        if _fallocate(self._file.fileno(), 0, self._allocated, length) != 0:
            self._allocated = -1  # not supported here (or no space yet): plain writes
            return
        self._allocated += length

    def _start_writeback(self) -> None:
        if _sync_file_range is None:
            return
        self._file.flush()
        fd = self._file.fileno()
        _sync_file_range(
            fd, self._synced_to, self.size_bytes - self._synced_to, _SYNC_FILE_RANGE_WRITE
        )
        self._synced_to = self.size_bytes

    @property
    def sha256(self) -> str:
        """Digest of the bytes written so far."""
        return str(self._hash.hexdigest())

    def close_temp(self) -> Path:
        """Flush and fsync the temp file (so it can be validated before commit)."""
        if not self._file.closed:
            self._file.flush()
            if self._allocated > self.size_bytes:
                os.ftruncate(self._file.fileno(), self.size_bytes)  # give back what was unused
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
        if isinstance(self._hash, BackgroundDigest):
            self._hash.close()
        if not self._file.closed:
            self._file.close()
        self.temp_path.unlink(missing_ok=True)
        self._done = True

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self._done:
            self.abort()


class PipeAbortedError(Exception):
    """Raised in the consumer thread when the producer gave up (client gone, bad message)."""


_END = object()
_ABORT = object()


class ChunkPipe:
    """Hands byte chunks from the event loop to one worker thread, a few chunks at a time.

    Writing, hashing and validating an upload on the event loop serialises them with gRPC's
    receiving; handing them to a thread lets both cores work (file writes, sha256 and Arrow
    decoding release the GIL). The pipe holds at most ``depth`` chunks: when the thread falls
    behind, :meth:`put` waits, so gRPC's flow control slows the client instead of the server
    buffering the table in memory.

    Create it on the event loop; call :meth:`put`, :meth:`finish` and :meth:`abort` there, and
    :meth:`get` and :meth:`consumer_stopped` from the one consumer thread.
    """

    def __init__(self, depth: int = PIPE_DEPTH) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._credit = asyncio.Semaphore(depth)
        self._stopped = False

    async def put(self, chunk: bytes | memoryview) -> bool:
        """Queue a chunk, waiting for room; False once the consumer has stopped reading."""
        if self._stopped:
            return False
        await self._credit.acquire()
        if self._stopped:
            return False
        self._queue.put(chunk)
        return True

    def finish(self) -> None:
        """No more chunks: the consumer's :meth:`get` returns None after the queued ones."""
        self._queue.put(_END)

    def abort(self) -> None:
        """Give up: the consumer's next :meth:`get` raises :class:`PipeAbortedError`."""
        self._queue.put(_ABORT)

    def get(self) -> bytes | memoryview | None:
        """Next chunk (consumer thread), None at the end.

        Raises:
            PipeAbortedError: the producer called :meth:`abort`.
        """
        item = self._queue.get()
        if item is _END:
            return None
        if item is _ABORT:
            raise PipeAbortedError()
        self._loop.call_soon_threadsafe(self._credit.release)
        assert isinstance(item, bytes | memoryview)
        return item

    def consumer_stopped(self) -> None:
        """Called by the consumer thread when it returns, so a waiting :meth:`put` wakes up."""
        self._loop.call_soon_threadsafe(self._on_consumer_stopped)

    def _on_consumer_stopped(self) -> None:
        self._stopped = True
        self._credit.release()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


class BlobStore:
    """Files of tables, results and datasets under ``<data dir>/blobs``."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "blobs"
        self.temp_dir = data_dir / "tmp"
        self.root.mkdir(parents=True, exist_ok=True)
        self.temp_dir.mkdir(parents=True, exist_ok=True)

    def writer(self, suffix: str = ".arrows", *, hash_in_background: bool = False) -> BlobWriter:
        """Start writing a new blob (``hash_in_background`` for large streamed ones)."""
        return BlobWriter(self, suffix, hash_in_background=hash_in_background)

    def path(self, relative_path: str) -> Path:
        """Absolute path of a stored blob."""
        return self.root / relative_path

    def uncache_in_background(self, relative_path: str) -> threading.Thread:
        """Drop a blob's pages from the page cache, on a helper thread (the file is untouched).

        Called on a blob about to be superseded, e.g. the table an upload with ``replace``
        overwrites: the new blob's writes then reuse the memory those pages free, where fresh
        memory costs several times more CPU on virtual machines that hand freed memory back to
        the host (measured here: an upload needing 500 MB of new page cache took 2-3x longer).
        Dropping 500 MB of pages takes tens of milliseconds, hence the thread.
        """

        def run() -> None:
            try:
                fd = os.open(self.root / relative_path, os.O_RDONLY)
            except OSError:
                return  # deleted meanwhile: nothing to drop
            try:
                _drop_cache(fd, 0, 0)
            finally:
                os.close(fd)

        thread = threading.Thread(target=run, name="veil-blob-uncache", daemon=True)
        thread.start()
        return thread

    def delete(self, relative_path: str) -> None:
        """Remove a blob file now (a blob that was never registered, or in tests)."""
        (self.root / relative_path).unlink(missing_ok=True)

    @contextlib.contextmanager
    def releasing(self) -> Iterator[list[str]]:
        """Collect blob files to delete once the caller's transaction has committed.

        Use as ``with blobs.releasing() as released, db.begin() as conn:`` and append the
        relative paths whose rows the transaction deletes: the transaction commits first, the
        files go only then, and none goes if anything raised (deleting inside the transaction
        lost the file of a row that a failed commit kept). The unlinks run on a background
        thread: freeing a 500 MB file took 60-75 ms here, a tenth of that file's upload when an
        upload replaces a table. A crash in between leaves unregistered files, which the
        start-up :meth:`sweep` removes.
        """
        released: list[str] = []
        yield released
        if released:
            self.delete_in_background(list(released))

    def delete_in_background(self, relative_paths: list[str]) -> threading.Thread:
        """Unlink blob files on a helper thread; returns it, for a caller that must wait."""

        def run() -> None:
            for relative_path in relative_paths:
                try:
                    self.delete(relative_path)
                except OSError:
                    log.warning(
                        "could not delete a released blob; the next start-up sweep will",
                        extra={"path": relative_path},
                    )

        thread = threading.Thread(target=run, name="veil-blob-delete", daemon=True)
        thread.start()
        return thread

    def iter_chunks(
        self, relative_path: str, chunk_bytes: int = READ_CHUNK_BYTES
    ) -> Iterator[bytes]:
        """Read a blob in bounded pieces (plain reads, not mmap, so RSS stays flat).

        Pages read stay in the page cache: a blob read once is often read again soon (a job
        after a describe, a second download).
        """
        with open(self.root / relative_path, "rb") as handle:
            while chunk := handle.read(chunk_bytes):
                yield chunk

    def iter_ipc_chunks(
        self, relative_path: str, chunk_bytes: int = READ_CHUNK_BYTES
    ) -> Iterator[bytes]:
        """Read an Arrow IPC stream blob in pieces cut between its messages.

        See :mod:`veil_service.ipc_framing`: the client then decodes each record batch in
        place. The bytes are the same as :meth:`iter_chunks` yields; only the cuts differ.
        """
        return read_aligned(self.root / relative_path, chunk_bytes)

    def sweep(self, registered: set[str], *, older_than_s: float = 0.0) -> int:
        """Delete temp files and files that no database row references; return how many.

        Args:
            older_than_s: Only files last modified this long ago (a blob dir several servers
                share holds their writes in flight; one server's own dir has none at start).
        """
        cutoff = time.time() - older_than_s
        removed = 0
        for file in [*self.temp_dir.iterdir(), *self.root.rglob("*")]:
            if not file.is_file() or (older_than_s and _mtime(file) > cutoff):
                continue
            if file.parent == self.temp_dir or str(file.relative_to(self.root)) not in registered:
                file.unlink(missing_ok=True)
                removed += 1
        return removed

    def stored_bytes(self) -> int:
        """Total size of the stored blobs."""
        return sum(f.stat().st_size for f in self.root.rglob("*") if f.is_file())
