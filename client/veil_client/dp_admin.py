"""Administering DP datasets and grants (admin role): ``DPAdminClient(manager)``.

admin = DPAdminClient(manager)
admin.register_dataset("PENGUIN", "penguins.csv", "penguin_metadata.yaml")
admin.grant("alice", "PENGUIN", epsilon=10.0, delta=0.005)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from veil.v1 import admin_pb2, admin_pb2_grpc, dpquery_pb2

from veil_client.tables import TableSource, open_source, upload_messages
from veil_client.transport import Transport, translate_errors
from veil_client.wire import StreamStats, chunk_serializer

UPLOAD_TIMEOUT_S = 6 * 3600.0


def _metadata_text(metadata: str | os.PathLike[str] | dict[str, Any]) -> str:
    if isinstance(metadata, dict):
        import json

        return json.dumps(metadata)
    text = str(metadata)
    if "\n" not in text and Path(text).is_file():
        return Path(text).read_text(encoding="utf-8")
    return text


def dataset_dict(message: Any) -> dict[str, Any]:
    """A Dataset message as a plain dict."""
    return {
        "name": message.name,
        "num_rows": message.table.num_rows,
        "num_columns": message.table.num_columns,
        "sha256": message.table.sha256,
        "columns": [(c.name, c.arrow_type) for c in message.table.columns],
        "metadata_json": message.metadata_json,
    }


def grant_dict(message: Any) -> dict[str, Any]:
    """A Grant message as a plain dict."""
    return {
        "username": message.username,
        "dataset": message.dataset,
        "initial_epsilon": message.initial.epsilon,
        "initial_delta": message.initial.delta,
        "spent_epsilon": message.spent.epsilon,
        "spent_delta": message.spent.delta,
    }


class DPAdminClient:
    """AdminService calls about DP datasets and grants.

    Args:
        manager_or_transport: A ``Manager`` (its connection is used) or a ``Transport``.
    """

    def __init__(self, manager_or_transport: Any) -> None:
        transport: Transport = getattr(manager_or_transport, "transport", manager_or_transport)
        self.transport = transport
        self.stub = admin_pb2_grpc.AdminServiceStub(transport.channel)
        self._upload = transport.channel.stream_unary(
            "/veil.v1.AdminService/RegisterDataset",
            request_serializer=chunk_serializer,
            response_deserializer=admin_pb2.RegisterDatasetResponse.FromString,
        )

    def register_dataset(
        self, name: str, data: TableSource, metadata: str | os.PathLike[str] | dict[str, Any]
    ) -> dict[str, Any]:
        """Upload a table (CSV/Parquet path, DataFrame or Arrow table) as a DP dataset.

        Args:
            name: Dataset name analysts will use.
            data: The private data; only the metadata's columns are kept, typed as declared.
            metadata: Lomas metadata: a YAML/JSON file path, its text, or a dict.
        """
        header = admin_pb2.RegisterDatasetRequest(
            header=admin_pb2.RegisterDatasetHeader(
                name=name, metadata_yaml=_metadata_text(metadata)
            )
        )
        encoded = open_source(data)
        with translate_errors():
            response = self._upload(
                upload_messages(header, encoded, StreamStats(), f"upload {name}"),
                metadata=tuple(self.transport.metadata()),
                timeout=UPLOAD_TIMEOUT_S,
            )
        return dataset_dict(response.dataset)

    def register_dataset_from_path(
        self, name: str, path: str, metadata: str | os.PathLike[str] | dict[str, Any]
    ) -> dict[str, Any]:
        """Register a CSV or Parquet file that the server can read at ``path``."""
        response = self.transport.call(
            self.stub.RegisterDatasetFromPath,
            admin_pb2.RegisterDatasetFromPathRequest(
                name=name, path=path, metadata_yaml=_metadata_text(metadata)
            ),
            timeout=UPLOAD_TIMEOUT_S,
        )
        return dataset_dict(response.dataset)

    def list_datasets(self) -> list[dict[str, Any]]:
        """Every DP dataset."""
        response = self.transport.call(
            self.stub.ListAllDatasets, admin_pb2.ListAllDatasetsRequest()
        )
        return [dataset_dict(d) for d in response.datasets]

    def delete_dataset(self, name: str) -> None:
        """Delete a dataset with its grants and query archive."""
        self.transport.call(self.stub.DeleteDataset, admin_pb2.DeleteDatasetRequest(name=name))

    def grant(self, user: str, dataset: str, epsilon: float, delta: float) -> dict[str, Any]:
        """Give ``user`` (username or id) access to ``dataset`` with an initial budget of
        ``epsilon`` (privacy loss) and ``delta`` (probability), or change that budget."""
        response = self.transport.call(
            self.stub.GrantAccess,
            admin_pb2.GrantAccessRequest(
                user=user,
                dataset=dataset,
                initial=dpquery_pb2.PrivacyCost(epsilon=epsilon, delta=delta),
            ),
        )
        return grant_dict(response.grant)

    def list_grants(self, user: str = "", dataset: str = "") -> list[dict[str, Any]]:
        """Grants, optionally of one user or one dataset."""
        response = self.transport.call(
            self.stub.ListGrants, admin_pb2.ListGrantsRequest(user=user, dataset=dataset)
        )
        return [grant_dict(g) for g in response.grants]
