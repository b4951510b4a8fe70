"""``Manager``: the entry point, with the Octopize client's names.

``Manager(base_url=..., api_key=...)`` is ready at once; porting an Octopize script means changing
the import and the URL.
"""

from __future__ import annotations

import os
from typing import Any

from grpc_health.v1 import health_pb2, health_pb2_grpc

from veil_client.auth_api import AuthClient
from veil_client.errors import InvalidArgument
from veil_client.runs_api import RunsApi
from veil_client.transport import Transport, translate_errors


class Manager:
    """Connects to a Veil server and hands out runners and DP dataset clients.

    Args:
        base_url: ``localhost:PORT``, ``grpc://host:port`` or ``grpcs://host:port``; defaults to
            the ``VEIL_URL`` environment variable.
        api_key: An API key (recommended); defaults to ``VEIL_API_KEY``.
        timeout: Default deadline of unary calls, in seconds.
        root_certificates: PEM CA bundle for ``grpcs://`` servers with a private CA.
    """

    def __init__(self, base_url: str | None = None, api_key: str | None = None, *,
                 timeout: float = 60.0, root_certificates: bytes | None = None) -> None:
        url = base_url or os.environ.get("VEIL_URL", "")
        key = api_key if api_key is not None else os.environ.get("VEIL_API_KEY") or None
        self.base_url = url
        self.transport = Transport(url, api_key=key, timeout=timeout,
                                   root_certificates=root_certificates)
        self.runs_api = RunsApi(self.transport)
        self.auth_client = AuthClient(self.transport)

    def get_health(self) -> dict[str, str]:
        """The server's health: ``{"status": "SERVING"}`` when it is ready."""
        stub = health_pb2_grpc.HealthStub(self.transport.channel)
        with translate_errors():
            response = stub.Check(health_pb2.HealthCheckRequest(service=""),
                                  timeout=self.transport.timeout)
        return {"status": health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)}

    def whoami(self) -> dict[str, Any]:
        """Who the server thinks you are."""
        return self.auth_client.whoami()

    def close(self) -> None:
        """Close the connection."""
        self.transport.close()

    def __enter__(self) -> Manager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _require_credentials(self) -> None:
        if not self.transport.has_credential:
            raise InvalidArgument("no credentials: pass api_key=... (or set VEIL_API_KEY).",
                                  field="api_key")
