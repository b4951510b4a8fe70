"""Progress of long DP queries (issue 16 item 12): real progress on dummy data, a public clock
on private data that does not depend on how long the private computation took."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dp_support import grant, manager, register
from support import ServerThread, assert_eventually, create_user, start_server
from veil_client.api.dpquery import (
    DPQueryApi,
    Dummy,
    QueryProgress,
    SmartnoiseSqlQuery,
    SmartnoiseSynthQuery,
)

# Measures wall-clock time: runs alone after the parallel part of `make test`.
pytestmark = pytest.mark.serial

QUANTUM = 30.0
"""Long enough that a fast and a much slower private query answer in the same quantum."""
MARGIN = 0.9
"""The response's trip after the padding (the machine is shared and loaded)."""
SLOW = SmartnoiseSynthQuery(
    "mwem",
    1.0,
    select_cols=["species", "island", "bill_length_mm", "flipper_length_mm"],
    synth_params={"iterations": 10},
    nb_samples=50,
)
SLOWER = SmartnoiseSynthQuery(
    "mwem",
    1.0,
    select_cols=SLOW.select_cols,
    synth_params={"iterations": 40},
    nb_samples=50,
)
"""Seconds of computation on any machine (10 iterations take under one on a fast one)."""
FAST = SmartnoiseSqlQuery("SELECT COUNT(*) AS n FROM df", 0.1, 1e-5)


@pytest.fixture(scope="module")
def padded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    server = start_server(Path(tmp_path_factory.mktemp("progress")), dp_answer_quantum_s=QUANTUM)
    try:
        yield server
    finally:
        server.stop()


def _run(
    api: DPQueryApi, dataset: str, query: object, dummy: Dummy | None = None
) -> tuple[list[QueryProgress], float]:
    messages: list[QueryProgress] = []
    started = time.monotonic()
    answer = api.query(dataset, query, dummy, on_progress=messages.append)  # type: ignore[arg-type]
    elapsed = time.monotonic() - started
    assert answer.charged is (dummy is None)
    return messages, elapsed


