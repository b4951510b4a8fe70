"""A table stored as Parquet partitions, avatarized and measured partition by partition on Dask.

For tables one machine cannot hold (issue 17, items 4 and 5). The table is a Parquet file (or a
directory of Parquet files) in storage every worker reads, such as the shared blob directory;
each row group is one partition. The process that drives the job reads only the Parquet footers
(row counts) and never a row: every partition is read, avatarized and written by a Dask worker,
and its privacy metrics are a second Dask task on the same worker's files. Memory per process is
therefore bounded by the partition size, whatever the table size.

Each partition is avatarized as a table of its own, as the standard job releases a table on one
process (``engine.tasks.avatar_jobs.release_plain``: declared types, constant columns set aside,
its own projection fitted on its rows, neighbours searched among its rows), like Octopize's
batches, and its privacy (and, when asked, signal) metrics are :func:`privacy_metrics` called as
they are on the partition's originals and avatars, without the columns the metrics jobs leave
out (``engine.tasks.measured_pair``);
the table's privacy figures are Octopize's batch aggregation, the worst and the mean over
partitions (``aggregate_privacy_batches``). Row groups should be random samples of the table
(the bench writes them so); an ordered table gives each avatar its neighbours among similar rows,
which stays an avatarization of that partition.

Determinism: partition ``i``'s seed is the ``i``-th child of ``numpy.random.SeedSequence(seed)``,
so a partition rerun elsewhere (a worker died: Dask reschedules its tasks) writes the same bytes.

Cancelling: ``should_stop`` is polled while waiting; when it turns true every future not finished
is cancelled on the scheduler (queued ones never run, running ones' results are dropped) and
:class:`PartitionsCancelledError` is raised.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from veil_wire.pandas_dtypes import (
    TEXT_CODES_KEY,
    arrow_to_pandas,
    cast_integer_codes,
    integer_code_columns,
)

from veil_service.engine.dask_cluster import connected
from veil_service.engine.metrics import (
    aggregate_privacy_batches,
    aggregate_signal_batches,
    privacy_metrics,
    signal_metrics,
)
from veil_service.engine.parquet_partitions import private_file
from veil_service.errors import CancelledError, InvalidArgumentError

WAIT_S = 0.25
"""How often ``should_stop`` is asked while waiting for partitions."""

TASK_THREADS = 1
"""Threads one partition task uses (its avatarization's ``n_jobs`` and its metrics' searches):
Dask gives each task one thread of a worker and runs ``--nthreads`` tasks at once."""


class PartitionsCancelledError(CancelledError):
    """The run was cancelled; its unfinished Dask futures were cancelled."""


@dataclass(frozen=True)
class Partition:
    """One row group of the source table, and where its outputs go."""

    index: int
    source: str
    row_group: int
    rows: int
    seed: int
    output_dir: str
    column_types: tuple[tuple[str, str], ...] = ()
    table_name: str = "table"
    integer_codes: tuple[str, ...] = ()

    def read(self) -> pd.DataFrame:
        """This partition's original rows (only this row group is read), as
        :func:`read_row_group` reads them."""
        return read_row_group(self.source, self.row_group, self.integer_codes)

    def path(self, kind: str) -> Path:
        """Output file of ``kind`` (``avatars`` released, ``unshuffled`` sensitive)."""
        return Path(self.output_dir) / kind / f"part-{self.index:05d}.parquet"


@dataclass(frozen=True)
class PartitionAvatars:
    """What a partition's avatarization task gives back (its tables are on disk)."""

    index: int
    rows: int
    cpu_seconds: float
    worker: str
    worker_peak_rss_mib: float
    pseudonymized_columns: tuple[Any, ...] = ()


@dataclass(frozen=True)
class PartitionMetrics:
    """A partition's privacy (or signal) metrics, computed by the metric functions as they are."""

    index: int
    result: dict[str, Any]
    cpu_seconds: float
    worker: str
    worker_peak_rss_mib: float
    family: str = "privacy"


