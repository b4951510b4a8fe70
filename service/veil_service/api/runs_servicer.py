"""RunsService servicer: decode, name the caller, call the runs domain (runs.service), encode."""

from __future__ import annotations

from collections.abc import AsyncIterator

from veil.v1 import common_pb2, runs_pb2, runs_pb2_grpc
from veil_wire.framing import frame_bytes_field

from veil_service.api import ServicerContext, convert
from veil_service.api.paging import next_token, page_bounds
from veil_service.api.runs_convert import (
    JOB_KIND,
    JOB_STATUS,
    advice_to_proto,
    config_from_proto,
    config_to_proto,
    description_to_proto,
    job_to_proto,
    links_advice_to_proto,
    privacy_targets_of,
    result_to_proto,
    run_to_proto,
)
from veil_service.auth.principal import current_principal
from veil_service.errors import InvalidArgumentError, Reason
from veil_service.runs.service import RunsService
from veil_service.storage.db_calls import db_call

DOWNLOAD_CHUNK_BYTES = 1 << 20


class RunsServicer(runs_pb2_grpc.RunsServiceServicer):
    """See runs.proto for what each RPC does and which errors it returns."""

    def __init__(self, runs: RunsService) -> None:
        self.runs = runs

    async def CreateRun(  # noqa: N802
        self, request: runs_pb2.CreateRunRequest, context: ServicerContext
    ) -> runs_pb2.CreateRunResponse:
        run = await db_call(
            self.runs.create_run,
            current_principal().user_id,
            request.display_name,
            config_from_proto(request.config),
        )
        return runs_pb2.CreateRunResponse(run=run_to_proto(run))

    async def GetRun(  # noqa: N802
        self, request: runs_pb2.GetRunRequest, context: ServicerContext
    ) -> runs_pb2.GetRunResponse:
        run = await db_call(self.runs.get_run, current_principal().user_id, request.run_id)
        return runs_pb2.GetRunResponse(run=run_to_proto(run))

    async def CopyRun(  # noqa: N802
        self, request: runs_pb2.CopyRunRequest, context: ServicerContext
    ) -> runs_pb2.CopyRunResponse:
        run = await db_call(
            self.runs.copy_run,
            current_principal().user_id,
            request.run_id,
            request.display_name,
        )
        return runs_pb2.CopyRunResponse(run=run_to_proto(run))

    async def ListRuns(  # noqa: N802
        self, request: runs_pb2.ListRunsRequest, context: ServicerContext
    ) -> runs_pb2.ListRunsResponse:
        limit, offset = page_bounds(request.page_size, request.page_token)
        found = await db_call(
            self.runs.list_runs,
            current_principal().user_id,
            display_name=request.display_name,
            limit=limit,
            offset=offset,
        )
        return runs_pb2.ListRunsResponse(
            runs=[run_to_proto(r) for r in found],
            next_page_token=next_token(offset, limit, len(found)),
        )

    async def DeleteRun(  # noqa: N802
        self, request: runs_pb2.DeleteRunRequest, context: ServicerContext
    ) -> runs_pb2.DeleteRunResponse:
        await db_call(self.runs.delete_run, current_principal().user_id, request.run_id)
        return runs_pb2.DeleteRunResponse()

    async def UploadTable(  # noqa: N802
        self,
        request_iterator: AsyncIterator[runs_pb2.UploadTableRequest | memoryview],
        context: ServicerContext,
    ) -> runs_pb2.UploadTableResponse:
        # The zero-copy codec delivers the header as a message and the table bytes as memoryviews.
        principal = current_principal()
        iterator = request_iterator.__aiter__()
        first = await anext(iterator, None)
        if first is None or isinstance(first, memoryview) or not first.HasField("header"):
            raise InvalidArgumentError(
                "the first message of UploadTable must be a header (run_id, table_name, role).",
                field="header",
                reason=Reason.MISSING_HEADER,
            )
        header = first.header
        table = await self.runs.upload_table(
            principal.user_id,
            run_id=header.run_id,
            table_name=header.table_name,
            role=convert.table_role(header.role),
            replace=header.replace,
            expected_sha256=header.expected_sha256,
            chunks=iterator,
        )
        return runs_pb2.UploadTableResponse(table=convert.table_info(table))

    async def DownloadTable(  # type: ignore[override]  # noqa: N802
        self, request: runs_pb2.DownloadTableRequest, context: ServicerContext
    ) -> AsyncIterator[runs_pb2.DownloadTableResponse | bytes]:
        # After the header, chunks go out pre-framed (bytes) so gRPC sends them without a copy.
        table = await db_call(
            self.runs.get_table,
            current_principal().user_id,
            request.run_id,
            request.table_name,
            convert.table_role(request.role),
        )
        yield runs_pb2.DownloadTableResponse(header=convert.table_info(table))
        for chunk in self.runs.table_chunks(table, DOWNLOAD_CHUNK_BYTES):
            yield frame_bytes_field(chunk)

    async def ListTables(  # noqa: N802
        self, request: runs_pb2.ListTablesRequest, context: ServicerContext
    ) -> runs_pb2.ListTablesResponse:
        found = await db_call(self.runs.list_tables, current_principal().user_id, request.run_id)
        return runs_pb2.ListTablesResponse(tables=[convert.table_info(t) for t in found])

    async def DeleteTable(  # noqa: N802
        self, request: runs_pb2.DeleteTableRequest, context: ServicerContext
    ) -> runs_pb2.DeleteTableResponse:
        role = (
            None
            if request.role == common_pb2.TABLE_ROLE_UNSPECIFIED
            else convert.table_role(request.role)
        )
        await db_call(
            self.runs.delete_table,
            current_principal().user_id,
            request.run_id,
            request.table_name,
            role,
        )
        return runs_pb2.DeleteTableResponse()

    async def DescribeTable(  # noqa: N802
        self, request: runs_pb2.DescribeTableRequest, context: ServicerContext
    ) -> runs_pb2.DescribeTableResponse:
        description = await self.runs.describe_table(
            current_principal().user_id,
            request.run_id,
            request.table_name,
            convert.table_role(request.role),
        )
        return description_to_proto(description)

    async def GetConfig(  # noqa: N802
        self, request: runs_pb2.GetConfigRequest, context: ServicerContext
    ) -> runs_pb2.GetConfigResponse:
        config = await db_call(self.runs.get_config, current_principal().user_id, request.run_id)
        return runs_pb2.GetConfigResponse(config=config_to_proto(config))

    async def SetConfig(  # noqa: N802
        self, request: runs_pb2.SetConfigRequest, context: ServicerContext
    ) -> runs_pb2.SetConfigResponse:
        config = await db_call(
            self.runs.set_config,
            current_principal().user_id,
            request.run_id,
            config_from_proto(request.config),
        )
        return runs_pb2.SetConfigResponse(config=config_to_proto(config))

    async def ImportYaml(  # noqa: N802
        self, request: runs_pb2.ImportYamlRequest, context: ServicerContext
    ) -> runs_pb2.ImportYamlResponse:
        config, warnings = await self.runs.import_yaml(
            current_principal().user_id, request.run_id, request.yaml
        )
        return runs_pb2.ImportYamlResponse(config=config_to_proto(config), warnings=warnings)

    async def ExportYaml(  # noqa: N802
        self, request: runs_pb2.ExportYamlRequest, context: ServicerContext
    ) -> runs_pb2.ExportYamlResponse:
        text = await db_call(self.runs.export_yaml, current_principal().user_id, request.run_id)
        return runs_pb2.ExportYamlResponse(yaml=text)

    async def StartJobs(  # noqa: N802
        self, request: runs_pb2.StartJobsRequest, context: ServicerContext
    ) -> runs_pb2.StartJobsResponse:
        kinds = []
        for kind in request.kinds:
            if kind not in JOB_KIND:
                raise InvalidArgumentError(f"unknown job kind {kind}.", field="kinds")
            kinds.append(JOB_KIND[kind])
        started = await self.runs.start_jobs(
            current_principal().user_id,
            request.run_id,
            kinds,
            reuse_run=request.reuse_run,
            display_name=request.display_name,
        )
        return runs_pb2.StartJobsResponse(
            run_id=started.run.id,
            jobs=[job_to_proto(j) for j in started.jobs],
            warnings=started.warnings,
        )

    async def GetJob(  # noqa: N802
        self, request: runs_pb2.GetJobRequest, context: ServicerContext
    ) -> runs_pb2.GetJobResponse:
        job = await db_call(self.runs.get_job, current_principal().user_id, request.job_id)
        return runs_pb2.GetJobResponse(job=job_to_proto(job))

    async def WatchJobs(  # noqa: N802
        self, request: runs_pb2.WatchJobsRequest, context: ServicerContext
    ) -> AsyncIterator[runs_pb2.WatchJobsResponse]:
        changes = self.runs.watch_jobs(
            current_principal().user_id, run_id=request.run_id, job_ids=list(request.job_ids)
        )
        async for job in changes:
            yield runs_pb2.WatchJobsResponse(job=job_to_proto(job))

    async def ListJobs(  # noqa: N802
        self, request: runs_pb2.ListJobsRequest, context: ServicerContext
    ) -> runs_pb2.ListJobsResponse:
        limit, offset = page_bounds(request.page_size, request.page_token)
        found = await db_call(
            self.runs.list_jobs,
            current_principal().user_id,
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

    async def CancelJob(  # noqa: N802
        self, request: runs_pb2.CancelJobRequest, context: ServicerContext
    ) -> runs_pb2.CancelJobResponse:
        job = await self.runs.cancel_job(current_principal().user_id, request.job_id)
        return runs_pb2.CancelJobResponse(job=job_to_proto(job))

    async def DeleteJobs(  # noqa: N802
        self, request: runs_pb2.DeleteJobsRequest, context: ServicerContext
    ) -> runs_pb2.DeleteJobsResponse:
        count = await db_call(
            self.runs.delete_jobs, current_principal().user_id, list(request.job_ids)
        )
        return runs_pb2.DeleteJobsResponse(deleted_count=count)

    async def ListResults(  # noqa: N802
        self, request: runs_pb2.ListResultsRequest, context: ServicerContext
    ) -> runs_pb2.ListResultsResponse:
        found = await db_call(
            self.runs.list_results,
            current_principal().user_id,
            run_id=request.run_id,
            job_id=request.job_id,
        )
        return runs_pb2.ListResultsResponse(results=[result_to_proto(r) for r in found])

    async def DownloadResult(  # type: ignore[override]  # noqa: N802
        self, request: runs_pb2.DownloadResultRequest, context: ServicerContext
    ) -> AsyncIterator[runs_pb2.DownloadResultResponse | bytes]:
        # After the header, chunks go out pre-framed (bytes) so gRPC sends them without a copy.
        result = await db_call(self.runs.get_result, current_principal().user_id, request.result_id)
        yield runs_pb2.DownloadResultResponse(header=result_to_proto(result))
        for chunk in self.runs.result_chunks(result, DOWNLOAD_CHUNK_BYTES):
            yield frame_bytes_field(chunk)

    async def AdviseParameters(  # noqa: N802
        self, request: runs_pb2.AdviseParametersRequest, context: ServicerContext
    ) -> runs_pb2.AdviseParametersResponse:
        advice = await self.runs.advise_parameters(
            current_principal().user_id,
            request.run_id,
            request.table_name,
            privacy_targets=privacy_targets_of(request),
            target=request.target or None,
        )
        return advice_to_proto(advice)

    async def AdviseLinks(  # noqa: N802
        self, request: runs_pb2.AdviseLinksRequest, context: ServicerContext
    ) -> runs_pb2.AdviseLinksResponse:
        advice = await self.runs.advise_links(current_principal().user_id, request.run_id)
        return links_advice_to_proto(advice)
