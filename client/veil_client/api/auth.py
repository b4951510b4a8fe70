"""AuthService, one typed method per RPC."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from veil.v1 import auth_pb2

from veil_client.api.common import Page, timestamp
from veil_client.models import LoginResponse
from veil_client.transport import Transport, unary

_S = "veil.v1.AuthService"

LOGIN = unary(_S, "Login", auth_pb2.LoginRequest, auth_pb2.LoginResponse)
LOGOUT = unary(_S, "Logout", auth_pb2.LogoutRequest, auth_pb2.LogoutResponse, idempotent=True)
FORGOTTEN_PASSWORD = unary(
    _S, "ForgottenPassword", auth_pb2.ForgottenPasswordRequest, auth_pb2.ForgottenPasswordResponse
)
RESET_PASSWORD = unary(
    _S, "ResetPassword", auth_pb2.ResetPasswordRequest, auth_pb2.ResetPasswordResponse
)
CREATE_API_KEY = unary(
    _S, "CreateApiKey", auth_pb2.CreateApiKeyRequest, auth_pb2.CreateApiKeyResponse
)
LIST_API_KEYS = unary(
    _S, "ListApiKeys", auth_pb2.ListApiKeysRequest, auth_pb2.ListApiKeysResponse, idempotent=True
)
GET_API_KEY = unary(
    _S, "GetApiKey", auth_pb2.GetApiKeyRequest, auth_pb2.GetApiKeyResponse, idempotent=True
)
REVOKE_API_KEY = unary(
    _S, "RevokeApiKey", auth_pb2.RevokeApiKeyRequest, auth_pb2.RevokeApiKeyResponse
)
REVOKE_ALL_API_KEYS = unary(
    _S, "RevokeAllApiKeys", auth_pb2.RevokeAllApiKeysRequest, auth_pb2.RevokeAllApiKeysResponse
)
WHO_AM_I = unary(_S, "WhoAmI", auth_pb2.WhoAmIRequest, auth_pb2.WhoAmIResponse, idempotent=True)

ROLE_NAMES = {auth_pb2.USER_ROLE_USER: "user", auth_pb2.USER_ROLE_ADMIN: "admin"}
ROLES: dict[str, auth_pb2.UserRole.ValueType] = {name: value for value, name in ROLE_NAMES.items()}


@dataclass(frozen=True)
class User:
    """A user account (``role`` is ``user`` or ``admin``)."""

    id: str
    username: str
    email: str
    role: str
    active: bool
    created_at: dt.datetime | None

    @staticmethod
    def from_proto(message: auth_pb2.User) -> User:
        """From the User message."""
        return User(
            id=message.id,
            username=message.username,
            email=message.email,
            role=ROLE_NAMES.get(message.role, ""),
            active=message.active,
            created_at=timestamp(message.created_at, message.HasField("created_at")),
        )


@dataclass(frozen=True)
class ApiKey:
    """An API key's record (never its secret): ``prefix`` is how to recognize it."""

    id: str
    user_id: str
    name: str
    prefix: str
    created_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None

    @staticmethod
    def from_proto(message: auth_pb2.ApiKey) -> ApiKey:
        """From the ApiKey message."""
        return ApiKey(
            id=message.id,
            user_id=message.user_id,
            name=message.name,
            prefix=message.prefix,
            created_at=timestamp(message.created_at, message.HasField("created_at")),
            expires_at=timestamp(message.expires_at, message.HasField("expires_at")),
            revoked_at=timestamp(message.revoked_at, message.HasField("revoked_at")),
            last_used_at=timestamp(message.last_used_at, message.HasField("last_used_at")),
        )


@dataclass(frozen=True)
class CreatedApiKey:
    """A new key: its record and its plaintext, which the server shows this once."""

    api_key: ApiKey
    plaintext: str

    def __repr__(self) -> str:
        # The plaintext is a credential: keep it out of reprs, logs and tracebacks.
        return f"CreatedApiKey(api_key={self.api_key!r}, plaintext='***')"


@dataclass(frozen=True)
class Identity:
    """Who a credential belongs to: the user, ``credential_kind`` (``api_key`` or ``session``)
    and the key's id when it is one."""

    user: User
    credential_kind: str
    api_key_id: str


