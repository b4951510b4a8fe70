"""WatchJobs and CancelJob through a plain gRPC stub against the real server.

The stream is pushed by the dispatcher: it sends each job as it is now, then each change, and
ends once every watched job ended, including when a job is cancelled while it waits.
"""

from __future__ import annotations

import threading
from typing import Any

import grpc
import numpy as np
import pandas as pd
import pytest
from support import ServerThread, TestUser
from veil.v1 import runs_pb2, runs_pb2_grpc
from veil_client import Manager


@pytest.fixture()
def stub(veil_server: ServerThread) -> Any:
    with grpc.insecure_channel(veil_server.url) as channel:
        yield runs_pb2_grpc.RunsServiceStub(channel)


def _run_with_table(veil_server: ServerThread, user: TestUser) -> str:
    rng = np.random.default_rng(3)
    table = pd.DataFrame(rng.normal(size=(300, 6)), columns=list("abcdef"))
    runner = Manager(base_url=veil_server.url, api_key=user.api_key).create_runner("watched")
    runner.add_table("t", table)
    runner.set_parameters("t", k=5)
    assert runner.set_name is not None
    return runner.set_name


# A k=5 job on 300 rows takes seconds; on a loaded machine (CI on 2 cores, tests in parallel) it
# took over 60 s, so the watch's own deadline cut it before the job finished.
WATCH_S = 200


def test_a_watch_follows_each_job_to_its_end(
    veil_server: ServerThread, user: TestUser, stub: Any
) -> None:
    metadata = (("authorization", f"Bearer {user.api_key}"),)
    run_id = _run_with_table(veil_server, user)
    started = stub.StartJobs(
        runs_pb2.StartJobsRequest(
            run_id=run_id, kinds=[runs_pb2.JOB_KIND_STANDARD, runs_pb2.JOB_KIND_PRIVACY_METRICS]
        ),
        metadata=metadata,
    )
    standard, privacy = (j.id for j in started.jobs)
    seen: list[runs_pb2.Job] = []
    watching = threading.Thread(
        target=lambda: seen.extend(
            e.job
            for e in stub.WatchJobs(
                runs_pb2.WatchJobsRequest(run_id=run_id), metadata=metadata, timeout=WATCH_S
            )
        )
    )
    watching.start()
    cancelled = stub.CancelJob(runs_pb2.CancelJobRequest(job_id=privacy), metadata=metadata)
    assert cancelled.job.status == runs_pb2.JOB_STATUS_CANCELLED
    watching.join(WATCH_S)
    assert not watching.is_alive(), "the watch did not end once every job ended"

    last = {job.id: job for job in seen}
    assert last[standard].status == runs_pb2.JOB_STATUS_FINISHED
    assert last[privacy].status == runs_pb2.JOB_STATUS_CANCELLED
    standard_statuses = [j.status for j in seen if j.id == standard]
    assert standard_statuses[-1] == runs_pb2.JOB_STATUS_FINISHED
    assert runs_pb2.JOB_STATUS_PENDING in standard_statuses or len(standard_statuses) == 1
    # Nothing is sent twice: each message is a change of status, progress or phase.
    states = [(j.id, j.status, round(j.progress, 3), j.phase) for j in seen]
    assert len(states) == len(set(states))

    with pytest.raises(grpc.RpcError) as ended:
        stub.CancelJob(runs_pb2.CancelJobRequest(job_id=privacy), metadata=metadata)
    assert ended.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_a_watch_needs_a_run_or_jobs(veil_server: ServerThread, user: TestUser, stub: Any) -> None:
    metadata = (("authorization", f"Bearer {user.api_key}"),)
    with pytest.raises(grpc.RpcError) as refused:
        list(stub.WatchJobs(runs_pb2.WatchJobsRequest(), metadata=metadata, timeout=10))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
