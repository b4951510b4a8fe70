"""smartnoise-synth: each runnable synthesizer on a small sample, costs, refusals, model opt-in.

Runtimes on this 2-core machine (shared): MST and AIM ~10-20 s each (jax compilation), DPGAN
and DPCTGAN with one epoch and tiny networks ~5-15 s (torch import), PATE-GAN 3 rounds on PUMS
~5 s. PATECTGAN is refused (see smartnoise_synth's docstring): its refusal and the library flaw
behind it are tested.
"""

from __future__ import annotations

import inspect
import math
import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from snsynth import Synthesizer
from support import FIXTURES
from veil_service.engine.dp import (
    ctgan_categories,
    gan_accounting,
    mwem_weights,
    pate_accounting,
    smartnoise_synth,
)
from veil_service.engine.dp.dummy import make_dummy_dataset
from veil_service.engine.dp.frames import conform_to_metadata, typed_as_metadata
from veil_service.engine.dp.synth_transformers import build_transformer
from veil_service.engine.tasks.context import TaskContext
from veil_service.engine.tasks.dp import run_dp_cost
from veil_service.engine_contract.dp_metadata import (
    Metadata,
    load_metadata_file,
    load_metadata_text,
)
from veil_service.engine_contract.dp_requests import SmartnoiseSynthRequest as Synth
from veil_service.engine_contract.dp_tasks import request_to_dict
from veil_service.errors import InvalidArgumentError
from veil_service.settings import load_settings

LOMAS = FIXTURES / "lomas"

TINY_GAN = {
    "epochs": 1,
    "batch_size": 50,
    "embedding_dim": 8,
    "generator_dim": [8],
    "discriminator_dim": [8],
}


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (Synth("mst", 1.0, None, ("species", "sex")), (1.0, 1e-9)),
        (Synth("aim", 2.0, 1e-6, ("species", "sex")), (2.0, 1e-6)),
        (Synth("mwem", 0.5), (0.5, 0.0)),
        (Synth("pacsynth", 1.0, 1e-5), (1.0, 1e-5)),
    ],
)
def test_cost_is_what_the_synthesizer_is_given(
    request_: Synth, expected: tuple[float, float], penguin: Metadata
) -> None:
    cost = smartnoise_synth.estimate_cost(request_, penguin)
    assert (cost.epsilon, cost.delta) == expected


def test_default_delta_is_the_library_default(penguin: Metadata) -> None:
    for name in ("mst", "aim"):
        direct = Synthesizer.create(name, epsilon=1.0)
        cost = smartnoise_synth.estimate_cost(Synth(name, 1.0), penguin)
        assert (cost.epsilon, cost.delta) == (direct.epsilon, direct.delta)


def test_mst_samples_with_condition(penguin: Metadata, penguins: pd.DataFrame) -> None:
    request = Synth(
        "mst",
        1.0,
        None,
        ("species", "bill_length_mm"),
        nb_samples=30,
        condition="bill_length_mm < 40",
    )
    table = smartnoise_synth.execute(request, penguins, penguin).table
    assert table is not None and table.shape == (30, 2)
    assert (table["bill_length_mm"] < 40).all()
    assert set(table["species"].dropna()) <= {"Adelie", "Chinstrap", "Gentoo"}


def test_aim_on_two_columns(penguin: Metadata, penguins: pd.DataFrame) -> None:
    request = Synth("aim", 1.0, None, ("species", "sex"), nb_samples=10)
    table = smartnoise_synth.execute(request, penguins, penguin).table
    assert table is not None and list(table.columns) == ["species", "sex"]


def test_mwem_and_its_privacy_warning(penguin: Metadata, penguins: pd.DataFrame) -> None:
    cols = ("species", "island", "sex")
    with pytest.raises(InvalidArgumentError, match="privacy risk") as risk:
        smartnoise_synth.execute(Synth("mwem", 1.0, None, cols[2:]), penguins, penguin)
    # The refusal says what to write instead (sex: 2 categories and a null, dimension 3; the
    # dimension is the public one, not the number of codes present in the rows).
    assert "Set synth_params iterations to at most 5" in risk.value.message
    request = Synth("mwem", 1.0, None, cols, {"split_factor": 2, "iterations": 3}, nb_samples=15)
    table = smartnoise_synth.execute(request, penguins, penguin).table
    assert table is not None and table.shape == (15, 3)


def test_pacsynth(penguin: Metadata, penguins: pd.DataFrame) -> None:
    request = Synth("pacsynth", 10.0, 1e-5, ("species", "island", "sex"), nb_samples=12)
    table = smartnoise_synth.execute(request, penguins, penguin).table
    assert table is not None and table.shape == (12, 3)


@pytest.mark.parametrize(
    ("epsilon", "delta", "refused"),
    [
        (0.08, 1e-100, True),
        (0.3, 1e-20, True),
        (1.0, 1e-20, True),
        (1.0, 1e-300, True),
        (10.0, 1e-16, True),
        (0.08, 1e-300, False),
        (1.0, 1e-100, False),
        (10.0, 1e-20, False),
        (1.0, 1e-11, False),
    ],
)
def test_pacsynth_sigma_check_predicts_the_library(
    penguin: Metadata, penguins: pd.DataFrame, epsilon: float, delta: float, refused: bool
) -> None:
    """The cost step's copy of pac-synth's noise-scale check refuses exactly the (ε, δ) whose
    fit the library then rejects (a panic after reading the rows, charged): if this fails,
    pac-synth changed its arithmetic."""
    request = Synth("pacsynth", epsilon, delta, ("species", "island", "sex"), nb_samples=5)
    model = smartnoise_synth._create(request, penguin)
    columns = list(request.select_cols)
    transformer = smartnoise_synth._transformer(request, penguin, columns)
    rows = smartnoise_synth._fit_rows(penguins[columns], request, penguin)
    try:
        model.fit(rows, transformer=transformer, preprocessor_eps=0.0, nullable=True)
        failed = False
    except BaseException as exc:  # pyo3's PanicException is a BaseException
        assert "something went wrong calculating DP sigmas" in str(exc)
        failed = True
    assert failed == refused
    if refused:
        with pytest.raises(InvalidArgumentError, match="Set delta to 1e-11 or more") as error:
            smartnoise_synth.estimate_cost(request, penguin)
        assert error.value.field == "delta"
    else:
        assert smartnoise_synth.estimate_cost(request, penguin).epsilon == epsilon


