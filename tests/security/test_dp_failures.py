"""Defect 2: a failure is not a free, noise-free oracle on the private rows (issue 19).

The attack: a private query that failed on the data was refunded, and whether it failed depended
on the rows. A binary search on a diffprivlib pipeline's ``test_size`` found the exact row count
in 17 free probes. The rule now (docs/security.md, "When a failed query is charged"): everything
that can be checked against the metadata is checked before the budget is touched (refused,
nothing spent); a query that fails after the engine was given the private rows is charged its
full cost, like the answer it replaces, and stays in the archive.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from diffprivlib.models import GaussianNB
from support import ServerThread, assert_eventually
from veil_client import InvalidArgument, Unavailable
from veil_client.dp_client import DiffPrivLibClient, DPClient

pytestmark = pytest.mark.filterwarnings("ignore:scipy.optimize:DeprecationWarning")

FEATURES = ["bill_length_mm", "bill_depth_mm"]
BOUNDS = ([30.0, 13.0], [65.0, 23.0])
MODEL = GaussianNB(epsilon=0.75, bounds=BOUNDS)
# PENGUIN's metadata says 344 rows; 342 have both bills and a species. With this test_size the
# split keeps one training row out of 344 but none out of 342: only the data can tell.
TEST_SIZE_FAILING_ON_DATA = 1 - 1 / 343
TEST_SIZE_FAILING_ON_METADATA = 0.9999


def _spent(client: DPClient) -> float:
    return client.get_total_spent_budget().total_spent_epsilon


def test_failure_after_reading_the_data_is_charged(client: DPClient) -> None:
    before = _spent(client)
    with pytest.raises(InvalidArgument) as failed:
        client.diffprivlib.query(MODEL, FEATURES, ["species"], test_size=TEST_SIZE_FAILING_ON_DATA)
    assert "charged" in failed.value.message
    assert _spent(client) == pytest.approx(before + 0.75)
    latest = client.get_previous_queries()[0]
    assert latest["dp_library"] == "diffprivlib"
    assert latest["epsilon"] == pytest.approx(0.75)
    assert "failed" in latest["result_summary"]


def test_what_the_metadata_can_refuse_is_refused_before_spending(client: DPClient) -> None:
    before = _spent(client)
    with pytest.raises(InvalidArgument) as too_big:
        client.diffprivlib.query(
            MODEL, FEATURES, ["species"], test_size=TEST_SIZE_FAILING_ON_METADATA
        )
    assert too_big.value.field == "test_size"
    with pytest.raises(InvalidArgument) as text_feature:
        client.diffprivlib.query(MODEL, ["bill_length_mm", "island"], ["species"])
    assert text_feature.value.field == "feature_columns"
    assert "island" in text_feature.value.message
    with pytest.raises(InvalidArgument) as cost_too:
        client.diffprivlib.cost(MODEL, FEATURES, ["species"], test_size=0.9999)
    assert cost_too.value.field == "test_size"
    assert _spent(client) == before
    assert client.get_previous_queries() == []


def test_a_query_cancelled_before_an_engine_took_it_is_refunded(
    veil_server: ServerThread, client: DPClient
) -> None:
    # A diffprivlib fit needs a worker slot (short SQL and OpenDP queries have their own lane).
    client.diffprivlib.cost(MODEL, FEATURES, ["species"])  # cached: no engine call before charging
    slots = sum(slot.capacity for slot in veil_server.app.engines.slots)
    charged = threading.Event()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if client.get_total_spent_budget().total_spent_epsilon > 0:
                charged.set()

    def occupy(index: int) -> object:
        return veil_server.run(
            veil_server.app.engines.run("sleep", {"seconds": 6.0}, [], owner=f"hog{index}"),
            timeout=60,
        )

    with ThreadPoolExecutor(slots + 1) as pool:
        busy = [pool.submit(occupy, i) for i in range(slots)]
        assert_eventually(
            lambda: all(s.running >= s.capacity for s in veil_server.app.engines.slots),
            message="the engine slots were not all taken",
        )
        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            message = DiffPrivLibClient._message(MODEL, FEATURES, ["species"], 0.2, 1, "drop")
            with pytest.raises(Unavailable) as cancelled:
                client._api.query(client.dataset_name, message, timeout=1.5)
            assert cancelled.value.code == "DEADLINE_EXCEEDED"
            assert_eventually(
                lambda: client.get_total_spent_budget().total_spent_epsilon == 0.0,
                message="the query cancelled in the queue was not refunded",
            )
        finally:
            done.set()
            watcher.join()
        for future in busy:
            future.result()
    assert charged.is_set()
    assert client.get_previous_queries() == []
