"""The avatar_yaml format: every shared Octopize file loads, exports match Octopize's, round trips
are exact, and mistakes are errors that name the document and the key."""

from __future__ import annotations

import re

import pytest
import yaml
from support import FIXTURES
from veil_service.errors import InvalidArgumentError
from veil_service.runs.config import LinkConfig, PiaConfig, RunConfig, TableConfig
from veil_service.runs.yaml_io import config_from_yaml, config_to_yaml

YAML_DIR = FIXTURES / "avatar" / "yaml"
FILES = ("advice.yaml", "dp.yaml", "multi.yaml", "single.yaml", "ts.yaml", "yaml_from_web.yaml")

# Substrings each file's warnings must contain (one warning per unsupported feature).
EXPECTED_WARNINGS: dict[str, list[str]] = {
    "advice.yaml": [],
    "dp.yaml": ["repeats AvatarParameters"],
    "multi.yaml": [],
    "single.yaml": [],
    "ts.yaml": ["results.format"],
    "yaml_from_web.yaml": [],
}


def _text(name: str) -> str:
    return (YAML_DIR / name).read_text(encoding="utf-8")


def _standard(body: str) -> str:
    """A one-table document set whose ``standard`` avatarization block is ``body``."""
    return (
        "kind: AvatarSchema\nmetadata:\n  name: schema\nspec:\n  tables:\n  - name: iris\n"
        "---\nkind: AvatarParameters\nmetadata:\n  name: standard\nspec:\n"
        "  avatarization:\n    iris:\n" + body
    )


@pytest.mark.parametrize("name", FILES)
def test_every_shared_file_loads_with_the_expected_warnings(name: str) -> None:
    _, _, warnings = config_from_yaml(_text(name))
    assert len(warnings) == len(EXPECTED_WARNINGS[name]), warnings
    for expected in EXPECTED_WARNINGS[name]:
        assert any(expected in warning for warning in warnings), (expected, warnings)


@pytest.mark.parametrize("name", FILES)
def test_round_trip_of_every_shared_file(name: str) -> None:
    config, display_name, _ = config_from_yaml(_text(name))
    again, again_name, _ = config_from_yaml(config_to_yaml(config, display_name or "unnamed"))
    assert again == config
    assert again_name == (display_name or "unnamed")


@pytest.mark.parametrize("name", ["single.yaml", "multi.yaml"])
def test_export_is_what_the_octopize_client_writes(name: str) -> None:
    config, display_name, _ = config_from_yaml(_text(name))
    assert display_name is not None
    written = config_to_yaml(config, display_name)
    version = yaml.safe_load(written.split("\n---\n")[0])["annotations"]["client_version"]
    assert written == _text(name).replace("client_version: 1.30.0", f"client_version: {version}")


def test_single_yaml_values() -> None:
    config, display_name, _ = config_from_yaml(_text("single.yaml"))
    assert display_name == "iris_k5"
    assert config == RunConfig(
        tables=[
            TableConfig(
                "iris",
                column_types={
                    "sepal.length": "float",
                    "sepal.width": "float",
                    "petal.length": "float",
                    "petal.width": "float",
                    "variety": "category",
                },
                avatarization={"k": 5},
            )
        ]
    )


def test_web_yaml_values() -> None:
    config, display_name, warnings = config_from_yaml(_text("yaml_from_web.yaml"))
    assert display_name is None and warnings == []
    [iris] = config.tables
    assert iris.name == "iris" and iris.column_types == {}
    assert iris.avatarization == {
        "k": 30,
        "ncp": 4,
        "use_categorical_reduction": True,
        "column_weights": {"variety": 3},
        "exclude_variable_names": ["variety"],
        "exclude_variables_method": "coordinate_similarity",
        "imputation_method": "mean",
    }
    # The imputation copied into the metrics blocks equals the avatarization's: folded away.
    assert iris.privacy_metrics == {"ncp": 4, "use_categorical_reduction": True}
    assert iris.signal_metrics == {"ncp": 4, "use_categorical_reduction": True}
    assert config.report_language == "en" and config.seed is None


