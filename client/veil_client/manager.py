"""``Manager``: the entry point, with the Octopize client's names.

``Manager(base_url=..., api_key=...)`` is ready at once; porting an Octopize script means changing
the import and the URL.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from grpc_health.v1 import health_pb2, health_pb2_grpc

from veil_client.auth_api import AuthClient
from veil_client.errors import InvalidArgument
from veil_client.models import ForgottenPasswordRequest, ResetPasswordRequest
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
        self._has_api_key = key is not None
        self.runs_api = RunsApi(self.transport)
        self.auth_client = AuthClient(self.transport)

    def get_health(self) -> dict[str, str]:
        """The server's health: ``{"status": "SERVING"}`` when it is ready."""
        stub = health_pb2_grpc.HealthStub(self.transport.channel)
        with translate_errors():
            response = stub.Check(health_pb2.HealthCheckRequest(service=""),
                                  timeout=self.transport.timeout)
        return {"status": health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)}

    def authenticate(self, username: str, password: str,
                     should_verify_compatibility: bool | None = None) -> None:
        """Log in with a username and password; deprecated, prefer ``Manager(api_key=...)``.

        Kept so Octopize scripts run unchanged. Emits a DeprecationWarning on each successful
        login. The session token is kept in this manager only.

        Args:
            username: Username or email.
            password: Password.
            should_verify_compatibility: Accepted for compatibility with the Octopize client;
                ignored (client and server ship together).

        Raises:
            ValueError: this manager already has an API key (the two are mutually exclusive).
            Unauthenticated: wrong username or password.
            ResourceExhausted: too many failed logins; ``retry_after`` says how long to wait.
        """
        if self._has_api_key:
            raise ValueError("this Manager already uses an API key (api_key=... or "
                             "VEIL_API_KEY); API key and username/password authentication are "
                             "mutually exclusive: use one of them.")
        session = self.auth_client.login(username, password)
        self.transport.set_credential(session.session_token)
        warnings.warn(session.deprecation_notice or "password login is deprecated: use an "
                      "API key.", DeprecationWarning, stacklevel=2)

    def forgotten_password(self, email: str) -> None:
        """Ask the server to email a password reset token (valid once, for 24 hours).

        Succeeds whether or not the address is known, so it reveals nothing.
        """
        self.auth_client.forgotten_password(ForgottenPasswordRequest(email=email))

    def reset_password(self, email: str, new_password: str, new_password_repeated: str,
                       token: object) -> None:
        """Set a new password with the emailed token; ends your password sessions.

        Raises:
            InvalidArgument: the passwords differ or the new one is weak.
            PermissionDenied: the token is wrong, expired or already used (``reason`` says
                which).
        """
        self.auth_client.reset_password(ResetPasswordRequest(
            email=email, new_password=new_password, new_password_repeated=new_password_repeated,
            token=token))

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
