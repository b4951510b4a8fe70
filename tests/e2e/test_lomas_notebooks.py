"""Lomas's demo notebooks, run on Veil verbatim but for the import and the URL (issue 16).

Each notebook's code cells are stored under tests/e2e/lomas_notebooks/ with the two edits marked
"Veil:". The cells run in order in one namespace against a real server, as Lomas's "Dr.
Antartica" with Lomas's demo budget on PENGUIN (ε 10, δ 0.005); the costs the notebook printed
on Lomas are asserted to the last digit where Veil's library computes the same figure.
"""

from __future__ import annotations

import math
import os
import re
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import opendp.prelude as dp
import pandas as pd
import polars as pl
import pytest
import yaml
from dp_support import LOMAS, register
from opendp.extras.polars import Margin
from opendp.mod import OpenDPException
from support import ServerThread, create_user, start_server
from veil_client import Manager
from veil_client.dp_admin import DPAdminClient
from veil_client.lomas_errors import ExternalLibraryException, InvalidQueryException
from veil_service.accounts import api_keys, users
from veil_service.dpquery import grants

NOTEBOOKS = Path(__file__).parent / "lomas_notebooks"
pytestmark = pytest.mark.skipif(not LOMAS.exists(), reason="shared Lomas data not found")


def cells(name: str) -> list[str]:
    """The notebook's code cells, in order."""
    text = (NOTEBOOKS / name).read_text()
    return [part.split("\n", 1)[1] for part in re.split(r"^# ---- cell ", text, flags=re.M)[1:]]


def demo_server(
    tmp: Path, user: str, stem: str, dataset: str, epsilon: float, delta: float, **settings: Any
) -> tuple[ServerThread, str]:
    """A server with one Lomas dataset and one user's budget on it; the user's API key."""
    server = start_server(tmp, **settings)
    try:
        register(server, stem, name=dataset)
        with server.app.db.begin() as conn:
            created = users.create_user(
                conn, username=user, email=f"{stem}@example.org", role="user"
            )
            _, key = api_keys.create_api_key(
                conn, user_id=created.id, name="demo", expiration_days=30
            )
            grants.grant_access(conn, user=user, dataset=dataset, epsilon=epsilon, delta=delta)
    except BaseException:
        server.stop()
        raise
    return server, key


@pytest.fixture()
def lomas_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerThread, str]]:
    """A server with PENGUIN and Dr. Antartica's budget on it, as in Lomas's demo set-up."""
    tmp = Path(tmp_path_factory.mktemp("lomas_demo"))
    server, key = demo_server(tmp, "Dr. Antartica", "penguin", "PENGUIN", 10.0, 0.005)
    try:
        yield server, key
    finally:
        server.stop()


@pytest.fixture()
def fso_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerThread, str]]:
    """FSO_INCOME_SYNTHETIC and Dr. FSO, with ε 2,500 instead of Lomas's 45 (user_collection.yaml).

    On Lomas the polars notebook's queries cost almost nothing: it prices them at one changed
    row while treating the row count as public, a pair of datasets that cannot exist, so OpenDP
    charges only float slack (quantiles ε 0). Priced soundly (docs/dp.md) they cost ε 2,301.7,
    so the grant is raised for the scenario to run to its end.
    """
    tmp = Path(tmp_path_factory.mktemp("fso_demo"))
    server, key = demo_server(
        tmp, "Dr. FSO", "fso_income_synthetic", "FSO_INCOME_SYNTHETIC", 2_500.0, 0.005
    )
    try:
        yield server, key
    finally:
        server.stop()


@dataclass(frozen=True)
class Edit:
    """A cell the pinned library refuses as written: ``old`` becomes ``new``.

    Attributes:
        old: Text of the cell to replace (must occur).
        new: Replacement.
        error: What the library raises on the cell as written.
        message: A fragment of the library's message (its advice on what to write instead).
    """

    old: str
    new: str
    error: type[Exception]
    message: str

    def apply(self, name: str, number: int, source: str, namespace: dict[str, Any]) -> str:
        """Check the written cell fails in the library as stated; return the edited cell."""
        assert self.old in source, f"{name} cell {number} no longer contains {self.old!r}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(self.error, match=re.escape(self.message)):
                exec(compile(source, f"{name}[cell {number}, as written]", "exec"), dict(namespace))
        return source.replace(self.old, self.new)