@dataclass(frozen=True)
class PartitionedRun:
    """The outputs of a partitioned run.

    Attributes:
        avatars_dir: Directory of the released avatars, one Parquet file per partition.
        privacy: ``[worst, mean]`` over partitions (``aggregate_privacy_batches``).
        partitions: Per-partition outcomes, in partition order.
        metrics: Per-partition privacy metrics, in partition order.
        signal: ``[mean]`` over partitions (``aggregate_signal_batches``), when asked for.
        signal_metrics: Per-partition signal metrics, in partition order (empty unless asked).
        integer_codes: The columns read as integer codes (:func:`table_integer_codes`).
    """

    avatars_dir: Path
    privacy: list[dict[str, Any]]
    partitions: list[PartitionAvatars]
    metrics: list[PartitionMetrics]
    signal: list[dict[str, Any]] | None = None
    signal_metrics: list[PartitionMetrics] = field(default_factory=list)
    integer_codes: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        """Avatars written."""
        return sum(p.rows for p in self.partitions)


def read_row_group(
    source: str | Path, row_group: int, integer_codes: Sequence[str]
) -> pd.DataFrame:
    """One row group of ``source`` as pandas, as the in-memory path reads a whole table
    (``TaskContext.read_table``): the columns ``integer_codes`` (a CSV's integer codes declared
    ``category``, see :func:`table_integer_codes`) as ``int64``, and the dtypes the upload
    recorded (:func:`~veil_wire.pandas_dtypes.arrow_to_pandas`: an integer column with blanks
    is ``Int64``). A partition read by ``to_pandas`` alone gave such codes' avatars back as the
    strings '1', '2', and a CSV's integer column with blanks as floats."""
    table = pq.ParquetFile(source).read_row_group(row_group)
    return arrow_to_pandas(cast_integer_codes(table, integer_codes))


def table_integer_codes(partitions: Sequence[Partition]) -> list[str]:
    """The columns marked as a CSV's text codes that are integer codes in the whole table
    (:func:`~veil_wire.pandas_dtypes.integer_code_columns`), reading those columns only, one
    row group at a time. A Dask task: the driver reads no row."""
    if not partitions:
        return []
    schema = pq.read_schema(partitions[0].source)
    marked = [f.name for f in schema if (f.metadata or {}).get(TEXT_CODES_KEY) is not None]
    if not marked:
        return []
    return integer_code_columns(
        pq.ParquetFile(p.source).read_row_group(p.row_group, columns=marked) for p in partitions
    )