def test_pacsynth_row_count_share_and_its_refusal(penguin: Metadata) -> None:
    """pac-synth stops when its noisy row count (Laplace, scale 1 / (share·ε)) is not positive:
    the share is raised from the library's 0.005 so that this happens at most 1 fit in 10^6 at
    the metadata's 344 rows, up to half of ε; below that ε the request is refused."""
    cols = ("species", "sex")

    def share(epsilon: float) -> float:
        model = smartnoise_synth._create(Synth("pacsynth", epsilon, 1e-5, cols), penguin)
        return float(model.number_of_records_epsilon_proportion)

    assert share(10.0) == 0.005
    assert share(1.0) == pytest.approx(math.log(0.5e6) / 343.5)
    assert smartnoise_synth._pacsynth_failure(1.0, share(1.0), 344) == pytest.approx(1e-6)
    assert smartnoise_synth._pacsynth_failure(1.0, 0.005, 344) == pytest.approx(0.0898, abs=1e-4)
    assert share(0.0765) <= 0.5
    with pytest.raises(InvalidArgumentError, match=r"at least 0\.0765") as refused:
        smartnoise_synth.estimate_cost(Synth("pacsynth", 0.0764, 1e-5, cols), penguin)
    assert refused.value.field == "epsilon"
    for bad in (0, 1, -0.1, "0.1", True):
        with pytest.raises(InvalidArgumentError, match="between 0 and 1") as error:
            smartnoise_synth.estimate_cost(
                Synth("pacsynth", 1.0, 1e-5, cols, {"number_of_records_epsilon_proportion": bad}),
                penguin,
            )
        assert error.value.field == "synth_params"


def test_samples_are_typed_as_the_metadata_declares(
    penguin: Metadata, penguins: pd.DataFrame
) -> None:
    # pacsynth's attributes left empty came as all-None object columns (private: string).
    request = Synth("pacsynth", 10.0, 1e-5, ("species", "island", "sex"), nb_samples=12)
    table = smartnoise_synth.execute(request, penguins, penguin).table
    assert table is not None and [str(t) for t in table.dtypes] == ["string"] * 3
    empty = pd.DataFrame({"species": [None, None], "bill_length_mm": [None, None]}, dtype=object)
    typed = typed_as_metadata(empty, penguin)
    assert [str(t) for t in typed.dtypes] == ["string", "float64"]


def test_dummy_mode_schedules_a_gan_at_the_metadatas_rows(penguin: Metadata) -> None:
    # At 100 dummy rows the sample rate was 50/100, one epoch spent 1.1 > 1 and dummy mode
    # refused a query the private mode (50/344) priced at 0.52 and ran.
    request = Synth("dpgan", 1.0, None, ("species", "sex"), {"epochs": 1, "batch_size": 50})
    assert smartnoise_synth.estimate_cost(request, penguin).epsilon < 1.0
    dummy = make_dummy_dataset(penguin, nb_rows=100, seed=0)
    table = smartnoise_synth.execute(request, dummy, penguin, show_library_errors=True).table
    assert table is not None and len(table) == request.nb_samples


@pytest.mark.parametrize("name", ["dpctgan", "dpgan"])
def test_gans_one_epoch_on_a_small_sample(
    name: str, penguin: Metadata, penguins: pd.DataFrame
) -> None:
    params: dict[str, Any] = (
        dict(TINY_GAN) if name == "dpctgan" else {"epochs": 1, "batch_size": 64}
    )
    request = Synth(name, 3.0, 1e-5, ("species", "bill_length_mm", "sex"), params, nb_samples=10)
    table = smartnoise_synth.execute(request, penguins, penguin).table
    assert table is not None and list(table.columns) == ["species", "bill_length_mm", "sex"]


def test_dummy_fits_report_their_iterations_and_epochs(
    penguin: Metadata, penguins: pd.DataFrame
) -> None:
    """Issue 16 item 12: MWEM reports each iteration, DP-CTGAN each epoch it trains."""
    seen: list[tuple[float, str]] = []
    columns = ("species", "bill_length_mm", "sex")
    request = Synth("mwem", 1.0, None, columns, {"iterations": 4}, nb_samples=5)
    smartnoise_synth.execute(request, penguins, penguin, progress=lambda f, p: seen.append((f, p)))
    phases = [p for _, p in seen]
    assert phases == [
        "mwem: fitting",
        *[f"mwem iteration {i} of 4" for i in range(1, 5)],
        "sampling",
        "done",
    ]
    assert [f for f, _ in seen] == sorted(f for f, _ in seen)
    seen.clear()
    params = {**TINY_GAN, "epochs": 2}
    request = Synth("dpctgan", 10.0, 1e-5, columns, params, return_model=True, allow_pickle=True)
    result = smartnoise_synth.execute(
        request, penguins, penguin, allow_pickle=True, progress=lambda f, p: seen.append((f, p))
    )
    phases = [p for _, p in seen]
    assert phases[:3] == [
        "dpctgan: training 2 epochs",
        "dpctgan epoch 1 of 2",
        "dpctgan epoch 2 of 2",
    ]
    assert result.model is not None
    assert type(pickle.loads(result.model.data).epsilon_list) is list


def test_dpctgan_too_small_epsilon(penguin: Metadata, penguins: pd.DataFrame) -> None:
    request = Synth("dpctgan", 1e-3, 1e-5, ("species",), TINY_GAN)
    with pytest.raises(InvalidArgumentError, match="Error fitting model: Inputted epsilon"):
        smartnoise_synth.execute(request, penguins.head(100), penguin)


