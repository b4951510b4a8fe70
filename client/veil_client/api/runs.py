"""RunsService, one typed method per RPC (the Runner and the Manager build on it)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from veil.v1 import runs_pb2
from veil_wire.ipc import StreamStats

from veil_client.api import run_config_proto
from veil_client.api.avatar_features_proto import privacy_loss_from_proto
from veil_client.api.common import (
    ROLE_TO_PROTO,
    ColumnStatistics,
    Page,
    TableInfo,
    timestamp,
)
from veil_client.errors import FailedPrecondition, InvalidArgument
from veil_client.models import (
    AdvisedLink,
    JobKind,
    JobResponse,
    JobStatus,
    TablesLinksAdvice,
    UnlinkedForeignKey,
)
from veil_client.run_config import RunnerConfig
from veil_client.tables import (
    TableSource,
    open_source,
    read_arrow,
    split_download,
    to_dataframe,
    upload_messages,
    write_bytes,
)
from veil_client.transport import (
    LONG_TIMEOUT_S,
    Transport,
    server_stream,
    table_download,
    table_upload,
    unary,
)

_S = "veil.v1.RunsService"
ENGINE_TIMEOUT_S = 3600.0
"""Deadline of calls that wait for the engine (describe, advice)."""

CREATE_RUN = unary(_S, "CreateRun", runs_pb2.CreateRunRequest, runs_pb2.CreateRunResponse)
GET_RUN = unary(_S, "GetRun", runs_pb2.GetRunRequest, runs_pb2.GetRunResponse, idempotent=True)
LIST_RUNS = unary(
    _S, "ListRuns", runs_pb2.ListRunsRequest, runs_pb2.ListRunsResponse, idempotent=True
)
DELETE_RUN = unary(_S, "DeleteRun", runs_pb2.DeleteRunRequest, runs_pb2.DeleteRunResponse)
COPY_RUN = unary(_S, "CopyRun", runs_pb2.CopyRunRequest, runs_pb2.CopyRunResponse)
UPLOAD_TABLE = table_upload(
    _S, "UploadTable", runs_pb2.UploadTableRequest, runs_pb2.UploadTableResponse
)
DOWNLOAD_TABLE = table_download(
    _S, "DownloadTable", runs_pb2.DownloadTableRequest, runs_pb2.DownloadTableResponse
)
LIST_TABLES = unary(
    _S, "ListTables", runs_pb2.ListTablesRequest, runs_pb2.ListTablesResponse, idempotent=True
)
DELETE_TABLE = unary(_S, "DeleteTable", runs_pb2.DeleteTableRequest, runs_pb2.DeleteTableResponse)
DESCRIBE_TABLE = unary(
    _S,
    "DescribeTable",
    runs_pb2.DescribeTableRequest,
    runs_pb2.DescribeTableResponse,
    idempotent=True,
    timeout=ENGINE_TIMEOUT_S,
)
GET_CONFIG = unary(
    _S, "GetConfig", runs_pb2.GetConfigRequest, runs_pb2.GetConfigResponse, idempotent=True
)
SET_CONFIG = unary(
    _S, "SetConfig", runs_pb2.SetConfigRequest, runs_pb2.SetConfigResponse, idempotent=True
)
IMPORT_YAML = unary(_S, "ImportYaml", runs_pb2.ImportYamlRequest, runs_pb2.ImportYamlResponse)
EXPORT_YAML = unary(
    _S, "ExportYaml", runs_pb2.ExportYamlRequest, runs_pb2.ExportYamlResponse, idempotent=True
)
START_JOBS = unary(_S, "StartJobs", runs_pb2.StartJobsRequest, runs_pb2.StartJobsResponse)
GET_JOB = unary(_S, "GetJob", runs_pb2.GetJobRequest, runs_pb2.GetJobResponse, idempotent=True)
WATCH_JOBS = server_stream(
    _S, "WatchJobs", runs_pb2.WatchJobsRequest, runs_pb2.WatchJobsResponse, timeout=24 * 3600.0
)
LIST_JOBS = unary(
    _S, "ListJobs", runs_pb2.ListJobsRequest, runs_pb2.ListJobsResponse, idempotent=True
)
CANCEL_JOB = unary(_S, "CancelJob", runs_pb2.CancelJobRequest, runs_pb2.CancelJobResponse)
DELETE_JOBS = unary(_S, "DeleteJobs", runs_pb2.DeleteJobsRequest, runs_pb2.DeleteJobsResponse)
LIST_RESULTS = unary(
    _S, "ListResults", runs_pb2.ListResultsRequest, runs_pb2.ListResultsResponse, idempotent=True
)
DOWNLOAD_RESULT = table_download(
    _S, "DownloadResult", runs_pb2.DownloadResultRequest, runs_pb2.DownloadResultResponse
)
ADVISE_PARAMETERS = unary(
    _S,
    "AdviseParameters",
    runs_pb2.AdviseParametersRequest,
    runs_pb2.AdviseParametersResponse,
    idempotent=True,
    timeout=ENGINE_TIMEOUT_S,
)
ADVISE_LINKS = unary(
    _S,
    "AdviseLinks",
    runs_pb2.AdviseLinksRequest,
    runs_pb2.AdviseLinksResponse,
    idempotent=True,
    timeout=ENGINE_TIMEOUT_S,
)

KIND_TO_PROTO = {
    JobKind.standard: runs_pb2.JOB_KIND_STANDARD,
    JobKind.privacy_metrics: runs_pb2.JOB_KIND_PRIVACY_METRICS,
    JobKind.signal_metrics: runs_pb2.JOB_KIND_SIGNAL_METRICS,
    JobKind.report: runs_pb2.JOB_KIND_REPORT,
    JobKind.advice: runs_pb2.JOB_KIND_ADVICE,
}
KIND_FROM_PROTO = {v: k for k, v in KIND_TO_PROTO.items()}
STATUS_FROM_PROTO = {
    runs_pb2.JOB_STATUS_QUEUED: JobStatus.queued,
    runs_pb2.JOB_STATUS_PENDING: JobStatus.pending,
    runs_pb2.JOB_STATUS_FINISHED: JobStatus.finished,
    runs_pb2.JOB_STATUS_ERROR: JobStatus.error,
    runs_pb2.JOB_STATUS_PARENT_ERROR: JobStatus.parent_error,
    runs_pb2.JOB_STATUS_CANCELLED: JobStatus.cancelled,
}
STATUS_TO_PROTO = {v: k for k, v in STATUS_FROM_PROTO.items()}
DONE_STATUSES = frozenset(
    {JobStatus.finished, JobStatus.error, JobStatus.parent_error, JobStatus.cancelled}
)


PARAMETERS_NAMES: dict[JobKind | str, str] = {JobKind.advice: "advice_parameters"}
"""Octopize's parameters document of each job kind, where it is not the kind's own name."""


def _advice_trial(trial: runs_pb2.AdviceTrial) -> dict[str, Any]:
    """One measured parameter set of the privacy-targeted advice as the client hands it out."""
    return {
        "parameters": run_config_proto.avatarization_from_proto(trial.parameters),
        "measures": dict(trial.measures),
        "failed_targets": list(trial.failed_targets),
    }


def _linked_trial(trial: runs_pb2.LinkedKTrial) -> dict[str, Any]:
    """One trial of a linked k search as the client hands it out."""
    return {
        "k": trial.k,
        "coupled_noise": trial.coupled_noise,
        "rates": tuple(trial.rates),
        "rate": trial.rate,
        "fidelity": trial.fidelity,
        "series_rates": dict(trial.series_rates),
    }


def job_from_proto(job: runs_pb2.Job) -> JobResponse:
    """A Job message as a JobResponse with the Octopize field names."""
    status = STATUS_FROM_PROTO.get(job.status, JobStatus.field_)
    kind = KIND_FROM_PROTO.get(job.kind, str(job.kind))
    return JobResponse(
        id=job.id,
        name=job.id,
        set_name=uuid.UUID(job.run_id),
        kind=kind,
        status=status,
        progress=job.progress,
        phase=job.phase,
        exception=job.exception,
        done=status in DONE_STATUSES,
        display_name=job.display_name,
        depends_on=list(job.depends_on),
        created_at=timestamp(job.created_at, job.HasField("created_at")),
        parameters_name=PARAMETERS_NAMES.get(kind, str(getattr(kind, "value", kind))),
        phase_done=job.phase_done if job.phase_total else None,
        phase_total=job.phase_total or None,
        warnings=tuple(job.warnings),
        privacy_losses=tuple(privacy_loss_from_proto(loss) for loss in job.privacy_losses),
    )


@dataclass(frozen=True)
class Run:
    """One version of a run: its id, display name, configuration and stored tables."""

    id: str
    display_name: str
    version: int
    created_at: dt.datetime | None
    config: RunnerConfig
    tables: tuple[TableInfo, ...]

    @staticmethod
    def from_proto(message: runs_pb2.Run) -> Run:
        """From the Run message."""
        return Run(
            id=message.id,
            display_name=message.display_name,
            version=message.version,
            created_at=timestamp(message.created_at, message.HasField("created_at")),
            config=run_config_proto.from_proto(message.config),
            tables=tuple(TableInfo.from_proto(t) for t in message.tables),
        )


@dataclass(frozen=True)
class UploadedTable:
    """What the server stored, and what the client computed while sending.

    Attributes:
        client_sha256: The client's digest of the stream (empty unless asked for).
    """

    name: str
    num_rows: int
    num_columns: int
    size_bytes: int
    sha256: str
    client_sha256: str
    columns: list[tuple[str, str]]


@dataclass(frozen=True)
class DownloadedTable:
    """A table written to a file: the server's description and the client's digest."""

    table: TableInfo
    client_sha256: str

    @property
    def sha256(self) -> str:
        """The server's digest of the stream."""
        return self.table.sha256

    @property
    def size_bytes(self) -> int:
        """Bytes written."""
        return self.table.size_bytes


