"""AdminService RPCs about DP datasets and grants."""

from __future__ import annotations

from veil_service.context import AppContext


class AdminDatasetsServicer:
    """RegisterDataset, RegisterDatasetFromPath, ListAllDatasets, DeleteDataset, GrantAccess,
    ListGrants (see admin.proto)."""

    app: AppContext