@dataclass(frozen=True)
class PasswordReset:
    """What a password reset did: sessions ended, API keys revoked, API keys still valid.

    Keys survive a reset unless ``revoke_api_keys`` was asked: when the password may have been
    stolen, ``api_keys_active`` above zero means keys you may not have made still work.
    """

    sessions_ended: int
    api_keys_revoked: int
    api_keys_active: int


class AuthApi:
    """AuthService: every RPC, with typed arguments and dataclass results."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def login(self, username: str, password: str) -> LoginResponse:
        """Exchange a username (or email) and password for a session token (deprecated).

        Raises:
            Unauthenticated: wrong username or password.
            ResourceExhausted: too many failures; ``retry_after`` says how long to wait.
        """
        response = self.transport.call(
            LOGIN, auth_pb2.LoginRequest(username=username, password=password)
        )
        return LoginResponse(
            session_token=response.session_token,
            expires_at=response.expires_at.ToDatetime(tzinfo=dt.UTC),
            deprecation_notice=response.deprecation_notice,
        )

    def logout(self) -> None:
        """End the session in use (nothing happens with an API key)."""
        self.transport.call(LOGOUT, auth_pb2.LogoutRequest())

    def forgotten_password(self, email: str) -> None:
        """Ask for a reset token by email; succeeds whether or not the address is known."""
        self.transport.call(FORGOTTEN_PASSWORD, auth_pb2.ForgottenPasswordRequest(email=email))

    def reset_password(
        self,
        email: str,
        new_password: str,
        new_password_repeated: str,
        token: str,
        *,
        revoke_api_keys: bool = False,
    ) -> PasswordReset:
        """Set a new password with an emailed token (it works once, for 24 hours); with
        ``revoke_api_keys``, revoke every API key of the account too."""
        response = self.transport.call(
            RESET_PASSWORD,
            auth_pb2.ResetPasswordRequest(
                email=email,
                new_password=new_password,
                new_password_repeated=new_password_repeated,
                token=token,
                revoke_api_keys=revoke_api_keys,
            ),
        )
        return PasswordReset(
            sessions_ended=response.sessions_ended,
            api_keys_revoked=response.api_keys_revoked,
            api_keys_active=response.api_keys_active,
        )

    def create_api_key(self, name: str, expiration_days: int) -> CreatedApiKey:
        """Create a key valid ``expiration_days`` days (30, 60, 120, 365 or 3650)."""
        response = self.transport.call(
            CREATE_API_KEY,
            auth_pb2.CreateApiKeyRequest(name=name, expiration_days=int(expiration_days)),
        )
        return CreatedApiKey(ApiKey.from_proto(response.api_key), response.plaintext)

    def list_api_keys(
        self, *, include_inactive: bool = False, page_size: int = 0, page_token: str = ""
    ) -> Page[ApiKey]:
        """The caller's keys, newest first (revoked and expired ones on request)."""
        response = self.transport.call(
            LIST_API_KEYS,
            auth_pb2.ListApiKeysRequest(
                page_size=page_size, page_token=page_token, include_inactive=include_inactive
            ),
        )
        return Page([ApiKey.from_proto(k) for k in response.api_keys], response.next_page_token)

    def get_api_key(self, api_key_id: str) -> ApiKey:
        """One of the caller's keys."""
        response = self.transport.call(
            GET_API_KEY, auth_pb2.GetApiKeyRequest(api_key_id=api_key_id)
        )
        return ApiKey.from_proto(response.api_key)

    def revoke_api_key(self, api_key_id: str) -> ApiKey:
        """Revoke one of the caller's keys at once."""
        response = self.transport.call(
            REVOKE_API_KEY, auth_pb2.RevokeApiKeyRequest(api_key_id=api_key_id)
        )
        return ApiKey.from_proto(response.api_key)

    def revoke_all_api_keys(self) -> int:
        """Revoke all the caller's keys (the one in use included); returns how many."""
        response = self.transport.call(REVOKE_ALL_API_KEYS, auth_pb2.RevokeAllApiKeysRequest())
        return int(response.revoked_count)

    def who_am_i(self) -> Identity:
        """Who the server takes the caller for."""
        response = self.transport.call(WHO_AM_I, auth_pb2.WhoAmIRequest())
        return Identity(
            User.from_proto(response.user), response.credential_kind, response.api_key_id
        )
