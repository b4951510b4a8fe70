"""The client's public names, pinned (as httpx's test_exported_members): a name that disappears
or appears is a decision, made here on purpose, not a side effect of a refactoring."""

from __future__ import annotations

import importlib

import veil_client

TOP_LEVEL = [
    "AlreadyExists",
    "Cancelled",
    "FailedPrecondition",
    "InvalidArgument",
    "Manager",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "Runner",
    "ServerError",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "VeilError",
]

# What Octopize scripts import, module by module (avatars.* and avatar_yaml.* map here).
OCTOPIZE_NAMES = {
    "veil_client.models": [
        "CreateApiKeyRequest",
        "ExpirationDays",
        "ForgottenPasswordRequest",
        "JobKind",
        "JobResponse",
        "JobStatus",
        "LoginResponse",
        "ResetPasswordRequest",
        "UserRole",
    ],
    "veil_client.constants": [
        "CANCELLED_STATUSES",
        "DEFAULT_TYPE",
        "ERROR_STATUSES",
        "JOB_EXECUTION_ORDER",
        "READY_STATUSES",
        "ColumnType",
        "JobKind",
        "JobStatus",
        "PlotKind",
        "Results",
    ],
    "veil_client.config": [
        "ColumnType",
        "DataRecipient",
        "DataSubject",
        "DataType",
        "ExcludeVariablesMethod",
        "ImputeMethod",
        "LinkMethod",
        "OutputFormat",
        "ReportLanguage",
        "ReportType",
        "SensitivityLevel",
    ],
    "veil_client.manager": ["Manager"],
    "veil_client.runner": ["Runner"],
    "veil_client.dp_client": ["DPClient"],
    "veil_client.dp_admin": ["DPAdminClient"],
    "veil_client.testing": ["FakeRpcError", "FakeTransport"],
}


def test_top_level_names_are_exactly_the_curated_ones() -> None:
    assert sorted(veil_client.__all__) == TOP_LEVEL
    for name in TOP_LEVEL:
        assert getattr(veil_client, name).__module__.startswith("veil_client.")


def test_the_names_octopize_scripts_import_exist() -> None:
    missing = [
        f"{module}.{name}"
        for module, names in OCTOPIZE_NAMES.items()
        for name in names
        if not hasattr(importlib.import_module(module), name)
    ]
    assert missing == []


def test_importing_the_client_is_plain() -> None:
    # No lazy loading: Manager is an ordinary attribute of the package.
    assert "__getattr__" not in vars(veil_client)
    assert veil_client.Manager is importlib.import_module("veil_client.manager").Manager
