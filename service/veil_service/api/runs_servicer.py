"""RunsService servicer: decode, check the caller, call the runs domain, encode."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc
from veil.v1 import common_pb2, runs_pb2
from veil_client.wire import frame_bytes_field

from veil_service.api import convert
from veil_service.api.paging import next_token, page_bounds
from veil_service.api.runs_convert import (
    EXCLUDE,
    IMPUTE,
    JOB_KIND,
    JOB_STATUS,
    config_from_proto,
    config_to_proto,
    job_to_proto,
    result_to_proto,
)
from veil_service.auth.principal import current_principal
from veil_service.context import AppContext
from veil_service.engine_client.protocol import TaskInput
from veil_service.errors import FailedPreconditionError, InvalidArgumentError
from veil_service.runs import jobs, results, store, tables
from veil_service.runs.config import RunConfig, validate

DOWNLOAD_CHUNK_BYTES = 1 << 20


class RunsServicer:
    """See runs.proto for what each RPC does and which errors it returns."""

    def __init__(self, app: AppContext) -> None:
        self.app = app

    def _run_message(self, conn: Any, record: store.RunRecord) -> runs_pb2.Run:
        return runs_pb2.Run(
            id=record.id,
            display_name=record.display_name,
            version=record.version,
            created_at=convert.timestamp(record.created_at),
            config=config_to_proto(RunConfig.from_dict(record.config)),
            tables=[convert.table_info(t) for t in tables.list_tables(conn, record.id)],
        )

    async def CreateRun(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        with self.app.db.begin() as conn:
            config = config_from_proto(request.config)
            validate(config)
            record = store.create_run(
                conn,
                owner_id=principal.user_id,
                display_name=request.display_name,
                config=config.to_dict(),
            )
            return runs_pb2.CreateRunResponse(run=self._run_message(conn, record))

    async def GetRun(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        with self.app.db.connect() as conn:
            record = store.get_owned_run(conn, request.run_id, principal.user_id)
            return runs_pb2.GetRunResponse(run=self._run_message(conn, record))

    async def ListRuns(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        limit, offset = page_bounds(request.page_size, request.page_token)
        with self.app.db.connect() as conn:
            records = store.list_runs(
                conn,
                owner_id=principal.user_id,
                display_name=request.display_name,
                limit=limit,
                offset=offset,
            )
            return runs_pb2.ListRunsResponse(
                runs=[self._run_message(conn, r) for r in records],
                next_page_token=next_token(offset, limit, len(records)),
            )

    async def UploadTable(self, requests: AsyncIterator[Any], context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        iterator = requests.__aiter__()
        first = await anext(iterator, None)
        if first is None or isinstance(first, memoryview) or not first.HasField("header"):
            raise InvalidArgumentError(
                "the first message of UploadTable must be a header (run_id, table_name, role).",
                field="header",
                reason="MISSING_HEADER",
            )
        header = first.header
        role = convert.table_role(header.role)
        tables.validate_table_name(header.table_name)
        with self.app.db.connect() as conn:
            store.get_owned_run(conn, header.run_id, principal.user_id)
            superseded = (
                tables.find_table(conn, header.run_id, header.table_name, role)
                if header.replace
                else None
            )
        if superseded is not None:
            self.app.blobs.uncache_in_background(superseded.relative_path)
        stored, shape = await tables.receive_stream(
            self.app.blobs, iterator, expected_sha256=header.expected_sha256
        )
        try:
            with self.app.blobs.releasing() as released, self.app.db.begin() as conn:
                table = tables.register_table(
                    conn,
                    released,
                    run_id=header.run_id,
                    name=header.table_name,
                    role=role,
                    stored=stored,
                    shape=shape,
                    replace=header.replace,
                )
        except BaseException:
            self.app.blobs.delete(stored.relative_path)
            raise
        return runs_pb2.UploadTableResponse(table=convert.table_info(table))

    async def DownloadTable(self, request: Any, context: Any) -> AsyncIterator[Any]:  # noqa: N802
        principal = current_principal()
        with self.app.db.connect() as conn:
            store.get_owned_run(conn, request.run_id, principal.user_id)
            table = tables.get_table(
                conn, request.run_id, request.table_name, convert.table_role(request.role)
            )
        yield runs_pb2.DownloadTableResponse(header=convert.table_info(table))
        for chunk in self.app.blobs.iter_ipc_chunks(table.relative_path, DOWNLOAD_CHUNK_BYTES):
            yield frame_bytes_field(chunk)

    async def ListTables(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        with self.app.db.connect() as conn:
            store.get_owned_run(conn, request.run_id, principal.user_id)
            return runs_pb2.ListTablesResponse(
                tables=[convert.table_info(t) for t in tables.list_tables(conn, request.run_id)]
            )

    async def DeleteTable(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        role = (
            None
            if request.role == common_pb2.TABLE_ROLE_UNSPECIFIED
            else convert.table_role(request.role)
        )
        with self.app.blobs.releasing() as released, self.app.db.begin() as conn:
            store.get_owned_run(conn, request.run_id, principal.user_id)
            tables.delete_table(conn, released, request.run_id, request.table_name, role)
        return runs_pb2.DeleteTableResponse()

    async def DescribeTable(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        with self.app.db.connect() as conn:
            store.get_owned_run(conn, request.run_id, principal.user_id)
            table = tables.get_table(
                conn, request.run_id, request.table_name, convert.table_role(request.role)
            )
        output = await self.app.engines.run(
            "describe",
            {},
            [
                TaskInput(
                    "table",
                    self.app.blobs.path(table.relative_path),
                    table.sha256,
                    table.size_bytes,
                )
            ],
        )
        try:
            path = output.files[0].writer.temp_path
            with pa.OSFile(str(path), "rb") as source:
                stats = ipc.open_stream(source).read_all().to_pylist()
        finally:
            output.discard()
        return runs_pb2.DescribeTableResponse(
            num_rows=int(output.summary.get("num_rows", 0)),
            columns=[
                common_pb2.ColumnStatistics(**{k: v for k, v in s.items() if v is not None})
                for s in stats
            ],
        )

    async def DeleteRun(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        with self.app.db.connect() as conn:
            store.get_owned_run(conn, request.run_id, principal.user_id)
            running = jobs.list_jobs(
                conn,
                owner_id=principal.user_id,
                run_id=request.run_id,
                statuses=["queued", "pending"],
                limit=500,
            )
        for job in running:
            self.app.services["dispatcher"].cancel(job.id)
        with self.app.blobs.releasing() as released, self.app.db.begin() as conn:
            for blob_id in store.delete_run(conn, request.run_id):
                tables.release_blob(conn, released, blob_id)
        return runs_pb2.DeleteRunResponse()

    async def GetConfig(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        with self.app.db.connect() as conn:
            run = store.get_owned_run(conn, request.run_id, principal.user_id)
        return runs_pb2.GetConfigResponse(config=config_to_proto(RunConfig.from_dict(run.config)))

    async def SetConfig(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        config = config_from_proto(request.config)
        validate(config)
        with self.app.db.begin() as conn:
            store.get_owned_run(conn, request.run_id, principal.user_id)
            store.set_config(conn, request.run_id, config.to_dict())
        return runs_pb2.SetConfigResponse(config=config_to_proto(config))

    async def ImportYaml(self, request: Any, context: Any) -> Any:  # noqa: N802
        from veil_service.runs.yaml_io import config_from_yaml

        principal = current_principal()
        config, _display_name, warnings = config_from_yaml(request.yaml)
        with self.app.db.begin() as conn:
            store.get_owned_run(conn, request.run_id, principal.user_id)
            store.set_config(conn, request.run_id, config.to_dict())
        return runs_pb2.ImportYamlResponse(config=config_to_proto(config), warnings=warnings)

    async def ExportYaml(self, request: Any, context: Any) -> Any:  # noqa: N802
        from veil_service.runs.yaml_io import config_to_yaml

        principal = current_principal()
        with self.app.db.connect() as conn:
            run = store.get_owned_run(conn, request.run_id, principal.user_id)
        return runs_pb2.ExportYamlResponse(
            yaml=config_to_yaml(RunConfig.from_dict(run.config), run.display_name)
        )

    async def StartJobs(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        kinds = []
        for kind in request.kinds:
            if kind not in JOB_KIND:
                raise InvalidArgumentError(f"unknown job kind {kind}.", field="kinds")
            kinds.append(JOB_KIND[kind])
        warnings: list[str] = []
        with self.app.db.begin() as conn:
            run = store.get_owned_run(conn, request.run_id, principal.user_id)
            has_jobs = bool(
                jobs.list_jobs(conn, owner_id=principal.user_id, run_id=run.id, limit=1)
            )
            config = RunConfig.from_dict(run.config)
            run_tables = tables.list_tables(conn, run.id)
            steps = jobs.plan(
                kinds,
                config,
                run_tables,
                jobs.finished_kinds(conn, run.id) if request.reuse_run else set(),
            )
            if has_jobs and not request.reuse_run:
                run = store.copy_as_new_version(conn, run)
                warnings.append(
                    f"this run already had jobs: a new version ({run.version}) of "
                    f"{run.display_name!r} was created with id {run.id}."
                )
            created = jobs.create_jobs(
                conn, run_id=run.id, owner_id=principal.user_id, steps=steps, params={}
            )
        self.app.services["dispatcher"].wake.set()
        return runs_pb2.StartJobsResponse(
            run_id=run.id, jobs=[job_to_proto(j) for j in created], warnings=warnings
        )

    async def GetJob(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        with self.app.db.connect() as conn:
            job = jobs.get_job(conn, request.job_id, principal.user_id)
        return runs_pb2.GetJobResponse(job=job_to_proto(job))

    async def WatchJobs(self, request: Any, context: Any) -> AsyncIterator[Any]:  # noqa: N802
        import asyncio

        principal = current_principal()
        if not request.run_id and not request.job_ids:
            raise InvalidArgumentError("give run_id or job_ids to watch.", field="run_id")
        seen: dict[str, tuple[str, float, str]] = {}
        while True:
            with self.app.db.connect() as conn:
                if request.run_id:
                    store.get_owned_run(conn, request.run_id, principal.user_id)
                    watched = jobs.list_jobs(
                        conn, owner_id=principal.user_id, run_id=request.run_id, limit=500
                    )
                else:
                    watched = [jobs.get_job(conn, j, principal.user_id) for j in request.job_ids]
            for job in sorted(watched, key=lambda j: j.created_at):
                state = (job.status, round(job.progress, 3), job.phase)
                if seen.get(job.id) != state:
                    seen[job.id] = state
                    yield runs_pb2.WatchJobsResponse(job=job_to_proto(job))
            if all(job.done for job in watched):
                return
            await asyncio.sleep(0.25)

    async def ListJobs(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        limit, offset = page_bounds(request.page_size, request.page_token)
        with self.app.db.connect() as conn:
            if request.run_id:
                store.get_owned_run(conn, request.run_id, principal.user_id)
            found = jobs.list_jobs(
                conn,
                owner_id=principal.user_id,
                run_id=request.run_id,
                display_name=request.display_name,
                kinds=[JOB_KIND[k] for k in request.kinds if k in JOB_KIND],
                statuses=[JOB_STATUS[s] for s in request.statuses if s in JOB_STATUS],
                limit=limit,
                offset=offset,
            )
        return runs_pb2.ListJobsResponse(
            jobs=[job_to_proto(j) for j in found],
            next_page_token=next_token(offset, limit, len(found)),
        )

    async def CancelJob(self, request: Any, context: Any) -> Any:  # noqa: N802
        import asyncio

        principal = current_principal()
        with self.app.db.begin() as conn:
            job = jobs.get_job(conn, request.job_id, principal.user_id)
            if job.done:
                raise FailedPreconditionError(
                    f"job {job.id} already ended ({job.status}).", reason="JOB_DONE"
                )
            if job.status == "queued":
                jobs.finish(conn, job.id, "cancelled", "cancelled by its owner.")
        if self.app.services["dispatcher"].cancel(job.id):
            for _ in range(100):
                with self.app.db.connect() as conn:
                    job = jobs.get_job(conn, request.job_id, principal.user_id)
                if job.done:
                    break
                await asyncio.sleep(0.05)
        with self.app.db.connect() as conn:
            job = jobs.get_job(conn, request.job_id, principal.user_id)
        return runs_pb2.CancelJobResponse(job=job_to_proto(job))

    async def DeleteJobs(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        with self.app.blobs.releasing() as released, self.app.db.begin() as conn:
            count = jobs.delete_jobs(conn, released, list(request.job_ids), principal.user_id)
        return runs_pb2.DeleteJobsResponse(deleted_count=count)

    async def ListResults(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        with self.app.db.connect() as conn:
            if request.job_id:
                job = jobs.get_job(conn, request.job_id, principal.user_id)
                found = results.list_results(conn, job_id=job.id)
            else:
                store.get_owned_run(conn, request.run_id, principal.user_id)
                found = results.list_results(conn, run_id=request.run_id)
        return runs_pb2.ListResultsResponse(results=[result_to_proto(r) for r in found])

    async def DownloadResult(self, request: Any, context: Any) -> AsyncIterator[Any]:  # noqa: N802
        principal = current_principal()
        with self.app.db.connect() as conn:
            result = results.get_owned_result(conn, request.result_id, principal.user_id)
        yield runs_pb2.DownloadResultResponse(header=result_to_proto(result))
        for chunk in self.app.blobs.iter_chunks(result.relative_path, DOWNLOAD_CHUNK_BYTES):
            yield frame_bytes_field(chunk)

    async def AdviseParameters(self, request: Any, context: Any) -> Any:  # noqa: N802
        import json

        principal = current_principal()
        with self.app.db.connect() as conn:
            store.get_owned_run(conn, request.run_id, principal.user_id)
            table = tables.get_table(conn, request.run_id, request.table_name, "original")
        output = await self.app.engines.run(
            "advice",
            {"table_name": table.name},
            [
                TaskInput(
                    "original",
                    self.app.blobs.path(table.relative_path),
                    table.sha256,
                    table.size_bytes,
                )
            ],
        )
        try:
            advice = json.loads(output.files[0].writer.temp_path.read_text())
        finally:
            output.discard()
        params = advice.get("parameters", {})
        message = runs_pb2.AdviseParametersResponse(
            notes=advice.get("notes", []), flagged_columns=advice.get("flagged_columns", [])
        )
        for key in ("k", "ncp", "use_categorical_reduction"):
            if params.get(key) is not None:
                setattr(message.parameters, key, params[key])
        impute = {v: k for k, v in IMPUTE.items()}.get(params.get("imputation_method", ""))
        if impute is not None:
            message.parameters.imputation.method = impute
        if params.get("exclude_variable_names"):
            message.parameters.exclude_variable_names.extend(params["exclude_variable_names"])
            message.parameters.exclude_variables_method = {v: k for k, v in EXCLUDE.items()}[
                params.get("exclude_variables_method", "coordinate_similarity")
            ]
        return message
