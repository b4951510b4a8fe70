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
        "pending": grant.pending,
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
        self,
        name: str,
        data: TableSource,
        metadata: str | os.PathLike[str] | dict[str, Any],
        *,
        encoding: str | None = None,
    ) -> dict[str, Any]:
        """Upload a table (CSV/Parquet path, DataFrame or Arrow table) as a DP dataset.

        Args:
            name: Dataset name analysts will use.
            data: The private data; only the metadata's columns are kept, typed as declared.
            metadata: Lomas metadata: a YAML/JSON file path, its text, or a dict.
            encoding: A CSV file's text encoding (``"latin-1"``, ``"cp1252"``...), transcoded
                as it streams; None for UTF-8.
        """
        return dataset_dict(
            self._api.register_dataset(name, data, _metadata_text(metadata), encoding=encoding)
        )

    def register_dataset_from_path(
        self, name: str, path: str, metadata: str | os.PathLike[str] | dict[str, Any]
    ) -> dict[str, Any]:
        """Register a CSV or Parquet file that the server can read at ``path``."""
        return dataset_dict(
            self._api.register_dataset_from_path(name, path, _metadata_text(metadata))
        )

    def register_dataset_from_url(
        self,
        name: str,
        url: str,
        metadata: str | os.PathLike[str] | dict[str, Any],
        *,
        sha256: str = "",
        max_bytes: int = 0,
        fmt: str = "",
    ) -> dict[str, Any]:
        """Register a CSV or Parquet file the server downloads from an http(s) URL (an S3
        presigned URL works), as Lomas's ``PATH_DB`` datasets with a URL.

        Args:
            name: Dataset name analysts will use.
            url: Under one of the server's ``--dataset-url-prefix``.
            metadata: Lomas metadata: a YAML/JSON file path, its text, or a dict.
            sha256: Expected sha256 of the file, hex; a mismatch registers nothing.
            max_bytes: Refuse a larger file (0: the server's limit).
            fmt: "csv" or "parquet" when the URL's path does not end in a known suffix.

        Returns:
            The dataset, with ``source_sha256`` and ``source_bytes`` of the download.
        """
        dataset, digest, size = self._api.register_dataset_from_url(
            name, url, _metadata_text(metadata), sha256=sha256, max_bytes=max_bytes, fmt=fmt
        )
        return {**dataset_dict(dataset), "source_sha256": digest, "source_bytes": size}

    def import_lomas_datasets(
        self,
        collection: str | os.PathLike[str],
        *,
        base_dir: str | os.PathLike[str] | None = None,
        skip_existing: bool = False,
    ) -> list[dict[str, Any]]:
        """Register the datasets of a Lomas dataset collection YAML (``add_datasets_via_yaml``).

        ``PATH_DB`` datasets with an http(s) path are read by the server
        (RegisterDatasetFromUrl); local paths and metadata paths are read here, relative to the
        YAML's folder (or ``base_dir``), and uploaded. Every entry is checked before anything is
        registered, and if one registration fails the ones this call made are deleted again:
        all or nothing.
        ``S3_DB`` entries are refused: give an S3 presigned URL as a ``PATH_DB`` path instead.
        """
        from veil_client.lomas_collections import plan_datasets

        existing = {d.name for d in self._api.list_all_datasets()}
        plans = plan_datasets(Path(collection), Path(base_dir) if base_dir else None)
        done: list[str] = []
        results = []
        try:
            for plan in plans:
                if plan.name in existing and skip_existing:
                    continue
                if plan.url:
                    result = self.register_dataset_from_url(plan.name, plan.url, plan.metadata)
                else:
                    result = self.register_dataset(plan.name, plan.path, plan.metadata)
                done.append(plan.name)
                results.append(result)
        except BaseException:
            for name in done:
                self._api.delete_dataset(name)
            raise
        return results

    def import_lomas_users(
        self, collection: str | os.PathLike[str], *, email_domain: str = ""
    ) -> dict[str, Any]:
        """Import a Lomas user collection YAML (``add_users_via_yaml``): users, may_query and
        budgets with what was already spent, exactly, in one transaction.

        Args:
            collection: The YAML file, or its text.
            email_domain: Create users missing from Veil (no password; send them a password
                reset) with this email domain; empty: every user must exist.

        Returns:
            ``{"created_users": [...], "grants": [grant dicts]}``; budgets on datasets not
            registered yet are pending grants.
        """
        created, values = self._api.import_lomas_users(
            _metadata_text(collection), email_domain=email_domain
        )
        return {"created_users": created, "grants": [grant_dict(g) for g in values]}

    def set_may_query(self, user: str, may_query: bool) -> bool:
        """Turn ``user``'s may_query switch on or off (Lomas's ``set_may_query``): while off,
        their queries on private data are refused; returns the switch as it is now."""
        return self._api.set_may_query(user, may_query)

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

    def grant(
        self,
        user: str,
        dataset: str,
        epsilon: float,
        delta: float,
        *,
        allow_unregistered: bool = False,
    ) -> dict[str, Any]:
        """Give ``user`` (username or id) access to ``dataset`` with an initial budget of
        ``epsilon`` (privacy loss) and ``delta`` (probability), or change that budget.

        With ``allow_unregistered`` a dataset not registered yet gets a pending grant
        (``pending: True``) that takes effect when the dataset is registered; without it such a
        name is refused, so a typo is not parked."""
        return grant_dict(
            self._api.grant_access(
                user, dataset, epsilon, delta, allow_unregistered=allow_unregistered
            )
        )

    def revoke(self, user: str, dataset: str) -> dict[str, Any]:
        """Take ``user``'s grant on ``dataset`` away (Lomas's ``del_dataset_to_user``): the
        dataset's metadata, dummy data and queries go with it; returns the grant as it was."""
        return grant_dict(self._api.revoke_access(user, dataset))

    def list_grants(self, user: str = "", dataset: str = "") -> list[dict[str, Any]]:
        """Grants, optionally of one user or one dataset."""
        return [grant_dict(g) for g in self._api.list_grants(user=user, dataset=dataset)]
