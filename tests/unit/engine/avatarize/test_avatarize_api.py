"""The public surface outside checks and the engine rely on: names, parameters, imports."""

from __future__ import annotations

import inspect
import subprocess
import sys

import veil_service.engine.avatarize as package
from veil_service.engine.avatarize import AvatarizationParameters, avatarize

# Octopize Runner.set_parameters names (avatar_client.md section 3.3) plus Veil's engine knobs.
OCTOPIZE_NAMES = {
    "k",
    "ncp",
    "column_weights",
    "use_categorical_reduction",
    "exclude_variable_names",
    "imputation_method",
    "imputation_k",
    "imputation_training_fraction",
    "imputation_return_data_imputed",
}


def test_public_names_are_pinned() -> None:
    assert sorted(package.__all__) == [
        "AvatarizationParameters",
        "AvatarizationResult",
        "DEFAULT_MAX_ROWS_PER_BATCH",
        "avatarize",
        "run_avatarization",
    ]


def test_avatarize_takes_the_octopize_parameter_names_keyword_only() -> None:
    parameters = inspect.signature(avatarize).parameters
    assert set(parameters) == OCTOPIZE_NAMES | {
        "df",
        "exclude_variables_method",
        "categorical_columns",
        "max_rows_per_batch",
        "n_jobs",
        "seed",
        "max_weight",
        "local_noise",
        "redraw_unique_copies",
        "coupled_noise",
        "target_column",
        "progress",
    }
    assert all(p.kind is p.KEYWORD_ONLY for name, p in parameters.items() if name != "df")
    assert parameters["k"].default == 20 and parameters["ncp"].default == 5
    assert parameters["imputation_method"].default == "fast_knn"
    assert parameters["exclude_variables_method"].default == "row_order"
    fields = set(AvatarizationParameters.__dataclass_fields__)
    assert set(parameters) - {"df", "progress"} == fields


def test_the_engine_algorithms_import_no_grpc_protobuf_or_database() -> None:
    code = (
        "import sys, veil_service.engine.avatarize, veil_service.engine.advice; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'grpc', 'google', 'sqlalchemy', 'alembic'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
