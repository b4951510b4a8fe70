"""``manager.auth_client``: accounts, API keys and health, with the Octopize client's names.

Octopize's ``ApiClient`` answers with plain dicts here (``create_api_key(...)["api_key"]
["plaintext"]``), so these facades do too; :mod:`veil_client.api.auth` has the typed results.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from veil_client.api.auth import ApiKey, AuthApi, Identity
from veil_client.api.common import PAGE_SIZE, collect
from veil_client.api.health import HealthApi
from veil_client.client_config import ClientConfig, refuse_conflicts
from veil_client.models import (
    CreateApiKeyRequest,
    ForgottenPasswordRequest,
    LoginResponse,
    ResetPasswordRequest,
)
from veil_client.transport import GrpcTransport, Transport


def as_dict(record: Any) -> dict[str, Any]:
    """A result dataclass as a dict: unset fields left out, times in ISO 8601."""
    out: dict[str, Any] = {}
    for field in dataclasses.fields(record):
        value = getattr(record, field.name)
        if value is None:
            continue
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = as_dict(value)
        elif isinstance(value, dt.datetime):
            value = value.isoformat()
        out[field.name] = value
    return out


def _key_dict(key: ApiKey) -> dict[str, Any]:
    return as_dict(key)


class ApiKeysClient:
    """``manager.auth_client.api_keys``: create, list, get, revoke."""

    def __init__(self, api: AuthApi) -> None:
        self._api = api

    def create_api_key(self, request: CreateApiKeyRequest) -> dict[str, Any]:
        """Create a key; ``result["api_key"]["plaintext"]`` is the key, shown this once."""
        created = self._api.create_api_key(request.name, int(request.expiration_days))
        api_key = _key_dict(created.api_key)
        api_key["plaintext"] = created.plaintext
        return {"api_key": api_key}

    def list_api_keys(self, include_inactive: bool = False) -> list[dict[str, Any]]:
        """Your keys, newest first (never their plaintext)."""
        keys = collect(
            lambda token: self._api.list_api_keys(
                include_inactive=include_inactive, page_size=PAGE_SIZE, page_token=token
            )
        )
        return [_key_dict(k) for k in keys]

    def get_api_key(self, api_key_id: str) -> dict[str, Any]:
        """One of your keys."""
        return _key_dict(self._api.get_api_key(api_key_id))

    def revoke_api_key(self, api_key_id: str) -> dict[str, Any]:
        """Revoke one of your keys at once."""
        return _key_dict(self._api.revoke_api_key(api_key_id))

    def revoke_all_api_keys(self) -> int:
        """Revoke all your keys (including the one in use); returns how many."""
        return self._api.revoke_all_api_keys()


class HealthClient:
    """``manager.auth_client.health``, as in the Octopize client."""

    def __init__(self, api: HealthApi) -> None:
        self._api = api

    def get_health(self) -> dict[str, str]:
        """The server's health: ``{"status": "SERVING"}`` when it is ready."""
        return {"status": self._api.check()}


class AuthClient:
    """``manager.auth_client``."""

    def __init__(self, transport: Transport) -> None:
        self._api = AuthApi(transport)
        self.api_keys = ApiKeysClient(self._api)
        self.health = HealthClient(HealthApi(transport))

    def whoami(self) -> dict[str, Any]:
        """The caller's user and credential kind."""
        identity: Identity = self._api.who_am_i()
        return as_dict(identity)

    def login(self, username: str, password: str) -> LoginResponse:
        """Exchange a username (or email) and password for a session token (deprecated).

        Needs no credentials (any sent are ignored). Raises ``Unauthenticated`` (wrong username
        or password) and ``ResourceExhausted`` (too many failures; ``retry_after`` says how long
        to wait).
        """
        return self._api.login(username, password)

    def logout(self) -> None:
        """End the session in use (nothing happens with an API key)."""
        self._api.logout()

    def forgotten_password(self, request: ForgottenPasswordRequest) -> None:
        """Ask for a reset token by email; succeeds whether or not the address is known."""
        self._api.forgotten_password(request.email)

    def reset_password(self, request: ResetPasswordRequest) -> dict[str, Any]:
        """Set a new password with an emailed token (the token works once, for 24 hours).

        Returns ``{"sessions_ended", "api_keys_revoked", "api_keys_active"}``: API keys stay
        valid unless ``request.revoke_api_keys`` is set.
        """
        return as_dict(
            self._api.reset_password(
                request.email,
                request.new_password,
                request.new_password_repeated,
                str(request.token),
                revoke_api_keys=request.revoke_api_keys,
            )
        )


class ApiClient(AuthClient):
    """A connection to a Veil server, configured once: Octopize's ``ApiClient``.

    ``Manager(api_client=ApiClient(base_url=..., api_key=...))`` uses it (it becomes
    ``manager.auth_client``), so several managers can share one channel and its credential.

    Args:
        base_url: As :class:`ClientConfig`'s; None reads ``VEIL_URL``.
        api_key: An API key; None reads ``VEIL_API_KEY``.
        timeout: Default deadline of unary calls, in seconds.
        should_verify_ssl: Only True (Veil always checks certificates; see
            :class:`ClientConfig`).
        root_certificates: PEM CA bundle for ``grpcs://`` servers with a private CA.
        config: All of the above in one object; not with any of them.

    Raises:
        InvalidArgument: ``config`` with another setting (naming them), or a bad setting
            (naming its field).
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float | None = None,
        should_verify_ssl: bool | None = None,
        root_certificates: bytes | None = None,
        config: ClientConfig | None = None,
    ) -> None:
        if config is not None:
            refuse_conflicts(
                "config",
                "Either pass a ClientConfig object or individual parameters, not both.",
                base_url=base_url,
                api_key=api_key,
                timeout=timeout,
                should_verify_ssl=should_verify_ssl,
                root_certificates=root_certificates,
            )
        else:
            config = ClientConfig(
                base_url=base_url,
                api_key=api_key,
                timeout=timeout,
                should_verify_ssl=True if should_verify_ssl is None else should_verify_ssl,
                root_certificates=root_certificates,
            )
        self.config = config
        self.transport: GrpcTransport = config.open_transport()
        super().__init__(self.transport)

    def is_using_api_key(self) -> bool:
        """Whether calls carry a credential (an API key, or a password session)."""
        return self.transport.has_credential

    def close(self) -> None:
        """Close the channel (and with it every manager using this client)."""
        self.transport.close()