def test_multi_yaml_stores_links_keys_and_run_settings() -> None:
    config, display_name, _ = config_from_yaml(_text("multi.yaml"))
    assert display_name == "tutorial_multitable"
    assert config.links == [
        LinkConfig("patient", "visit", "p_id", "patient_id"),
        LinkConfig("doctor", "visit", "d_id", "doctor_id"),
    ]
    visit = config.table("visit")
    assert visit.primary_key == "visit_id"
    assert visit.identifiers == visit.foreign_keys == ["patient_id", "doctor_id"]
    assert (visit.individual_level, config.table("patient").individual_level) == (False, True)
    config.schema().check(require_links=True)
    assert config.table("patient").privacy_metrics == {
        "ncp": 5,
        "known_variables": ["gender", "age"],
    }
    assert config.table("doctor").avatarization == {
        "k": 5,
        "ncp": 5,
        "imputation_method": "fast_knn",
        "imputation_k": 3,
        "imputation_training_fraction": 1.0,
    }
    assert (config.seed, config.report_language) == (42, "fr")


def test_ts_yaml_keeps_what_veil_supports() -> None:
    config, _, warnings = config_from_yaml(_text("ts.yaml"))
    vanilla = config.table("vanilla")
    assert vanilla.primary_key == "id"
    assert vanilla.avatarization == {
        "k": 5,
        "exclude_variable_names": ["native-country"],
        "exclude_variables_method": "coordinate_similarity",
        "data_augmentation_strategy": "minority",
        "data_augmentation_target_column": "income",
        "processors": [{"target": "capital-gain", "references": ["capital-loss"]}],
    }
    assert vanilla.pseudonymized_columns == {"id": {"kind": "UUID4", "consistent": True}}
    assert vanilla.privacy_metrics == {
        "known_variables": ["age", "gender"],
        "target": "income",
        "quantile_threshold": 5,
    }
    assert config.max_distribution_plots == 5
    assert config.links == [LinkConfig("vanilla", "sensor1", "id", "id", "time_series")]
    sensor1 = config.table("sensor1")
    assert (sensor1.primary_key, sensor1.foreign_keys, sensor1.time_series_time) == (
        "primary_key",
        ["id"],
        "t",
    )
    assert sensor1.time_series == {"projection_type": "flatten", "nf": 10}
    assert sensor1.avatarization is None
    assert vanilla.individual_level is True and sensor1.individual_level is None
    assert not any("time series" in w or "time_series" in w for w in warnings), warnings


def test_dp_yaml_keeps_the_last_standard_document() -> None:
    config, display_name, warnings = config_from_yaml(_text("dp.yaml"))
    assert display_name is None
    assert config == RunConfig(
        tables=[
            TableConfig(
                "iris", avatarization={"open_dp_epsilon": 3, "preprocess_budget_ratio": 0.3}
            )
        ]
    )
    assert warnings == [
        "YAML document 2 repeats AvatarParameters 'standard' (first in document 1); its "
        "settings override the first's."
    ]
    first = _text("dp.yaml").split("\n---\n")[0]
    fast, _, _ = config_from_yaml(first)
    assert fast.table("iris").avatarization == {"fast_dp_epsilon": 5, "mechanism": "gaussian"}


def test_one_document_with_two_generators_for_a_table_is_refused() -> None:
    text = _standard("      k: 5\n") + "  avatarization_open_dp:\n    iris:\n      epsilon: 1\n"
    with pytest.raises(InvalidArgumentError, match="keep only one of k, open_dp_epsilon") as error:
        config_from_yaml(text)
    assert "spec.avatarization_open_dp.iris.epsilon" in error.value.message


