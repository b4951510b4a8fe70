"""The thin per-RPC layer over DPQueryService (``DPClient`` builds on it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
from veil.v1 import dpquery_pb2, dpquery_pb2_grpc

from veil_client.tables import parse_chunk, read_arrow, split_download
from veil_client.transport import Transport, translate_errors

QUERY_TIMEOUT_S = 3600.0
"""Deadline of Query: model fitting and synthesizers may take minutes."""


@dataclass(frozen=True)
class Dummy:
    """Run on a dummy dataset of ``nb_rows`` rows drawn with ``seed`` (free) instead of the data."""

    nb_rows: int = 100
    seed: int = 42


class DPQueryApi:
    """DPQueryService calls with credentials, deadlines and error mapping."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.stub = dpquery_pb2_grpc.DPQueryServiceStub(transport.channel)
        self._dummy = transport.channel.unary_stream(
            "/veil.v1.DPQueryService/GetDummyDataset",
            request_serializer=dpquery_pb2.GetDummyDatasetRequest.SerializeToString,
            response_deserializer=lambda raw: parse_chunk(raw, dpquery_pb2.GetDummyDatasetResponse),
        )

    def list_datasets(self) -> list[Any]:
        """DatasetSummary messages of the caller's datasets."""
        return list(
            self.transport.call(self.stub.ListDatasets, dpquery_pb2.ListDatasetsRequest()).datasets
        )

    def metadata(self, dataset: str) -> dict[str, Any]:
        """A dataset's metadata (Lomas format)."""
        response = self.transport.call(
            self.stub.GetDatasetMetadata, dpquery_pb2.GetDatasetMetadataRequest(dataset=dataset)
        )
        value: dict[str, Any] = json.loads(response.metadata_json)
        return value

    def dummy_table(self, dataset: str, nb_rows: int, seed: int) -> pa.Table:
        """A seeded dummy dataset as an Arrow table."""
        request = dpquery_pb2.GetDummyDatasetRequest(dataset=dataset, nb_rows=nb_rows, seed=seed)
        with translate_errors():
            responses = self._dummy(
                request, metadata=tuple(self.transport.metadata()), timeout=QUERY_TIMEOUT_S
            )
            header, chunks = split_download(responses)
            return read_arrow(chunks, header.header.sha256)

    def budget(self, dataset: str) -> Any:
        """GetBudgetResponse of a dataset."""
        return self.transport.call(
            self.stub.GetBudget, dpquery_pb2.GetBudgetRequest(dataset=dataset)
        )

    def previous_queries(self, dataset: str) -> list[Any]:
        """Every QueryRecord of the caller on a dataset, newest first (all pages)."""
        records: list[Any] = []
        token = ""
        while True:
            response = self.transport.call(
                self.stub.ListPreviousQueries,
                dpquery_pb2.ListPreviousQueriesRequest(
                    dataset=dataset, page_size=500, page_token=token
                ),
            )
            records.extend(response.queries)
            token = response.next_page_token
            if not token:
                return records

    def spec(self, dataset: str, library: str, message: Any, dummy: Dummy | None) -> Any:
        """A QuerySpec message."""
        spec = dpquery_pb2.QuerySpec(
            dataset=dataset,
            mode=dpquery_pb2.QUERY_MODE_DUMMY if dummy else dpquery_pb2.QUERY_MODE_PRIVATE,
        )
        if dummy is not None:
            spec.dummy_nb_rows = dummy.nb_rows
            spec.dummy_seed = dummy.seed
        getattr(spec, library).CopyFrom(message)
        return spec

    def query(self, spec: Any) -> Any:
        """Query; returns the QueryResponse message."""
        return self.transport.call(
            self.stub.Query, dpquery_pb2.QueryRequest(spec=spec), timeout=QUERY_TIMEOUT_S
        )

    def estimate_cost(self, spec: Any) -> Any:
        """EstimateCost; returns the PrivacyCost message."""
        return self.transport.call(
            self.stub.EstimateCost,
            dpquery_pb2.EstimateCostRequest(spec=spec),
            timeout=QUERY_TIMEOUT_S,
        ).cost


def table_from_ipc(data: bytes) -> pa.Table:
    """An Arrow table from a complete IPC stream."""
    return ipc.open_stream(pa.BufferReader(data)).read_all()


def frame_from_arrow(table: pa.Table) -> pd.DataFrame:
    """A DataFrame with pandas' nullable dtypes for strings, booleans and integers with nulls,
    the dtypes the server's dummy generator uses."""
    columns: dict[str, Any] = {}
    for field, column in zip(table.schema, table.columns, strict=True):
        kind = field.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            columns[field.name] = column.to_pandas().astype("string")
        elif pa.types.is_boolean(kind):
            columns[field.name] = column.to_pandas().astype("boolean")
        elif pa.types.is_integer(kind) and column.null_count:
            bits = kind.bit_width
            columns[field.name] = column.to_pandas().astype(f"Int{bits}")
        else:
            columns[field.name] = column.to_pandas()
    return pd.DataFrame(columns)