@pytest.mark.parametrize(
    ("request_", "field", "fragment"),
    [
        (Synth("nosuch", 1.0), "synth_name", "unknown synthesizer"),
        (Synth("patectgan", 1.0, 1e-5), "synth_name", "not differentially private"),
        (Synth("pategan", 1.0, 1e-5), "synth_name", "pategan not reliable with this dataset"),
        (
            Synth("mst", 1.0, None, ("species", "idonotexist")),
            "select_cols",
            "Error while selecting provided select_cols",
        ),
        (Synth("mwem", 1.0, 1e-5), "delta", "takes no delta"),
        (Synth("pacsynth", 1.0, None), "delta", "delta is required"),
        # The library refused these in its fit, after reading the rows (charged).
        (
            Synth(
                "pacsynth",
                1.0,
                1e-5,
                ("species", "bill_length_mm"),
                constraints={
                    "bill_length_mm": {
                        "class": "MinMaxTransformer",
                        "params": {"lower": 30.0, "upper": 65.0},
                    }
                },
            ),
            "constraints",
            "pacsynth models categories only",
        ),
        (Synth("dpctgan", 1.0, 1e-5, (), {"sigma": 0.1, "batch_size": 50}), "synth_params", "0.5"),
        (Synth("dpctgan", 1.0, 1e-5), "synth_params", "Try decreasing batch_size"),
        (Synth("dpctgan", 1.0, 1e-5, (), {"disabled_dp": True}), "synth_params", "disabled_dp"),
        (Synth("dpgan", 1.0, 1e-5, (), {"verbose": True}), "synth_params", "verbose"),
        (Synth("dpgan", 1.0, 1e-5, (), {"wings": 2}), "synth_params", "wings"),
        (Synth("mst", 0.0), "epsilon", "> 0"),
        (Synth("mst", 1.0, condition="bill_length_mm <"), "condition", "WHERE clause"),
        # Lomas's Synth notebook cell 21: FEMALE unquoted is a column to SQL, so no row matches.
        (
            Synth("mst", 1.0, None, ("sex", "species"), condition="sex = FEMALE"),
            "condition",
            "'FEMALE', which is not a column of select_cols (sex, species); quote text values",
        ),
        (Synth("mst", 1.0, None, ("sex",)), "select_cols", "at least two"),
        (Synth("aim", 1.0, None, ("sex",)), "select_cols", "at least two"),
        # At delta=0 mst searched minutes for a noise scale and failed "unable to infer bounds",
        # aim divided by zero (both charged), pacsynth raised a bare ValueError.
        *(
            (Synth(name, 1.0, 0.0, ("species", "sex")), "delta", f"{name} needs delta > 0")
            for name in ("mst", "aim", "pacsynth", "dpgan", "dpctgan")
        ),
    ],
)
def test_refusals(request_: Synth, field: str, fragment: str, penguin: Metadata) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        smartnoise_synth.estimate_cost(request_, penguin)
    assert info.value.field == field and fragment in info.value.message


def test_model_needs_pickle_opt_in_on_both_sides(penguin: Metadata) -> None:
    dummy = make_dummy_dataset(penguin, 100)
    params = {"split_factor": 2, "iterations": 3}
    cols = ("species", "island", "sex")
    for client, server in ((False, True), (True, False)):
        request = Synth("mwem", 1.0, None, cols, params, return_model=True, allow_pickle=client)
        with pytest.raises(InvalidArgumentError) as info:
            smartnoise_synth.execute(request, dummy, penguin, allow_pickle=server)
        assert info.value.field == "return_model"
    request = Synth("mwem", 1.0, None, cols, params, return_model=True, allow_pickle=True)
    model = smartnoise_synth.execute(request, dummy, penguin, allow_pickle=True).model
    assert model is not None and model.format == "pickle"
    assert pickle.loads(model.data).sample(5).shape == (5, 3)


def test_free_text_needs_a_constraint() -> None:
    titanic = load_metadata_file(LOMAS / "metadata" / "titanic_metadata.yaml")
    with pytest.raises(InvalidArgumentError, match="free text") as info:
        build_transformer(titanic, ["Name", "Sex"], style="cube", nullable=True, constraints=None)
    assert info.value.field == "select_cols"
    table = build_transformer(
        titanic,
        ["Name", "Sex"],
        style="cube",
        nullable=True,
        constraints={"Name": {"class": "DropTransformer"}},
    )
    assert table.fit_complete


def test_constraints_lomas_form_and_refusals(penguin: Metadata) -> None:
    lomas_form = {
        "module": "smartnoise-synth",
        "constraints": {
            "bill_length_mm": {
                "type": "_ssynth_transformer:MinMaxTransformer",
                "params": {"lower": 30.0, "upper": 65.0, "nullable": True},
            },
            "species": {
                "type": "_ssynth_transformer:ChainTransformer",
                "params": [
                    {"type": "_ssynth_transformer:LabelTransformer", "params": {"nullable": True}},
                    {"type": "_ssynth_transformer:OneHotEncoder", "params": {}},
                ],
            },
        },
    }
    cols = ["species", "bill_length_mm"]
    table = build_transformer(penguin, cols, style="gan", nullable=True, constraints=lomas_form)
    assert table.fit_complete
    for bad, fragment in [
        ({"species": {"class": "Eval"}}, "'Eval'"),
        ({"wings": {"class": "DropTransformer"}}, "'wings'"),
        ({"species": {"class": "AnonymizationTransformer", "fake": "__init__"}}, "not allowed"),
        ({"bill_length_mm": {"class": "MinMaxTransformer", "params": {"epsilon": 1.0}}}, "epsilon"),
    ]:
        with pytest.raises(InvalidArgumentError, match=fragment):
            build_transformer(penguin, cols, style="gan", nullable=True, constraints=bad)


