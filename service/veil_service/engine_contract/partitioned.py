"""The engine task of a standard job on the Dask partition path: its kind and parameters.

The server chooses the path (``runs.partition_path``); the engine runs it
(``engine.tasks.partitioned``). The task has no input table on its stream: the Dask workers
read the uploaded table from the shared blob directory, whose paths these parameters carry.
"""

from __future__ import annotations

KIND = "avatarize_partitioned"
"""Engine task kind of a standard job whose table the Dask workers read as partitions."""

SOURCE_PARAM = "partition_source"
"""Absolute path of the uploaded table's Arrow IPC stream in the shared blob directory."""

WORK_DIR_PARAM = "partition_work_dir"
"""Absolute path of a directory of the shared blob directory, the job's own: the Parquet
partitions of the table and of its avatars go there (the server deletes it after the job)."""

ROWS_PARAM = "partition_rows"
"""Rows of each partition (the last one holds the rest)."""

PRIVACY_RESULT = "privacy_metrics"
SIGNAL_RESULT = "signal_metrics"
"""Results of the task besides the avatar tables: the metrics aggregated over partitions, which
the run's privacy and signal metrics jobs record as theirs instead of reading the tables."""
