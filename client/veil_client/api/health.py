"""The standard gRPC health service (``grpc.health.v1.Health``)."""

from __future__ import annotations

from grpc_health.v1 import health_pb2

from veil_client.transport import Transport, unary

CHECK = unary(
    "grpc.health.v1.Health",
    "Check",
    health_pb2.HealthCheckRequest,
    health_pb2.HealthCheckResponse,
    idempotent=True,
)


class HealthApi:
    """Health checks (no credentials needed)."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def check(self, service: str = "") -> str:
        """The serving status of the server (``service=""``) or of one service: ``SERVING``,
        ``NOT_SERVING``, ``UNKNOWN`` or ``SERVICE_UNKNOWN``."""
        return self.check_within(None, service)

    def check_within(self, timeout: float | None, service: str = "") -> str:
        """:meth:`check` with a deadline of ``timeout`` seconds (None: the transport's)."""
        response = self.transport.call(
            CHECK, health_pb2.HealthCheckRequest(service=service), timeout=timeout
        )
        name: str = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
        return name
