"""The standard job's parameters for one table, from the task's JSON: which generator with
which options, data augmentation, server-side processors, pseudonymized columns.

The run configuration stores them flat, with Octopize's ``set_parameters`` names
(``engine_contract.avatar_features``); this module builds the engine's typed objects from them,
checking them again (an engine may be called by other clients than the runs domain).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from veil_service.engine.augmentation import AugmentationParameters
from veil_service.engine.dp_avatar import FastDPParameters, OpenDPParameters
from veil_service.engine_contract import avatar_features
from veil_service.engine_contract.avatar_features import ProcessorSpec
from veil_service.engine_contract.pseudonymization import Strategy, parse_strategy
from veil_service.errors import InvalidArgumentError

AVATAR_KEYS = (
    "k",
    "ncp",
    "column_weights",
    "use_categorical_reduction",
    "exclude_variable_names",
    "exclude_variables_method",
    "imputation_method",
    "imputation_k",
    "imputation_training_fraction",
    "imputation_return_data_imputed",
    "max_rows_per_batch",
    "max_weight",
    "local_noise",
    "redraw_unique_copies",
    "coupled_noise",
    "target_column",
)
"""Keys passed to :func:`veil_service.engine.avatarize.avatarize` as they are (the privacy knobs
too: a run with augmentation, processors or pseudonyms keeps them)."""


@dataclass(frozen=True)
class ReleaseParameters:
    """Everything the standard job does to one table.

    Attributes:
        generator: ``avatar``, ``open_dp`` or ``fast_dp``.
        avatar: The avatar method's keyword arguments (``k``, ``ncp``...).
        open_dp: Open DP's parameters, when it is the generator.
        fast_dp: Fast DP's parameters, when it is the generator.
        augmentation: Data augmentation, or None.
        processors: Server-side processors, in preprocessing order.
        pseudonymized: Column -> pseudonymization strategy.
        categorical_columns: Numeric columns declared categorical.
        seed: Seed of every draw (None: fresh randomness).
    """

    generator: str
    avatar: dict[str, Any] = field(default_factory=dict)
    open_dp: OpenDPParameters | None = None
    fast_dp: FastDPParameters | None = None
    augmentation: AugmentationParameters | None = None
    processors: list[ProcessorSpec] = field(default_factory=list)
    pseudonymized: dict[str, Strategy] = field(default_factory=dict)
    categorical_columns: tuple[str, ...] = ()
    seed: int | None = None


def parse_release(
    avatarization: dict[str, Any],
    pseudonymized_columns: dict[str, dict[str, Any]] | None = None,
    *,
    categorical_columns: list[str] | tuple[str, ...] = (),
    seed: int | None = None,
) -> ReleaseParameters:
    """Typed parameters from a table's stored avatarization block and pseudonymization.

    Raises:
        InvalidArgumentError: a parameter is bad, or unknown to the engine.
    """
    params = {key: value for key, value in avatarization.items() if value is not None}
    unknown = sorted(
        set(params) - set(AVATAR_KEYS) - set(avatar_features.FEATURE_KEYS) - {"categorical_columns"}
    )
    if unknown:
        raise InvalidArgumentError(
            f"unknown avatarization parameter(s) {unknown}.", field=f"avatarization.{unknown[0]}"
        )
    generator = avatar_features.check_features("avatarization", params)
    categorical = tuple(params.get("categorical_columns") or categorical_columns)
    open_dp = fast_dp = None
    if generator == avatar_features.OPEN_DP:
        open_dp = OpenDPParameters(
            epsilon=float(params["open_dp_epsilon"]),
            preprocess_budget_ratio=float(
                params.get(
                    "preprocess_budget_ratio", avatar_features.DEFAULT_PREPROCESS_BUDGET_RATIO
                )
            ),
            categorical_columns=categorical,
            seed=seed,
            # A named target column (with a multiplier strategy) is the column the owner will
            # predict: Open DP measures its pairs with every column (a public choice).
            target_column=params.get("data_augmentation_target_column"),
        )
    elif generator == avatar_features.FAST_DP:
        fast_dp = FastDPParameters(
            epsilon=float(params["fast_dp_epsilon"]),
            mechanism=params.get("mechanism", "gaussian"),
            gmm_n_components=params.get("gmm_n_components", 5),
            histogram_n_bins=params.get("histogram_n_bins", 10),
            bounds_percentile=float(params.get("bounds_percentile", 5.0)),
            categorical_columns=categorical,
            seed=seed,
        )
    augmentation = None
    if params.get("data_augmentation_strategy") is not None:
        augmentation = AugmentationParameters(
            params["data_augmentation_strategy"],
            target_column=params.get("data_augmentation_target_column"),
            should_anonymize_original_table=params.get(
                "data_augmentation_should_anonymize_original_table", True
            ),
        )
        if generator != avatar_features.AVATAR and augmentation.needs_target:
            raise InvalidArgumentError(
                "data_augmentation_strategy: with a DP generator, augmentation draws more rows "
                "from the DP model (a multiplier such as 2); class strategies and modality "
                "shares need the avatar method (k), which grows each class from its own "
                "individuals.",
                field="avatarization.data_augmentation_strategy",
            )
    return ReleaseParameters(
        generator=generator,
        avatar={key: params[key] for key in AVATAR_KEYS if key in params},
        open_dp=open_dp,
        fast_dp=fast_dp,
        augmentation=augmentation,
        processors=avatar_features.parse_processors("processors", params.get("processors")),
        pseudonymized={
            column: parse_strategy(column, spec)
            for column, spec in (pseudonymized_columns or {}).items()
        },
        categorical_columns=categorical,
        seed=seed,
    )
