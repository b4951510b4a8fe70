"""smartnoise-sql: costs equal the library's (and Lomas's numbers); queries run; clear errors."""

from __future__ import annotations

import pandas as pd
import pytest
import snsql
from snsql import Mechanism, Privacy, Stat
from support import FIXTURES
from veil_service.engine.dp import smartnoise_sql
from veil_service.engine.dp.dummy import make_dummy_dataset
from veil_service.engine_contract.dp_metadata import Metadata
from veil_service.engine_contract.dp_requests import SmartnoiseSqlRequest
from veil_service.errors import InvalidArgumentError

LOMAS = FIXTURES / "lomas"

COUNT = "SELECT COUNT(*) AS NB_ROW FROM df"
AVG = "SELECT AVG(bill_length_mm) AS avg_bill_length_mm FROM df"


@pytest.mark.parametrize(
    ("query", "epsilon", "delta", "mechanisms", "expected"),
    [
        (COUNT, 0.1, 1e-5, {"count": "gaussian"}, (0.1, 1.4999949999983109e-05)),
        (COUNT, 4.0, 1e-5, {"count": "gaussian"}, (4.0, 1.4999949999983109e-05)),
        (
            AVG,
            0.1,
            1e-5,
            {"count": "gaussian", "sum_float": "laplace"},
            (0.2, 1.4999949999983109e-05),
        ),
        (AVG, 0.5, 1e-4, {}, (1.0, 4.999999999999449e-05)),
        (
            "SELECT COUNT(*) AS nb_penguins, AVG(bill_length_mm) AS avg_bill_length_mm FROM df",
            0.5,
            1e-4,
            {},
            (1.5, 0.00014999500000001387),
        ),
    ],
)
def test_cost_equals_lomas_and_the_library(
    penguin: Metadata,
    penguins: pd.DataFrame,
    query: str,
    epsilon: float,
    delta: float,
    mechanisms: dict[str, str],
    expected: tuple[float, float],
) -> None:
    request = SmartnoiseSqlRequest(query, epsilon, delta, mechanisms)
    cost = smartnoise_sql.estimate_cost(request, penguin)
    assert (cost.epsilon, cost.delta) == pytest.approx(expected, rel=1e-12)
    privacy = Privacy(epsilon=epsilon, delta=delta)
    for stat, mechanism in mechanisms.items():
        privacy.mechanisms.map[Stat[stat]] = Mechanism[mechanism]
    reader = snsql.from_connection(penguins, privacy=privacy, metadata=penguin.to_smartnoise_dict())
    assert (cost.epsilon, cost.delta) == tuple(float(x) for x in reader.get_privacy_cost(query))


def test_count_and_avg_on_penguins(penguin: Metadata, penguins: pd.DataFrame) -> None:
    result = smartnoise_sql.execute(SmartnoiseSqlRequest(COUNT, 1.0, 1e-5), penguins, penguin)
    assert result.table is not None and list(result.table.columns) == ["NB_ROW"]
    assert 250 < result.table["NB_ROW"].iloc[0] < 450
    result = smartnoise_sql.execute(SmartnoiseSqlRequest(AVG, 1.0, 1e-5), penguins, penguin)
    assert result.table is not None and 30 <= result.table.iloc[0, 0] <= 65


def test_without_postprocess_returns_raw_columns(penguin: Metadata, penguins: pd.DataFrame) -> None:
    request = SmartnoiseSqlRequest(AVG, 1.0, 1e-5, postprocess=False)
    table = smartnoise_sql.execute(request, penguins, penguin).table
    assert table is not None and list(table.columns) == ["res_0", "res_1"]


def test_group_by_on_dummy(penguin: Metadata) -> None:
    dummy = make_dummy_dataset(penguin, 300, seed=42)
    query = "SELECT species, COUNT(*) AS n FROM df GROUP BY species"
    table = smartnoise_sql.execute(SmartnoiseSqlRequest(query, 1.0, 1e-5), dummy, penguin).table
    assert table is not None and set(table["species"]) <= {"Adelie", "Chinstrap", "Gentoo"}


@pytest.mark.parametrize(
    ("request_", "field", "fragment"),
    [
        (
            SmartnoiseSqlRequest("SELECT AVG(bill) FROM df", 0.1, 1e-5),
            "query",
            "Column cannot be found bill",
        ),
        (SmartnoiseSqlRequest("SELEC x", 0.1, 1e-5), "query", "missing SELECT"),
        (SmartnoiseSqlRequest("SELECT COUNT(*) FROM other", 0.1, 1e-5), "query", "other"),
        (
            SmartnoiseSqlRequest(COUNT, 1e-9, 1e-5, {"count": "gaussian"}),
            "epsilon",
            "Noise scale is too large",
        ),
        (SmartnoiseSqlRequest(COUNT, 0.1, 1e-5, {"count": "magic"}), "mechanisms", "magic"),
        (SmartnoiseSqlRequest(COUNT, 0.1, 1e-5, {"median": "laplace"}), "mechanisms", "median"),
        (SmartnoiseSqlRequest(COUNT, 0.0, 1e-5), "epsilon", "> 0"),
        (SmartnoiseSqlRequest(COUNT, 0.1, 1.5), "delta", "[0, 1)"),
        (SmartnoiseSqlRequest("  ", 0.1, 1e-5), "query", "empty"),
    ],
)
def test_bad_requests_are_clear(
    penguin: Metadata,
    penguins: pd.DataFrame,
    request_: SmartnoiseSqlRequest,
    field: str,
    fragment: str,
) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        smartnoise_sql.estimate_cost(request_, penguin)
    assert info.value.field == field and fragment in info.value.message
    with pytest.raises(InvalidArgumentError):
        smartnoise_sql.execute(request_, penguins, penguin)


