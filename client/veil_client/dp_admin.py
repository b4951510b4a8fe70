"""Administering DP datasets and grants (admin role): ``DPAdminClient(manager)``.

admin = DPAdminClient(manager)
admin.register_dataset("PENGUIN", "penguins.csv", "penguin_metadata.yaml")
admin.grant("alice", "PENGUIN", epsilon=10.0, delta=0.005)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from veil_client.api.admin import AdminApi, Dataset, Grant
from veil_client.tables import TableSource
from veil_client.transport import Transport


def _metadata_text(metadata: str | os.PathLike[str] | dict[str, Any]) -> str:
    if isinstance(metadata, dict):
        import json

        return json.dumps(metadata)
    text = str(metadata)
    if "\n" not in text and Path(text).is_file():
        return Path(text).read_text(encoding="utf-8")
    return text


def dataset_dict(dataset: Dataset) -> dict[str, Any]:
    """A dataset as a plain dict."""
    return {
        "name": dataset.name,
        "num_rows": dataset.table.num_rows,
        "num_columns": dataset.table.num_columns,
        "sha256": dataset.table.sha256,
        "columns": [(c.name, c.arrow_type) for c in dataset.table.columns],
        "metadata_json": dataset.metadata_json,
    }


def grant_dict(grant: Grant) -> dict[str, Any]:
    """A grant as a plain dict."""
    return {
        "username": grant.username,
        "dataset": grant.dataset,
        "initial_epsilon": grant.initial.epsilon,
        "initial_delta": grant.initial.delta,
        "spent_epsilon": grant.spent.epsilon,
        "spent_delta": grant.spent.delta,
    }


class DPAdminClient:
    """AdminService calls about DP datasets and grants.

    Args:
        manager_or_transport: A ``Manager`` (its connection is used) or a ``Transport``.
    """

    def __init__(self, manager_or_transport: Any) -> None:
        transport: Transport = getattr(manager_or_transport, "transport", manager_or_transport)
        self.transport = transport
        self._api = AdminApi(transport)

    def register_dataset(
        self, name: str, data: TableSource, metadata: str | os.PathLike[str] | dict[str, Any]
    ) -> dict[str, Any]:
        """Upload a table (CSV/Parquet path, DataFrame or Arrow table) as a DP dataset.

        Args:
            name: Dataset name analysts will use.
            data: The private data; only the metadata's columns are kept, typed as declared.
            metadata: Lomas metadata: a YAML/JSON file path, its text, or a dict.
        """
        return dataset_dict(self._api.register_dataset(name, data, _metadata_text(metadata)))

    def register_dataset_from_path(
        self, name: str, path: str, metadata: str | os.PathLike[str] | dict[str, Any]
    ) -> dict[str, Any]:
        """Register a CSV or Parquet file that the server can read at ``path``."""
        return dataset_dict(
            self._api.register_dataset_from_path(name, path, _metadata_text(metadata))
        )

    def list_datasets(self) -> list[dict[str, Any]]:
        """Every DP dataset."""
        return [dataset_dict(d) for d in self._api.list_all_datasets()]

    def update_metadata(
        self, name: str, metadata: str | os.PathLike[str] | dict[str, Any]
    ) -> dict[str, Any]:
        """Replace a dataset's metadata (bounds, categories, max_ids...); the stored table stays,
        so the columns, their order and their types must stay too."""
        return dataset_dict(self._api.update_dataset_metadata(name, _metadata_text(metadata)))

    def delete_dataset(self, name: str) -> None:
        """Delete a dataset with its grants and query archive."""
        self._api.delete_dataset(name)

    def grant(self, user: str, dataset: str, epsilon: float, delta: float) -> dict[str, Any]:
        """Give ``user`` (username or id) access to ``dataset`` with an initial budget of
        ``epsilon`` (privacy loss) and ``delta`` (probability), or change that budget."""
        return grant_dict(self._api.grant_access(user, dataset, epsilon, delta))

    def revoke(self, user: str, dataset: str) -> dict[str, Any]:
        """Take ``user``'s grant on ``dataset`` away (Lomas's ``del_dataset_to_user``): the
        dataset's metadata, dummy data and queries go with it; returns the grant as it was."""
        return grant_dict(self._api.revoke_access(user, dataset))

    def list_grants(self, user: str = "", dataset: str = "") -> list[dict[str, Any]]:
        """Grants, optionally of one user or one dataset."""
        return [grant_dict(g) for g in self._api.list_grants(user=user, dataset=dataset)]