def test_dp_features_and_pseudonymization_round_trip() -> None:
    config = RunConfig(
        tables=[
            TableConfig(
                "adult",
                avatarization={
                    "fast_dp_epsilon": 2.5,
                    "mechanism": "gmm",
                    "gmm_n_components": 3,
                    "bounds_percentile": 1.0,
                    "data_augmentation_strategy": 2.0,
                },
            ),
            TableConfig(
                "census",
                avatarization={
                    "k": 10,
                    "data_augmentation_strategy": {"<=50K": 0.5, ">50K": 0.5},
                    "data_augmentation_target_column": "income",
                    "data_augmentation_should_anonymize_original_table": False,
                },
            ),
            TableConfig(
                "projects",
                avatarization={
                    "open_dp_epsilon": 0.5,
                    "data_augmentation_strategy": 3.0,
                    "processors": [
                        {
                            "id_variable": "project_id",
                            "target_start_variable": "start",
                            "target_end_variable": "end",
                        },
                        {"target": "cost", "references": ["budget", "extra"], "scaling_unit": 10},
                    ],
                },
                pseudonymized_columns={
                    "project_id": {
                        "kind": "SPECIFIC_ID",
                        "consistent": True,
                        "pattern": "P-###",
                        "letter_case": "upper",
                    },
                    "owner": {
                        "kind": "FAKER",
                        "consistent": False,
                        "pii_type": "FULL_NAME",
                        "high_variability": True,
                    },
                    "email": {"kind": "HASH_SHA256"},
                    "note": {"kind": "CONSTANT", "value": "REDACTED"},
                },
            ),
        ]
    )
    text = config_to_yaml(config, "features")
    assert "avatarization_fast_dp:" in text and "avatarization_open_dp:" in text
    assert "  avatarization:\n    census:\n      k: 10\n" in text
    again, _, warnings = config_from_yaml(text)
    assert again == config and warnings == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "      data_augmentation:\n        augmentation_strategy: minority\n",
            "data_augmentation_target_column: is required",
        ),
        (
            "      avatarization_processors_parameters:\n      - target: a\n",
            "fields ['target'] make no known processor",
        ),
        (
            "      data_augmentation:\n        augmentation_strategy: 0.5\n",
            "as a multiplier must be a number in (1, 50]",
        ),
        ("      coupled_noise: sometimes\n", "avatarization.coupled_noise: must be true or false"),
        (
            "      local_noise: 0\n      coupled_noise: true\n",
            "avatarization.coupled_noise: shapes the local noise, but local_noise is 0",
        ),
    ],
)
def test_bad_feature_values_are_errors_naming_the_place(body: str, expected: str) -> None:
    with pytest.raises(InvalidArgumentError, match=re.escape(expected)):
        config_from_yaml(_standard("      k: 5\n" + body))


@pytest.mark.parametrize("weight", [".nan", ".inf", "-.inf", "0", "-3"])
def test_a_column_weight_must_be_finite_and_positive(weight: str) -> None:
    # .nan and .inf were accepted here and refused only by the standard job, after the upload.
    body = f"      k: 5\n      column_weights:\n        variety: {weight}\n"
    with pytest.raises(InvalidArgumentError) as caught:
        config_from_yaml(_standard(body))
    message = caught.value.message
    place = "tables[iris].avatarization.column_weights[variety]"
    assert f"{place}: must be a finite positive number" in message
    assert "(in the YAML: AvatarParameters spec.avatarization.iris.column_weights)" in message


def test_a_docx_technical_report_is_said_to_be_a_pdf() -> None:
    # output_format: docx on the basic report was accepted without a word; the report is a PDF.
    text = _text("single.yaml").replace(
        "report_type: basic\n  output_format: pdf", "report_type: basic\n  output_format: docx"
    )
    assert "output_format: docx" in text
    _, _, warnings = config_from_yaml(text)
    assert warnings == [
        "AvatarReportParameters 'report' spec.output_format docx is ignored: Veil writes the "
        "technical report as a PDF (the PIA report is the DOCX)."
    ]


def test_specific_id_without_placeholder_is_an_error_naming_the_column() -> None:
    text = (
        "kind: AvatarSchema\nmetadata:\n  name: schema\nspec:\n  tables:\n  - name: t\n"
        "    columns:\n    - field: zip\n      pseudonymization:\n        kind: SPECIFIC_ID\n"
        "        pattern: ZIP\n"
    )
    with pytest.raises(InvalidArgumentError, match="has no placeholder") as error:
        config_from_yaml(text)
    assert "columns[zip].pseudonymization" in error.value.message