def _process_usage() -> tuple[float, str, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, f"pid {os.getpid()}", usage.ru_maxrss / 1024


def _write(frame: pd.DataFrame, path: Path) -> None:
    """Write through a temporary name: a rerun task never leaves a half-written file."""
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    with private_file(temporary) as sink:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    os.replace(temporary, path)


def avatarize_partition(partition: Partition, parameters: Mapping[str, Any]) -> PartitionAvatars:
    """Avatarize one partition and write its avatars (shuffled) and unshuffled avatars.

    The partition is released as the standard job releases a table on one process
    (``release_plain``: declared types, constant columns set aside, the original's dtypes).
    """
    from veil_service.engine.tasks.avatar_jobs import release_plain

    began = _process_usage()[0]
    release = release_plain(
        partition.read(),
        dict(partition.column_types),
        {**parameters, "n_jobs": TASK_THREADS},
        seed=partition.seed,
        table_name=partition.table_name,
    )
    _write(release.shuffled, partition.path("avatars"))
    _write(release.unshuffled.reset_index(drop=True), partition.path("unshuffled"))
    if partition.index == 0:  # a server job's projections and figures show the first partition
        for kind in ("original_projections", "avatar_projections"):
            _write(getattr(release.result, kind).reset_index(drop=True), partition.path(kind))
    cpu, worker, peak = _process_usage()
    return PartitionAvatars(
        partition.index,
        len(release.shuffled),
        cpu - began,
        worker,
        peak,
        tuple(release.result.pseudonymized_columns),
    )


def _measure(
    partition: Partition,
    avatars: PartitionAvatars,
    parameters: Mapping[str, Any],
    compute: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    """One metrics family on a partition's originals and unshuffled avatars, with the columns
    the metrics jobs leave out left out (``engine.tasks.measured_pair``)."""
    from veil_service.engine.metrics.tables import as_declared_categories
    from veil_service.engine.tasks.avatar_jobs import apply_column_types
    from veil_service.engine.tasks.measured_pair import measured_pair

    types = dict(partition.column_types)
    original, declared = apply_column_types(partition.read(), types)
    stored = pd.read_parquet(partition.path("unshuffled"))
    unshuffled, _ = apply_column_types(
        stored, {c: t for c, t in types.items() if c in stored.columns}
    )
    # Codes declared categorical are measured as the modalities they were avatarized as.
    original, unshuffled = as_declared_categories([original, unshuffled], declared)
    pair = measured_pair(
        original,
        unshuffled,
        {"seed": partition.seed, **parameters},
        list(avatars.pseudonymized_columns),
        partition.table_name,
    )
    result = compute(pair.original, pair.avatars, **pair.params)
    metadata = result.setdefault("metadata", {})
    metadata["set_aside_columns"] = [str(c) for c in pair.set_aside]
    metadata["pseudonymized_identifier_columns"] = [str(c) for c in pair.identifiers]
    metadata["warnings"] = [*pair.warnings, *(metadata.get("warnings") or [])]
    return result


def partition_privacy_metrics(
    partition: Partition, avatars: PartitionAvatars, parameters: Mapping[str, Any]
) -> PartitionMetrics:
    """Privacy metrics of one partition: its originals against its unshuffled avatars.

    ``avatars`` is the avatarization task's result: Dask runs this task after it. A Dask task
    is one of its worker's threads (``--nthreads``), so the metrics run on that thread alone
    (:data:`TASK_THREADS`): a worker never runs more search threads than the tasks it was given,
    whatever the cores of its machine.
    """
    began = _process_usage()[0]
    result = _measure(
        partition, avatars, parameters, partial(privacy_metrics, threads=TASK_THREADS)
    )
    cpu, worker, peak = _process_usage()
    return PartitionMetrics(avatars.index, result, cpu - began, worker, peak)


def partition_signal_metrics(
    partition: Partition, avatars: PartitionAvatars, parameters: Mapping[str, Any]
) -> PartitionMetrics:
    """Signal metrics of one partition: its originals against its unshuffled avatars."""
    began = _process_usage()[0]
    result = _measure(partition, avatars, parameters, signal_metrics)
    cpu, worker, peak = _process_usage()
    return PartitionMetrics(avatars.index, result, cpu - began, worker, peak, "signal")


def partitions_of(
    source: Path,
    output_dir: Path,
    seed: int,
    column_types: Mapping[str, str] | None = None,
    table_name: str = "table",
) -> list[Partition]:
    """One partition per row group of ``source`` (a Parquet file or a directory of them).

    Only the files' footers are read. ``column_types`` are the table's declared types
    (avatar_yaml's), applied to each partition as it is read.

    Raises:
        InvalidArgumentError: no Parquet file, or no rows.
    """
    files = sorted(source.glob("*.parquet")) if source.is_dir() else [source]
    groups = [
        (str(path), group, metadata.row_group(group).num_rows)
        for path in files
        for metadata in [pq.ParquetFile(path).metadata]
        for group in range(metadata.num_row_groups)
    ]
    groups = [g for g in groups if g[2] > 0]
    if not groups:
        raise InvalidArgumentError(
            f"{source} holds no Parquet rows: give a Parquet file or a directory of them.",
            field="source",
        )
    seeds = np.random.SeedSequence(seed).spawn(len(groups))
    types = tuple(sorted((column_types or {}).items()))
    return [
        Partition(
            index,
            path,
            group,
            rows,
            int(child.generate_state(1)[0]),
            str(output_dir),
            types,
            table_name,
        )
        for index, ((path, group, rows), child) in enumerate(zip(groups, seeds, strict=True))
    ]


def run_partitioned(
    address: str,
    source: Path,
    output_dir: Path,
    *,
    seed: int,
    parameters: Mapping[str, Any],
    metric_parameters: Mapping[str, Any] | None = None,
    signal_parameters: Mapping[str, Any] | None = None,
    column_types: Mapping[str, str] | None = None,
    table_name: str = "table",
    on_done: Callable[[int, int], None] | None = None,
    on_result: Callable[[PartitionAvatars | PartitionMetrics], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> PartitionedRun:
    """Avatarize every partition of ``source`` and compute its privacy metrics, on Dask.

    Args:
        address: The Dask scheduler.
        source: Parquet file or directory, readable by every worker.
        output_dir: Where the workers write (``avatars/``: to release; ``unshuffled/``:
            SENSITIVE, for the metrics only). Readable and writable by every worker.
        seed: The run's seed.
        parameters: :func:`avatarize` parameters (``seed`` and ``n_jobs`` are set here).
        metric_parameters: :func:`privacy_metrics` parameters (``seed`` defaults to the
            partition's).
        signal_parameters: :func:`signal_metrics` parameters; None computes no signal metrics
            (otherwise a third task per partition, averaged over partitions).
        column_types: The table's declared types (avatar_yaml's), applied to each partition.
        table_name: The table's name, for warnings.
        on_done: Called with (tasks finished, tasks in all) after each task.
        on_result: Called with each task's result as it arrives (figures per partition).
        should_stop: Polled every 0.25 s; true cancels the run.

    Raises:
        PartitionsCancelledError: ``should_stop`` turned true.
    """
    from distributed import as_completed

    partitions = partitions_of(source, output_dir, seed, column_types, table_name)
    client = connected(address)
    # Whether a CSV's codes are integers is the whole table's answer, as in memory: decided
    # per partition, a column whose codes turn to letters past the first partition would be
    # int64 in some partitions and text in others.
    codes = tuple(client.submit(table_integer_codes, partitions, pure=False).result())
    partitions = [replace(p, integer_codes=codes) for p in partitions]
    avatar_futures = [
        client.submit(avatarize_partition, p, dict(parameters), pure=False) for p in partitions
    ]
    metric_futures = [
        client.submit(
            partition_privacy_metrics,
            p,
            future,
            dict(metric_parameters or {}),
            pure=False,
            priority=1,  # a partition's metrics before the next partition: finished ones first
        )
        for p, future in zip(partitions, avatar_futures, strict=True)
    ]
    signal_futures = (
        []
        if signal_parameters is None
        else [
            client.submit(
                partition_signal_metrics,
                p,
                future,
                dict(signal_parameters),
                pure=False,
                priority=1,
            )
            for p, future in zip(partitions, avatar_futures, strict=True)
        ]
    )
    every = [*avatar_futures, *metric_futures, *signal_futures]
    try:
        # One completion callback per future for the whole run, polled without blocking. The
        # loop this replaces called wait(pending, timeout=0.25): every call left a waiting
        # task per pending future on the client's event loop until that future finished, so
        # the driver grew with (pending futures x polls): ~0.6 MiB/s with 80 partitions.
        completed = as_completed(every, loop=client.loop)  # type: ignore[no-untyped-call]
        finished = 0
        while finished < len(every):
            if should_stop():
                raise PartitionsCancelledError(
                    f"cancelled with {len(every) - finished} tasks unfinished"
                )
            done = completed.next_batch(block=False)  # type: ignore[no-untyped-call]
            if not done:
                # Woken as soon as a future completes (as_completed notifies this condition).
                with completed.thread_condition:
                    if completed.queue.empty():
                        completed.thread_condition.wait(timeout=WAIT_S)
                continue
            for future in done:
                result = future.result()  # raises the task's error here
                if on_result is not None:
                    on_result(result)
            finished += len(done)
            if on_done is not None:
                on_done(finished, len(every))
        outputs: list[PartitionAvatars] = client.gather(avatar_futures)
        metrics: list[PartitionMetrics] = client.gather(metric_futures)
        signals: list[PartitionMetrics] = client.gather(signal_futures)
    finally:
        client.cancel([f for f in every if not f.done()])
    return PartitionedRun(
        avatars_dir=output_dir / "avatars",
        integer_codes=codes,
        privacy=aggregate_privacy_batches([m.result for m in metrics]),
        partitions=outputs,
        metrics=metrics,
        signal=aggregate_signal_batches([m.result for m in signals]) if signals else None,
        signal_metrics=signals,
    )
