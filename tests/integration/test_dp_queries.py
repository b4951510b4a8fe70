"""DP queries through the client, Lomas's scenarios (lomas.md §6.1, §6.2) in gRPC terms.

Lomas codes map as: 400 "dataset does not exist" and 403 "no access" -> NOT_FOUND (one answer for
both, so other datasets stay invisible), 400/422 library errors -> INVALID_ARGUMENT naming the
field, 400 "Not enough budget" -> RESOURCE_EXHAUSTED stating what remains.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
import snsql
from dp_support import PENGUIN_CSV, PENGUIN_METADATA, grant, manager, register
from snsql import Mechanism, Privacy, Stat
from support import ServerThread, TestUser, create_user
from veil_client import InvalidArgument, NotFound, ResourceExhausted
from veil_client.dp_client import NaNAnswerWarning
from veil_client.lomas_errors import InvalidQueryException
from veil_service.engine_contract.dp_metadata import load_metadata_file

COUNT = "SELECT COUNT(*) AS NB_ROW FROM df"
AVG = "SELECT AVG(bill_length_mm) AS avg_bill_length_mm FROM df"


def direct_cost(
    query: str, epsilon: float, delta: float, mechanisms: dict[str, str] | None = None
) -> tuple[float, float]:
    """What smartnoise-sql itself computes, in this process, on the real data."""
    metadata = load_metadata_file(PENGUIN_METADATA).to_smartnoise_dict()
    privacy = Privacy(epsilon=epsilon, delta=delta)
    for stat, mechanism in (mechanisms or {}).items():
        privacy.mechanisms.map[Stat[stat]] = Mechanism[mechanism]
    reader = snsql.from_connection(pd.read_csv(PENGUIN_CSV), privacy=privacy, metadata=metadata)
    epsilon_cost, delta_cost = reader.get_privacy_cost(query)
    return float(epsilon_cost), float(delta_cost)


def test_metadata_dummy_and_budgets(
    veil_server: ServerThread, user: TestUser, penguin: str
) -> None:
    grant(veil_server, user, penguin, 10.0, 0.005)
    client = manager(veil_server, user).dp(penguin)
    metadata = client.get_dataset_metadata()
    assert metadata["max_ids"] == 1 and metadata["row_privacy"] is True
    assert metadata["rows"] == 344 and next(iter(metadata["columns"])) == "species"

    dummy = client.get_dummy_dataset(nb_rows=100, seed=42)
    assert dummy.shape == (100, 7)
    assert [str(t) for t in dummy.dtypes] == [
        "string",
        "string",
        "float64",
        "float64",
        "float64",
        "float64",
        "string",
    ]
    assert set(dummy["species"]) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert dummy["bill_length_mm"].between(30.0, 65.0).all()
    pd.testing.assert_frame_equal(dummy, client.get_dummy_dataset(nb_rows=100, seed=42))
    assert not dummy.equals(client.get_dummy_dataset(nb_rows=100, seed=1))

    assert client.get_initial_budget().initial_epsilon == 10.0
    assert client.get_total_spent_budget().total_spent_epsilon == 0.0
    assert client.get_previous_queries() == []

    response = client.smartnoise_sql.query(COUNT, 0.1, 1e-5, {"count": "gaussian"})
    assert list(response.result.df.columns) == ["NB_ROW"]
    assert response.result.df["NB_ROW"].iloc[0] > 0
    expected = direct_cost(COUNT, 0.1, 1e-5, {"count": "gaussian"})
    assert (response.epsilon, response.delta) == expected
    assert client.get_initial_budget().initial_delta == 0.005
    spent = client.get_total_spent_budget()
    assert (spent.total_spent_epsilon, spent.total_spent_delta) == expected
    remaining = client.get_remaining_budget()
    assert remaining.remaining_epsilon == pytest.approx(9.9)
    assert remaining.remaining_delta == pytest.approx(0.005 - expected[1])
    assert (response.remaining_epsilon, response.remaining_delta) == (
        remaining.remaining_epsilon,
        remaining.remaining_delta,
    )

    (record,) = client.get_previous_queries()
    assert record["dp_library"] == "smartnoise_sql" and record["id"] == response.query_id
    # Lomas's keys and the DP answer itself (issue 16 item 6).
    assert record["client_input"] == {
        "dataset_name": penguin,
        "query_str": COUNT,
        "epsilon": 0.1,
        "delta": 1e-5,
        "mechanisms": {"count": "gaussian"},
        "postprocess": True,
    }
    assert record["user_name"] == user.username == response.requested_by
    assert record["dp_librairy"] == "smartnoise_sql"
    assert (record["epsilon"], record["delta"]) == expected
    assert record["result_summary"] == "table 1x1"
    archived = record["response"]
    assert (archived["epsilon"], archived["delta"]) == expected
    assert archived["requested_by"] == user.username
    pd.testing.assert_frame_equal(archived["result"].df, response.result.df)


@pytest.mark.parametrize(
    ("query", "epsilon", "delta", "mechanisms"),
    [
        (COUNT, 0.1, 1e-5, {"count": "gaussian"}),
        (AVG, 0.1, 1e-5, {"count": "gaussian", "sum_float": "laplace"}),
        (AVG, 0.5, 1e-4, {}),
        (
            "SELECT COUNT(*) AS nb_penguins, AVG(bill_length_mm) AS avg_bill_length_mm FROM df",
            0.5,
            1e-4,
            {},
        ),
    ],
)
def test_costs_equal_smartnoise_sql_in_process(
    veil_server: ServerThread,
    user: TestUser,
    penguin: str,
    query: str,
    epsilon: float,
    delta: float,
    mechanisms: dict[str, str],
) -> None:
    grant(veil_server, user, penguin, 10.0, 0.005)
    client = manager(veil_server, user).dp(penguin)
    expected = direct_cost(query, epsilon, delta, mechanisms)
    cost = client.smartnoise_sql.cost(query, epsilon, delta, mechanisms)
    assert (cost.epsilon, cost.delta) == expected
    assert client.get_total_spent_budget().total_spent_epsilon == 0.0
    answer = client.smartnoise_sql.query(query, epsilon, delta, mechanisms)
    assert (answer.epsilon, answer.delta) == expected


def test_avg_postprocess_and_dummy_queries(
    veil_server: ServerThread, user: TestUser, penguin: str
) -> None:
    grant(veil_server, user, penguin, 10.0, 0.005)
    client = manager(veil_server, user).dp(penguin)
    answer = client.smartnoise_sql.query(AVG, 0.1, 1e-5)
    assert answer.result.df["avg_bill_length_mm"].iloc[0] > 0
    raw = client.smartnoise_sql.query(AVG, 0.1, 1e-5, postprocess=False)
    assert list(raw.result.df.columns) == ["res_0", "res_1"]

    spent = client.get_total_spent_budget().total_spent_epsilon
    dummy = client.smartnoise_sql.query(COUNT, 0.1, 1e-5, dummy=True, nb_rows=100, seed=42)
    assert 0 < dummy.result.df["NB_ROW"].iloc[0] < 250
    # A dummy answer shows what the private run would cost, not charged (issue 16 item 5).
    would_cost = client.smartnoise_sql.cost(COUNT, 0.1, 1e-5)
    assert (dummy.epsilon, dummy.delta) == (would_cost.epsilon, would_cost.delta)
    assert (dummy.charged, dummy.query_id) == (False, "")
    assert answer.charged is True
    assert client.get_total_spent_budget().total_spent_epsilon == spent
    assert len(client.get_previous_queries()) == 2


def test_library_errors_name_the_field_and_spend_nothing(
    veil_server: ServerThread, user: TestUser, penguin: str
) -> None:
    grant(veil_server, user, penguin, 10.0, 0.005)
    client = manager(veil_server, user).dp(penguin)
    with pytest.raises(InvalidArgument) as tiny:
        client.smartnoise_sql.query(COUNT, 1e-9, 1e-5, {"count": "gaussian"})
    assert tiny.value.field == "epsilon" and "Noise scale is too large" in tiny.value.message
    with pytest.raises(InvalidArgument) as column:
        client.smartnoise_sql.query("SELECT AVG(bill) FROM df", 0.1, 1e-5)
    assert column.value.field == "query" and "bill" in column.value.message
    with pytest.raises(InvalidArgument) as mechanism:
        client.smartnoise_sql.cost(COUNT, 0.1, 1e-5, {"count": "nope"})
    assert mechanism.value.field == "mechanisms"
    spent = client.get_total_spent_budget()
    assert (spent.total_spent_epsilon, spent.total_spent_delta) == (0.0, 0.0)
    assert client.get_previous_queries() == []


def test_budget_runs_out_with_the_remaining_budget_stated(
    veil_server: ServerThread, user: TestUser, penguin: str
) -> None:
    grant(veil_server, user, penguin, 10.0, 0.005)
    client = manager(veil_server, user).dp(penguin)
    client.smartnoise_sql.query(COUNT, 4.0, 1e-5, {"count": "gaussian"})
    client.smartnoise_sql.query(COUNT, 4.0, 1e-5, {"count": "gaussian"})
    with pytest.raises(ResourceExhausted) as exhausted:
        client.smartnoise_sql.query(COUNT, 4.0, 1e-5, {"count": "gaussian"})
    left = client.get_remaining_budget()
    assert left.remaining_epsilon == pytest.approx(2.0)
    assert exhausted.value.reason == "BUDGET_EXHAUSTED"
    # Lomas's test A15, to the last digit: its message and its exception class.
    assert exhausted.value.message.startswith(
        "Not enough budget for this query epsilon remaining 2.0, delta remaining "
        "0.004970000100000034."
    )
    assert isinstance(exhausted.value, InvalidQueryException)
    assert left.remaining_delta == 0.004970000100000034
    records = client.get_previous_queries()
    assert len(records) == 2
    first = client._api.list_previous_queries(penguin, page_size=1)
    second = client._api.list_previous_queries(
        penguin, page_size=1, page_token=first.next_page_token
    )
    # The API pages newest first; the client returns Lomas's order, oldest first.
    assert [second.items[0].id, first.items[0].id] == [r["id"] for r in records]
    assert records[0]["timestamp"] <= records[1]["timestamp"]


def test_datasets_of_others_do_not_exist(
    veil_server: ServerThread, user: TestUser, penguin: str
) -> None:
    other = create_user(veil_server, "user")
    grant(veil_server, other, penguin, 10.0, 0.005)
    manager(veil_server, other).dp(penguin).smartnoise_sql.query(COUNT, 0.1, 1e-5)
    iris = register(veil_server, "iris")
    grant(veil_server, user, iris, 1.0, 0.001)

    mine = manager(veil_server, user)
    assert [d.name for d in mine.dp(penguin)._api.list_datasets()] == [iris]
    messages = set()
    for name in (penguin, "I_do_not_exist"):
        client = mine.dp(name)
        calls = (
            client.get_dataset_metadata,
            client.get_dummy_dataset,
            client.get_initial_budget,
            client.get_previous_queries,
            lambda c=client: c.smartnoise_sql.query(COUNT, 0.1, 1e-5),
            lambda c=client: c.smartnoise_sql.cost(COUNT, 0.1, 1e-5),
            lambda c=client: c.smartnoise_sql.query(COUNT, 0.1, 1e-5, dummy=True),
        )
        for call in calls:
            with pytest.raises(NotFound) as missing:
                call()
            messages.add(missing.value.message.replace(name, "<name>"))
    assert len(messages) == 1
    assert manager(veil_server, user).dp(iris).get_previous_queries() == []
    assert (
        manager(veil_server, other).dp(penguin).get_total_spent_budget().total_spent_epsilon == 0.1
    )


def test_dummy_datetimes_and_nullable_ints(veil_server: ServerThread, user: TestUser) -> None:
    birthdays = register(veil_server, "birthday")
    grant(veil_server, user, birthdays, 10.0, 0.05)
    dummy = manager(veil_server, user).dp(birthdays).get_dummy_dataset(nb_rows=10, seed=0)
    assert dummy.shape == (10, 1) and str(dummy["birthday"].dtype) == "datetime64[ns]"
    assert dummy["birthday"].between(pd.Timestamp("1900-01-01"), pd.Timestamp("2050-01-01")).all()
    pums = register(veil_server, "pums")
    grant(veil_server, user, pums, 5.0, 0.005)
    client = manager(veil_server, user).dp(pums)
    columns = list(client.get_dataset_metadata()["columns"])
    assert list(client.get_dummy_dataset().columns) == columns


def test_nan_answers_are_charged_per_run_and_never_silently(
    veil_server: ServerThread, user: TestUser, penguin: str
) -> None:
    """Issue 16 item 8. STD at epsilon 0.01 answers NaN about half the time on PENGUIN (the
    noisy variance goes negative). Lomas reruns it up to 5 times and charges one run."""
    grant(veil_server, user, penguin, 10.0, 0.005)
    client = manager(veil_server, user).dp(penguin)
    std = "SELECT STD(bill_length_mm) AS s FROM df"
    per_run = client.smartnoise_sql.cost(std, 0.01, 1e-5)
    spent = 0.0
    nan_answers = 0
    for _ in range(15):  # P(no NaN in 15 runs) ~ 3e-5
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            answer = client.smartnoise_sql.query(std, 0.01, 1e-5)
        spent += answer.epsilon
        if answer.result.df["s"].isna().any():
            nan_answers += 1
            (warning,) = caught
            assert issubclass(warning.category, NaNAnswerWarning)
            assert f"was charged epsilon={per_run.epsilon!r}" in str(warning.message)
        else:
            assert caught == []
        assert answer.epsilon == per_run.epsilon
    assert nan_answers > 0
    assert client.get_total_spent_budget().total_spent_epsilon == pytest.approx(spent)

    before = client.get_total_spent_budget().total_spent_epsilon
    retried = client.smartnoise_sql.query(std, 0.01, 1e-5, nan_retries=30)
    assert retried.result.df["s"].notna().all()
    runs = round(retried.epsilon / per_run.epsilon)
    assert retried.epsilon == pytest.approx(runs * per_run.epsilon) and runs >= 1
    after = client.get_total_spent_budget().total_spent_epsilon
    assert after - before == pytest.approx(retried.epsilon)
    assert len(client.get_previous_queries()) == 15 + runs
