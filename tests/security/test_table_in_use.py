"""Defect 9: a table a queued or running job will read cannot be deleted (issue 19).

The attack: DeleteTable was accepted while jobs of the run were queued, and the queued metrics
jobs then reported FINISHED with no metrics. The contract says FAILED_PRECONDITION.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support import ServerThread, TestUser
from veil_client import FailedPrecondition, Manager
from veil_client.models import JobKind


def test_delete_table_is_refused_while_a_job_of_the_run_is_not_done(
    veil_server: ServerThread, user: TestUser
) -> None:
    runner = Manager(base_url=veil_server.url, api_key=user.api_key).create_runner("in_use")
    rng = np.random.default_rng(3)
    runner.add_table("t", pd.DataFrame(rng.normal(size=(300, 6)), columns=list("abcdef")))
    runner.set_parameters("t", k=5)
    runner.run(jobs_to_run=[JobKind.standard, JobKind.signal_metrics, JobKind.privacy_metrics])
    with pytest.raises(FailedPrecondition) as refused:
        runner.api.delete_table(runner.set_name, "t")
    assert refused.value.reason == "TABLE_IN_USE"
    assert "cancel" in refused.value.message
    runner.get_all_results()  # waits for the jobs
    assert runner.signal_metrics("t")
    runner.api.delete_table(runner.set_name, "t")  # allowed once every job is done
