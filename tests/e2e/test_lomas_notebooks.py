"""Lomas's demo notebooks, run on Veil verbatim but for the import and the URL (issue 16).

Each notebook's code cells are stored under tests/e2e/lomas_notebooks/ with the two edits marked
"Veil:". The cells run in order in one namespace against a real server, as Lomas's "Dr.
Antartica" with Lomas's demo budget on PENGUIN (ε 10, δ 0.005); the costs the notebook printed
on Lomas are asserted to the last digit where Veil's library computes the same figure.
"""

from __future__ import annotations

import math
import re
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import opendp.prelude as dp
import polars as pl
import pytest
import yaml
from dp_support import LOMAS, register
from opendp.extras.polars import Margin
from opendp.mod import OpenDPException
from support import ServerThread, start_server
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
    tmp: Path, user: str, stem: str, dataset: str, epsilon: float, delta: float
) -> tuple[ServerThread, str]:
    """A server with one Lomas dataset and one user's budget on it; the user's API key."""
    server = start_server(tmp)
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
    edits: dict[int, Edit] | None = None,
) -> list[dict[str, Any]]:
    """Run every cell; return a copy of the namespace after each cell.

    Args:
        failing: Cells that fail on Lomas too (their output shows the error), with the class
            they must raise here; the error is kept as ``__error__``.
        not_run: Cells that only display something the notebook's folder holds (an image
            file), with the reason; they touch neither Lomas nor Veil.
        edits: Cells the pinned DP library (not Veil) cannot run as written. The cell as
            written must raise the library's own error first (run on a copy of the namespace);
            then the edited cell runs.
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
        if number in edits:
            source = edits[number].apply(name, number, source, namespace)
        with warnings.catch_warnings(record=True) as shown:
            warnings.simplefilter("always")
            try:
                exec(compile(source, f"{name}[cell {number}]", "exec"), namespace)
            except Exception as exc:
                if not isinstance(exc, failing.get(number, ())):
                    raise AssertionError(f"{name} cell {number} failed: {exc!r}\n{source}") from exc
                error = exc
        if number in failing and error is None:
            raise AssertionError(f"{name} cell {number} fails on Lomas but passed here")
        after.append(
            {**namespace, "__warnings__": [str(w.message) for w in shown], "__error__": error}
        )
    return after


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