def test_dummy_fit_reports_its_iterations(padded_server: ServerThread) -> None:
    user = create_user(padded_server)
    dataset = register(padded_server)
    grant(padded_server, user, dataset, 10.0, 1e-3)
    api = DPQueryApi(manager(padded_server, user).transport)
    messages, _ = _run(api, dataset, SLOW, Dummy(nb_rows=344, seed=1))
    phases = [m.phase for m in messages]
    iterations = [p for p in phases if p.startswith("mwem iteration")]
    assert iterations == [f"mwem iteration {i} of 10" for i in range(1, 11)]
    assert phases[0] == "mwem: fitting" and phases[-2:] == ["sampling", "done"]
    fractions = [m.fraction for m in messages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert not any(m.private for m in messages)
    assert all(m.elapsed_s == 0 and m.time_limit_s == 0 for m in messages)


def test_query_with_progress_is_the_stream_itself(padded_server: ServerThread) -> None:
    user = create_user(padded_server)
    dataset = register(padded_server)
    grant(padded_server, user, dataset, 10.0, 1e-3)
    api = DPQueryApi(manager(padded_server, user).transport)
    messages: list[QueryProgress] = []
    answer = api.query_with_progress(dataset, SLOW, messages.append, Dummy(nb_rows=344, seed=1))
    assert answer.charged is False
    assert [m.phase for m in messages][-2:] == ["sampling", "done"]
    assert sum(m.phase.startswith("mwem iteration") for m in messages) == 10


def test_private_progress_is_a_clock_that_ignores_the_computation(
    padded_server: ServerThread,
) -> None:
    """Two private queries whose computations differ by seconds send the same messages and
    answer in the same quantum; the messages carry nothing but the grid time."""
    user = create_user(padded_server)
    dataset = register(padded_server)
    grant(padded_server, user, dataset, 10.0, 1e-3)
    api = DPQueryApi(manager(padded_server, user).transport)
    # Warm costs and the engine; the dummy runs measure each computation's real duration
    # (dummy answers are not padded): the synthesizer takes seconds, the count almost nothing.
    api.estimate_cost(dataset, FAST)
    api.estimate_cost(dataset, SLOWER)
    _run(api, dataset, SLOWER, Dummy(nb_rows=344, seed=1))  # the worker imports the library
    _, fast_real = _run(api, dataset, FAST, Dummy(nb_rows=344, seed=1))
    _, slow_real = _run(api, dataset, SLOWER, Dummy(nb_rows=344, seed=1))
    assert slow_real > fast_real + 1.0, (fast_real, slow_real)
    assert slow_real < QUANTUM - 4.0, "the machine is too slow for this quantum"

    fast_messages, fast_time = _run(api, dataset, FAST)
    slow_messages, slow_time = _run(api, dataset, SLOWER)
    # Same bucket: one quantum, plus the trip.
    for elapsed in (fast_time, slow_time):
        assert QUANTUM <= elapsed < QUANTUM + MARGIN, (fast_time, slow_time)
    # Same messages: the grid (one second, offset by half) up to the padded answer time.
    assert fast_messages == slow_messages
    assert [m.elapsed_s for m in fast_messages] == [i + 0.5 for i in range(int(QUANTUM))]
    limit = padded_server.app.engines.time_limits["dp_query"]
    for message in fast_messages:
        assert message.private and message.phase == "running on the private data"
        assert message.time_limit_s == limit
        assert message.fraction == pytest.approx(message.elapsed_s / limit)


def test_synth_client_shows_a_bar(
    padded_server: ServerThread, capsys: pytest.CaptureFixture[str]
) -> None:
    """The Lomas-style client's bar: on by request, advancing through the dummy fit's
    iterations; off by default in a script (nobody watches), and then no stream is used."""
    user = create_user(padded_server)
    dataset = register(padded_server)
    grant(padded_server, user, dataset, 10.0, 1e-3)
    client = manager(padded_server, user).dp(dataset)
    response = client.smartnoise_synth.query(
        "mwem",
        1.0,
        select_cols=SLOW.select_cols,
        synth_params={"iterations": 6},
        dummy=True,
        nb_rows=344,
        nb_samples=20,
        progress=True,
    )
    assert len(response.result.df_samples) == 20
    shown = capsys.readouterr().err
    assert "mwem: mwem iteration 6 of 6" in shown and "mwem: sampling" in shown
    seen: list[QueryProgress] = []
    client.smartnoise_synth.query(
        "mwem",
        1.0,
        select_cols=SLOW.select_cols,
        synth_params={"iterations": 6},
        dummy=True,
        nb_rows=344,
        progress=seen.append,
    )
    assert [m.phase for m in seen].count("mwem iteration 3 of 6") == 1
    client.smartnoise_synth.query(
        "mwem", 1.0, select_cols=SLOW.select_cols, synth_params={"iterations": 6}, dummy=True
    )
    assert "mwem" not in capsys.readouterr().err


def test_a_progress_stream_cut_short_settles_like_query(padded_server: ServerThread) -> None:
    """The caller's deadline ends the stream while the engine fits: the query is cancelled and
    charged as a cancelled Query is (the engine had the rows), and recorded as failed."""
    from veil_client.errors import Unavailable

    user = create_user(padded_server)
    dataset = register(padded_server)
    grant(padded_server, user, dataset, 5.0, 1e-3)
    client = manager(padded_server, user).dp(dataset)
    # mst on five columns takes seconds in a fresh worker (jax compiles); its cost needs no data.
    columns = ["species", "island", "flipper_length_mm", "body_mass_g", "bill_length_mm"]
    mst = SmartnoiseSynthQuery("mst", 1.0, select_cols=columns, nb_samples=10)
    assert client.smartnoise_synth.cost("mst", 1.0, select_cols=columns).epsilon == 1.0
    api = DPQueryApi(manager(padded_server, user).transport)
    seen: list[QueryProgress] = []
    with pytest.raises(Unavailable) as cut:
        api.query(dataset, mst, on_progress=seen.append, timeout=2.5)
    assert cut.value.code == "DEADLINE_EXCEEDED"
    assert seen and all(m.private for m in seen)  # the clock ran until the deadline
    assert_eventually(
        lambda: "CANCELLED" in client.get_previous_queries()[0]["result_summary"],
        message="the cancelled query was not recorded as failed",
    )
    assert client.get_total_spent_budget().total_spent_epsilon == 1.0