def test_encoders_never_see_private_values(penguin: Metadata) -> None:
    """Labels come from the metadata's categories, not from the rows."""
    table = build_transformer(penguin, ["species"], style="cube", nullable=False, constraints=None)
    only_gentoo = pd.DataFrame({"species": ["Gentoo"] * 3})
    assert table.cardinality == [3]
    assert table.transform(only_gentoo) == [(2,), (2,), (2,)]


SEX_AND_BILL = ("species", "sex", "bill_length_mm")
"""PENGUIN misses 11 ``sex`` and 2 ``bill_length_mm`` values; its metadata declares no column
nullable (Lomas's default)."""


@pytest.mark.parametrize(
    ("name", "delta", "params", "nullable"),
    [
        ("mwem", None, {"iterations": 5}, True),
        ("mwem", None, {"iterations": 5}, False),
        ("mst", None, {}, False),
        ("aim", None, {}, False),
        ("pacsynth", 1e-5, {}, False),
        # Three epochs: without the 11 rows missing sex the fit has fewer rows, so an epoch
        # spends more than at the published 344, and the last one no longer fits the charge.
        ("dpctgan", 1e-5, {**TINY_GAN, "epochs": 3}, False),
    ],
)
def test_missing_values_in_the_private_data_never_break_a_fit(
    name: str,
    delta: float | None,
    params: dict[str, Any],
    nullable: bool,
    penguin: Metadata,
    penguins: pd.DataFrame,
) -> None:
    """Issue 16 item 1: with nullable=False the fit failed with "Error fitting model (KeyError)"
    on the private data and passed on the dummy."""
    assert penguins["sex"].isna().sum() == 11 and penguins["bill_length_mm"].isna().sum() == 2
    request = Synth(name, 3.0, delta, SEX_AND_BILL, params, nullable=nullable, nb_samples=20)
    table = smartnoise_synth.execute(request, penguins, penguin).table
    assert table is not None and table.shape == (20, 3)
    if not nullable:
        # pacsynth returns missing values for attributes it left empty in every record it could
        # make (1 fit in 15 here); it no longer fails after the charge (_pacsynth_sample).
        sexes = table["sex"].dropna() if name == "pacsynth" else table["sex"]
        assert sexes.notna().all() and set(sexes) <= {"MALE", "FEMALE"}


def test_a_nullable_column_has_nulls_in_the_dummy_and_keeps_them_in_the_fit(
    penguins: pd.DataFrame,
) -> None:
    text = (LOMAS / "metadata" / "penguin_metadata.yaml").read_text()
    metadata = load_metadata_text(
        text.replace("    - MALE\n    - FEMALE\n", "    - MALE\n    - FEMALE\n    nullable: true\n")
    )
    assert metadata.column("sex").nullable
    dummy = make_dummy_dataset(metadata, 100, 42)
    assert dummy["sex"].isna().sum() > 0
    # nullable=False keeps the declared column's nulls (only undeclared ones drop rows).
    request = Synth("mwem", 3.0, None, ("species", "sex"), {"iterations": 5}, nullable=False)
    for data in (dummy, penguins):
        table = smartnoise_synth.execute(request, data, metadata).table
        assert table is not None and list(table.columns) == ["species", "sex"]


def test_gan_epochs_stop_before_the_request_is_exceeded(
    penguin: Metadata, penguins: pd.DataFrame
) -> None:
    """Issue 19 (b): DP-CTGAN checks its spend only at the start of each epoch, so alone it
    trains one epoch too many and spends more than asked. Veil schedules the epochs with the
    library's accountant: the cost is the accountant's figure after the last epoch that fits in
    DP-SGD's share (0.45 of 0.5), plus the category frequencies' tenth of the total (OpenDP's
    figure for ε_sgd / 9)."""
    columns = ("species", "sex", "bill_length_mm")
    params = {**TINY_GAN, "epochs": 300}  # sigma 5 (default), batch 50: 1 epoch fits in 0.45
    request = Synth("dpctgan", 0.5, None, columns, params, nb_samples=10)
    cost = smartnoise_synth.estimate_cost(request, penguin)
    # Lomas's default delta, from the published row count.
    assert cost.delta == 1 / (344 * 344**0.5)

    # The library alone, with the same parameters and data, given DP-SGD's share.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # opacus and torch deprecation notes
        alone = Synthesizer.create("dpctgan", epsilon=0.45, delta=cost.delta, **params)
        alone.fit(
            penguins[list(columns)],
            transformer=build_transformer(
                penguin, list(columns), style="gan", nullable=True, constraints=None
            ),
            preprocessor_eps=0.0,
            nullable=True,
        )
    readings = alone.epsilon_list  # its accountant at the start of each epoch
    trained_alone = len(readings) - 1  # the last reading broke the loop
    assert readings[-1] > 0.45, "the library alone overshoots its share"
    categories = ctgan_categories.category_epsilon(2, readings[-2])  # species and sex
    assert categories == pytest.approx(readings[-2] / 9, rel=1e-12)
    # Veil's cost is the library's own reading after one epoch less, plus the categories' share:
    # within the request (basic composition).
    assert cost.epsilon == pytest.approx(readings[-2] + categories, rel=1e-12)
    assert cost.epsilon <= 0.5

    fitted = smartnoise_synth.execute(
        Synth(
            "dpctgan",
            0.5,
            None,
            columns,
            params,
            return_model=True,
            allow_pickle=True,
        ),
        penguins,
        penguin,
        allow_pickle=True,
    )
    assert fitted.model is not None
    model = pickle.loads(fitted.model.data)
    # It trained one epoch less than the library alone, and its accountant agrees on the spend.
    assert len(model.epsilon_list) == trained_alone - 1
    assert model.epsilon_list == pytest.approx(readings[: trained_alone - 1], rel=1e-12)