def test_execute_can_skip_the_query_check(penguin: Metadata, penguins: pd.DataFrame) -> None:
    request = SmartnoiseSqlRequest(COUNT, 1.0, 1e-5)
    table = smartnoise_sql.execute(request, penguins, penguin, check_query=False).table
    assert table is not None and list(table.columns) == ["NB_ROW"]
    bad = SmartnoiseSqlRequest("SELECT AVG(bill) FROM df", 1.0, 1e-5)
    with pytest.raises(InvalidArgumentError) as info:
        smartnoise_sql.execute(bad, penguins, penguin, check_query=False)
    assert "dummy mode" in info.value.message


def test_a_query_on_the_engines_sqlite_copy_answers_like_one_on_the_frame(
    penguin: Metadata, penguins: pd.DataFrame
) -> None:
    request = SmartnoiseSqlRequest(
        "SELECT species, COUNT(*) AS n FROM df GROUP BY species", 10.0, 1e-5
    )
    fresh = smartnoise_sql.execute(request, penguins, penguin)
    key = "penguins-digest:metadata"
    first = smartnoise_sql.execute(request, penguins, penguin, dataset_key=key, check_query=False)
    # The copy is reused: an empty frame under the same key still sees the 344 rows.
    again = smartnoise_sql.execute(request, penguins.iloc[:0], penguin, dataset_key=key)
    for result in (first, again):
        assert result.table is not None and fresh.table is not None
        assert list(result.table.columns) == list(fresh.table.columns) == ["species", "n"]
        assert sorted(result.table["species"]) == sorted(fresh.table["species"])
        assert result.table["n"].sum() == pytest.approx(len(penguins), rel=0.1)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        # The column reaches SQLite only when the query runs: the cost check passed it.
        ("SELECT COUNT(*) AS n FROM df WHERE no_such_column > 3", "no such column"),
        (
            "SELECT species, AVG(bill_length_mm) AS a FROM df GROUP BY species "
            "HAVING COUNT(*) > 50 ORDER BY a",
            "We don't know how to evaluate",
        ),
    ],
)
def test_a_query_that_fails_on_the_metadatas_dummy_is_refused_by_the_cost(
    penguin: Metadata, query: str, message: str
) -> None:
    # Both passed the estimate, failed on the private rows and were charged.
    request = SmartnoiseSqlRequest(query=query, epsilon=1.0, delta=1e-5)
    with pytest.raises(InvalidArgumentError, match=message) as refused:
        smartnoise_sql.estimate_cost(request, penguin)
    assert refused.value.field == "query"
    assert "nothing was spent" in str(refused.value)


def test_a_query_that_may_match_nothing_is_still_priced(penguin: Metadata) -> None:
    # Whether rows match depends on the data: that stays a private query.
    for query in (
        "SELECT species, COUNT(*) AS n FROM df WHERE species = 'Nope' GROUP BY species",
        "SELECT species, COUNT(*) AS n FROM df GROUP BY species HAVING COUNT(*) > 5000",
    ):
        request = SmartnoiseSqlRequest(query=query, epsilon=1.0, delta=1e-5)
        assert smartnoise_sql.estimate_cost(request, penguin).epsilon == 1.0


@pytest.mark.parametrize("postprocess", [True, False])
def test_an_empty_answer_has_the_types_of_a_full_one(
    penguin: Metadata, penguins: pd.DataFrame, postprocess: bool
) -> None:
    # An empty answer had object columns where a full one had string and Int64.
    grouped = "SELECT species, COUNT(*) AS n, AVG(bill_length_mm) AS a FROM df{} GROUP BY species"
    full, empty = (
        smartnoise_sql.execute(
            SmartnoiseSqlRequest(
                query=grouped.format(where), epsilon=1.0, delta=1e-5, postprocess=postprocess
            ),
            penguins,
            penguin,
        ).table
        for where in ("", " WHERE 1 = 0")
    )
    assert len(full) == 3
    assert len(empty) == 0
    assert full.dtypes.to_dict() == empty.dtypes.to_dict()
    expected = ["string", "Int64", "float64"] if postprocess else ["string"] + ["float64"] * 3
    assert [str(t) for t in full.dtypes] == expected
