"""Large tables: split rows into batches and run the batches in parallel processes.

The split follows the Octopize client's ``get_split_for_batch`` (avatar_method.md section 1.13):
the first batch (the training batch, on which the projection is fitted) starts with the rows that
hold the first occurrence of every categorical modality, so the projection knows every modality;
the other rows are shuffled and the whole order is cut into equal batches. Each batch is then
avatarized independently (neighbours are searched within the batch), which bounds the cost of the
neighbour search and the memory of a worker by the batch size, not the table size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
from joblib import Parallel, delayed

from veil_service.engine.avatarize.batch import BatchOutput, BatchTask, avatarize_batch
from veil_service.engine.avatarize.column_types import CodeArray
from veil_service.engine.avatarize.neighbours import IndexArray
from veil_service.engine.dask_cluster import run_on_cluster, scheduler_address
from veil_service.errors import InvalidArgumentError


def split_batches(codes: CodeArray, max_rows: int, rng: np.random.Generator) -> list[IndexArray]:
    """Cut row indexes into batches of at most ``max_rows``; the first is the training batch.

    Args:
        codes: Categorical codes of every row (no missing values), to find first occurrences.
        max_rows: Row limit of a batch.
        rng: Source of the row shuffle.

    Raises:
        InvalidArgumentError: the rows needed to hold every modality exceed half a batch.
    """
    n = codes.shape[0]
    n_batches = math.ceil(n / max_rows)
    if n_batches <= 1:
        return [np.arange(n)]
    firsts = [np.unique(codes[:, j], return_index=True)[1] for j in range(codes.shape[1])]
    training_rows = np.unique(np.concatenate(firsts)) if firsts else np.empty(0, dtype=np.intp)
    if len(training_rows) > max_rows // 2:
        raise InvalidArgumentError(
            f"The rows holding every categorical modality ({len(training_rows)}) exceed half of "
            f"max_rows_per_batch ({max_rows}). Raise max_rows_per_batch, set "
            "use_categorical_reduction, or exclude the many-modality columns with "
            "exclude_variable_names.",
            field="max_rows_per_batch",
        )
    rest = np.setdiff1d(np.arange(n), training_rows, assume_unique=True)
    order = np.concatenate([training_rows, rng.permutation(rest)])
    return [np.sort(part) for part in np.array_split(order, n_batches)]


def run_batches(
    tasks: list[BatchTask],
    n_jobs: int,
    on_done: Callable[[int], None],
) -> list[BatchOutput]:
    """Avatarize every batch, in worker processes when there are several batches and cores, or
    as Dask tasks when the engine has a Dask cluster (``engine.dask_cluster``).

    Args:
        tasks: One task per batch.
        n_jobs: Worker processes allowed.
        on_done: Called with the number of batches finished so far, after each one.

    Returns:
        The outputs in task order, whatever the order the workers finished in.
    """
    address = scheduler_address()
    if address and len(tasks) > 1:
        return run_on_cluster(address, avatarize_batch, tasks, on_done)
    outputs: list[BatchOutput] = []
    workers = min(n_jobs, len(tasks))
    results: Iterator[BatchOutput]
    if workers <= 1:
        results = (avatarize_batch(task) for task in tasks)
    else:
        # loky workers are separate processes started without fork (safe next to gRPC threads)
        # and reused between calls; each limits its BLAS to its share of the cores.
        parallel = Parallel(n_jobs=workers, backend="loky", return_as="generator")
        results = parallel(delayed(avatarize_batch)(task) for task in tasks)
    for output in results:
        outputs.append(output)
        on_done(len(outputs))
    return outputs