def test_dpgan_cost_is_its_accountant_within_the_request(penguin: Metadata) -> None:
    cost = smartnoise_synth.estimate_cost(Synth("dpgan", 1.0, 1e-5), penguin)
    # snsynth's DPGAN: sigma 3.5, batches of 64 (drop_last), two optimizer steps per batch.
    per_epoch = (344 // 64) * 2

    def after(epochs: int) -> float:
        return gan_accounting.spent(64 / 344, 3.5, epochs * per_epoch, 1e-5)

    epochs = max(k for k in range(1, 200) if after(k) <= 1.0)
    assert cost.epsilon == after(epochs) and after(epochs + 1) > 1.0
    assert cost.delta == 1e-5


def _fitted_mwem(
    penguin: Metadata, penguins: pd.DataFrame, columns: list[str]
) -> tuple[Any, pd.DataFrame]:
    """MWEM fitted (ε 1, 3 iterations) on ``columns`` of the penguins, and the rows it saw."""
    transformer = build_transformer(
        penguin, columns, style="cube", nullable=False, constraints=None
    )
    model = Synthesizer.create("mwem", epsilon=1.0, iterations=3)
    rows = penguins[columns].dropna()
    model.fit(rows, transformer=transformer)
    return model, rows


def test_mwem_weights_update_equals_the_library(penguin: Metadata, penguins: pd.DataFrame) -> None:
    """Issue 16 item 12: Veil's multiplicative-weights step (queried cells only) gives the
    library's histogram, to rounding, on a real MWEM query pool."""
    request = Synth("mwem", 1.0, None, (*SEX_AND_BILL, "island"), {"iterations": 3})
    model, _ = _fitted_mwem(penguin, penguins, list(request.select_cols))
    histogram = model.histograms[0]
    queries, real = histogram.queries, histogram.data
    rng = np.random.default_rng(0)
    # Every query set of the (unseeded) fit: every third one held as few as 6 queries on some fits.
    measured = {
        qi: [q.evaluate(real) + rng.laplace(0.0, 5.0) for q in queries[qi].queries]
        for qi in range(len(queries))
    }
    start = model._initialize_a(real, histogram.dimensions)
    expected = type(model)._multiplicative_weights(model, start, queries, measured, real, 20)
    fast = mwem_weights.multiplicative_weights(model, start, queries, measured, real, 20)
    assert fast.shape == expected.shape and sum(len(v) for v in measured.values()) > 10
    np.testing.assert_allclose(fast, expected, rtol=1e-9, atol=1e-12)
    model = smartnoise_synth._create(request, penguin)
    mwem_weights.install(model, [3, 10, 3])
    assert model._multiplicative_weights.__func__ is mwem_weights.multiplicative_weights
    mwem_weights.uninstall(model)
    assert "_multiplicative_weights" not in model.__dict__


def test_mwem_weights_survive_measurements_far_beyond_the_row_count(
    penguin: Metadata, penguins: pd.DataFrame
) -> None:
    """At a tiny ε MWEM's noisy measurements are millions of times the row count: Veil's update
    overflowed or lost all its mass (NaN samples or a division by zero, after the charge, 16 fits
    in 20 at ε = 1e-3), and the library's own overflows past an exponent of 709. Now the
    histogram stays finite with the library's total, its mass where the measurements put it."""
    model, rows = _fitted_mwem(penguin, penguins, ["species", "sex"])
    histogram = model.histograms[0]
    queries, real = histogram.queries, histogram.data
    rng = np.random.default_rng(3)
    # Laplace noise of scale 1e4 (ε = 1e-3 over 5 iterations) and one measurement 1e7 off.
    measured = {
        qi: [q.evaluate(real) + rng.laplace(0.0, 1e4) for q in queries[qi].queries]
        for qi in range(len(queries))
    }
    first = next(iter(measured))
    measured[first][0] = 1e7
    start = model._initialize_a(real, histogram.dimensions)
    updated = mwem_weights.multiplicative_weights(model, start, queries, measured, real, 20)
    assert np.all(np.isfinite(updated)) and np.all(updated >= 0)
    assert updated.sum() == pytest.approx(len(rows))
    # The slice measured 1e7 (a count over 10,000 times the rows) holds all the mass.
    assert float(np.sum(updated.T[tuple(queries[first].queries[0].query)])) == pytest.approx(
        len(rows)
    )


def test_mwem_histogram_domain_is_public(penguin: Metadata, penguins: pd.DataFrame) -> None:
    """Issue 16 item 12: MWEM's histogram has one cell per public code (the null as one more
    bin), however few codes the private rows use; the library sized it from the rows' codes,
    so an empty extreme bin was never sampled and the fit's size depended on the data."""
    columns = ["species", "bill_length_mm", "sex"]
    transformer = build_transformer(
        penguin, columns, style="cube", nullable=True, constraints=None, null_bin=True
    )
    assert list(transformer.cardinality) == [4, 11, 3]  # 3 species + null, 10 bins + null, ...
    # Only Adelie penguins with short bills: the library's histogram would be 1 x 3 x 3.
    few = penguins[columns][penguins["species"].eq("Adelie") & (penguins["bill_length_mm"] < 37)]
    model = Synthesizer.create("mwem", epsilon=1.0, iterations=3, split_factor=3)
    mwem_weights.install(model, list(transformer.cardinality))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(
            smartnoise_synth._fit_rows(few, Synth("mwem", 1.0), penguin), transformer=transformer
        )
    assert model.histograms[0].data.shape == (4, 11, 3)
    assert model.histograms[0].data.sum() == len(few)
    codes = np.array(transformer.transform(few))
    expected = np.zeros((4, 11, 3))
    for row in codes:
        expected[tuple(row)] += 1
    np.testing.assert_array_equal(model.histograms[0].data, expected)
    # A null round-trips through the extra bin; bounds stay in the first and last bins.
    binned = transformer.transformers[1]
    assert binned.transform([None, 30.0, 65.0]) == [10, 0, 9]
    assert binned.inverse_transform([10, 0]) == [None, 31.75]


def test_mwem_full_columns_samples_nulls_and_every_column(
    penguin: Metadata, penguins: pd.DataFrame
) -> None:
    """All seven PENGUIN columns (the fit of issue 16 item 12), few iterations: samples come
    back with each column decoded, missing values as None/NaN where the fit learned them."""
    request = Synth("mwem", 1.0, None, (), {"iterations": 4}, nb_samples=50)
    result = smartnoise_synth.execute(request, penguins, penguin)
    assert result.table is not None and list(result.table.columns) == penguin.column_names
    assert len(result.table) == 50
    assert set(result.table["species"].dropna()) <= {"Adelie", "Chinstrap", "Gentoo"}
    lengths = result.table["bill_length_mm"].dropna()
    assert ((lengths >= 30.0) & (lengths <= 65.0)).all()


@pytest.fixture(scope="module")
def pums() -> Metadata:
    return load_metadata_file(LOMAS / "metadata" / "pums_metadata.yaml")


def test_patectgan_teachers_are_its_student() -> None:
    """Why patectgan is refused: smartnoise-synth's PATECTGAN trains one network as the student
    and as every teacher. If this fails, the installed library changed: re-examine it."""
    from snsynth.pytorch.nn.patectgan import PATECTGAN

    code = " ".join(inspect.getsource(PATECTGAN.train).split())
    assert "student_disc = discriminator" in code
    assert "teacher_disc = [discriminator for i in range(self.num_teachers)]" in code


def test_pategan_trains_exactly_the_rounds_it_is_charged(
    pums: Metadata, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    frame = make_dummy_dataset(pums, 1000, seed=3)
    params = {"batch_size": 8, "latent_dim": 8}
    request = Synth("pategan", 0.1, 1e-3, ("sex", "race"), params, nb_samples=7)
    cost = smartnoise_synth.estimate_cost(request, pums)
    model = Synthesizer.create("pategan", epsilon=0.1, delta=1e-3, **params)
    planned = pate_accounting.schedule(model, 0.1, 1e-3, 1000)
    # The data-free bound of the library's own accountant, after those rounds: within the
    # request, and one more round would exceed it.
    assert (
        cost.epsilon
        == planned.epsilon
        <= 0.1
        < pate_accounting.spent_after(planned.rounds + 1, model, 1e-3)
    )
    assert cost.delta == 1e-3 and planned.rounds == 3
    steps: list[int] = []
    library_step = torch.optim.Adam.step

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        steps.append(id(self))
        return library_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", counting)
    table = smartnoise_synth.execute(request, frame, pums).table
    assert table is not None and table.shape == (7, 2)
    # One generator step per round, student_iters (5) student steps, 5 per teacher (1 teacher).
    assert sorted(steps.count(s) for s in set(steps)) == [3, 15, 15]


def test_pategan_refusals(pums: Metadata) -> None:
    with pytest.raises(InvalidArgumentError) as bound:
        smartnoise_synth.estimate_cost(
            Synth("pategan", 1.0, 1e-3, ("sex", "race")), pums, max_epochs=10
        )
    assert bound.value.field == "epsilon"
    assert "more than 10 rounds" in bound.value.message and "--dp-synth-max-epochs" in (
        bound.value.message
    )
    with pytest.raises(InvalidArgumentError, match="too small") as small:
        smartnoise_synth.estimate_cost(Synth("pategan", 0.01, 1e-5, ("sex", "race")), pums)
    assert small.value.field == "synth_params"
    dummy = make_dummy_dataset(pums, 100, seed=1)
    with pytest.raises(InvalidArgumentError, match="1,000 dummy rows"):
        smartnoise_synth.execute(
            Synth("pategan", 1.0, 1e-3, ("sex", "race")), dummy, pums, show_library_errors=True
        )


def test_gan_epochs_bound(penguin: Metadata) -> None:
    params = dict(TINY_GAN, epochs=3)
    request = Synth("dpctgan", 3.0, 1e-5, ("species", "sex"), params)
    assert smartnoise_synth.estimate_cost(request, penguin, max_epochs=3).epsilon > 0
    with pytest.raises(InvalidArgumentError) as info:
        smartnoise_synth.estimate_cost(request, penguin, max_epochs=2)
    assert info.value.field == "synth_params"
    assert "would train 3 epochs" in info.value.message and "at most 2" in info.value.message


def test_the_operator_bound_reaches_the_engine_task(penguin: Metadata, tmp_path: Path) -> None:
    """``--dp-synth-max-epochs`` (``VEIL_DP_SYNTH_MAX_EPOCHS``) -> task parameter -> refusal."""
    settings = load_settings({"dp_synth_max_epochs": 2}, environ={})
    assert load_settings(environ={"VEIL_DP_SYNTH_MAX_EPOCHS": "7"}).dp_synth_max_epochs == 7
    request = Synth("dpctgan", 3.0, 1e-5, ("species", "sex"), dict(TINY_GAN, epochs=3))
    params = {
        "library": "smartnoise_synth",
        "request": request_to_dict(request),
        "metadata": penguin.to_dict(),
        "synth_max_epochs": settings.dp_synth_max_epochs,
    }
    with pytest.raises(InvalidArgumentError, match="limit of 2"):
        run_dp_cost(TaskContext(params=params, inputs={}, output_dir=tmp_path))
    params["synth_max_epochs"] = 3
    assert run_dp_cost(TaskContext(params=params, inputs={}, output_dir=tmp_path))["epsilon"] > 0


@pytest.mark.parametrize("name", ["dpctgan", "dpgan"])
def test_gans_on_a_date_column(name: str) -> None:
    """Lomas's BIRTHDAYS: GANs sample float32 days, which datetime.timedelta refused."""
    birthdays = load_metadata_file(LOMAS / "metadata" / "birthday_metadata.yaml")
    frame = conform_to_metadata(pd.read_csv(LOMAS / "datasets" / "birthdays.csv"), birthdays)
    params: dict[str, Any] = (
        dict(TINY_GAN, batch_size=2) if name == "dpctgan" else {"epochs": 1, "batch_size": 2}
    )
    request = Synth(name, 10.0, 1e-3, (), params, nb_samples=6)
    table = smartnoise_synth.execute(request, frame, birthdays).table
    assert table is not None and table.shape == (6, 1)
    days = pd.to_datetime(table["birthday"].dropna())
    assert days.between(pd.Timestamp("1900-01-01"), pd.Timestamp("2050-01-01")).all()


def test_the_date_transformer_pickles_as_the_library_class() -> None:
    from snsynth.transform.datetime import DateTimeTransformer

    birthdays = load_metadata_file(LOMAS / "metadata" / "birthday_metadata.yaml")
    chain = build_transformer(birthdays, ["birthday"], style="gan", nullable=True, constraints=None)
    dates = chain.transformers[0].transformers[0]
    assert dates._inverse_transform(np.float32(1.5)) == pd.Timestamp("1900-01-02 12:00")
    assert dates._inverse_transform(np.float32("nan")) is None
    assert type(pickle.loads(pickle.dumps(dates))) is DateTimeTransformer


def test_a_library_panic_is_a_clear_error_not_an_internal_one(
    penguin: Metadata, penguins: pd.DataFrame
) -> None:
    # pacsynth's Rust code panics on some draws at a tiny epsilon; pyo3's PanicException is a
    # BaseException, which no library-error clause caught.
    class PanicException(BaseException):  # the name pyo3 gives it
        pass

    class Panicking:
        def fit(self, *args: Any, **kwargs: Any) -> None:
            raise PanicException("adding noise to number of records resulted in a negative number")

    class Interrupted:
        def fit(self, *args: Any, **kwargs: Any) -> None:
            raise KeyboardInterrupt

    request = Synth("pacsynth", 1.0, 1e-5, ("species", "sex"))
    columns = list(request.select_cols)
    transformer = smartnoise_synth._transformer(request, penguin, columns)
    rows = smartnoise_synth._fit_rows(penguins[columns], request, penguin)
    model = smartnoise_synth._create(request, penguin)
    model.synth = Panicking()  # the Rust synthesizer the library's wrapper fits
    for show, shown in ((True, "negative number"), (False, "the library panicked")):
        with pytest.raises(InvalidArgumentError, match=shown) as refused:
            smartnoise_synth._fit(model, rows, transformer, request, show, penguin)
        assert refused.value.field == "synth_params"
    model.synth = Interrupted()
    with pytest.raises(KeyboardInterrupt):
        smartnoise_synth._fit(model, rows, transformer, request, True, penguin)


@pytest.mark.parametrize(
    ("nullable", "constraints"),
    [
        (False, None),
        (True, {"sex": {"type": "_ssynth_transformer:LabelTransformer", "params": {}}}),
    ],
)
def test_pacsynth_fits_every_row_whatever_misses_a_value(
    nullable: bool,
    constraints: dict[str, Any] | None,
    penguin: Metadata,
    penguins: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pacsynth's share of ε for its noisy record count is sized from the metadata's 344 rows:
    the 11 rows missing ``sex`` (not nullable in the metadata) were left out of the fit without
    ``nullable`` or with the caller's own encoder, so it counted 333 (2 of 344 in a table where
    most miss it: a panic after the charge 1 fit in 2). Now all 344 are fitted, ``sex`` left as
    pac-synth's empty attribute, and the other values of those rows are kept."""
    fitted: list[Any] = []
    sample = smartnoise_synth._sample

    def spy(model: Any, request: Synth) -> pd.DataFrame:
        fitted.append(model)
        return sample(model, request)

    monkeypatch.setattr(smartnoise_synth, "_sample", spy)
    request = Synth(
        "pacsynth",
        1000.0,
        1e-5,
        ("species", "sex"),
        nullable=nullable,
        constraints=constraints,
        nb_samples=10,
    )
    table = smartnoise_synth.execute(request, penguins, penguin).table
    assert table is not None and table.shape == (10, 2)
    (model,) = fitted
    records = model.dataset.to_raw_data()[1:]
    assert len(records) == 344
    assert sum(1 for record in records if record[1] == "") == 11
    assert sum(1 for record in records if record[0] == "") == 0
    assert abs(model.synth.get_dp_number_of_records() - 344) <= 2  # ε 1000: almost exact


def test_mwem_hyperparameters_depend_on_the_metadata_not_on_the_private_rows(
    penguin: Metadata, penguins: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """smartnoise-synth's MWEM sizes what it is not given from the rows it fits: iterations (10
    per decade), hence its query pool (2 per iteration), the widest marginal it measures (3
    columns above 10,000 rows, else 2), and the total of its synthetic histogram, the scale of
    every update step. The same request on the same metadata (344 rows) fitted on PENGUIN and on
    PENGUIN 30 times over (10,320 rows) now runs with the same hyperparameters; before, the
    marginal width went from 2 to 3 and the histogram's total from 344 to 10,320."""
    from snsynth.mwem import Histogram

    widths: list[int] = []
    add_cuboids = Histogram.add_cuboid_queries

    def spy_cuboids(self: Any, max_cols: int) -> None:
        widths.append(int(max_cols))
        add_cuboids(self, max_cols)

    fitted: list[Any] = []
    sample = smartnoise_synth._sample

    def spy_sample(model: Any, request: Synth) -> pd.DataFrame:
        fitted.append(model)
        return sample(model, request)

    monkeypatch.setattr(Histogram, "add_cuboid_queries", spy_cuboids)
    monkeypatch.setattr(smartnoise_synth, "_sample", spy_sample)
    request = Synth("mwem", 1.0, None, ("species", "island", "sex"), nb_samples=5)
    seen = []
    for rows in (penguins, pd.concat([penguins] * 30, ignore_index=True)):
        widths.clear()
        table = smartnoise_synth.execute(request, rows, penguin).table
        assert table is not None and table.shape == (5, 3)
        model = fitted.pop()
        seen.append(
            {
                "marginal_width": set(widths),
                "iterations": [h.iterations for h in model.histograms],
                "queries": [len(h.queries) for h in model.histograms],
                "measurement_epsilon": [h.meas_eps for h in model.histograms],
                "synthetic_total": [
                    round(float(np.sum(synthetic)), 6)
                    for synthetic, _, _ in model.synthetic_histograms
                ],
            }
        )
    assert seen[0] == seen[1]
    assert seen[0] == {
        "marginal_width": {2},
        "iterations": [30],
        "queries": [60],
        "measurement_epsilon": [1.0 / 2 / 1 / 30],
        "synthetic_total": [344.0],
    }


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"iterations": 5, "q_count": 3}, "set q_count to at least 5"),
        ({"iterations": 5, "marginal_width": "2"}, "marginal_width must be a whole number"),
        ({"iterations": 0}, "iterations must be a whole number"),
    ],
)
def test_mwem_schedule_the_fit_would_fail_on_is_refused_before_the_charge(
    params: dict[str, Any], fragment: str, penguin: Metadata
) -> None:
    """Each failed in the library's fit, after reading the rows ("'a' cannot be empty unless
    no samples are taken"; "'<=' not supported between instances of 'str' and 'int'"; 0
    iterations divide its ε by zero)."""
    request = Synth("mwem", 1.0, None, ("species", "island", "sex"), params)
    with pytest.raises(InvalidArgumentError, match=fragment) as refused:
        smartnoise_synth.estimate_cost(request, penguin)
    assert refused.value.field == "synth_params"


