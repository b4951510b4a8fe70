"""Avatarization batches as Dask tasks on a dask.distributed cluster, when the engine is given one.

``veil engine --dask-scheduler tcp://HOST:PORT`` (or ``veil serve --dask-scheduler``, which hands
the address to its engine child) sets ``VEIL_DASK_SCHEDULER`` in the engine; its task processes
inherit it. A table with several batches then sends each batch (its encoded rows and the fitted
projection: a few MB) to the cluster as one task instead of to a local worker process. Dask places
the tasks on the workers, moves the data, and reruns the tasks of a worker that dies; a batch's
random draws come only from its own seed, so the avatars are the same whichever worker ran it.

Cancelling: the engine cancels a job by killing its task process; the process's Dask client
disconnects with it, and the scheduler forgets that client's futures: tasks not yet started never
run, and the results of running ones are dropped. A task cancelled otherwise (an error in another
batch) cancels its remaining futures explicitly.

Here the table passes through the engine task's memory (read, encoded and projected there).
For tables stored as Parquet partitions that no process should hold whole, see
``engine.dask_partitions``: the workers read, avatarize and measure one partition each.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

SCHEDULER_ENV = "VEIL_DASK_SCHEDULER"
CONNECT_TIMEOUT_S = 30

T = TypeVar("T")
R = TypeVar("R")

_lock = threading.Lock()
_client: Any = None


def scheduler_address() -> str:
    """The Dask scheduler this engine uses; empty when it runs batches locally."""
    return os.environ.get(SCHEDULER_ENV, "").strip()


def connected(address: str) -> Any:
    """One client per process (a task process runs one job), reconnected if closed."""
    global _client
    from distributed import Client

    with _lock:
        if _client is None or _client.status not in ("running", "connecting"):
            _client = Client(  # type: ignore[no-untyped-call]
                address, set_as_default=False, timeout=CONNECT_TIMEOUT_S
            )
        return _client


def disconnect() -> None:
    """Close this process's client (before its scheduler goes away: a client left open waits
    30 s trying to reconnect)."""
    global _client
    with _lock:
        if _client is not None:
            _client.close()
            _client = None


def run_on_cluster(
    address: str, function: Callable[[T], R], items: Sequence[T], on_done: Callable[[int], None]
) -> list[R]:
    """``[function(item) for item in items]``, each as a Dask task; results in item order.

    ``on_done(n)`` is called after each result with how many have arrived.
    """
    from distributed import as_completed

    client = connected(address)
    futures = client.map(function, list(items), pure=False)
    position = {future.key: index for index, future in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    try:
        with client.as_current():  # as_completed finds its client here, not as a global default
            arrivals = as_completed(futures)  # type: ignore[no-untyped-call]
            for done, future in enumerate(arrivals, start=1):
                results[position[future.key]] = future.result()
                on_done(done)
    finally:
        client.cancel([f for f in futures if not f.done()])
    return results
