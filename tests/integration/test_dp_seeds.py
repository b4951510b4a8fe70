"""Seeds out of range are INVALID_ARGUMENT naming the field, never an internal error (found by
``make fuzz``: a dummy seed of -1 reached numpy in the engine)."""

from __future__ import annotations

import pytest
from diffprivlib.models import GaussianNB
from dp_support import grant, manager
from support import ServerThread, TestUser
from veil_client import InvalidArgument

COUNT = "SELECT COUNT(*) AS n FROM df"
FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
BOUNDS = ([30.0, 13.0, 150.0, 2000.0], [65.0, 23.0, 250.0, 7000.0])


@pytest.mark.parametrize("seed", [-1, 2**32, 2**63 - 1])
def test_out_of_range_seeds_are_refused_by_name_and_spend_nothing(
    veil_server: ServerThread, user: TestUser, penguin: str, seed: int
) -> None:
    grant(veil_server, user, penguin, 10.0, 0.005)
    client = manager(veil_server, user).dp(penguin)
    with pytest.raises(InvalidArgument) as dummy:
        client.get_dummy_dataset(nb_rows=10, seed=seed)
    assert dummy.value.field == "seed" and "4294967295" in dummy.value.message
    with pytest.raises(InvalidArgument) as query:
        client.smartnoise_sql.query(COUNT, 0.1, 1e-5, dummy=True, nb_rows=10, seed=seed)
    assert query.value.field == "dummy_seed" and str(seed) in query.value.message
    model = GaussianNB(epsilon=1.0, bounds=BOUNDS)
    with pytest.raises(InvalidArgument) as split:
        client.diffprivlib.query(model, FEATURES, ["species"], test_train_split_seed=seed)
    assert split.value.field == "test_train_split_seed"
    assert client.get_total_spent_budget().total_spent_epsilon == 0.0
    assert client.get_previous_queries() == []


def test_the_largest_seed_works(veil_server: ServerThread, user: TestUser, penguin: str) -> None:
    grant(veil_server, user, penguin, 10.0, 0.005)
    client = manager(veil_server, user).dp(penguin)
    first = client.get_dummy_dataset(nb_rows=10, seed=2**32 - 1)
    assert first.equals(client.get_dummy_dataset(nb_rows=10, seed=2**32 - 1))
    model = GaussianNB(epsilon=1.0, bounds=BOUNDS)
    answer = client.diffprivlib.query(
        model, FEATURES, ["species"], test_train_split_seed=2**32 - 1, dummy=True, seed=0
    )
    assert answer.result.model[-1].theta_.shape == (3, 4)
