"""Defect 3: no request freezes the server's event loop (issue 19).

The attack: ImportYaml of a 50 MB scalar froze health checks and every other RPC for 31 s, 60,000
YAML documents in 2 MB for 26 s, WatchJobs with 100,000 copies of one job id for 37 s. Each is
sent again here, from another process, while a thread polls the health check: health must answer
within 100 ms (see ``health_probe.assert_responsive``), and the oversized request is refused with
a status naming its field. The limits are in ``veil_service.yaml_limits`` and docs/security.md.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pandas as pd
import pytest
from health_probe import assert_responsive, call_with_key, health_watch
from support import ServerThread, TestUser
from veil.v1 import runs_pb2, runs_pb2_grpc
from veil_client import Manager
from veil_client.models import JobKind

# Measures wall-clock time: runs alone after the parallel part of `make test`.
pytestmark = pytest.mark.serial

ATTACKER = Path(__file__).with_name("attacker.py")


@pytest.fixture()
def runs_stub(veil_server: ServerThread) -> Iterator[runs_pb2_grpc.RunsServiceStub]:
    channel = grpc.insecure_channel(veil_server.url)
    yield runs_pb2_grpc.RunsServiceStub(channel)
    channel.close()


def _run_id(stub: runs_pb2_grpc.RunsServiceStub, user: TestUser) -> str:
    run = stub.CreateRun(
        runs_pb2.CreateRunRequest(display_name="loop"), metadata=call_with_key(user.api_key)
    ).run
    return str(run.id)


def _attack(veil_server: ServerThread, user: TestUser, kind: str, arg: str) -> tuple[str, str]:
    """Send the request from another process while measuring health; return (code, details)."""
    with health_watch(veil_server.url) as latencies:
        answer = subprocess.run(
            [sys.executable, str(ATTACKER), veil_server.url, user.api_key, kind, arg],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stdout
        time.sleep(0.3)
    assert_responsive(latencies(), kind)
    code, _, details = answer.strip().partition("\t")
    return code, details


def test_a_huge_yaml_scalar_is_refused_without_freezing(
    veil_server: ServerThread, user: TestUser, runs_stub: runs_pb2_grpc.RunsServiceStub
) -> None:
    code, details = _attack(veil_server, user, "yaml_scalar", _run_id(runs_stub, user))
    # 50 MB is past the server's request size: gRPC refuses it before Python decodes it.
    assert code == "RESOURCE_EXHAUSTED" and "larger than max" in details, details


def test_sixty_thousand_yaml_documents_are_refused_without_freezing(
    veil_server: ServerThread, user: TestUser, runs_stub: runs_pb2_grpc.RunsServiceStub
) -> None:
    code, details = _attack(veil_server, user, "yaml_documents", _run_id(runs_stub, user))
    assert (code, details.split(" ")[0]) == ("INVALID_ARGUMENT", "yaml"), details


def test_yaml_at_the_size_limit_is_parsed_off_the_loop(
    veil_server: ServerThread, user: TestUser, runs_stub: runs_pb2_grpc.RunsServiceStub
) -> None:
    # Just under the limit and made of many small nodes: the slowest text still parsed.
    code, details = _attack(veil_server, user, "yaml_at_limit", _run_id(runs_stub, user))
    assert code == "INVALID_ARGUMENT" and "extra" in details, details


def test_watching_a_hundred_thousand_job_ids_is_refused_without_freezing(
    veil_server: ServerThread, user: TestUser
) -> None:
    manager = Manager(base_url=veil_server.url, api_key=user.api_key)
    runner = manager.create_runner("watch", seed=1)
    rng = np.random.default_rng(0)
    runner.add_table("t", pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)}))
    runner.set_parameters("t", k=5)
    runner.run(jobs_to_run=[JobKind.standard])
    code, details = _attack(
        veil_server, user, "watch_ids", str(runner.get_job(JobKind.standard).id)
    )
    assert (code, details.split(" ")[0]) == ("INVALID_ARGUMENT", "job_ids"), details
