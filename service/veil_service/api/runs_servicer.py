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
from veil_service.auth.principal import current_principal
from veil_service.compute.protocol import TaskInput
from veil_service.context import AppContext
from veil_service.errors import InvalidArgumentError
from veil_service.runs import store, tables

DOWNLOAD_CHUNK_BYTES = 1 << 20


class RunsServicer:
    """See runs.proto for what each RPC does and which errors it returns."""

    def __init__(self, app: AppContext) -> None:
        self.app = app

    def _run_message(self, conn: Any, record: store.RunRecord) -> runs_pb2.Run:
        return runs_pb2.Run(
            id=record.id, display_name=record.display_name, version=record.version,
            created_at=convert.timestamp(record.created_at),
            tables=[convert.table_info(t) for t in tables.list_tables(conn, record.id)])

    async def CreateRun(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        with self.app.db.begin() as conn:
            record = store.create_run(conn, owner_id=principal.user_id,
                                      display_name=request.display_name)
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
            records = store.list_runs(conn, owner_id=principal.user_id,
                                      display_name=request.display_name, limit=limit,
                                      offset=offset)
            return runs_pb2.ListRunsResponse(
                runs=[self._run_message(conn, r) for r in records],
                next_page_token=next_token(offset, limit, len(records)))

    async def UploadTable(self, requests: AsyncIterator[Any], context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        iterator = requests.__aiter__()
        first = await anext(iterator, None)
        if first is None or isinstance(first, memoryview) or not first.HasField("header"):
            raise InvalidArgumentError(
                "the first message of UploadTable must be a header (run_id, table_name, role).",
                field="header", reason="MISSING_HEADER")
        header = first.header
        role = convert.table_role(header.role)
        tables.validate_table_name(header.table_name)
        with self.app.db.connect() as conn:
            store.get_owned_run(conn, header.run_id, principal.user_id)
        stored, shape = await tables.receive_stream(self.app.blobs, iterator,
                                                    expected_sha256=header.expected_sha256)
        try:
            with self.app.db.begin() as conn:
                table = tables.register_table(
                    conn, self.app.blobs, run_id=header.run_id, name=header.table_name,
                    role=role, stored=stored, shape=shape, replace=header.replace)
        except BaseException:
            self.app.blobs.delete(stored.relative_path)
            raise
        return runs_pb2.UploadTableResponse(table=convert.table_info(table))

    async def DownloadTable(self, request: Any, context: Any) -> AsyncIterator[Any]:  # noqa: N802
        principal = current_principal()
        with self.app.db.connect() as conn:
            store.get_owned_run(conn, request.run_id, principal.user_id)
            table = tables.get_table(conn, request.run_id, request.table_name,
                                     convert.table_role(request.role))
        yield runs_pb2.DownloadTableResponse(header=convert.table_info(table))
        for chunk in self.app.blobs.iter_chunks(table.relative_path, DOWNLOAD_CHUNK_BYTES):
            yield frame_bytes_field(chunk)

    async def ListTables(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        with self.app.db.connect() as conn:
            store.get_owned_run(conn, request.run_id, principal.user_id)
            return runs_pb2.ListTablesResponse(
                tables=[convert.table_info(t) for t in tables.list_tables(conn, request.run_id)])

    async def DeleteTable(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        role = None if request.role == common_pb2.TABLE_ROLE_UNSPECIFIED \
            else convert.table_role(request.role)
        with self.app.db.begin() as conn:
            store.get_owned_run(conn, request.run_id, principal.user_id)
            tables.delete_table(conn, self.app.blobs, request.run_id, request.table_name, role)
        return runs_pb2.DeleteTableResponse()

    async def DescribeTable(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        with self.app.db.connect() as conn:
            store.get_owned_run(conn, request.run_id, principal.user_id)
            table = tables.get_table(conn, request.run_id, request.table_name,
                                     convert.table_role(request.role))
        output = await self.app.engines.run("describe", {}, [TaskInput(
            "table", self.app.blobs.path(table.relative_path), table.sha256, table.size_bytes)])
        try:
            path = output.files[0].writer.temp_path
            with pa.OSFile(str(path), "rb") as source:
                stats = ipc.open_stream(source).read_all().to_pylist()
        finally:
            output.discard()
        return runs_pb2.DescribeTableResponse(
            num_rows=int(output.summary.get("num_rows", 0)),
            columns=[common_pb2.ColumnStatistics(**{k: v for k, v in s.items() if v is not None})
                     for s in stats])