@dataclass(frozen=True)
class TableStatistics:
    """Row count and per-column statistics of a stored table."""

    num_rows: int
    columns: tuple[ColumnStatistics, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per column: name, arrow_type, null_count, distinct_count, min, max, mean,
        std."""
        return pd.DataFrame([vars(column) for column in self.columns])


@dataclass(frozen=True)
class ImportedYaml:
    """The configuration a YAML document set became, and what the server noticed on the way."""

    config: RunnerConfig
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class StartedJobs:
    """Jobs started for a run (``run_id`` is the new version's id when one was made)."""

    run_id: str
    jobs: tuple[JobResponse, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class ResultInfo:
    """A result a job produced (download it with :meth:`RunsApi.download_result`)."""

    id: str
    job_id: str
    kind: str
    table_name: str
    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    subkind: str

    @staticmethod
    def from_proto(message: runs_pb2.ResultInfo) -> ResultInfo:
        """From the ResultInfo message."""
        return ResultInfo(
            id=message.id,
            job_id=message.job_id,
            kind=message.kind,
            table_name=message.table_name,
            filename=message.filename,
            media_type=message.media_type,
            size_bytes=message.size_bytes,
            sha256=message.sha256,
            subkind=message.subkind,
        )


@dataclass(frozen=True)
class Advice:
    """Parameters the engine advises for a table, with its notes.

    Attributes:
        parameters: Avatarization parameters by their Octopize names (``k``, ``ncp``...).
        flagged_columns: Columns the advice singles out (identifiers, high cardinality...).
    """

    parameters: dict[str, Any]
    notes: tuple[str, ...]
    flagged_columns: tuple[str, ...]
    privacy_search: PrivacySearch | None = None
    linked_k_search: LinkedKSearch | None = None


@dataclass(frozen=True)
class LinkedKSearch:
    """How the server chose a linked table's ``k`` and local noise (``advise_parameters`` on a
    linked run).

    Each ``k`` tried ran every linked table over ``seeds`` seeds, once with per-variable and
    once with coupled local noise; its rate is the matched hidden rate of the table (each
    original paired with an avatar by minimum total distance). Of the trials reaching the
    target the one whose avatars keep the table best is taken (``fidelity``: column shapes and
    pair trends).

    Attributes:
        target: The matched hidden rate (%) aimed at.
        target_source: ``fresh_sample`` (one real half against the other) or ``stated``
            (``privacy_targets={"hidden_rate": ...}``).
        met: Whether the chosen trial reaches it (else it is the trial that came nearest).
        seeds: Seeded linked runs per ``k``.
        chosen_k: The ``k`` advised.
        trials: Every trial, in order: ``k``, ``coupled_noise``, ``rates`` (one per seed), their
            mean ``rate``, ``fidelity`` and ``series_rates`` (each time-series child's mean
            rate).
        series_targets: The table's time-series children and their targets: a ``k`` meets
            only if the table and every series reach theirs.
        chosen_coupled_noise: Whether the advised ``k`` goes with coupled noise.
        held_out: The settings that met the target on the search's seeds, re-measured (the
            most faithful first) on as many other seeds, from ``held_out_seed`` on; the first
            that still reaches the target there (mean less one standard error) is the one
            advised (same keys as ``trials``).
        held_out_seed: First seed of the held-out runs.
        held_out_rate: The advised setting's rate on the held-out seeds: the rate to expect
            (the search's own figure for the same setting is optimistic).
    """

    target: float
    target_source: str
    met: bool
    seeds: int
    chosen_k: int
    trials: tuple[dict[str, Any], ...]
    series_targets: dict[str, float] = field(default_factory=dict)
    chosen_coupled_noise: bool = False
    held_out: tuple[dict[str, Any], ...] = ()
    held_out_seed: int = 0
    held_out_rate: float = 0.0

    def to_frame(self) -> pd.DataFrame:
        """The trials as a pandas DataFrame: one row per trial, the chosen one marked."""
        return pd.DataFrame(
            [
                {
                    "k": t["k"],
                    "coupled_noise": bool(t.get("coupled_noise", False)),
                    "rate": t["rate"],
                    "rates": list(t["rates"]),
                    "fidelity": t.get("fidelity"),
                    **{f"rate_{c}": r for c, r in t.get("series_rates", {}).items()},
                    "chosen": t["k"] == self.chosen_k
                    and bool(t.get("coupled_noise", False)) == self.chosen_coupled_noise,
                }
                for t in self.trials
            ]
        )


@dataclass(frozen=True)
class PrivacySearch:
    """What the privacy-targeted advice explored (``advise_parameters(privacy_targets=...)``).

    Attributes:
        targets_met: Whether the chosen parameters meet every target on the sample.
        binding_target: The target that stopped a more useful parameter set (None: none did).
        targets: The targets used, defaults filled in.
        trials: Every parameter set tried: ``parameters``, ``measures`` and ``failed_targets``.
        chosen_trial: Index of the chosen set in ``trials``.
        sample_rows: Rows the search ran on.
        utility_metric: What ``measures["utility"]`` is.
        curve_svg: The privacy-utility curve (k on the x axis, risks and utility on the y axes).
        reason: Why that set, what it misses and what to change, in words.
        table_check: When the table is larger than the sample, the chosen parameters measured
            again on the table (at most 50,000 of its rows, 70 % avatarized): ``parameters``,
            ``measures``, ``failed_targets`` and ``rows``; None otherwise. ``targets_met`` is
            the sample's verdict; ``table_check_met`` is this one's.
    """

    targets_met: bool
    binding_target: str | None
    targets: dict[str, float]
    trials: tuple[dict[str, Any], ...]
    chosen_trial: int
    sample_rows: int
    utility_metric: str
    curve_svg: str
    reason: str = ""
    table_check: dict[str, Any] | None = None

    @property
    def table_check_met(self) -> bool | None:
        """Whether the check on the table met every target (None: no check ran)."""
        return None if self.table_check is None else not self.table_check["failed_targets"]

    def to_frame(self) -> pd.DataFrame:
        """The trials as a pandas DataFrame: one row per parameter set, measures as columns."""
        return pd.DataFrame(
            [
                {
                    **trial["parameters"],
                    **trial["measures"],
                    "failed_targets": ",".join(trial["failed_targets"]),
                    "chosen": i == self.chosen_trial,
                }
                for i, trial in enumerate(self.trials)
            ]
        )


class RunsApi:
    """RunsService: every RPC, with typed arguments and dataclass results."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    # -- runs ---------------------------------------------------------------------------------

    def create_run(self, display_name: str, config: RunnerConfig | None = None) -> Run:
        """Create a run (its id is assigned by the server)."""
        request = runs_pb2.CreateRunRequest(display_name=display_name)
        if config is not None:
            request.config.CopyFrom(run_config_proto.to_proto(config))
        return Run.from_proto(self.transport.call(CREATE_RUN, request).run)

    def copy_run(self, run_id: str, display_name: str = "") -> Run:
        """A new version of a run without jobs (same configuration and tables), under its
        display name or ``display_name``."""
        request = runs_pb2.CopyRunRequest(run_id=run_id, display_name=display_name)
        return Run.from_proto(self.transport.call(COPY_RUN, request).run)

    def get_run(self, run_id: str) -> Run:
        """A run with its configuration and tables."""
        return Run.from_proto(
            self.transport.call(GET_RUN, runs_pb2.GetRunRequest(run_id=run_id)).run
        )

    def list_runs(
        self, *, display_name: str = "", page_size: int = 0, page_token: str = ""
    ) -> Page[Run]:
        """The caller's runs, newest first (optionally of one display name)."""
        response = self.transport.call(
            LIST_RUNS,
            runs_pb2.ListRunsRequest(
                display_name=display_name, page_size=page_size, page_token=page_token
            ),
        )
        return Page([Run.from_proto(r) for r in response.runs], response.next_page_token)

    def delete_run(self, run_id: str) -> None:
        """Delete a run with its tables, jobs and results."""
        self.transport.call(DELETE_RUN, runs_pb2.DeleteRunRequest(run_id=run_id))

    # -- tables -------------------------------------------------------------------------------

    def upload_table(
        self,
        run_id: str,
        name: str,
        source: TableSource,
        *,
        role: str = "original",
        replace: bool = False,
        types: dict[str, Any] | None = None,
        verify_sha256: bool = False,
        columns_to_drop: Sequence[str] = (),
        strict_drop: bool = True,
        encoding: str | None = None,
        declared_types: dict[str, Any] | None = None,
    ) -> UploadedTable:
        """Stream a table (path, DataFrame or Arrow table) into a run.

        Args:
            verify_sha256: Hash the stream on the client as well and check it against the
                digest the server computed (``client_sha256`` of the result); costs about 0.5
                CPU second per GB on the client. Without it ``client_sha256`` is empty.
            columns_to_drop: Columns left out of the upload.
            encoding: A CSV file's text encoding (``"latin-1"``, ``"cp1252"``...), transcoded
                to UTF-8 as it streams; None for UTF-8. Other sources ignore it.
            declared_types: Types the table already has (``add_table``, a YAML file): its
                ``category`` columns are read as text from a CSV that has them, as with
                ``types`` (which win), keeping codes such as ``"04748"`` whole.

        Raises:
            InvalidArgument: an unknown ``encoding`` or a CSV not in it (nothing is sent);
                with ``verify_sha256``, the server stored other bytes than sent (the table
                stays registered: upload it again with ``replace=True``).
        """
        encoded = open_source(
            source,
            types,
            columns_to_drop,
            strict_drop=strict_drop,
            encoding=encoding,
            declared_types=declared_types,
        )
        stats = StreamStats()
        header = runs_pb2.UploadTableRequest(
            header=runs_pb2.UploadTableHeader(
                run_id=run_id, table_name=name, role=ROLE_TO_PROTO[role], replace=replace
            )
        )
        response = self.transport.upload(
            UPLOAD_TABLE,
            upload_messages(header, encoded, stats, f"upload {name}", digest=verify_sha256),
        )
        info = TableInfo.from_proto(response.table)
        if verify_sha256 and stats.sha256 != info.sha256:
            raise InvalidArgument(
                f"the server stored table {name!r} with sha256 {info.sha256}, but the client "
                f"sent {stats.sha256}; upload it again with replace=True.",
                field="data",
            )
        return UploadedTable(
            info.name,
            info.num_rows,
            info.num_columns,
            info.size_bytes,
            info.sha256,
            stats.sha256,
            [(c.name, c.arrow_type) for c in info.columns],
        )

    def _table_stream(
        self, run_id: str, name: str, role: str
    ) -> tuple[TableInfo, Iterator[memoryview]]:
        responses = self.transport.stream(
            DOWNLOAD_TABLE,
            runs_pb2.DownloadTableRequest(run_id=run_id, table_name=name, role=ROLE_TO_PROTO[role]),
        )
        header, chunks = split_download(responses)
        return TableInfo.from_proto(header.header), chunks

    def download_table(
        self, run_id: str, name: str, role: str = "original", *, verify_sha256: bool = False
    ) -> pa.Table:
        """Download a table as an Arrow table, decoded as it arrives.

        Args:
            verify_sha256: Check the bytes against the sha256 the server recorded at upload
                (about 0.5 CPU second per GB on the client).
        """
        info, chunks = self._table_stream(run_id, name, role)
        return read_arrow(chunks, info.sha256 if verify_sha256 else "")

    download_arrow = download_table

    def download_dataframe(self, run_id: str, name: str, role: str = "original") -> pd.DataFrame:
        """Download a table as a DataFrame."""
        return to_dataframe(self.download_table(run_id, name, role))

    def download_to_file(
        self, run_id: str, name: str, path: str | Path, role: str = "original"
    ) -> DownloadedTable:
        """Write a table's Arrow IPC stream to ``path`` in bounded memory."""
        info, chunks = self._table_stream(run_id, name, role)
        sha = write_bytes(chunks, Path(path), info.sha256, info.size_bytes)
        return DownloadedTable(info, sha)

    def list_tables(self, run_id: str) -> list[TableInfo]:
        """The tables stored in a run."""
        response = self.transport.call(LIST_TABLES, runs_pb2.ListTablesRequest(run_id=run_id))
        return [TableInfo.from_proto(t) for t in response.tables]

    def delete_table(self, run_id: str, name: str, role: str = "original") -> None:
        """Delete a stored table."""
        self.transport.call(
            DELETE_TABLE,
            runs_pb2.DeleteTableRequest(run_id=run_id, table_name=name, role=ROLE_TO_PROTO[role]),
        )

    def describe_table(self, run_id: str, name: str, role: str = "original") -> TableStatistics:
        """Per-column statistics computed by the engine."""
        response = self.transport.call(
            DESCRIBE_TABLE,
            runs_pb2.DescribeTableRequest(run_id=run_id, table_name=name, role=ROLE_TO_PROTO[role]),
        )
        return TableStatistics(
            response.num_rows, tuple(ColumnStatistics.from_proto(c) for c in response.columns)
        )

    # -- configuration ------------------------------------------------------------------------

    def get_config(self, run_id: str) -> RunnerConfig:
        """The run's configuration as the server holds it."""
        response = self.transport.call(GET_CONFIG, runs_pb2.GetConfigRequest(run_id=run_id))
        return run_config_proto.from_proto(response.config)

    def set_config(self, run_id: str, config: RunnerConfig) -> RunnerConfig:
        """Replace the run's configuration (the server validates every field).

        Raises:
            InvalidArgument: a field is invalid (named in the message), or a parameter has a
                type the message cannot hold.
        """
        try:
            message = run_config_proto.to_proto(config)
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(f"a parameter has the wrong type: {exc}") from None
        response = self.transport.call(
            SET_CONFIG, runs_pb2.SetConfigRequest(run_id=run_id, config=message)
        )
        return run_config_proto.from_proto(response.config, config)

    def import_yaml(
        self, run_id: str, yaml: str, previous: RunnerConfig | None = None
    ) -> ImportedYaml:
        """Replace the run's configuration with an avatar_yaml document set."""
        response = self.transport.call(
            IMPORT_YAML, runs_pb2.ImportYamlRequest(run_id=run_id, yaml=yaml)
        )
        return ImportedYaml(
            run_config_proto.from_proto(response.config, previous), tuple(response.warnings)
        )

    def export_yaml(self, run_id: str) -> str:
        """The run's configuration as avatar_yaml text."""
        return self.transport.call(EXPORT_YAML, runs_pb2.ExportYamlRequest(run_id=run_id)).yaml

    # -- jobs ---------------------------------------------------------------------------------

    def start_jobs(
        self,
        run_id: str,
        kinds: Sequence[JobKind],
        *,
        reuse_run: bool = False,
        display_name: str = "",
    ) -> StartedJobs:
        """Start jobs (their dependencies are added by the server).

        Args:
            display_name: The name of the new version the jobs run on when one is made; a name
                other than the run's always makes one (default: the run's name).
        """
        response = self.transport.call(
            START_JOBS,
            runs_pb2.StartJobsRequest(
                run_id=run_id,
                kinds=[KIND_TO_PROTO[k] for k in kinds],
                reuse_run=reuse_run,
                display_name=display_name,
            ),
        )
        return StartedJobs(
            response.run_id,
            tuple(job_from_proto(j) for j in response.jobs),
            tuple(response.warnings),
        )

    def get_job(self, job_id: str) -> JobResponse:
        """A job's current state."""
        return job_from_proto(
            self.transport.call(GET_JOB, runs_pb2.GetJobRequest(job_id=job_id)).job
        )

    def watch_jobs(self, job_ids: Iterable[str] = (), *, run_id: str = "") -> Iterator[JobResponse]:
        """Each change of the jobs' state, until they are all done."""
        request = runs_pb2.WatchJobsRequest(run_id=run_id, job_ids=list(job_ids))
        for event in self.transport.stream(WATCH_JOBS, request):
            yield job_from_proto(event.job)

    def list_jobs(
        self,
        *,
        run_id: str = "",
        display_name: str = "",
        kinds: Sequence[JobKind] = (),
        statuses: Sequence[JobStatus] = (),
        page_size: int = 0,
        page_token: str = "",
    ) -> Page[JobResponse]:
        """The caller's jobs, newest first, filtered (all filters apply together)."""
        response = self.transport.call(
            LIST_JOBS,
            runs_pb2.ListJobsRequest(
                run_id=run_id,
                display_name=display_name,
                kinds=[KIND_TO_PROTO[k] for k in kinds],
                statuses=[STATUS_TO_PROTO[s] for s in statuses],
                page_size=page_size,
                page_token=page_token,
            ),
        )
        return Page([job_from_proto(j) for j in response.jobs], response.next_page_token)

    def cancel_job(self, job_id: str) -> JobResponse:
        """Cancel a job (and the jobs waiting on it)."""
        return job_from_proto(
            self.transport.call(CANCEL_JOB, runs_pb2.CancelJobRequest(job_id=job_id)).job
        )

    def cancel_job_unless_done(self, job_id: str) -> JobResponse | None:
        """Cancel a job unless it has already ended; None when it had.

        A job can end between any read of its status and the cancellation: the server then
        refuses with FAILED_PRECONDITION (reason ``JOB_DONE``), which for "stop what is still
        running" is not an error.
        """
        try:
            return self.cancel_job(job_id)
        except FailedPrecondition as error:
            if error.reason == "JOB_DONE":
                return None
            raise

    def delete_jobs(self, job_ids: Sequence[str]) -> int:
        """Delete jobs with their results; returns how many were deleted."""
        response = self.transport.call(
            DELETE_JOBS, runs_pb2.DeleteJobsRequest(job_ids=list(job_ids))
        )
        return int(response.deleted_count)

    # -- results ------------------------------------------------------------------------------

    def list_results(self, *, job_id: str = "", run_id: str = "") -> list[ResultInfo]:
        """Results of a job (or of every job of a run)."""
        response = self.transport.call(
            LIST_RESULTS, runs_pb2.ListResultsRequest(job_id=job_id, run_id=run_id)
        )
        return [ResultInfo.from_proto(r) for r in response.results]

    def download_result(
        self, result_id: str, path: Path | None = None
    ) -> tuple[ResultInfo, bytes | None]:
        """Download a result: to ``path`` (returns its info and None), or in memory (its info
        and the bytes)."""
        responses = self.transport.stream(
            DOWNLOAD_RESULT,
            runs_pb2.DownloadResultRequest(result_id=result_id),
            timeout=LONG_TIMEOUT_S,
        )
        header, chunks = split_download(responses)
        info = ResultInfo.from_proto(header.header)
        if path is not None:
            write_bytes(chunks, path, info.sha256, info.size_bytes)
            return info, None
        return info, b"".join(bytes(c) for c in chunks)

    def advise_parameters(
        self,
        run_id: str,
        table_name: str,
        privacy_targets: dict[str, float] | None = None,
        target: str | None = None,
    ) -> Advice:
        """Parameters the engine advises for a table; with ``privacy_targets`` (a dict of
        target name to value, ``{}`` for the defaults) the engine searches for the most useful
        parameters meeting them."""
        request = runs_pb2.AdviseParametersRequest(
            run_id=run_id, table_name=table_name, target=target or ""
        )
        if privacy_targets is not None:
            request.privacy_targets.SetInParent()
            for name, value in privacy_targets.items():
                if not hasattr(request.privacy_targets, name):
                    known = [f.name for f in runs_pb2.PrivacyTargets.DESCRIPTOR.fields]
                    raise InvalidArgument(
                        f"{name!r} is not a privacy target; use one of {', '.join(known)}.",
                        field=f"privacy_targets.{name}",
                    )
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise InvalidArgument(
                        f"privacy_targets.{name} must be a number; got {value!r}.",
                        field=f"privacy_targets.{name}",
                    )
                setattr(request.privacy_targets, name, float(value))
        response = self.transport.call(ADVISE_PARAMETERS, request)
        search = None
        if response.trials:
            search = PrivacySearch(
                targets_met=response.targets_met,
                binding_target=response.binding_target or None,
                targets={f.name: v for f, v in response.privacy_targets.ListFields()},
                trials=tuple(_advice_trial(t) for t in response.trials),
                chosen_trial=response.chosen_trial,
                sample_rows=response.sample_rows,
                utility_metric=response.utility_metric,
                curve_svg=response.curve_svg,
                reason=response.search_reason,
                table_check=(
                    {**_advice_trial(response.table_check), "rows": response.table_check_rows}
                    if response.HasField("table_check")
                    else None
                ),
            )
        linked = None
        if response.HasField("linked_k_search"):
            found = response.linked_k_search
            linked = LinkedKSearch(
                target=found.target,
                target_source=found.target_source,
                met=found.met,
                seeds=found.seeds,
                chosen_k=found.chosen_k,
                trials=tuple(_linked_trial(t) for t in found.trials),
                series_targets=dict(found.series_targets),
                chosen_coupled_noise=found.chosen_coupled_noise,
                held_out=tuple(_linked_trial(t) for t in found.held_out),
                held_out_seed=found.held_out_seed,
                held_out_rate=found.held_out_rate,
            )
        return Advice(
            run_config_proto.avatarization_from_proto(response.parameters),
            tuple(response.notes),
            tuple(response.flagged_columns),
            search,
            linked,
        )

    def advise_links(self, run_id: str) -> TablesLinksAdvice:
        """Links the engine proposes between the run's tables (nothing is changed)."""
        response = self.transport.call(ADVISE_LINKS, runs_pb2.AdviseLinksRequest(run_id=run_id))
        return TablesLinksAdvice(
            links=[
                AdvisedLink(
                    parent_table=link.parent_table,
                    parent_field=link.parent_field,
                    child_table=link.child_table,
                    child_field=link.child_field,
                    method=link.method,
                    confidence=link.confidence,
                    overlap=link.overlap,
                    rows_without_parent=link.rows_without_parent,
                    child_rows=link.child_rows,
                )
                for link in response.links
            ],
            unlinked_foreign_keys=[
                UnlinkedForeignKey(fk.table, fk.field, list(fk.candidate_tables))
                for fk in response.unlinked_foreign_keys
            ],
        )
