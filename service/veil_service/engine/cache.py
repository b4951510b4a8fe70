"""The engine's table cache: Arrow IPC files named by SHA-256, bounded in bytes, LRU.

Repeated tasks on one table (DP queries on a registered dataset, metrics after avatarization)
then skip resending it: the server names the digest, the engine asks only for what it lacks.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


class TableCache:
    """Files under ``root``; the least recently used are evicted past ``max_bytes``."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.root.mkdir(parents=True, exist_ok=True)
        for leftover in self.root.glob("*.part"):
            leftover.unlink(missing_ok=True)
        self._pinned: dict[str, int] = {}

    def path(self, sha256: str) -> Path:
        """Where a table with this digest lives."""
        return self.root / f"{sha256}.arrows"

    def has(self, sha256: str) -> bool:
        """Whether the table is cached (and marks it recently used)."""
        path = self.path(sha256)
        if path.exists():
            os.utime(path)
            return True
        return False

    def temp_path(self, sha256: str) -> Path:
        """A temp file to receive a table into before :meth:`commit`."""
        return self.root / f"{sha256}.{time.monotonic_ns()}.part"

    def commit(self, temp: Path, sha256: str) -> Path:
        """Move a fully received table into the cache, then evict if over budget."""
        final = self.path(sha256)
        os.replace(temp, final)
        self.evict()
        return final

    def pin(self, sha256: str) -> None:
        """Protect a table from eviction while a task uses it."""
        self._pinned[sha256] = self._pinned.get(sha256, 0) + 1

    def unpin(self, sha256: str) -> None:
        """Release a pin."""
        count = self._pinned.get(sha256, 0) - 1
        if count <= 0:
            self._pinned.pop(sha256, None)
        else:
            self._pinned[sha256] = count

    def evict(self) -> None:
        """Delete least recently used unpinned tables until under the byte budget."""
        files = [(p.stat().st_mtime, p.stat().st_size, p) for p in self.root.glob("*.arrows")]
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.max_bytes:
                break
            if path.stem in self._pinned:
                continue
            path.unlink(missing_ok=True)
            total -= size
