"""Fuzz every RPC's request messages, and the YAML and metadata parsers (issue 19).

Each RPC of the four public services is called with messages Hypothesis builds from the request
descriptor (``fuzz_messages``): odd strings, integer extremes, NaN and infinities, unknown enum
numbers, long repeated fields, and real ids of this module's own run, job, table and dataset so
calls reach the code behind the lookups. Whatever the message, the answer is never INTERNAL or
UNKNOWN, health stays SERVING, and the server's memory stays bounded.

``make test`` runs a fixed, derandomized budget (``VEIL_FUZZ_EXAMPLES``, default 8 per RPC);
``make fuzz`` runs a long random one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pandas as pd
import psutil
import pytest
from dp_support import grant, register
from fuzz_messages import messages
from google.protobuf.descriptor import MethodDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import ServerThread, TestUser, create_user, start_server
from veil.v1 import admin_pb2, auth_pb2, dpquery_pb2, runs_pb2
from veil_client import Manager
from veil_client.models import JobKind

EXAMPLES = int(os.environ.get("VEIL_FUZZ_EXAMPLES", "8"))
LONG_RUN = "VEIL_FUZZ_EXAMPLES" in os.environ
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=not LONG_RUN,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
FORBIDDEN = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
MEMORY_GROWTH_BYTES = 768 << 20
"""How much the server process may grow over the whole fuzz run (it shares the test process)."""

SERVICES = [
    auth_pb2.DESCRIPTOR.services_by_name["AuthService"],
    runs_pb2.DESCRIPTOR.services_by_name["RunsService"],
    dpquery_pb2.DESCRIPTOR.services_by_name["DPQueryService"],
    admin_pb2.DESCRIPTOR.services_by_name["AdminService"],
]
METHODS = [method for service in SERVICES for method in service.methods]
SELF_REVOKING = {"RevokeAllApiKeys", "Logout", "RevokeApiKey"}
"""Calls that may end the caller's own credential: each example gets a throwaway user."""


class Target:
    """The fuzzed server, its users and the ids of real resources."""

    def __init__(self, server: ServerThread, tmp: Path) -> None:
        self.server = server
        self.admin = create_user(server, "admin")
        self.user = create_user(server, "user")
        dataset = register(server)
        grant(server, self.user, dataset, 1000.0, 0.5)
        manager = Manager(base_url=server.url, api_key=self.user.api_key)
        runner = manager.create_runner("fuzz", seed=1)
        rng = np.random.default_rng(0)
        frame = pd.DataFrame({"a": rng.normal(size=30), "b": rng.integers(0, 3, size=30)})
        runner.add_table("t", frame)
        runner.set_parameters("t", k=5)
        runner.run(jobs_to_run=[JobKind.standard])
        self.known = [
            runner.set_name,
            str(runner.get_job(JobKind.standard).id),
            "t",
            dataset,
            str(uuid.uuid4()),
            str(tmp),
        ]
        self.channel = grpc.insecure_channel(server.url)
        self.health = health_pb2_grpc.HealthStub(self.channel)
        self.rss_at_start = psutil.Process().memory_info().rss

    def call(self, service: str, method: MethodDescriptor, requests: list[Any], key: str) -> None:
        path = f"/{service}/{method.name}"
        metadata = (("x-api-key", key),)
        serialize = type(requests[0]).SerializeToString
        try:
            if method.client_streaming:
                stub = self.channel.stream_unary(path, request_serializer=serialize)
                stub(iter(requests), metadata=metadata, timeout=60)
            elif method.server_streaming:
                stream = self.channel.unary_stream(path, request_serializer=serialize)
                for count, _ in enumerate(stream(requests[0], metadata=metadata, timeout=20)):
                    if count > 50:
                        break
            else:
                stub = self.channel.unary_unary(path, request_serializer=serialize)
                stub(requests[0], metadata=metadata, timeout=60)
        except grpc.RpcError as exc:
            assert exc.code() not in FORBIDDEN, (method.name, exc.code(), exc.details())
            if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                assert method.name == "WatchJobs", (method.name, "deadline exceeded")
        status = self.health.Check(health_pb2.HealthCheckRequest(), timeout=10).status
        assert status == health_pb2.HealthCheckResponse.SERVING


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    server = start_server(tmp_path_factory.mktemp("veil-fuzz"))
    try:
        fuzzed = Target(server, tmp_path_factory.mktemp("fuzz-paths"))
        yield fuzzed
        grown = psutil.Process().memory_info().rss - fuzzed.rss_at_start
        assert grown < MEMORY_GROWTH_BYTES, f"the server grew by {grown >> 20} MiB"
    finally:
        server.stop()


@pytest.mark.parametrize("method", METHODS, ids=[m.full_name for m in METHODS])
def test_no_request_message_makes_an_internal_error(
    target: Target, method: MethodDescriptor
) -> None:
    service = method.containing_service.full_name
    known = target.known
    requests = st.lists(messages(method.input_type, known), min_size=1, max_size=3)

    @FUZZ
    @given(requests=requests)
    def one(requests: list[Any]) -> None:
        key = target.admin.api_key if service.endswith("AdminService") else target.user.api_key
        if method.name in SELF_REVOKING:
            key = create_user(target.server, "user").api_key
        target.call(service, method, requests, key)

    one()


@FUZZ
@given(
    text=st.one_of(
        st.text(max_size=2000),
        st.recursive(
            st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
            lambda inner: st.one_of(
                st.lists(inner, max_size=5),
                st.dictionaries(st.text(max_size=10), inner, max_size=5),
            ),
            max_leaves=40,
        ).map(lambda doc: __import__("yaml").safe_dump(doc)),
        st.integers(1, 3000).map(lambda n: "a:\n" + "".join(" " * i + "- \n" for i in range(n))),
        st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
    )
)
def test_yaml_and_metadata_parsers_refuse_cleanly(text: str) -> None:
    from veil_service.dpquery.registration import parse_metadata_text
    from veil_service.errors import InvalidArgumentError
    from veil_service.runs.yaml_io import config_from_yaml

    for parse in (config_from_yaml, parse_metadata_text):
        try:
            parse(text)
        except InvalidArgumentError as exc:
            assert exc.field, (parse.__name__, exc.message)


def test_fuzz_user_fixture_is_real(target: Target) -> None:
    assert isinstance(target.user, TestUser) and target.known[0]
