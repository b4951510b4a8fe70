"""AuthService calls: ``manager.auth_client`` with ``api_keys`` as in the Octopize client."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from google.protobuf.json_format import MessageToDict
from veil.v1 import auth_pb2, auth_pb2_grpc

from veil_client.models import (
    CreateApiKeyRequest,
    ForgottenPasswordRequest,
    LoginResponse,
    ResetPasswordRequest,
)
from veil_client.transport import Transport


def _as_dict(message: Any) -> dict[str, Any]:
    result: dict[str, Any] = MessageToDict(message, preserving_proto_field_name=True)
    return result


class ApiKeysClient:
    """``manager.auth_client.api_keys``: create, list, get, revoke."""

    def __init__(self, transport: Transport, stub: auth_pb2_grpc.AuthServiceStub) -> None:
        self._transport = transport
        self._stub = stub

    def create_api_key(self, request: CreateApiKeyRequest) -> dict[str, Any]:
        """Create a key; ``result["api_key"]["plaintext"]`` is the key, shown this once."""
        response = self._transport.call(
            self._stub.CreateApiKey,
            auth_pb2.CreateApiKeyRequest(
                name=request.name, expiration_days=int(request.expiration_days)
            ),
        )
        api_key = _as_dict(response.api_key)
        api_key["plaintext"] = response.plaintext
        return {"api_key": api_key}

    def list_api_keys(self, include_inactive: bool = False) -> list[dict[str, Any]]:
        """Your keys, newest first (never their plaintext)."""
        keys: list[dict[str, Any]] = []
        token = ""
        while True:
            response = self._transport.call(
                self._stub.ListApiKeys,
                auth_pb2.ListApiKeysRequest(
                    page_size=500, page_token=token, include_inactive=include_inactive
                ),
            )
            keys.extend(_as_dict(k) for k in response.api_keys)
            token = response.next_page_token
            if not token:
                return keys

    def get_api_key(self, api_key_id: str) -> dict[str, Any]:
        """One of your keys."""
        response = self._transport.call(
            self._stub.GetApiKey, auth_pb2.GetApiKeyRequest(api_key_id=api_key_id)
        )
        return _as_dict(response.api_key)

    def revoke_api_key(self, api_key_id: str) -> dict[str, Any]:
        """Revoke one of your keys at once."""
        response = self._transport.call(
            self._stub.RevokeApiKey, auth_pb2.RevokeApiKeyRequest(api_key_id=api_key_id)
        )
        return _as_dict(response.api_key)

    def revoke_all_api_keys(self) -> int:
        """Revoke all your keys (including the one in use); returns how many."""
        response = self._transport.call(
            self._stub.RevokeAllApiKeys, auth_pb2.RevokeAllApiKeysRequest()
        )
        return int(response.revoked_count)


class HealthClient:
    """``manager.auth_client.health``, as in the Octopize client."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def get_health(self) -> dict[str, str]:
        """The server's health: ``{"status": "SERVING"}`` when it is ready."""
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        from veil_client.transport import translate_errors

        stub = health_pb2_grpc.HealthStub(self._transport.channel)
        with translate_errors():
            response = stub.Check(
                health_pb2.HealthCheckRequest(service=""), timeout=self._transport.timeout
            )
        return {"status": health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)}


class AuthClient:
    """``manager.auth_client``."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self.stub = auth_pb2_grpc.AuthServiceStub(transport.channel)
        self.api_keys = ApiKeysClient(transport, self.stub)
        self.health = HealthClient(transport)

    def whoami(self) -> dict[str, Any]:
        """The caller's user and credential kind."""
        return _as_dict(self._transport.call(self.stub.WhoAmI, auth_pb2.WhoAmIRequest()))

    def login(self, username: str, password: str) -> LoginResponse:
        """Exchange a username (or email) and password for a session token (deprecated).

        Needs no credentials (any sent are ignored). Raises ``Unauthenticated`` (wrong username
        or password) and ``ResourceExhausted`` (too many failures; ``retry_after`` says how long
        to wait).
        """
        response = self._transport.call(
            self.stub.Login, auth_pb2.LoginRequest(username=username, password=password)
        )
        return LoginResponse(
            session_token=response.session_token,
            expires_at=response.expires_at.ToDatetime(tzinfo=UTC),
            deprecation_notice=response.deprecation_notice,
        )

    def logout(self) -> None:
        """End the session in use (nothing happens with an API key)."""
        self._transport.call(self.stub.Logout, auth_pb2.LogoutRequest())

    def forgotten_password(self, request: ForgottenPasswordRequest) -> None:
        """Ask for a reset token by email; succeeds whether or not the address is known."""
        self._transport.call(
            self.stub.ForgottenPassword, auth_pb2.ForgottenPasswordRequest(email=request.email)
        )

    def reset_password(self, request: ResetPasswordRequest) -> None:
        """Set a new password with an emailed token (the token works once, for 24 hours)."""
        self._transport.call(
            self.stub.ResetPassword,
            auth_pb2.ResetPasswordRequest(
                email=request.email,
                new_password=request.new_password,
                new_password_repeated=request.new_password_repeated,
                token=str(request.token),
            ),
        )