def test_round_trip_of_every_field() -> None:
    config = RunConfig(
        tables=[
            TableConfig(
                "patient",
                column_types={"p_id": "int", "age": "float"},
                primary_key="p_id",
                avatarization={
                    "k": 7,
                    "ncp": 3,
                    "column_weights": {"age": 2.5, "2019": 1},
                    "use_categorical_reduction": False,
                    "exclude_variable_names": ["age"],
                    "exclude_variables_method": "row_order",
                    "imputation_method": "knn",
                    "imputation_k": 4,
                    "imputation_training_fraction": 0.5,
                    "imputation_return_data_imputed": True,
                    "max_rows_per_batch": 1000,
                    "max_weight": 0.25,
                    "local_noise": 0.5,
                    "redraw_unique_copies": True,
                    "coupled_noise": True,
                },
                privacy_metrics={
                    "ncp": 2,
                    "known_variables": ["age"],
                    "target": "p_id",
                    "quantile_threshold": 10,
                    "use_categorical_reduction": True,
                    "column_weights": {"age": 3},
                },
                signal_metrics={
                    "ncp": 2,
                    "use_categorical_reduction": True,
                    "column_weights": {"age": 3},
                    "target": "age",
                },
            ),
            TableConfig(
                "visit",
                column_types={"v": "category", "yes": "bool"},
                identifiers=["patient_id", "v", "doctor_id"],
                primary_key="visit_id",
                privacy_metrics={"target": "v", "exclude_variable_names": ["yes"]},
                signal_metrics={"exclude_variable_names": ["v"]},
            ),
            TableConfig("notes", column_types={"text": "category"}, individual_level=False),
        ],
        links=[LinkConfig("patient", "visit", "p_id", "patient_id", "minimum_distance_assignment")],
        seed=3,
        report_language="fr",
        pia=PiaConfig("High", "health", "patients", "internal"),
        compute_figures=False,
        max_distribution_plots=4,
        annotations={"project": "trial-42", "owner": "biostatistics"},
    )
    again, name, _ = config_from_yaml(config_to_yaml(config, "every field"))
    assert (again, name) == (config, "every field")


def test_metrics_only_run_keeps_run_settings_without_a_standard_document() -> None:
    config = RunConfig(
        tables=[TableConfig("iris", privacy_metrics={"ncp": 2})],
        seed=9,
        compute_figures=False,
        max_distribution_plots=2,
    )
    written = config_to_yaml(config, "metrics only")
    assert "AvatarParameters" not in written and "avatarization_ref" not in written
    assert config_from_yaml(written)[0] == config


def test_documents_come_in_the_octopize_order() -> None:
    written = config_to_yaml(RunConfig(tables=[TableConfig("iris", avatarization={})]), "x")
    documents = [yaml.safe_load(part) for part in written.split("\n---\n")]
    assert [(d["kind"], d["metadata"]["name"]) for d in documents] == [
        ("AvatarMetadata", "avatar-metadata-x"),
        ("AvatarSchema", "schema"),
        ("AvatarSchema", "schema_avatarized"),
        ("AvatarParameters", "standard"),
        ("AvatarPrivacyMetricsParameters", "privacy_metrics"),
        ("AvatarSignalMetricsParameters", "signal_metrics"),
        ("AvatarReportParameters", "report"),
        ("AvatarReportParameters", "report_pia"),
    ]
    assert documents[0]["annotations"]["client_type"] == "python"
    assert documents[3]["spec"]["avatarization"] == {"iris": {}}
    assert [d["spec"]["output_format"] for d in documents[6:]] == ["pdf", "docx"]


def test_unknown_kind_is_an_error_naming_it() -> None:
    text = _text("single.yaml") + "\n---\nkind: AvatarFoo\nmetadata:\n  name: bar\nspec: {}\n"
    with pytest.raises(InvalidArgumentError) as caught:
        config_from_yaml(text)
    message = caught.value.message
    assert "AvatarFoo" in message and "'bar'" in message and "document 9" in message
    assert "accepted kinds: AvatarMetadata" in message