# DP-CTGAN's category frequencies (s43): smartnoise-synth 1.0.8 drew every synthetic row's
# categories from the exact private frequencies, and a returned model held the private rows.

PENGUIN_SPECIES = np.array([152, 68, 124])  # Adelie, Chinstrap, Gentoo


def _one_hot_species(penguin: Metadata, penguins: pd.DataFrame) -> tuple[Any, Any]:
    transformer = build_transformer(
        penguin, ["species"], style="gan", nullable=True, constraints=None
    )
    frame = penguins[["species"]].astype(object)
    transformer.fit(frame)
    data = np.array(transformer.transform(frame), dtype="float64")
    assert (data.sum(axis=0) == PENGUIN_SPECIES).all()
    return data, transformer.transformers


def test_dpctgan_category_frequencies_are_noisy_and_the_model_holds_no_rows(
    penguin: Metadata, penguins: pd.DataFrame
) -> None:
    """Before: each fit's sampler held the exact frequencies (Chinstrap 68/345) and the 344
    one-hot private rows, and a returned model carried them."""
    request = Synth(
        "dpctgan", 3.0, 1e-5, ("species", "sex"), TINY_GAN, return_model=True, allow_pickle=True
    )
    seen = []
    for _ in range(3):
        result = smartnoise_synth.execute(request, penguins, penguin, allow_pickle=True)
        assert result.model is not None
        model = pickle.loads(result.model.data)
        sampler = model._data_sampler
        assert type(sampler).__module__ == "snsynth.pytorch.nn.ctgan.data_sampler"
        assert sampler._data.shape[0] == 0 and sampler._rid_by_cat_cols == []
        assert model.loss_d_list == [] and model.loss_g_list == []
        width = int(sampler._discrete_column_n_category[0])  # with the null code (nullable)
        species = sampler.discrete_column_category_prob[0][:width]
        assert species.sum() == pytest.approx(1.0)
        # The library's: the counts, an empty code counted 1.
        exact = np.append(PENGUIN_SPECIES, [1] * (width - 3)) / (344 + width - 3)
        assert not np.allclose(species, exact)
        seen.append(float(species[1]))
        assert model.sample(5).shape == (5, 2)  # it still samples, from the noisy frequencies
    assert len(set(seen)) > 1


