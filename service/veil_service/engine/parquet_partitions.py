"""Moving a table between the blob store's Arrow IPC streams and Parquet partitions, by streaming.

A server job on the Dask partition path (``engine.tasks.partitioned``) needs its uploaded table
as Parquet row groups that each worker can read on its own, and its avatars back as one Arrow
IPC stream that downloads and the later jobs read like any other result. Both conversions read
one record batch (or one row group's batches) at a time, so a process doing them holds about
one partition, whatever the table's size.

Every file written here (and every partition file of ``engine.dask_partitions``) is created
with mode 0600, in folders of mode 0700, by whichever process writes it: they hold a private
table or its unshuffled avatars, and a Dask worker does not run under the server's umask.

Row groups are cut at exactly ``rows_per_partition`` rows (the last one holds the rest), in the
table's row order: the same table and size always give the same partitions, which is what makes
a rerun (a Dask worker died) write the same avatars.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from veil_service.errors import InvalidArgumentError

IPC_BATCH_ROWS = 65_536
"""Rows per record batch of the IPC streams written here (the size results are written in)."""


PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def private_file(path: Path) -> BinaryIO:
    """A new file only this user may read (its folder too, if this creates it)."""
    path.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    return open(descriptor, "wb")


def _row_groups(
    batches: Iterator[pa.RecordBatch], schema: pa.Schema, rows: int
) -> Iterator[pa.Table]:
    """Regroup ``batches`` into tables of exactly ``rows`` rows (the last may hold fewer)."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        pending.append(batch)
        held += batch.num_rows
        while held >= rows:
            table = pa.Table.from_batches(pending, schema)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            pending = rest.to_batches()
            held = rest.num_rows
    if held:
        yield pa.Table.from_batches(pending, schema)


def ipc_to_parquet(source: str, destination: str, rows_per_partition: int) -> list[int]:
    """Write the Arrow IPC stream ``source`` as a Parquet file of ``rows_per_partition``-row
    row groups; returns the rows of each row group.

    Written through a temporary name, so a rerun (or a reader) never sees half a file. Memory:
    one row group plus one record batch.

    Raises:
        InvalidArgumentError: ``rows_per_partition`` < 1, or the stream holds no rows.
    """
    if rows_per_partition < 1:
        raise InvalidArgumentError(
            "rows_per_partition must be at least 1.", field="dask_partition_rows"
        )
    target = Path(destination)
    temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    sizes: list[int] = []
    try:
        with pa.OSFile(source, "rb") as handle, private_file(temporary) as sink:
            reader = ipc.open_stream(handle)
            schema = reader.schema
            with pq.ParquetWriter(sink, schema) as writer:
                for group in _row_groups(iter(reader), schema, rows_per_partition):
                    writer.write_table(group, row_group_size=rows_per_partition)
                    sizes.append(group.num_rows)
        if not sizes:
            raise InvalidArgumentError("the table has no rows to avatarize.", field="table")
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return sizes


def common_schema(files: Sequence[Path]) -> pa.Schema:
    """One schema for the Parquet ``files`` (footers only): a column that is integer in one
    partition and floating point in another (a partition with a missing value) becomes
    floating point, as pandas would make it for the whole table."""
    schemas = [pq.read_schema(path).remove_metadata() for path in files]
    return pa.unify_schemas(schemas, promote_options="permissive")


def parquet_to_ipc(files: Sequence[Path], destination: Path) -> int:
    """Concatenate Parquet ``files`` (in order) into one Arrow IPC stream; returns the rows.

    Reads one record batch at a time, cast to :func:`common_schema`.

    Raises:
        InvalidArgumentError: no file.
    """
    if not files:
        raise InvalidArgumentError("no partition files to assemble.", field="partitions")
    schema = common_schema(files)
    rows = 0
    with private_file(destination) as sink, ipc.new_stream(sink, schema) as writer:
        for path in files:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=IPC_BATCH_ROWS):
                table = pa.Table.from_batches([batch]).replace_schema_metadata(None)
                writer.write_table(table.cast(schema), max_chunksize=IPC_BATCH_ROWS)
                rows += batch.num_rows
    return rows
