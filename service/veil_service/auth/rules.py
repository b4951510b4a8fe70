"""Who may call which RPC: one explicit rule per RPC, and no rule means no access.

The interceptor looks every call up here before the servicer runs. Ownership of the resources an
RPC touches (a run, a job, a dataset) is checked by the domain code; these rules only decide which
kind of caller may reach the RPC at all. A test walks every RPC of every service in the contracts
and fails when one has no rule, so a new RPC cannot slip in unprotected.
"""

from __future__ import annotations

from enum import Enum


class Access(Enum):
    """Kinds of callers an RPC admits."""

    PUBLIC = "public"
    AUTHENTICATED = "authenticated"
    ADMIN = "admin"


_AUTH = "/veil.v1.AuthService/"
_RUNS = "/veil.v1.RunsService/"
_DP = "/veil.v1.DPQueryService/"
_ADMIN = "/veil.v1.AdminService/"

RULES: dict[str, Access] = {
    _AUTH + "Login": Access.PUBLIC,
    _AUTH + "ForgottenPassword": Access.PUBLIC,
    _AUTH + "ResetPassword": Access.PUBLIC,
    _AUTH + "Logout": Access.AUTHENTICATED,
    _AUTH + "CreateApiKey": Access.AUTHENTICATED,
    _AUTH + "ListApiKeys": Access.AUTHENTICATED,
    _AUTH + "GetApiKey": Access.AUTHENTICATED,
    _AUTH + "RevokeApiKey": Access.AUTHENTICATED,
    _AUTH + "RevokeAllApiKeys": Access.AUTHENTICATED,
    _AUTH + "WhoAmI": Access.AUTHENTICATED,
    **{
        _RUNS + name: Access.AUTHENTICATED
        for name in (
            "CreateRun",
            "GetRun",
            "ListRuns",
            "DeleteRun",
            "CopyRun",
            "UploadTable",
            "DownloadTable",
            "ListTables",
            "DeleteTable",
            "DescribeTable",
            "GetConfig",
            "SetConfig",
            "ImportYaml",
            "ExportYaml",
            "StartJobs",
            "GetJob",
            "WatchJobs",
            "ListJobs",
            "CancelJob",
            "DeleteJobs",
            "ListResults",
            "DownloadResult",
            "AdviseParameters",
            "AdviseLinks",
        )
    },
    **{
        _DP + name: Access.AUTHENTICATED
        for name in (
            "ListDatasets",
            "GetDatasetMetadata",
            "GetDummyDataset",
            "GetBudget",
            "ListPreviousQueries",
            "Query",
            "QueryWithProgress",
            "EstimateCost",
        )
    },
    **{
        _ADMIN + name: Access.ADMIN
        for name in (
            "CreateUser",
            "ListUsers",
            "DisableUser",
            "EnableUser",
            "SetUserRole",
            "ListUserApiKeys",
            "RevokeUserApiKey",
            "ListAuditEvents",
            "RegisterDataset",
            "RegisterDatasetFromPath",
            "ListAllDatasets",
            "UpdateDatasetMetadata",
            "DeleteDataset",
            "GrantAccess",
            "ListGrants",
            "RevokeAccess",
            "RegisterDatasetFromUrl",
            "SetMayQuery",
            "ImportLomasUsers",
            "GetServerState",
        )
    },
}

UNGUARDED_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
"""Infrastructure services every client may call without credentials."""


def rule_for(method: str) -> Access | None:
    """The rule of a full method name (``/package.Service/Method``), None when it has none."""
    return RULES.get(method)
