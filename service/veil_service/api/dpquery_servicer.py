"""DPQueryService servicer: decode, check the caller, call the dpquery domain, encode."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from veil.v1 import common_pb2, dpquery_pb2, dpquery_pb2_grpc
from veil_wire.framing import frame_bytes_field

from veil_service.api import ServicerContext
from veil_service.api import dpquery_convert as convert
from veil_service.api.paging import next_token, page_bounds
from veil_service.arrow_tables import describe_schema
from veil_service.auth.principal import current_principal
from veil_service.context import AppContext
from veil_service.dpquery import catalog
from veil_service.dpquery.progress import QueryProgress
from veil_service.dpquery.queries import DPQueries, make_dummy_table
from veil_service.ipc_framing import read_aligned
from veil_service.storage.blobs import READ_CHUNK_BYTES
from veil_service.storage.db_calls import db_call


class DPQueryServicer(dpquery_pb2_grpc.DPQueryServiceServicer):
    """See dpquery.proto for what each RPC does and which errors it returns."""

    def __init__(self, app: AppContext, queries: DPQueries) -> None:
        self.app = app
        self.queries = queries

    async def ListDatasets(  # noqa: N802
        self, request: dpquery_pb2.ListDatasetsRequest, context: ServicerContext
    ) -> dpquery_pb2.ListDatasetsResponse:
        principal = current_principal()
        return dpquery_pb2.ListDatasetsResponse(
            datasets=[
                convert.dataset_summary(grant, record)
                for grant, record in await db_call(
                    catalog.my_datasets, self.app.db, principal.user_id
                )
            ]
        )

    async def GetDatasetMetadata(  # noqa: N802
        self, request: dpquery_pb2.GetDatasetMetadataRequest, context: ServicerContext
    ) -> dpquery_pb2.GetDatasetMetadataResponse:
        principal = current_principal()
        metadata = await db_call(
            catalog.metadata_of, self.app.db, principal.user_id, request.dataset
        )
        return dpquery_pb2.GetDatasetMetadataResponse(metadata_json=json.dumps(metadata))

    async def GetDummyDataset(  # type: ignore[override]  # noqa: N802
        self, request: dpquery_pb2.GetDummyDatasetRequest, context: ServicerContext
    ) -> AsyncIterator[dpquery_pb2.GetDummyDatasetResponse | bytes]:
        # After the header, chunks go out pre-framed (bytes) so gRPC sends them without a copy.
        principal = current_principal()
        table = await make_dummy_table(
            self.app, principal.user_id, request.dataset, request.nb_rows, request.seed
        )
        try:
            columns = describe_schema(table.schema)
            yield dpquery_pb2.GetDummyDatasetResponse(
                header=common_pb2.TableInfo(
                    name=table.dataset,
                    num_rows=table.num_rows,
                    num_columns=len(columns),
                    size_bytes=table.size_bytes,
                    sha256=table.sha256,
                    columns=[
                        common_pb2.ColumnInfo(
                            name=c.name, arrow_type=c.arrow_type, nullable=c.nullable
                        )
                        for c in columns
                    ],
                )
            )
            for chunk in read_aligned(table.path, READ_CHUNK_BYTES):
                yield frame_bytes_field(chunk)
        finally:
            table.close()

    async def GetBudget(  # noqa: N802
        self, request: dpquery_pb2.GetBudgetRequest, context: ServicerContext
    ) -> dpquery_pb2.GetBudgetResponse:
        principal = current_principal()
        return convert.budget_response(
            await db_call(catalog.budget_of, self.app.db, principal.user_id, request.dataset)
        )

    async def ListPreviousQueries(  # noqa: N802
        self, request: dpquery_pb2.ListPreviousQueriesRequest, context: ServicerContext
    ) -> dpquery_pb2.ListPreviousQueriesResponse:
        principal = current_principal()
        limit, offset = page_bounds(request.page_size, request.page_token)
        records = await db_call(
            catalog.previous_queries,
            self.app.db,
            principal.user_id,
            request.dataset,
            limit=limit,
            offset=offset,
            oldest_first=request.oldest_first,
        )
        return dpquery_pb2.ListPreviousQueriesResponse(
            queries=[convert.query_record(r) for r in records],
            next_page_token=next_token(offset, limit, len(records)),
        )

    async def Query(  # noqa: N802
        self, request: dpquery_pb2.QueryRequest, context: ServicerContext
    ) -> dpquery_pb2.QueryResponse:
        principal = current_principal()
        spec = convert.spec_from_proto(request.spec)
        answer = await self.queries.query(principal.user_id, spec)
        return convert.query_response(answer)

    async def QueryWithProgress(  # noqa: N802
        self, request: dpquery_pb2.QueryWithProgressRequest, context: ServicerContext
    ) -> AsyncIterator[dpquery_pb2.QueryWithProgressResponse]:
        # Progress messages are queued by the query (dpquery.progress decides what a private
        # query may send and when); the answer is sent after every message queued before it.
        principal = current_principal()
        spec = convert.spec_from_proto(request.spec)
        messages: asyncio.Queue[QueryProgress] = asyncio.Queue()
        query = asyncio.ensure_future(
            self.queries.query(principal.user_id, spec, messages.put_nowait)
        )
        waiting: asyncio.Future[QueryProgress] | None = None
        try:
            while not query.done():
                waiting = asyncio.ensure_future(messages.get())
                await asyncio.wait({waiting, query}, return_when=asyncio.FIRST_COMPLETED)
                if waiting.done():
                    yield convert.progress_response(waiting.result())
                else:
                    waiting.cancel()
            while not messages.empty():
                yield convert.progress_response(messages.get_nowait())
            yield dpquery_pb2.QueryWithProgressResponse(
                response=convert.query_response(query.result())
            )
        finally:
            if waiting is not None and not waiting.done():
                waiting.cancel()
            if not query.done():
                # The caller went away: cancel as Query would be (the query settles its charge).
                query.cancel()
                await asyncio.wait({query})
            elif not query.cancelled():
                query.exception()  # retrieved: raised above, or the stream was closed

    async def EstimateCost(  # noqa: N802
        self, request: dpquery_pb2.EstimateCostRequest, context: ServicerContext
    ) -> dpquery_pb2.EstimateCostResponse:
        principal = current_principal()
        spec = convert.spec_from_proto(request.spec)
        value = await self.queries.estimate_cost(principal.user_id, spec)
        return dpquery_pb2.EstimateCostResponse(cost=convert.cost(value))