def run_notebook(
    name: str,
    server: ServerThread,
    key: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    failing: dict[int, type[Exception]] | None = None,
    not_run: dict[int, str] | None = None,
    edits: dict[int, Edit | list[Edit]] | None = None,
) -> list[dict[str, Any]]:
    """Run every cell; return a copy of the namespace after each cell.

    Args:
        failing: Cells that fail on Lomas too (their output shows the error), with the class
            they must raise here; the error is kept as ``__error__``.
        not_run: Cells that only display something the notebook's folder holds (an image
            file), with the reason; they touch neither Lomas nor Veil.
        edits: Cells the pinned DP library (not Veil) cannot run as written. The cell as
            written must raise the library's own error first (run on a copy of the namespace);
            then the edited cell runs. A list of edits applies in order, each checked on the
            cell as the previous ones left it.
    """
    failing = failing or {}
    not_run = not_run or {}
    edits = edits or {}
    monkeypatch.setenv("VEIL_URL", server.url)
    monkeypatch.setenv("VEIL_API_KEY", key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # cell 1 appends to it
    namespace: dict[str, Any] = {"__name__": "__notebook__"}
    after: list[dict[str, Any]] = []
    for number, source in enumerate(cells(name)):
        if number in not_run:
            after.append({**namespace, "__warnings__": [], "__error__": None})
            continue
        # A notebook shows warnings and goes on (pytest's configuration would raise them).
        error: Exception | None = None
        for edit in _as_list(edits.get(number, [])):
            source = edit.apply(name, number, source, namespace)
        started = time.monotonic()
        with warnings.catch_warnings(record=True) as shown:
            warnings.simplefilter("always")
            try:
                exec(compile(source, f"{name}[cell {number}]", "exec"), namespace)
            except Exception as exc:
                if not isinstance(exc, failing.get(number, ())):
                    raise AssertionError(f"{name} cell {number} failed: {exc!r}\n{source}") from exc
                error = exc
        if os.environ.get("VEIL_NOTEBOOK_TIMES"):
            print(f"{name} cell {number}: {time.monotonic() - started:.1f} s", file=sys.stderr)
        if number in failing and error is None:
            raise AssertionError(f"{name} cell {number} fails on Lomas but passed here")
        after.append(
            {
                **namespace,
                "__warnings__": [str(w.message) for w in shown],
                "__error__": error,
                "__seconds__": time.monotonic() - started,
            }
        )
    return after


def _as_list(edits: Edit | list[Edit]) -> list[Edit]:
    return edits if isinstance(edits, list) else [edits]


def test_smartnoise_sql_notebook(
    lomas_demo: tuple[ServerThread, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server, key = lomas_demo
    after = run_notebook("smartnoise_sql.py.txt", server, key, monkeypatch, tmp_path)

    def cost(cell: int) -> tuple[float, float]:
        value = after[cell]["cost"]
        return (value.epsilon, value.delta)

    # The figures Lomas's notebook printed (its outputs), to the last digit.
    assert cost(11) == (1.0, 5.000000000032756e-06)
    assert cost(15) == (1.0, 1.4999949999983109e-05)
    assert cost(23) == (1.5, 5.000000000032756e-06)
    assert cost(30) == cost(31) == cost(32) == cost(38) == (3.0, 5.000000000032756e-06)
    assert after[5]["nb_penguin"] == 344
    assert after[16]["avg_bill_length_response"].epsilon == 1.0
    # Three private queries: 1.0 + 1.5 + 7.5 of the 10 granted.
    remaining = after[45]["client"].get_remaining_budget()
    assert remaining.remaining_epsilon == pytest.approx(0.0, abs=1e-9)
    frame = after[50]["df_flipper"]
    assert list(frame["species"]) == ["Adelie", "Chinstrap", "Gentoo"]
    assert {"ci_95_lower_bound", "ci_95_upper_bound"} <= set(frame.columns)
    # Dummy answers show the would-be cost, not charged (issue 16 item 5).
    dummy = after[9]["dummy_res"]
    assert (dummy.epsilon, dummy.charged) == (1.0, False)


def test_diffprivlib_notebook(
    lomas_demo: tuple[ServerThread, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server, key = lomas_demo
    # Cells 9 and 13 fail on Lomas too: the pipelines leak privacy (no bounds, no data_norm).
    leaks = {9: ExternalLibraryException, 13: ExternalLibraryException}
    after = run_notebook("diffprivlib.py.txt", server, key, monkeypatch, tmp_path, leaks)

    for cell in leaks:
        error = after[cell]["__error__"]
        assert error.library == "diffprivlib"
        assert error.error_message.startswith("PrivacyLeakWarning:")
    # Cell 7: diffprivlib itself warns in the client process, as in Lomas's output.
    assert any("svd_solver" in w for w in after[7]["__warnings__"])
    # Costs as Lomas printed them.
    assert (after[20]["res"].epsilon, after[20]["res"].delta) == (1.5, 0.0)
    assert (after[30]["cost_res"].epsilon, after[30]["cost_res"].delta) == (1.5, 0.0)
    assert (after[38]["cost_res"].epsilon, after[38]["cost_res"].delta) == (2.0, 0.0)
    # The documented difference: no noise-free score from the private rows (Lomas: 0.6).
    assert after[22]["res"].result.score is None
    assert after[16]["dummy_response"].result.score is not None  # dummy rows: the raw score
    assert list(after[25]["x_to_predict"]["predictions"]) != []
    assert after[63]["pca_model"].n_components_ == 4
    # Five private queries, oldest first, with Lomas's keys.
    queries = after[71]["previous_queries"]
    assert len(queries) == 5
    assert [q["response"]["epsilon"] for q in queries] == [1.5, 1.5, 2.0, 2.0, 1.0]
    first = after[72]["query_1"]
    assert (first["user_name"], first["dataset_name"], first["dp_library"]) == (
        "Dr. Antartica",
        "PENGUIN",
        "diffprivlib",
    )
    assert "diffprivlib_json" in first["client_input"]
    assert first["client_input"]["test_size"] == 0.1


def test_penguin_research_notebook(
    lomas_demo: tuple[ServerThread, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server, key = lomas_demo
    # The documented difference: a private query returns no noise-free score (None; Lomas: the
    # exact held-out R², 0.28), so the notebook's standard error cannot be computed from it.
    failing: dict[int, type[Exception]] = {19: TypeError}
    not_run = {20: "uses SE (cell 19)", 22: "uses t_score (cell 20)"}
    after = run_notebook(
        "penguin_research.py.txt", server, key, monkeypatch, tmp_path, failing, not_run
    )

    assert after[5]["N_TOT"] == 344
    assert after[6]["penguin_metadata"]["columns"]["bill_length_mm"]["lower"] == 30.0
    assert after[8]["df_dummy"].shape == (100, 7)
    response = after[11]["response"]
    assert (response.epsilon, response.delta) == (4.0, 0.0)  # as Lomas's model printed it
    assert after[12]["model"].accountant.spent_budget == [(4.0, 0)]
    assert 0.0 < after[14]["beta_estimate"] < 10.0  # Lomas: 1.6123557071282824 (DP noise)
    assert after[15]["score"] is None
    assert "NoneType" in str(after[19]["__error__"])
    sql = after[17]["sql_response"]
    assert list(after[17]["res"].columns) == ["std_bill_length", "std_flipper_length"]
    # As Lomas printed it, 1.9836834768926603, to scipy's precision (1.98368347696 here).
    assert after[21]["t_critical"] == pytest.approx(1.9836834768926603, rel=1e-10)
    spent = after[17]["client"].get_total_spent_budget()
    assert spent.total_spent_epsilon == pytest.approx(4.0 + sql.epsilon, rel=1e-12)
    # smartnoise-sql's own figure for two STDs (Lomas runs the same library and version).
    assert (sql.epsilon, sql.delta) == (6.0, 4.999999999999449e-05)


def test_queries_testing_notebook(
    lomas_demo: tuple[ServerThread, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server, key = lomas_demo
    cast = "trans.then_cast_default(TOA=float) >>\n"
    nan_free = Edit(
        cast,
        cast + "    trans.then_impute_constant(44.6) >>\n",
        OpenDPException,
        "Domain contains nan",
    )
    # Cell 9 is meant to fail ("Expect to fail !!!": no noise); Lomas's client then failed on
    # its own error model (a pydantic ValidationError), Veil raises InvalidQueryException.
    after = run_notebook(
        "queries_testing.py.txt",
        server,
        key,
        monkeypatch,
        tmp_path,
        {9: InvalidQueryException},
        None,
        {8: nan_free},
    )

    assert "not a measurement" in str(after[9]["__error__"])
    ib = after[4]["ib"]
    assert (ib.initial_epsilon, ib.initial_delta) == (10.0, 0.005)  # as Lomas printed
    sql_cost = (1.0, 4.999999999999449e-05)  # as Lomas printed (cells 5 and 7)
    assert (after[5]["cost"].epsilon, after[5]["cost"].delta) == sql_cost
    assert (after[7]["res"].epsilon, after[7]["res"].delta) == sql_cost and after[7]["res"].charged
    dummy = after[6]["dummy_res"]  # the would-be cost, not charged, as Lomas printed it
    assert (dummy.epsilon, dummy.delta, dummy.charged) == (200.0, 0.495, False)
    # As Lomas printed it (OpenDP 0.10, without the imputation step OpenDP 0.14 requires).
    opendp_cost = after[11]["cost_res"]
    assert (opendp_cost.epsilon, opendp_cost.delta) == (2.4500000000007707, 0.0)
    assert after[10]["dummy_var_res"].epsilon == 2.4500000000007707
    assert after[12]["var_res"].epsilon == opendp_cost.epsilon
    # Cells 13 and 14: ten budget reads and costs, ten dummy queries; nothing more is spent.
    spent = after[14]["client"].get_total_spent_budget()
    assert spent.total_spent_epsilon == pytest.approx(1.0 + opendp_cost.epsilon, rel=1e-12)
    assert after[14]["dummy_res"].epsilon == 200.0


def test_opendp_polars_notebook(
    fso_demo: tuple[ServerThread, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server, key = fso_demo
    monkeypatch.setenv("MPLBACKEND", "Agg")  # cell 38's plt.show() draws off screen
    image = {0: "shows images/image_demo_client.png with IPython"}
    # OpenDP 0.14.1 dropped the (sum, len) scale pair of dp.mean; its error says what to write.
    pair = Edit("scale=(100,1)", "scale=100.0", ValueError, "only consist of a single float")
    pair_float = Edit("scale=(100.0,1)", "scale=100.0", ValueError, "single float")
    edits = {11: pair, 18: pair_float, 20: pair_float}
    # Without the row count public, the Gaussian mean at scale 100 has no finite ε at δ 0.001:
    # OpenDP refuses to price it ("not finite"), and nothing is spent (docs/dp.md).
    over = {
        15: ExternalLibraryException,
        17: ExternalLibraryException,
        22: ExternalLibraryException,
    }
    after = run_notebook(
        "opendp_polars.py.txt", server, key, monkeypatch, tmp_path, over, image, edits
    )
    assert isinstance(after[6]["dummy_lf"], pl.LazyFrame)
    assert after[7]["test"].shape == (200, 7)

    # Each cost is OpenDP's own map over the metadata's domain (row count not public).
    mean, mean_by_sex = after[12]["plan"], after[18]["plan"]
    assert after[12]["res"].epsilon == after[14]["res"].epsilon == fso_cost(mean)
    assert after[14]["res"].delta == 0.0
    assert after[12]["res"].epsilon == pytest.approx(1001.8446351313033)
    assert isinstance(after[12]["res"].result.value, pl.DataFrame)
    assert after[12]["res"].result.value.columns == ["income"]
    for cell in (15, 17, 22):
        assert "not finite" in str(after[cell]["__error__"])
        assert "raise the pipeline's scale" in str(after[cell]["__error__"])
    assert after[13]["res"].charged is False  # dummy, δ = 1 accepted as on Lomas
    assert set(after[19]["res"].result.value.columns) == {"sex", "income"}
    assert set(after[21]["res"].result.value.columns) == {"sex", "region", "income"}
    quantile, by_sex, by_both = after[24]["plan"], after[26]["plan"], after[28]["plan"]
    assert [after[c]["res"].epsilon for c in (25, 27, 29)] == [6.0, 12.0, 84.0]
    assert [fso_cost(p) for p in (quantile, by_sex, by_both)] == [6.0, 12.0, 84.0]
    # The documented difference: Lomas prices at one changed row with the row count public, a
    # neighbour that cannot exist, so OpenDP charges only float slack there.
    assert fso_cost(mean_by_sex, lengths_public=True) == pytest.approx(1.7354224146401975)
    assert fso_cost(mean, lengths_public=True) == pytest.approx(1.8346351313032196)
    assert fso_cost(quantile, lengths_public=True) == 0.0
    assert fso_cost(mean, lengths_public=True, d_in=2) == pytest.approx(991.8346351313032)
    assert fso_cost(by_both, lengths_public=True, d_in=2) == 112.0
    results = after[36]["results"]
    assert {"sex", "region", "income_25", "income_50", "income"} <= set(results.columns)
    spent = after[37]["client"].get_total_spent_budget().total_spent_epsilon
    boxes = sum(fso_cost(after[33][name]) for name in ("q25", "q50", "q75"))
    assert spent == pytest.approx(2 * fso_cost(mean) + 6 + 12 + 84 + boxes)


FSO_METADATA = LOMAS / "metadata" / "fso_income_synthetic_metadata.yaml"


def fso_cost(plan: pl.LazyFrame, *, lengths_public: bool = False, d_in: int = 1) -> float:
    """OpenDP's ε for ``plan`` on FSO_INCOME_SYNTHETIC, with Veil's margins (docs/dp.md) or,
    with ``lengths_public``, with Lomas's (every group's length public)."""
    metadata = yaml.safe_load(FSO_METADATA.read_text())
    columns = metadata["columns"]

    def margin(keys: list[str]) -> Margin:
        lengths = [columns[k]["max_partition_length"] for k in keys]
        return Margin(
            by=[pl.col(k) for k in keys],
            max_length=min(lengths, default=metadata["rows"]),
            max_groups=math.prod(columns[k]["cardinality"] for k in keys),
            invariant="lengths" if lengths_public else ("keys" if keys else None),
        )

    def series(name: str) -> Any:
        atom = dp.f64 if columns[name]["type"] == "float" else dp.i32
        return dp.series_domain(name, dp.option_domain(dp.atom_domain(T=atom)))

    domain = dp.lazyframe_domain([series(name) for name in columns])
    for keys in ([], ["sex"], ["sex", "region"]):
        domain = dp.with_margin(domain, margin(keys))
    measure = dp.m.make_private_lazyframe(
        domain, dp.symmetric_distance(), dp.max_divergence(), plan
    )
    return float(measure.map(d_in))


def test_demo_client_notebook(
    lomas_demo: tuple[ServerThread, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server, key = lomas_demo
    not_run = {
        0: "shows images/image_demo_client.png with IPython",
        1: "an IPython shell command (!pip install lomas-client)",
        # They show the samples of cells 47 and 50, which Veil refuses (below).
        48: "shows cell 47's samples",
        51: "shows cell 50's samples",
        52: "uses cell 50's samples",
        53: "prints cell 52's figures",
        54: "prints cell 52's figures",
        59: "reads a fourth private query; patectgan's was refused",
    }
    # OpenDP 0.14 clamps only NaN-free floats; its error names the domain (docs/dp.md).
    cast = "trans.then_cast_default(TOA=float) >>\n"
    impute = "    trans.then_impute_constant(avg_bill_length) >>\n"
    nan_free = Edit(cast, cast + impute, OpenDPException, "Domain contains nan")
    failing: dict[int, type[Exception]] = {
        27: InvalidQueryException,  # a transformation, refused as on Lomas
        # The documented difference: no noise-free score from the private rows (None), so the
        # notebook's np.round(None, 2) fails; score_epsilon gives a DP estimate (docs/dp.md).
        44: TypeError,
        # patectgan is refused before any spend: not DP in smartnoise-synth 1.0.8 (docs/dp.md).
        47: InvalidQueryException,
        49: InvalidQueryException,
        50: InvalidQueryException,
    }
    after = run_notebook(
        "demo_client.py.txt", server, key, monkeypatch, tmp_path, failing, not_run, {26: nan_free}
    )

    assert "not a measurement" in str(after[27]["__error__"])
    assert "patectgan" in str(after[47]["__error__"])
    sql_cost = after[13]["cost"]  # as Lomas printed it
    assert (sql_cost.epsilon, sql_cost.delta) == (1.0, 4.999999999999449e-05)
    # OpenDP: Lomas printed 0.7122093023265228 (OpenDP 0.10, no imputation step); OpenDP 0.14's
    # map of the variance with the step is 1 ulp higher, and that is what is charged.
    pipeline = after[28]["var_bill_length_measurement_pipeline"]
    assert after[30]["cost_res"].epsilon == pipeline.map(1) == 0.7122093023265229
    assert after[31]["var_res"].epsilon == pipeline.map(1)
    assert after[29]["dummy_var_res"].charged is False
    assert (after[41]["cost_res"].epsilon, after[41]["cost_res"].delta) == (2.0, 0.0)
    assert after[45]["model"].predict(after[46]["x_to_predict"])[0] in {
        "Adelie",
        "Chinstrap",
        "Gentoo",
    }
    queries = after[55]["previous_queries"]
    assert [q["dp_library"] for q in queries] == ["smartnoise_sql", "opendp", "diffprivlib"]
    assert after[57]["var_bill_length_query"]["response"]["epsilon"] == pipeline.map(1)
    assert after[58]["reg_bill_length_query"]["dp_library"] == "diffprivlib"
    spent = after[58]["client"].get_total_spent_budget()
    assert spent.total_spent_epsilon == pytest.approx(1.0 + pipeline.map(1) + 2.0)


@pytest.fixture()
def lomas_pickling_demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerThread, str]]:
    """As ``lomas_demo``, on a server started with --allow-pickle: the Smartnoise-Synth notebook
    asks for fitted synthesizers (``return_model=True``), which travel only as pickles; Lomas's
    server always pickles, Veil's only when the operator allows it (docs/dp.md)."""
    tmp = Path(tmp_path_factory.mktemp("lomas_synth_demo"))
    server, key = demo_server(
        tmp, "Dr. Antartica", "penguin", "PENGUIN", 10.0, 0.005, allow_pickle=True
    )
    try:
        yield server, key
    finally:
        server.stop()


# Slow on purpose: the notebook fits 13 synthesizers (AIM, MWEM, MST, DP-CTGAN, PATE-GAN, DPGAN),
# each in a forked engine worker; about 400 s at load 15 on 2 cores (notes/lomas.md).
@pytest.mark.timeout(1500)
def test_smartnoise_synth_notebook(
    lomas_pickling_demo: tuple[ServerThread, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    server, key = lomas_pickling_demo
    failing: dict[int, type[Exception]] = {
        # Lomas compared column sex with a column FEMALE and sampled empty sexes (its output);
        # Veil refuses before any fit and says to quote the value.
        21: InvalidQueryException,
        # Lomas failed in the fit (500 rows a batch on 100 dummy rows); Veil refuses before it,
        # from the metadata's rows, with the same advice.
        22: InvalidQueryException,
        # As on Lomas ("pategan not reliable with this dataset."), with the reason.
        25: ExternalLibraryException,
        # patectgan is refused before any spend: not DP in smartnoise-synth 1.0.8 (docs/dp.md).
        26: InvalidQueryException,
        27: InvalidQueryException,
    }
    after = run_notebook("smartnoise_synth.py.txt", server, key, monkeypatch, tmp_path, failing)

    assert after[4]["penguin_metadata"]["rows"] == 344
    assert "aim" in after[5]["Synthesizer"].list_synthesizers()
    samples = after[6]["res_dummy"].result.df_samples
    assert list(samples.columns) == ["species", "island"] and len(samples) == 200
    cost = after[7]["res_cost"]  # as Lomas printed it
    assert (cost.epsilon, cost.delta) == (1.0, 0.0001)
    assert type(after[8]["res"].result.model).__name__ == "AIMSynthesizer"
    assert after[9]["synth"].sample(10).shape == (10, 2)
    assert list(after[13]["res_dummy"].result.df_samples.columns) == ["species", "island", "sex"]
    binned = after[16]["res_dummy"].result.df_samples
    assert binned["bill_length_mm"].between(40.0, 55.0).all()  # the notebook's own clamp
    assert len(after[20]["res_dummy"].result.df_samples) == 4
    assert "quote text values, e.g. sex = 'FEMALE'" in str(after[21]["__error__"])
    assert "Try decreasing batch_size" in str(after[22]["__error__"])
    assert "pategan not reliable with this dataset" in str(after[25]["__error__"])
    assert "patectgan" in str(after[26]["__error__"])
    # Cell 30: the one private fit (dpgan, ε 1, δ not given: Lomas's GAN default), charged.
    # Charged opacus's figure for the epochs that fit in ε 1 (below it, docs/dp.md "Cost of the
    # GANs"), and Lomas's default δ 1/(n·√n) with the metadata's 344 rows.
    private = after[30]["res_dummy"]
    assert private.charged and 0.0 < private.epsilon <= 1.0
    assert private.delta == pytest.approx(1 / (344 * math.sqrt(344)), rel=1e-12)
    assert (private.result.df_samples["body_mass_g"] > 5000).all()
    assert len(private.result.df_samples) == 10
    last = after[32]["last_query"]
    assert (last["user_name"], last["dp_library"]) == ("Dr. Antartica", "smartnoise_synth")
    assert last["client_input"]["synth_name"] == "dpgan"
    assert last["response"]["epsilon"] == private.epsilon
    assert len(after[31]["previous_queries"]) == 1
    print({n: round(a["__seconds__"], 1) for n, a in enumerate(after) if a["__seconds__"] > 1})


@pytest.fixture()
def titanic_s3_demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerThread, str]]:
    """TITANIC registered from an object-store URL (a local HTTP server on loopback stands in for
    Lomas's MinIO bucket; Veil reads a presigned or public URL, not S3 keys) and Jack's budget
    on it (ε 45, δ 0.2, Lomas's user_collection.yaml).

    Lomas's bucket file is not in the snapshot; the shared Titanic (887 rows) lacks three of the
    metadata's columns and names two others differently, so it is served with ``SibSp`` and
    ``Parch`` renamed and ``Ticket``, ``Cabin``, ``Embarked`` filled with constants.
    """
    tmp = Path(tmp_path_factory.mktemp("lomas_s3_demo"))
    served = tmp / "bucket"
    served.mkdir()
    frame = pd.read_csv(LOMAS / "datasets" / "titanic.csv").rename(
        columns={"Siblings/Spouses Aboard": "SibSp", "Parents/Children Aboard": "Parch"}
    )
    frame = frame.assign(Ticket="unknown", Cabin="unknown", Embarked="S")
    frame.to_csv(served / "titanic.csv", index=False)
    http = ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: _QuietFiles(*a, directory=str(served)))
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    server = start_server(tmp / "veil", dataset_url_prefixes=("http://127.0.0.1",))
    try:
        boss = create_user(server, "admin")
        admins = DPAdminClient(Manager(base_url=server.url, api_key=boss.api_key))
        url = f"http://127.0.0.1:{http.server_address[1]}/titanic.csv"
        registered = admins.register_dataset_from_url(
            "TITANIC", url, LOMAS / "metadata" / "titanic_metadata.yaml"
        )
        assert registered["num_rows"] == 887
        with server.app.db.begin() as conn:
            jack = users.create_user(conn, username="Jack", email="jack@example.org", role="user")
            _, key = api_keys.create_api_key(conn, user_id=jack.id, name="demo", expiration_days=30)
        admins.grant("Jack", "TITANIC", 45.0, 0.2)
        yield server, key
    finally:
        server.stop()
        http.shutdown()
        http.server_close()
        thread.join(5)


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


METADATA_ORDER = (
    'columns = ["Pclass", "Name", "Sex", "Age", "SibSp", "Parch", "Ticket", "Fare", "Cabin", '
    '"Embarked", "Survived"]\n'
)


def test_s3_example_notebook(
    titanic_s3_demo: tuple[ServerThread, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server, key = titanic_s3_demo
    not_run = {0: "an IPython shell command (!pip install lomas-client)"}
    # Cell 22 lists the columns of Lomas's bucket file (PassengerId first), which the metadata
    # does not declare: by position, its "Age" is Veil's SibSp. Veil refuses the pipeline before
    # any spend and names the list to pass; the edit rebuilds the pipelines with it.
    rebuild = (
        METADATA_ORDER
        + "age_transformation_pipeline = (\n"
        + '    trans.make_split_dataframe(separator=",", col_names=columns) >>\n'
        + '    trans.make_select_column(key="Age", TOA=str) >>\n'
        + "    trans.then_cast_default(TOA=float) >>\n"
        + "    trans.then_impute_constant(avg_age) >>\n"
        + "    trans.then_clamp(bounds=(age_min, age_max)) >>\n"
        + "    trans.then_resize(size=nb_passengers.tolist(), constant=avg_age) >>\n"
        + "    trans.then_variance()\n"
        + ")\n"
        + "var_age_transformation_pipeline = (\n"
        + "    age_transformation_pipeline >>\n"
        + "    meas.then_laplace(scale=5.0)\n"
        + ")\n"
    )
    order = Edit(
        "dummy_var_res = client.opendp.query(",
        rebuild + "dummy_var_res = client.opendp.query(",
        InvalidQueryException,
        "col_names are ['PassengerId', 'Pclass', 'Name', 'Sex', 'Age', 'SibSp', 'Parch']",
    )
    # Cell 7 asks a dummy for delta 2.0, which Lomas accepted; δ is a probability, and Veil
    # refuses it as for a private query (so dummy mode catches what private mode would).
    probability = Edit(
        "delta = 2.0,", "delta = 0.5,", InvalidQueryException, "delta must be a number in [0, 1)"
    )
    # OpenDP 0.14 clamps only NaN-free floats; its error names the domain (docs/dp.md).
    cast = "trans.then_cast_default(TOA=float) >>\n"
    nan_free = Edit(
        cast,
        cast + "    trans.then_impute_constant(avg_age) >>\n",
        OpenDPException,
        "Domain contains nan",
    )
    # Cell 25 is meant to fail ("Expect to fail !!!"): a transformation, refused as on Lomas.
    after = run_notebook(
        "s3_example.py.txt",
        server,
        key,
        monkeypatch,
        tmp_path,
        {25: InvalidQueryException},
        not_run,
        {7: probability, 24: nan_free, 27: order},
    )

    assert after[3]["titanic_metadata"]["rows"] == 887
    assert after[5]["df_dummy"].shape == (200, 11)  # as Lomas printed it
    assert "not a measurement" in str(after[25]["__error__"])
    client = after[29]["client"]
    initial = client.get_initial_budget()
    assert (initial.initial_epsilon, initial.initial_delta) == (45.0, 0.2)  # as Lomas printed
    # smartnoise-sql's figure, as Lomas printed it (cell 13), and the budget after (cell 18).
    sql = after[15]["response"]
    assert (sql.epsilon, sql.delta) == (1.5, 0.00014999500000001387)
    assert after[17]["nb_passengers"] > 0
    # OpenDP's own figure for the pipeline as rebuilt (Lomas printed 2.2502841037292076 for
    # its noisy count 887; the size is this run's noisy count).
    pipeline = after[27]["var_age_transformation_pipeline"]
    assert after[28]["cost_res"].epsilon == pipeline.map(1)
    assert after[29]["var_res"].epsilon == pipeline.map(1)
    spent = client.get_total_spent_budget()
    assert spent.total_spent_epsilon == pytest.approx(1.5 + pipeline.map(1), rel=1e-12)
    assert after[32]["lower_bound"] < after[32]["upper_bound"]


OLD_OPENDP_QUERY = "client.opendp_query("
"""lomas_client 0.3's flat method (it returned the server's JSON as a dict); today's lomas_client
and Veil have ``client.opendp.query``, returning a QueryResponse (``.result.value``)."""


def test_income_minimal_notebook(
    fso_demo: tuple[ServerThread, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Lomas's income_minimal notebook: a DP row count, then a dummy mean resized to it."""
    server, key = fso_demo
    old_count = (
        'client.opendp_query(\n    opendp_pipeline = num_rows_pipeline,\n)["query_response"]'
    )
    new_count = "client.opendp.query(\n    opendp_pipeline = num_rows_pipeline,\n).result.value"
    # Written for lomas_client 0.3: the method no longer exists (in lomas_client either).
    count_api = Edit(old_count, new_count, AttributeError, "opendp_query")
    mean_api = Edit(OLD_OPENDP_QUERY, "client.opendp.query(", AttributeError, "opendp_query")
    # OpenDP 0.14 refuses a float cast straight into a clamp, as in every legacy Lomas cell.
    cast = "trans.then_cast_default(TOA=float) >>\n"
    impute = cast + "    trans.then_impute_constant(1000.0) >>\n"
    nan_free = Edit(cast, impute, OpenDPException, "Domain contains nan")
    after = run_notebook(
        "income_minimal.py.txt",
        server,
        key,
        monkeypatch,
        tmp_path,
        edits={3: count_api, 4: [nan_free, mean_api]},
    )
    assert after[1]["income_metadata"]["columns"]["income"]["upper"] == 100000
    assert after[2]["df_dummy"].shape == (200, 7)
    # The DP count of the 8 rows: an integer, charged OpenDP's own ε for the pipeline.
    count_pipeline = after[3]["num_rows_pipeline"]
    assert isinstance(after[3]["num_rows"], int)
    assert count_pipeline.map(1) == 2.0
    client = after[5]["client"]
    spent = client.get_total_spent_budget()
    assert (spent.total_spent_epsilon, spent.total_spent_delta) == (2.0, 0.0)
    # The mean, on a dummy: free, showing what it would cost (OpenDP's own map).
    average = after[5]["income_average"]
    assert average.charged is False
    assert average.epsilon == after[4]["income_average_pipeline"].map(1)
    assert 1000.0 - 10 < average.result.value < 100000.0 + 10
    assert len(client.get_previous_queries()) == 1


def test_minimalist_demo_notebook(
    lomas_demo: tuple[ServerThread, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Lomas's Minimalist_Demo_Client_Notebook: metadata, a dummy, a dummy smartnoise-sql AVG."""
    server, key = lomas_demo
    not_run = {
        0: "shows images/image_mini_demo_client.png with IPython",
        1: "an IPython shell command (!pip install lomas-client)",
    }
    after = run_notebook(
        "minimalist_demo.py.txt", server, key, monkeypatch, tmp_path, not_run=not_run
    )
    assert after[4]["penguin_metadata"]["rows"] == 344
    assert after[6]["df_dummy"].shape == (100, 7)
    response = after[7]["response"]
    # The would-be cost as Lomas's client printed it for this query (Demo_Client_Notebook).
    assert (response.epsilon, response.delta, response.charged) == (
        1.0,
        4.999999999999449e-05,
        False,
    )
    assert 30.0 - 5 < after[8]["avg_bill_length"] < 65.0 + 5
    assert after[8]["client"].get_total_spent_budget().total_spent_epsilon == 0.0
