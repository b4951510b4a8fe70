"""The client's public names, pinned (as httpx's test_exported_members): a name that disappears
or appears is a decision, made here on purpose, not a side effect of a refactoring."""

from __future__ import annotations

import importlib

import veil_client

TOP_LEVEL = [
    "AlreadyExists",
    "ApiClient",
    "Cancelled",
    "ClientConfig",
    "ConstantStrategy",
    "FailedPrecondition",
    "FakeDataStrategy",
    "HashSha256Strategy",
    "IntegerStrategy",
    "InvalidArgument",
    "Manager",
    "NotFound",
    "PermissionDenied",
    "PiiType",
    "ResourceExhausted",
    "Runner",
    "ServerError",
    "SpecificIdStrategy",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Uuid4Strategy",
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
        "AdviceType",
        "AlignmentMethod",
        "AugmentationStrategy",
        "AvatarizationProcessorParameters",
        "ColumnType",
        "ConstantStrategy",
        "DataRecipient",
        "DataSubject",
        "DataType",
        "ExcludeVariablesMethod",
        "FakeDataStrategy",
        "HashSha256Strategy",
        "ImputeMethod",
        "IntegerStrategy",
        "InterRecordRangeDifferenceParameters",
        "LinkMethod",
        "OutputFormat",
        "PiiType",
        "ProjectionType",
        "RelativeDifferenceParameters",
        "ReportLanguage",
        "ReportType",
        "SensitivityLevel",
        "SpecificIdLetterCase",
        "SpecificIdStrategy",
        "UnalignmentStrategy",
        "Uuid4Strategy",
    ],
    "veil_client.processors": [
        "DatetimeProcessor",
        "ExpectedMeanProcessor",
        "GeolocationNormalizationProcessor",
        "GroupModalitiesProcessor",
        "InterRecordBoundedCumulatedDifferenceProcessor",
        "InterRecordBoundedRangeDifferenceProcessor",
        "InterRecordCumulatedDifferenceProcessor",
        "InterRecordRangeDifferenceParameters",
        "PerturbationProcessor",
        "ProportionProcessor",
        "RelativeDifferenceParameters",
        "ToCategoricalProcessor",
    ],
    "veil_client.manager": ["Manager"],
    "veil_client.auth_client": ["ApiClient"],  # avatars.client
    "veil_client.client_config": ["ClientConfig"],  # avatars.client_config
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


def test_enum_values_are_octopizes() -> None:
    from veil_client import config
    from veil_client.models import JobKind

    assert [m.value for m in config.ProjectionType] == ["fpca", "flatten"]
    assert [m.value for m in config.AlignmentMethod] == ["specified", "max", "min", "mean"]
    assert [m.value for m in config.UnalignmentStrategy] == ["uniform", "skip"]
    assert [m.value for m in config.AugmentationStrategy] == ["minority", "not_majority"]
    assert config.AugmentationStrategy.minority == "minority"
    assert [m.value for m in config.LinkMethod] == [
        "linear_sum_assignment",
        "minimum_distance_assignment",
        "sensitive_original_order_assignment",
        "time_series",
    ]
    assert (
        [m.value for m in config.PiiType]
        == [m.name for m in config.PiiType]
        == [
            "EMAIL",
            "FIRST_NAME",
            "LAST_NAME",
            "FULL_NAME",
            "PHONE",
            "SSN",
            "ADDRESS",
            "FREE_TEXT",
        ]
    )
    assert [m.value for m in JobKind] == [
        "standard",
        "privacy_metrics",
        "signal_metrics",
        "report",
        "advice",
        "extract",
        "schema_discovery",
        "reference",
        "regenerate",
    ]


def test_pseudonymization_strategies_become_avatar_yaml_field_maps() -> None:
    from veil_client import config

    assert config.FakeDataStrategy(pii_type=config.PiiType.EMAIL).to_dict() == {
        "kind": "FAKER",
        "pii_type": "EMAIL",
        "consistent": True,
        "high_variability": False,
    }
    assert config.HashSha256Strategy().to_dict() == {"kind": "HASH_SHA256"}
    assert config.Uuid4Strategy(consistent=False).to_dict() == {
        "kind": "UUID4",
        "consistent": False,
    }
    assert config.ConstantStrategy("REDACTED").to_dict() == {
        "kind": "CONSTANT",
        "value": "REDACTED",
    }
    assert config.IntegerStrategy().to_dict() == {"kind": "INTEGER", "consistent": True}
    assert config.SpecificIdStrategy(pattern="EMP-####").to_dict() == {
        "kind": "SPECIFIC_ID",
        "pattern": "EMP-####",
        "letter_case": "both",
        "consistent": True,
    }