def test_unknown_key_is_an_error_naming_document_path_and_accepted_keys() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        config_from_yaml(_standard("      k: 5\n      kk: 3\n"))
    message = caught.value.message
    assert "AvatarParameters 'standard'" in message
    assert "'spec.avatarization.iris.kk'" in message
    assert "k, ncp, use_categorical_reduction, column_weights" in message
    assert caught.value.field == "spec.avatarization.iris.kk"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "kind: AvatarMetadata\nmetadata: {name: m}\nspec: {display_name: x}\nextra: 1\n",
            "unknown key 'extra'; accepted keys: kind, metadata, spec, annotations",
        ),
        (
            "kind: AvatarMetadata\nmetadata: {name: m}\nspec:\n"
            "  pia_metadata: {data_recipient: x}\n",
            "'spec.pia_metadata.data_recipient'; "
            "accepted keys under 'spec.pia_metadata': datarecipient",
        ),
        (
            "kind: AvatarReportParameters\nmetadata: {name: report}\nspec: {langage: fr}\n",
            "AvatarReportParameters 'report'): unknown key 'spec.langage'",
        ),
        (
            "kind: AvatarSchema\nmetadata: {name: schema}\nspec:\n  tables:\n  - name: t\n"
            "    columns:\n    - {field: a, typ: int}\n",
            "'spec.tables[t].columns[0].typ'",
        ),
        ("metadata: {name: m}\nspec: {}\n", "'kind' is missing"),
    ],
)
def test_other_unknown_keys_and_kinds(text: str, expected: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        config_from_yaml(text)
    assert expected in caught.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kind: AvatarSchema\nmetadata:\n  name: schema\nspec:\n  tables: [\n", "line 6"),
        ("kind: AvatarSchema\nmetadata:\n\tname: schema\n", "line 3"),
        ("kind: AvatarSchema\nkind: AvatarMetadata\n", "line 2, column 1: duplicate key 'kind'"),
    ],
)
def test_malformed_yaml_names_the_line(text: str, expected: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        config_from_yaml(text)
    assert caught.value.message.startswith("malformed YAML")
    assert expected in caught.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            _standard("      k: 1\n"),
            "avatarization.k: must be >= 2; got 1. (in the YAML: "
            "AvatarParameters spec.avatarization.iris.k)",
        ),
        (
            _standard("      imputation: {method: nearest}\n"),
            "spec.avatarization.iris.imputation.method",
        ),
        (
            "kind: AvatarSchema\nmetadata: {name: schema}\nspec:\n  tables:\n  - name: t\n"
            "    columns: [{field: a, type: text}]\n",
            "AvatarSchema spec.tables[t].columns[a].type",
        ),
        (_standard("      use_categorical_reduction: 3\n"), "must be true or false"),
        (_standard("      exclude_variables: [a]\n"), "exclude_variables: must be a mapping"),
        (
            "kind: AvatarSchema\nmetadata: {name: schema}\nspec:\n  tables:\n  - name: t\n"
            "    columns:\n    - {field: a, primary_key: true}\n"
            "    - {field: b, primary_key: true}\n",
            "two primary keys",
        ),
        (
            "kind: AvatarReportParameters\nmetadata: {name: r}\nspec: {report_type: full}\n",
            "spec.report_type: must be one of basic, pia",
        ),
        ("", "holds no document"),
        ("- a\n- b\n", "must be a mapping with kind"),
    ],
)
def test_bad_values_are_errors(text: str, expected: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        config_from_yaml(text)
    assert expected in caught.value.message


def test_metrics_settings_that_cannot_be_folded_are_reported() -> None:
    text = _standard("      k: 5\n      imputation: {method: mean}\n") + (
        "---\nkind: AvatarPrivacyMetricsParameters\nmetadata: {name: privacy_metrics}\nspec:\n"
        "  privacy_metrics:\n    iris:\n      imputation: {method: median}\n"
        "---\nkind: AvatarSignalMetricsParameters\nmetadata: {name: signal_metrics}\nspec:\n"
        "  signal_metrics:\n    iris:\n      imputation: {method: mean}\n"
        "    other:\n      exclude_variables: {variable_names: [a]}\n"
    )
    config, _, warnings = config_from_yaml(text)
    assert any(
        "'privacy_metrics' spec.privacy_metrics.iris.imputation is ignored: it differs" in w
        for w in warnings
    ), warnings
    # Excluded variables in a metrics block are kept out of the metrics' projection (issue 13).
    assert config.table("other").signal_metrics == {"exclude_variable_names": ["a"]}
    assert any("table 'other' is configured in" in w for w in warnings)
    assert not any("signal_metrics.iris" in w for w in warnings)


def test_conflicting_run_settings_keep_the_first_and_warn() -> None:
    text = (
        _standard("      k: 5\n")
        + "  seed: 1\n---\n"
        + (
            "kind: AvatarPrivacyMetricsParameters\nmetadata: {name: privacy_metrics}\n"
            "spec: {seed: 2}\n"
        )
    )
    config, _, warnings = config_from_yaml(text)
    assert config.seed == 1
    assert warnings == [
        "seed 2 in AvatarPrivacyMetricsParameters 'privacy_metrics' differs "
        "from 1 in AvatarParameters 'standard'; a Veil run has one seed, 1 is "
        "used."
    ]


def test_unquoted_numeric_names_read_as_text_and_volumes_are_ignored() -> None:
    text = "kind: AvatarVolume\nmetadata: {name: input}\nspec: {url: 's3://b'}\n---\n" + _standard(
        "      column_weights: {2019: 2}\n      exclude_variables:\n"
        "        variable_names: [2020]\n"
    )
    config, _, warnings = config_from_yaml(text)
    assert config.table("iris").avatarization == {
        "column_weights": {"2019": 2},
        "exclude_variable_names": ["2020"],
    }
    assert warnings == []


def test_privacy_targeted_advice_round_trips_in_the_advice_document() -> None:
    # Veil's extension of Octopize's AvatarAdviceParameters: per-table advice parameters, under
    # a block named after the document as Octopize's metrics documents do.
    targets = {"singling_out": 0.15, "inference": 0.3, "utility_loss": 0.05}
    config = RunConfig(
        tables=[
            TableConfig(
                "titanic",
                avatarization={"k": 20},
                advice={"privacy_targets": targets, "target": "survived"},
            ),
            TableConfig("iris", avatarization={"k": 5}, advice={"privacy_targets": {}}),
            TableConfig("plain", avatarization={"k": 5}),
        ]
    )
    written = config_to_yaml(config, "advised")
    documents = [yaml.safe_load(part) for part in written.split("\n---\n")]
    assert [d["kind"] for d in documents[2:5]] == [
        "AvatarSchema",
        "AvatarAdviceParameters",
        "AvatarParameters",
    ]
    assert documents[3] == {
        "kind": "AvatarAdviceParameters",
        "metadata": {"name": "advice_parameters"},
        "spec": {
            "schema": "schema",
            "advice": {"advisor_type": ["parameters"]},
            "advice_parameters": {
                "titanic": {"privacy_targets": targets, "target": "survived"},
                "iris": {"privacy_targets": {}},
            },
            "results": {"volume": "results", "path": "advice"},
        },
    }
    assert config_from_yaml(written)[0] == config
    # Without advice parameters nothing changes: Octopize's own advice file reads as before.
    assert "AvatarAdviceParameters" not in config_to_yaml(RunConfig([TableConfig("x")]), "x")
    assert all(t.advice is None for t in config_from_yaml(_text("advice.yaml"))[0].tables)


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (
            "    titanic:\n      privacy_targets:\n        hiden_rate: 90\n",
            r"'hiden_rate' is not a privacy target.*"
            r"AvatarAdviceParameters spec\.advice_parameters\.titanic\.privacy_targets",
        ),
        (
            "    titanic:\n      privacy_targets:\n        linkability: 2\n",
            r"linkability must be between 0\.0 and 1\.0",
        ),
        ("    titanic:\n      targets: {}\n", r"unknown key 'spec\.advice_parameters\.titanic"),
        ("    titanic:\n      target: [a]\n", r"must be a column name"),
    ],
)
def test_bad_advice_parameters_are_errors_naming_the_place(block: str, expected: str) -> None:
    text = (
        "kind: AvatarSchema\nmetadata:\n  name: schema\nspec:\n  tables:\n  - name: titanic\n"
        "---\nkind: AvatarAdviceParameters\nmetadata:\n  name: advice_parameters\nspec:\n"
        "  schema: schema\n  advice:\n    advisor_type: [parameters]\n"
        "  advice_parameters:\n" + block
    )
    with pytest.raises(InvalidArgumentError, match=expected):
        config_from_yaml(text)


@pytest.mark.parametrize("seed", ["-1", "true", "1.5", str(2**63)])
def test_a_seed_outside_zero_to_int64_is_an_error_naming_it(seed: str) -> None:
    text = _standard("      k: 5\n").replace(
        "spec:\n  avatarization:", f"spec:\n  seed: {seed}\n  avatarization:"
    )
    with pytest.raises(InvalidArgumentError, match="seed: must be an integer from 0") as error:
        config_from_yaml(text)
    assert error.value.field == "seed"


def test_the_largest_seed_is_kept() -> None:
    text = _standard("      k: 5\n").replace(
        "spec:\n  avatarization:", f"spec:\n  seed: {2**63 - 1}\n  avatarization:"
    )
    config, _, _ = config_from_yaml(text)
    assert config.seed == 2**63 - 1
