"""Engines the server can use: one local child process by default, or remote addresses.

The pool hands each task to an engine with a free slot, notices when an engine dies (the task's
stream breaks), restarts the local child, and retries the task once before failing it with a
reason the user can read.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from veil_service.engine_client.protocol import (
    EngineConnection,
    EngineLostError,
    ProgressCallback,
    TaskInput,
    TaskOutput,
)
from veil_service.errors import Reason, ResourceExhaustedError, UnavailableError
from veil_service.storage.blobs import BlobStore

log = logging.getLogger("veil.engine_client")

START_TIMEOUT_S = 60.0
INLINE_LANE_SLOTS = 4
"""Short DP tasks (``"inline": true``: costs, dummy datasets, smartnoise-sql and OpenDP queries)
an engine runs at once in a lane of their own, which long tasks never occupy (the engine keeps
the same lane; ``engine.server``)."""
DEFAULT_TIME_LIMITS: dict[str, float] = {
    "dp_cost": 120.0,
    "dp_dummy": 300.0,
    "dp_query:dummy": 300.0,
    "dp_query": 3600.0,
    "describe": 3600.0,
    "advice": 3600.0,
    "advise_links": 3600.0,
    "linked_advice": 3600.0,
    "check_tables": 300.0,
}
"""Seconds a task kind may run before the server stops it (``--task-time-limit`` overrides;
``dp_query:dummy`` is a dummy-mode query, which is free, so its work is bounded tighter). Kinds
not listed (avatarization jobs, metrics, reports) run until done unless the operator sets one."""


def parse_time_limits(items: tuple[str, ...] | list[str]) -> dict[str, float]:
    """``KIND=SECONDS`` items as a dict (on top of :data:`DEFAULT_TIME_LIMITS` when used).

    Raises:
        ValueError: an item is not ``KIND=SECONDS`` with SECONDS > 0.
    """
    limits: dict[str, float] = {}
    for item in items:
        kind, _, seconds = item.partition("=")
        try:
            value = float(seconds)
        except ValueError:
            value = -1.0
        if not kind.strip() or not math.isfinite(value) or value <= 0:
            raise ValueError(f"task time limit {item!r} is not KIND=SECONDS with SECONDS > 0")
        limits[kind.strip()] = value
    return limits


@dataclass
class EngineSlot:
    """One engine and how busy it is (worker lane and short-task lane)."""

    connection: EngineConnection
    capacity: int
    running: int = 0
    healthy: bool = True
    inline_running: int = 0


class LocalEngineProcess:
    """The engine child of ``veil serve``, on a unix socket under the data dir."""

    def __init__(self, data_dir: Path, capacity: int, dask_scheduler: str = "") -> None:
        self.socket_path = (data_dir / "run" / "engine.sock").resolve()
        self.work_dir = (data_dir / "engine").resolve()
        self.capacity = capacity
        self.dask_scheduler = dask_scheduler
        self.process: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        """gRPC address of the child."""
        return f"unix://{self.socket_path}"

    async def start(self) -> None:
        """Start the child and wait until it listens."""
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        _end_strays(self.socket_path)
        # The engine asks the kernel to kill it when this process dies (engine.parent_death).
        env = {**os.environ, "VEIL_ENGINE_PARENT_PID": str(os.getpid())}
        if self.dask_scheduler:  # batches of large tables go to this Dask cluster
            env["VEIL_DASK_SCHEDULER"] = self.dask_scheduler
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "veil_service.cli",
            "engine",
            "--listen",
            self.address,
            "--work-dir",
            str(self.work_dir),
            "--capacity",
            str(self.capacity),
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        assert self.process.stdout is not None
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), START_TIMEOUT_S)
        except TimeoutError:
            raise UnavailableError("the engine child did not start within 60 s.") from None
        if not line:
            raise UnavailableError(
                f"the engine child exited at start (code "
                f"{await self.process.wait()}); see its log above."
            )
        self._drain = asyncio.get_running_loop().create_task(_drain(self.process.stdout))

    def alive(self) -> bool:
        """Whether the child still runs."""
        return self.process is not None and self.process.returncode is None

    @property
    def pid(self) -> int | None:
        """Process id of the child."""
        return self.process.pid if self.process else None

    async def stop(self) -> None:
        """Terminate the child (gracefully, then by force), and stop reading its output."""
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._drain is not None:
            self._drain.cancel()
            await asyncio.gather(self._drain, return_exceptions=True)
            self._drain = None


def _end_strays(socket_path: Path) -> None:
    """End engines a previous server of this data dir left running (and their children).

    An engine started before parent-death signals existed, or on a system without them, outlives
    a ``kill -9`` of its server; it is recognised by the socket it listens on, which is this data
    dir's own.
    """
    import psutil

    marker = f"unix://{socket_path}"
    for process in psutil.process_iter(["cmdline"]):
        try:
            command = process.info["cmdline"] or []
            if process.pid == os.getpid() or marker not in command or "engine" not in command:
                continue
            family = [*process.children(recursive=True), process]
            log.warning("ending a stray engine of this data dir", extra={"pid": process.pid})
            for member in family:
                member.kill()
            psutil.wait_procs(family, timeout=5)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass


class EnginePool:
    """Engines and their free slots."""

    def __init__(
        self,
        blobs: BlobStore,
        *,
        data_dir: Path,
        remote: tuple[str, ...],
        local_capacity: int,
        max_attempts: int = 2,
        time_limits: dict[str, float] | None = None,
        slots_per_user: int = 0,
        dask_scheduler: str = "",
    ) -> None:
        self.blobs = blobs
        self.max_attempts = max_attempts
        self.time_limits = {**DEFAULT_TIME_LIMITS, **(time_limits or {})}
        self.slots_per_user = slots_per_user
        self._by_owner: dict[str, int] = {}
        self.local = (
            None if remote else LocalEngineProcess(data_dir, local_capacity, dask_scheduler)
        )
        self._remote = remote
        self.slots: list[EngineSlot] = []
        self._free = asyncio.Condition()
        self._restart_lock = asyncio.Lock()
        self._watchdog: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the local child (or connect to remote engines) and wait until ready."""
        if self.local is not None:
            await self.local.start()
            self.slots = [EngineSlot(EngineConnection(self.local.address), self.local.capacity)]
        else:
            self.slots = [EngineSlot(EngineConnection(a), 1) for a in self._remote]
        for slot in self.slots:
            info = await slot.connection.info(timeout=START_TIMEOUT_S)
            slot.capacity = max(1, info.capacity)
        self._watchdog = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        """Close connections and stop the local child."""
        if self._watchdog is not None:
            self._watchdog.cancel()
        for slot in self.slots:
            await slot.connection.close()
        if self.local is not None:
            await self.local.stop()

    async def _watch(self) -> None:
        # Notice a dead child within a second even when no task is running, and restart it.
        while True:
            await asyncio.sleep(1.0)
            if self.local is not None and not self.local.alive():
                log.warning("engine child died; restarting it")
                await self._restart_local()

    async def _restart_local(self) -> None:
        async with self._restart_lock:
            if self.local is None or self.local.alive():
                return
            for slot in self.slots:
                await slot.connection.close()
            await self.local.start()
            self.slots = [EngineSlot(EngineConnection(self.local.address), self.local.capacity)]
            async with self._free:
                self._free.notify_all()

    def state(self) -> list[dict[str, Any]]:
        """Engines as admins see them."""
        return [
            {"address": s.connection.address, "healthy": s.healthy, "running": s.running}
            for s in self.slots
        ]

    def _owner_limit(self) -> int:
        if self.slots_per_user > 0:
            return self.slots_per_user
        total = sum(slot.capacity for slot in self.slots if slot.healthy)
        return max(1, total - 1)

    async def _acquire(self, inline: bool, owner: str) -> EngineSlot:
        # Short DP tasks take the short-task lane; the rest a worker slot, at most
        # _owner_limit() of them per owner, so one user never holds every slot (issue 19).
        async with self._free:
            while True:
                if inline:
                    for slot in self.slots:
                        if slot.healthy and slot.inline_running < INLINE_LANE_SLOTS:
                            slot.inline_running += 1
                            return slot
                elif not owner or self._by_owner.get(owner, 0) < self._owner_limit():
                    for slot in self.slots:
                        if slot.healthy and slot.running < slot.capacity:
                            slot.running += 1
                            if owner:
                                self._by_owner[owner] = self._by_owner.get(owner, 0) + 1
                            return slot
                await self._free.wait()

    async def _release(self, slot: EngineSlot, inline: bool, owner: str) -> None:
        async with self._free:
            if inline:
                slot.inline_running = max(0, slot.inline_running - 1)
            else:
                slot.running = max(0, slot.running - 1)
                if owner:
                    left = self._by_owner.get(owner, 0) - 1
                    if left > 0:
                        self._by_owner[owner] = left
                    else:
                        self._by_owner.pop(owner, None)
            self._free.notify_all()

    async def run(
        self,
        kind: str,
        params: dict[str, Any],
        inputs: list[TaskInput],
        on_progress: ProgressCallback | None = None,
        on_dispatch: Callable[[], None] | None = None,
        *,
        owner: str = "",
    ) -> TaskOutput:
        """Run a task on a free engine, retrying once if the engine dies.

        Args:
            owner: The user the task works for (their worker slots are limited); empty for
                the server's own tasks.
            on_dispatch: Called once a slot is held, just before the task is sent to an engine:
                from then on the engine may read the task's inputs (private DP queries charge a
                failure from that point on; see ``dpquery.queries``).

        Raises:
            VeilServiceError: the task itself failed (bad parameters, ...): not retried.
            UnavailableError: the engine died on every attempt.
        """

        async def ignore(fraction: float, phase: str) -> None:
            return None

        callback = on_progress or ignore
        inline = bool(params.get("inline"))
        label = f"{kind}:dummy" if params.get("dummy") else kind
        limit = self.time_limits.get(label, self.time_limits.get(kind))
        last_error = ""
        for attempt in range(1, self.max_attempts + 1):
            slot = await self._acquire(inline, owner)
            try:
                if on_dispatch is not None:
                    on_dispatch()
                task = slot.connection.run_task(kind, params, inputs, self.blobs, callback)
                if limit is None:
                    return await task
                try:
                    return await asyncio.wait_for(task, limit)
                except TimeoutError:
                    raise ResourceExhaustedError(
                        f"the {label} task ran past this server's time limit of {limit:g} s and "
                        "was stopped; ask for less work (fewer rows, trees, epochs...) or ask "
                        f"the operator for a longer limit (--task-time-limit {label}=SECONDS).",
                        reason=Reason.TASK_TIME_LIMIT,
                    ) from None
            except EngineLostError as exc:
                last_error = str(exc)
                log.warning("engine lost during %s (attempt %d): %s", kind, attempt, exc)
                if self.local is not None:
                    await asyncio.sleep(0.2)
                    await self._restart_local()
            finally:
                await self._release(slot, inline, owner)
        raise UnavailableError(
            f"the engine stopped while running {kind}, {self.max_attempts} times "
            f"({last_error}); the task was not completed. Try again; if it keeps failing the "
            "table may be too large for the engine's memory.",
            reason=Reason.ENGINE_LOST,
        )
