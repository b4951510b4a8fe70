"""A synthesizer fit that runs past the operator's time limit (issue 16 item 9): stopped with
RESOURCE_EXHAUSTED (``TASK_TIME_LIMIT``), charged like the answer it replaces since it read the
private rows, and recorded in the archive."""

from __future__ import annotations

from pathlib import Path

import pytest
from dp_support import grant, manager, register
from support import create_user, start_server
from veil_client import ResourceExhausted


def test_synth_fit_past_the_time_limit_is_stopped_and_charged(tmp_path: Path) -> None:
    # One second for a private query: a full-column MWEM on PENGUIN needs several (benchmarks).
    server = start_server(tmp_path / "veil-data", task_time_limits=("dp_query=1",))
    try:
        analyst = create_user(server)
        dataset = register(server)
        grant(server, analyst, dataset, 5.0, 1e-3)
        client = manager(server, analyst).dp(dataset)
        with pytest.raises(ResourceExhausted) as stopped:
            client.smartnoise_synth.query("mwem", 1.0, nb_samples=10)
        assert stopped.value.reason == "TASK_TIME_LIMIT"
        assert "--task-time-limit dp_query=SECONDS" in stopped.value.message
        assert "charged" in stopped.value.message
        left = client.get_remaining_budget()
        assert left.remaining_epsilon == pytest.approx(4.0, abs=1e-12)
        [record] = client.get_previous_queries()
        assert record["dp_library"] == "smartnoise_synth" and record["epsilon"] == 1.0
    finally:
        server.stop()
