"""A small in-memory RunsService for FakeTransport: enough of the server's behaviour (runs,
uploads, configuration, jobs that finish at once with canned results) to test the Manager and
Runner facades without a server. The real server is tested by tests/integration and tests/e2e."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
from google.protobuf import timestamp_pb2
from veil.v1 import common_pb2, runs_pb2
from veil_client.testing import FakeRpcError


def arrow_bytes(frame: pd.DataFrame) -> bytes:
    """A DataFrame as a complete Arrow IPC stream."""
    sink = pa.BufferOutputStream()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


@dataclass
class FakeRun:
    id: str
    display_name: str
    config: runs_pb2.RunConfig = field(default_factory=runs_pb2.RunConfig)
    tables: dict[str, bytes] = field(default_factory=dict)


@dataclass
class FakeRunsServer:
    """Jobs finish as soon as they are started; a standard job with ``k`` above the row count
    fails as the engine would."""

    runs: dict[str, FakeRun] = field(default_factory=dict)
    jobs: dict[str, runs_pb2.Job] = field(default_factory=dict)
    results: dict[str, list[tuple[runs_pb2.ResultInfo, bytes]]] = field(default_factory=dict)
    clock: int = 1_700_000_000

    def __call__(self, method: str, request: Any) -> Any:
        return getattr(self, method)(request)

    # -- runs and tables ------------------------------------------------------------------------

    def _run(self, run_id: str) -> FakeRun:
        if run_id not in self.runs:
            raise FakeRpcError(grpc.StatusCode.NOT_FOUND, f"no run {run_id!r}", reason="NOT_FOUND")
        return self.runs[run_id]

    def CreateRun(self, request: runs_pb2.CreateRunRequest) -> runs_pb2.CreateRunResponse:  # noqa: N802
        run = FakeRun(str(uuid.uuid4()), request.display_name)
        self.runs[run.id] = run
        return runs_pb2.CreateRunResponse(
            run=runs_pb2.Run(id=run.id, display_name=run.display_name)
        )

    def CopyRun(self, request: runs_pb2.CopyRunRequest) -> runs_pb2.CopyRunResponse:  # noqa: N802
        source = self._run(request.run_id)
        run = FakeRun(str(uuid.uuid4()), request.display_name or source.display_name)
        run.config.CopyFrom(source.config)
        run.tables.update(source.tables)
        self.runs[run.id] = run
        return runs_pb2.CopyRunResponse(run=runs_pb2.Run(id=run.id, display_name=run.display_name))

    def GetRun(self, request: runs_pb2.GetRunRequest) -> runs_pb2.GetRunResponse:  # noqa: N802
        run = self._run(request.run_id)
        return runs_pb2.GetRunResponse(
            run=runs_pb2.Run(id=run.id, display_name=run.display_name, config=run.config)
        )

    def UploadTable(self, items: list[Any]) -> runs_pb2.UploadTableResponse:  # noqa: N802
        header = items[0].header
        data = b"".join(bytes(chunk) for chunk in items[1:])
        run = self._run(header.run_id)
        run.tables[header.table_name] = data
        table = ipc.open_stream(pa.py_buffer(data)).read_all()
        return runs_pb2.UploadTableResponse(
            table=common_pb2.TableInfo(
                name=header.table_name,
                role=header.role,
                num_rows=table.num_rows,
                num_columns=table.num_columns,
                size_bytes=len(data),
            )
        )

    def SetConfig(self, request: runs_pb2.SetConfigRequest) -> runs_pb2.SetConfigResponse:  # noqa: N802
        for table in request.config.tables:
            a = table.avatarization
            if table.HasField("avatarization") and a.HasField("k") and a.k < 2:
                raise FakeRpcError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"tables[{table.name}].avatarization.k: must be >= 2; got {a.k}.",
                    field="avatarization.k",
                )
        self._run(request.run_id).config.CopyFrom(request.config)
        return runs_pb2.SetConfigResponse(config=request.config)

    def ExportYaml(self, request: runs_pb2.ExportYamlRequest) -> runs_pb2.ExportYamlResponse:  # noqa: N802
        config = self._run(request.run_id).config
        return runs_pb2.ExportYamlResponse(yaml=f"tables: {[t.name for t in config.tables]}\n")

    # -- jobs -----------------------------------------------------------------------------------

    def StartJobs(self, request: runs_pb2.StartJobsRequest) -> runs_pb2.StartJobsResponse:  # noqa: N802
        run = self._run(request.run_id)
        jobs = []
        for kind in request.kinds:
            self.clock += 1
            job = runs_pb2.Job(
                id=str(uuid.uuid4()),
                run_id=run.id,
                kind=kind,
                status=runs_pb2.JOB_STATUS_QUEUED,
                display_name=run.display_name,
                created_at=timestamp_pb2.Timestamp(seconds=self.clock),
            )
            self.jobs[job.id] = job
            jobs.append(job)
            self._finish(run, job)
        return runs_pb2.StartJobsResponse(run_id=run.id, jobs=[self.jobs[j.id] for j in jobs])

    def _finish(self, run: FakeRun, job: runs_pb2.Job) -> None:
        results: list[tuple[runs_pb2.ResultInfo, bytes]] = []
        for table in run.config.tables:
            original = ipc.open_stream(pa.py_buffer(run.tables[table.name])).read_all()
            if job.kind == runs_pb2.JOB_KIND_STANDARD:
                if table.avatarization.k >= original.num_rows:
                    job.status = runs_pb2.JOB_STATUS_ERROR
                    job.exception = (
                        f"k must be smaller than the number of rows ({original.num_rows})"
                    )
                    self.results[job.id] = []
                    return
                shuffled = original.to_pandas().iloc[::-1].reset_index(drop=True)
                results.append(self._result(job, "shuffled", table.name, arrow_bytes(shuffled)))
            elif job.kind == runs_pb2.JOB_KIND_PRIVACY_METRICS:
                metrics = {"hidden_rate": 91.5, "metadata": {"table_name": table.name}}
                results.append(
                    self._result(
                        job, "privacy_metrics", table.name, json.dumps(metrics).encode(), "json"
                    )
                )
        job.status = runs_pb2.JOB_STATUS_FINISHED
        job.progress = 1.0
        self.results[job.id] = results

    def _result(
        self, job: runs_pb2.Job, kind: str, table: str, data: bytes, media: str = "arrow"
    ) -> tuple[runs_pb2.ResultInfo, bytes]:
        media_type = (
            "application/json" if media == "json" else "application/vnd.apache.arrow.stream"
        )
        info = runs_pb2.ResultInfo(
            id=str(uuid.uuid4()),
            job_id=job.id,
            kind=kind,
            table_name=table,
            media_type=media_type,
            size_bytes=len(data),
        )
        return info, data

    def _job(self, job_id: str) -> runs_pb2.Job:
        if job_id not in self.jobs:
            raise FakeRpcError(grpc.StatusCode.NOT_FOUND, f"no job {job_id!r}")
        return self.jobs[job_id]

    def GetJob(self, request: runs_pb2.GetJobRequest) -> runs_pb2.GetJobResponse:  # noqa: N802
        return runs_pb2.GetJobResponse(job=self._job(request.job_id))

    def WatchJobs(self, request: runs_pb2.WatchJobsRequest) -> Iterator[Any]:  # noqa: N802
        for job_id in request.job_ids:
            yield runs_pb2.WatchJobsResponse(job=self._job(job_id))

    def ListJobs(self, request: runs_pb2.ListJobsRequest) -> runs_pb2.ListJobsResponse:  # noqa: N802
        jobs = [
            job
            for job in sorted(self.jobs.values(), key=lambda j: -j.created_at.seconds)
            if (not request.run_id or job.run_id == request.run_id)
            and (not request.display_name or job.display_name == request.display_name)
        ]
        return runs_pb2.ListJobsResponse(jobs=jobs[: request.page_size or None])

    def CancelJob(self, request: runs_pb2.CancelJobRequest) -> runs_pb2.CancelJobResponse:  # noqa: N802
        job = self._job(request.job_id)
        job.status = runs_pb2.JOB_STATUS_CANCELLED
        return runs_pb2.CancelJobResponse(job=job)

    def DeleteJobs(self, request: runs_pb2.DeleteJobsRequest) -> runs_pb2.DeleteJobsResponse:  # noqa: N802
        for job_id in request.job_ids:
            self.jobs.pop(job_id, None)
        return runs_pb2.DeleteJobsResponse(deleted_count=len(request.job_ids))

    # -- results --------------------------------------------------------------------------------

    def ListResults(self, request: runs_pb2.ListResultsRequest) -> runs_pb2.ListResultsResponse:  # noqa: N802
        return runs_pb2.ListResultsResponse(
            results=[info for info, _ in self.results.get(request.job_id, [])]
        )

    def DownloadResult(self, request: runs_pb2.DownloadResultRequest) -> Iterator[Any]:  # noqa: N802
        for results in self.results.values():
            for info, data in results:
                if info.id == request.result_id:
                    yield runs_pb2.DownloadResultResponse(header=info)
                    yield data
                    return
        raise FakeRpcError(grpc.StatusCode.NOT_FOUND, "no such result")
