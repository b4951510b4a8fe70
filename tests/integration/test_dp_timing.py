"""A private query's answer time does not tell how long the private computation took
(issue 16 item 11; Lomas's "stall" timing-attack protection, here rounded to a quantum)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from diffprivlib.models import GaussianNB
from dp_support import grant, manager, register
from support import ServerThread, create_user, start_server

# Measures wall-clock time: runs alone after the parallel part of `make test`.
pytestmark = pytest.mark.serial

QUANTUM = 1.5
MARGIN = 0.45
"""The response's trip after the padding (the machine is shared and loaded)."""
FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
BOUNDS = ([30.0, 13.0, 150.0, 2000.0], [65.0, 23.0, 250.0, 7000.0])


@pytest.fixture(scope="module")
def padded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    server = start_server(Path(tmp_path_factory.mktemp("timing")), dp_answer_quantum_s=QUANTUM)
    try:
        yield server
    finally:
        server.stop()


def _timed(call: object) -> float:
    started = time.monotonic()
    call()  # type: ignore[operator]
    return time.monotonic() - started


def test_private_answers_take_whole_quanta(padded_server: ServerThread) -> None:
    user = create_user(padded_server)
    dataset = register(padded_server)
    grant(padded_server, user, dataset, 50.0, 1e-3)
    client = manager(padded_server, user).dp(dataset)
    count = "SELECT COUNT(*) AS n FROM df"
    client.smartnoise_sql.cost(count, 0.1, 1e-5)  # warm the cost cache and the engine

    model = GaussianNB(epsilon=1.0, bounds=BOUNDS)
    # Costs are computed before the charge from the metadata alone (not padded); warm them so
    # that the times below are the padded part only.
    # The first model answer also imports skops and diffprivlib in this process: not timed.
    client.diffprivlib.query(model, FEATURES, ["species"])
    fast = [_timed(lambda: client.smartnoise_sql.query(count, 0.1, 1e-5)) for _ in range(4)]
    slow = [_timed(lambda: client.diffprivlib.query(model, FEATURES, ["species"]))]
    dummy = _timed(lambda: client.smartnoise_sql.query(count, 0.1, 1e-5, dummy=True))
    for elapsed in fast + slow:
        # At least one quantum, and just above a whole number of quanta (the response's trip).
        assert elapsed >= QUANTUM
        assert elapsed - QUANTUM * int(elapsed / QUANTUM) < MARGIN, (fast, slow)
    # Dummy data is public: not padded.
    assert dummy < QUANTUM
