"""Send one oversized request from its own process (so the test's GIL is not the server's).

Usage: python attacker.py URL API_KEY KIND ARG; prints ``CODE<tab>details`` of the answer.
Kinds: ``yaml_scalar`` (ARG: run id), ``yaml_documents`` (run id), ``yaml_at_limit`` (run id),
``watch_ids`` (job id).
"""

from __future__ import annotations

import sys

import grpc
from veil.v1 import runs_pb2, runs_pb2_grpc


def _request(kind: str, arg: str) -> tuple[str, object]:
    if kind == "yaml_scalar":
        text = "kind: AvatarParameters\nname: " + "a" * (50 << 20) + "\n"
        return "ImportYaml", runs_pb2.ImportYamlRequest(run_id=arg, yaml=text)
    if kind == "yaml_documents":
        return "ImportYaml", runs_pb2.ImportYamlRequest(run_id=arg, yaml="---\nk: 1\n" * 60_000)
    if kind == "yaml_at_limit":
        from veil_service.yaml_limits import CONFIG_LIMITS

        # Just under the node limit (9 values a line): the slowest text still built.
        line = "- [1, 2, 3, 4, 5, 6, 7, 8]\n"
        text = "kind: AvatarParameters\nextra:\n" + line * (CONFIG_LIMITS.max_nodes // 9 - 2)
        return "ImportYaml", runs_pb2.ImportYamlRequest(run_id=arg, yaml=text)
    if kind == "watch_ids":
        return "WatchJobs", runs_pb2.WatchJobsRequest(job_ids=[arg] * 100_000)
    raise SystemExit(f"unknown kind {kind}")


def main() -> None:
    url, api_key, kind, arg = sys.argv[1:5]
    method, request = _request(kind, arg)
    channel = grpc.insecure_channel(url, options=[("grpc.max_send_message_length", 64 << 20)])
    stub = runs_pb2_grpc.RunsServiceStub(channel)
    metadata = (("x-api-key", api_key),)
    try:
        if method == "WatchJobs":
            for _ in stub.WatchJobs(request, metadata=metadata, timeout=120):
                pass
        else:
            getattr(stub, method)(request, metadata=metadata, timeout=120)
        print("OK\t")
    except grpc.RpcError as exc:
        print(f"{exc.code().name}\t{exc.details()}")


if __name__ == "__main__":
    main()
