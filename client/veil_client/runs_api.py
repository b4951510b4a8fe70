"""The thin per-RPC layer over RunsService (the Runner builds on it)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from veil.v1 import common_pb2, runs_pb2, runs_pb2_grpc

from veil_client.errors import InvalidArgument
from veil_client.tables import (
    TableSource,
    open_source,
    parse_chunk,
    read_arrow,
    split_download,
    upload_messages,
    write_bytes,
)
from veil_client.transport import Transport, translate_errors
from veil_client.wire import StreamStats, chunk_serializer

ROLES = {"original": common_pb2.TABLE_ROLE_ORIGINAL, "avatar": common_pb2.TABLE_ROLE_AVATAR}
UPLOAD_TIMEOUT_S = 6 * 3600.0


@dataclass(frozen=True)
class UploadedTable:
    """What the server stored, and what the client computed while sending."""

    name: str
    num_rows: int
    num_columns: int
    size_bytes: int
    sha256: str
    client_sha256: str
    columns: list[tuple[str, str]]


def table_info_dict(info: Any) -> dict[str, Any]:
    """A TableInfo message as a plain dict."""
    return {
        "name": info.name,
        "num_rows": info.num_rows,
        "num_columns": info.num_columns,
        "size_bytes": info.size_bytes,
        "sha256": info.sha256,
        "columns": [(c.name, c.arrow_type) for c in info.columns],
    }


class RunsApi:
    """RunsService calls with credentials, deadlines and error mapping."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.stub = runs_pb2_grpc.RunsServiceStub(transport.channel)
        channel = transport.channel
        self._upload = channel.stream_unary(
            "/veil.v1.RunsService/UploadTable",
            request_serializer=chunk_serializer,
            response_deserializer=runs_pb2.UploadTableResponse.FromString,
        )
        self._download = channel.unary_stream(
            "/veil.v1.RunsService/DownloadTable",
            request_serializer=runs_pb2.DownloadTableRequest.SerializeToString,
            response_deserializer=lambda raw: parse_chunk(raw, runs_pb2.DownloadTableResponse),
        )
        self._download_result = channel.unary_stream(
            "/veil.v1.RunsService/DownloadResult",
            request_serializer=runs_pb2.DownloadResultRequest.SerializeToString,
            response_deserializer=lambda raw: parse_chunk(raw, runs_pb2.DownloadResultResponse),
        )

    def create_run(self, display_name: str) -> Any:
        """Create a run; returns the Run message."""
        return self.transport.call(
            self.stub.CreateRun, runs_pb2.CreateRunRequest(display_name=display_name)
        ).run

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
    ) -> UploadedTable:
        """Stream a table (path, DataFrame or Arrow table) into a run.

        Args:
            verify_sha256: Hash the stream on the client as well and check it against the
                digest the server computed (``client_sha256`` of the result); costs about 0.5
                CPU second per GB on the client. Without it ``client_sha256`` is empty.

        Raises:
            InvalidArgument: with ``verify_sha256``, the server stored other bytes than sent
                (the table stays registered: upload it again with ``replace=True``).
        """
        encoded = open_source(source, types)
        stats = StreamStats()
        header = runs_pb2.UploadTableRequest(
            header=runs_pb2.UploadTableHeader(
                run_id=run_id, table_name=name, role=ROLES[role], replace=replace
            )
        )
        with translate_errors():
            response = self._upload(
                upload_messages(header, encoded, stats, f"upload {name}", digest=verify_sha256),
                metadata=self.transport.metadata(),
                timeout=UPLOAD_TIMEOUT_S,
            )
        info = table_info_dict(response.table)
        if verify_sha256 and stats.sha256 != info["sha256"]:
            raise InvalidArgument(
                f"the server stored table {name!r} with sha256 "
                f"{info['sha256']}, but the client sent {stats.sha256}; "
                "upload it again with replace=True.",
                field="data",
            )
        return UploadedTable(
            info["name"],
            info["num_rows"],
            info["num_columns"],
            info["size_bytes"],
            info["sha256"],
            stats.sha256,
            info["columns"],
        )

    def _download_stream(self, run_id: str, name: str, role: str) -> tuple[Any, Iterator[Any]]:
        request = runs_pb2.DownloadTableRequest(run_id=run_id, table_name=name, role=ROLES[role])
        responses = self._download(
            request, metadata=self.transport.metadata(), timeout=UPLOAD_TIMEOUT_S
        )
        header, chunks = split_download(responses)
        return header.header, chunks

    def download_arrow(
        self, run_id: str, name: str, role: str = "original", *, verify_sha256: bool = False
    ) -> pa.Table:
        """Download a table as an Arrow table.

        Args:
            verify_sha256: Check the bytes against the sha256 the server recorded at upload
                (about 0.5 CPU second per GB on the client).
        """
        with translate_errors():
            info, chunks = self._download_stream(run_id, name, role)
            return read_arrow(chunks, info.sha256 if verify_sha256 else "")

    def download_dataframe(self, run_id: str, name: str, role: str = "original") -> pd.DataFrame:
        """Download a table as a DataFrame."""
        frame: pd.DataFrame = self.download_arrow(run_id, name, role).to_pandas()
        return frame

    def download_to_file(
        self, run_id: str, name: str, path: str | Path, role: str = "original"
    ) -> dict[str, Any]:
        """Write a table's Arrow IPC stream to ``path`` in bounded memory; returns its info."""
        with translate_errors():
            info, chunks = self._download_stream(run_id, name, role)
            sha = write_bytes(chunks, Path(path), info.sha256, info.size_bytes)
        result = table_info_dict(info)
        result["client_sha256"] = sha
        return result

    def download_result(self, result_id: str, path: Path | None = None) -> tuple[Any, bytes | None]:
        """Download a result: to ``path`` (returns header, None) or in memory (header, bytes)."""
        request = runs_pb2.DownloadResultRequest(result_id=result_id)
        with translate_errors():
            responses = self._download_result(
                request, metadata=self.transport.metadata(), timeout=UPLOAD_TIMEOUT_S
            )
            header, chunks = split_download(responses)
            if path is not None:
                write_bytes(chunks, path, header.header.sha256, header.header.size_bytes)
                return header.header, None
            data = b"".join(bytes(c) for c in chunks)
        return header.header, data

    def describe_table(self, run_id: str, name: str, role: str = "original") -> pd.DataFrame:
        """Per-column statistics computed by the engine."""
        response = self.transport.call(
            self.stub.DescribeTable,
            runs_pb2.DescribeTableRequest(run_id=run_id, table_name=name, role=ROLES[role]),
            timeout=3600,
        )
        rows = []
        for column in response.columns:
            rows.append(
                {
                    "name": column.name,
                    "arrow_type": column.arrow_type,
                    "null_count": column.null_count,
                    "distinct_count": column.distinct_count,
                    **{
                        k: getattr(column, k) if column.HasField(k) else None
                        for k in ("min", "max", "mean", "std")
                    },
                }
            )
        return pd.DataFrame(rows)