def test_noisy_category_probabilities_converge_to_the_exact_ones(
    penguin: Metadata, penguins: pd.DataFrame
) -> None:
    data, transformers = _one_hot_species(penguin, penguins)
    exact = PENGUIN_SPECIES / 344
    (huge,) = ctgan_categories.noisy_probabilities(data, transformers, 1e9)
    assert huge == pytest.approx(exact, abs=1e-6)
    draws = {
        float(ctgan_categories.noisy_probabilities(data, transformers, 0.3)[0][1]) for _ in range(8)
    }
    assert len(draws) > 1 and max(draws) - min(draws) > 1e-3
    # The charge is OpenDP's figure for the share: L1 sensitivity = the histograms' number.
    assert ctgan_categories.category_epsilon(3, 1.8) == pytest.approx(0.2, rel=1e-12)
    assert ctgan_categories.category_epsilon(0, 2.0) == 0.0


def test_the_discriminator_draws_rows_uniformly_with_their_own_categories() -> None:
    """Noisy frequencies in the library's row draw would make a row alone in its category
    drawn far more often than batch_size / rows, the rate opacus is told; the discriminator's
    conditions are the uniformly drawn rows' own categories instead."""
    from types import SimpleNamespace

    rows = 200
    data = np.zeros((rows, 3))
    data[:, 0] = 1
    data[0] = [0, 1, 0]  # the only row of category 1
    transformers = [SimpleNamespace(is_categorical=True, output_width=3)]
    sampler = ctgan_categories._sampler_class()(data, transformers, [np.array([0.1, 0.8, 0.1])])
    drawn_alone = 0
    for _ in range(100):
        cond, _, column, option = sampler.sample_condvec(50)
        perm = np.random.permutation(50)
        real = sampler.sample_data(50, column[perm], option[perm])
        assert (real.argmax(axis=1) == cond[perm].argmax(axis=1)).all()
        drawn_alone += int((real[:, 1] == 1).sum())
        generator, *_ = sampler.sample_condvec(50)  # the generator's: noisy frequencies
        assert generator.sum(axis=0)[1] > 20
    assert drawn_alone < 60  # expected 100 * 50 / 200 = 25; the library's draw: ~4,000
    sampler.sample_condvec(50)
    sampler.sample_condvec(50)
    with pytest.raises(RuntimeError, match="training loop"):
        sampler.sample_data(2, np.array([0, 0]), np.array([0, 0]))
