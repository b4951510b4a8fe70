"""A sha256 computed beside the thread that moves the bytes."""

from __future__ import annotations

import hashlib
import queue
import threading


class BackgroundDigest:
    """A sha256 computed on a helper thread, fed the chunks as they pass.

    Hashing costs about 0.5 CPU second per GB; on the decoding thread it adds to every
    download's latency, on a helper thread it overlaps with receiving and decoding (hashlib
    releases the GIL for large buffers). At most ``depth`` chunks wait, so a slow hasher slows
    the reader instead of holding the table twice in memory.
    """

    def __init__(self, depth: int = 8) -> None:
        self._queue: queue.Queue[memoryview | None] = queue.Queue(maxsize=depth)
        self._hash = hashlib.sha256()
        self._thread = threading.Thread(target=self._run, name="veil-sha256", daemon=True)
        self._thread.start()
        self._done = False

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            self._hash.update(data)

    def update(self, data: memoryview) -> None:
        """Queue bytes to hash (waits while ``depth`` chunks are pending)."""
        self._queue.put(data)

    def close(self) -> None:
        """Stop the helper thread once the queued chunks are hashed."""
        if not self._done:
            self._done = True
            self._queue.put(None)
            self._thread.join()

    def hexdigest(self) -> str:
        """The digest of everything queued so far; no update may follow."""
        self.close()
        return self._hash.hexdigest()
