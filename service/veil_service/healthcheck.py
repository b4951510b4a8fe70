"""Container health probe: ``python -m veil_service.healthcheck --address localhost:50051``.

Calls the standard ``grpc.health.v1.Health/Check`` of a running ``veil serve`` and exits 0 only
when the server answers SERVING. The server reports SERVING once its database and engine are
ready and NOT_SERVING from the moment it starts a graceful stop, so orchestrators (Docker's
HEALTHCHECK, Kubernetes exec probes) route traffic only to a server that can do work.

It imports grpc and the health stubs only, nothing of the service, so a probe costs a fraction
of a second and little memory every few seconds.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

EXIT_SERVING = 0
EXIT_NOT_SERVING = 1
EXIT_UNREACHABLE = 2


def check(
    address: str,
    *,
    service: str = "",
    timeout: float = 3.0,
    tls: bool = False,
    ca_file: str | None = None,
) -> str:
    """The serving status name of ``service`` ("" = the whole server) at ``address``.

    Raises:
        grpc.RpcError: the server is unreachable, too slow (``timeout`` seconds) or does not
            know the service.
    """
    if tls:
        ca = Path(ca_file).read_bytes() if ca_file else None
        channel = grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=ca))
    else:
        channel = grpc.insecure_channel(address)
    with channel:
        response = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=timeout
        )
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))


def main(argv: Sequence[str] | None = None) -> int:
    """Print the status and exit 0 (SERVING), 1 (any other status) or 2 (no answer)."""
    parser = argparse.ArgumentParser(
        prog="python -m veil_service.healthcheck",
        description="Exit 0 when a Veil server reports SERVING.",
    )
    parser.add_argument("--address", default="localhost:50051", help="host:port of veil serve")
    parser.add_argument("--service", default="", help="service name; empty = whole server")
    parser.add_argument("--timeout", type=float, default=3.0, help="deadline in seconds")
    parser.add_argument("--tls", action="store_true", help="the server speaks TLS")
    parser.add_argument("--ca-file", default=None, help="PEM CA bundle for --tls")
    args = parser.parse_args(argv)
    try:
        status = check(
            args.address,
            service=args.service,
            timeout=args.timeout,
            tls=args.tls,
            ca_file=args.ca_file,
        )
    except grpc.RpcError as error:
        code = error.code() if isinstance(error, grpc.Call) else None
        print(
            f"unhealthy: health check of {args.address} failed: {getattr(code, 'name', error)}",
            file=sys.stderr,
        )
        return EXIT_UNREACHABLE
    print(status)
    return EXIT_SERVING if status == "SERVING" else EXIT_NOT_SERVING


if __name__ == "__main__":
    raise SystemExit(main())
