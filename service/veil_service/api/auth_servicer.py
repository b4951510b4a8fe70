"""AuthService servicer: decode, call the accounts domain, encode."""

from __future__ import annotations

import asyncio
import time

from veil.v1 import auth_pb2, auth_pb2_grpc

from veil_service.accounts import api_keys, login, password_reset, users
from veil_service.accounts.throttle import ThrottlePolicy
from veil_service.api import ServicerContext, convert
from veil_service.api.paging import next_token, page_bounds
from veil_service.auth.principal import current_peer, current_principal
from veil_service.context import AppContext
from veil_service.email import messages
from veil_service.storage.db_calls import db_read, db_write

FORGOTTEN_PASSWORD_MIN_SECONDS = 0.4
"""ForgottenPassword never answers sooner, so known and unknown addresses take the same time."""


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    """See auth.proto for what each RPC does and which errors it returns."""

    def __init__(self, app: AppContext) -> None:
        self.app = app

    async def Login(  # noqa: N802
        self, request: auth_pb2.LoginRequest, context: ServicerContext
    ) -> auth_pb2.LoginResponse:
        settings = self.app.settings
        record, token = await asyncio.to_thread(
            login.login,
            self.app.db,
            username=request.username,
            password=request.password,
            peer=current_peer(),
            policy=ThrottlePolicy.from_extra(settings.extra),
            session_hours=settings.session_hours,
        )
        return auth_pb2.LoginResponse(
            session_token=token,
            expires_at=convert.timestamp(record.expires_at),
            deprecation_notice=login.DEPRECATION_NOTICE,
        )

    async def Logout(  # noqa: N802
        self, request: auth_pb2.LogoutRequest, context: ServicerContext
    ) -> auth_pb2.LogoutResponse:
        principal = current_principal()
        await asyncio.to_thread(
            login.logout,
            self.app.db,
            user_id=principal.user_id,
            credential_kind=principal.credential_kind,
            credential_id=principal.credential_id,
            peer=current_peer(),
        )
        return auth_pb2.LogoutResponse()

    async def ForgottenPassword(  # noqa: N802
        self, request: auth_pb2.ForgottenPasswordRequest, context: ServicerContext
    ) -> auth_pb2.ForgottenPasswordResponse:
        began = time.monotonic()
        ticket = await asyncio.to_thread(
            password_reset.request_reset, self.app.db, email=request.email, peer=current_peer()
        )
        if ticket is not None:
            self.app.mailer.send_later(
                messages.password_reset(ticket.user.email, ticket.token, password_reset.VALID_HOURS)
            )
        await asyncio.sleep(max(0.0, FORGOTTEN_PASSWORD_MIN_SECONDS - (time.monotonic() - began)))
        return auth_pb2.ForgottenPasswordResponse()

    async def ResetPassword(  # noqa: N802
        self, request: auth_pb2.ResetPasswordRequest, context: ServicerContext
    ) -> auth_pb2.ResetPasswordResponse:
        outcome = await asyncio.to_thread(
            password_reset.reset_password,
            self.app.db,
            email=request.email,
            new_password=request.new_password,
            new_password_repeated=request.new_password_repeated,
            token=request.token,
            peer=current_peer(),
            policy=ThrottlePolicy.for_resets(self.app.settings.extra),
            revoke_api_keys=request.revoke_api_keys,
        )
        self.app.mailer.send_later(
            messages.password_changed(
                outcome.user.email,
                api_keys_revoked=outcome.api_keys_revoked,
                api_keys_active=outcome.api_keys_active,
            )
        )
        return auth_pb2.ResetPasswordResponse(
            sessions_ended=outcome.sessions_ended,
            api_keys_revoked=outcome.api_keys_revoked,
            api_keys_active=outcome.api_keys_active,
        )

    async def WhoAmI(  # noqa: N802
        self, request: auth_pb2.WhoAmIRequest, context: ServicerContext
    ) -> auth_pb2.WhoAmIResponse:
        principal = current_principal()
        record = await db_read(self.app.db, users.find_user, principal.user_id)
        return auth_pb2.WhoAmIResponse(
            user=convert.user(record),
            credential_kind=principal.credential_kind,
            api_key_id=principal.credential_id if principal.credential_kind == "api_key" else "",
        )

    async def CreateApiKey(  # noqa: N802
        self, request: auth_pb2.CreateApiKeyRequest, context: ServicerContext
    ) -> auth_pb2.CreateApiKeyResponse:
        principal = current_principal()
        record, plaintext = await db_write(
            self.app.db,
            api_keys.create_api_key,
            user_id=principal.user_id,
            name=request.name,
            expiration_days=request.expiration_days,
            peer=current_peer(),
        )
        return auth_pb2.CreateApiKeyResponse(api_key=convert.api_key(record), plaintext=plaintext)

    async def ListApiKeys(  # noqa: N802
        self, request: auth_pb2.ListApiKeysRequest, context: ServicerContext
    ) -> auth_pb2.ListApiKeysResponse:
        principal = current_principal()
        limit, offset = page_bounds(request.page_size, request.page_token)
        records = await db_read(
            self.app.db,
            api_keys.list_api_keys,
            user_id=principal.user_id,
            include_inactive=request.include_inactive,
            limit=limit,
            offset=offset,
        )
        return auth_pb2.ListApiKeysResponse(
            api_keys=[convert.api_key(r) for r in records],
            next_page_token=next_token(offset, limit, len(records)),
        )

    async def GetApiKey(  # noqa: N802
        self, request: auth_pb2.GetApiKeyRequest, context: ServicerContext
    ) -> auth_pb2.GetApiKeyResponse:
        principal = current_principal()
        record = await db_read(
            self.app.db, api_keys.get_api_key, key_id=request.api_key_id, user_id=principal.user_id
        )
        return auth_pb2.GetApiKeyResponse(api_key=convert.api_key(record))

    async def RevokeApiKey(  # noqa: N802
        self, request: auth_pb2.RevokeApiKeyRequest, context: ServicerContext
    ) -> auth_pb2.RevokeApiKeyResponse:
        principal = current_principal()
        record = await db_write(
            self.app.db,
            api_keys.revoke_api_key,
            key_id=request.api_key_id,
            user_id=principal.user_id,
            actor_id=principal.user_id,
            peer=current_peer(),
        )
        return auth_pb2.RevokeApiKeyResponse(api_key=convert.api_key(record))

    async def RevokeAllApiKeys(  # noqa: N802
        self, request: auth_pb2.RevokeAllApiKeysRequest, context: ServicerContext
    ) -> auth_pb2.RevokeAllApiKeysResponse:
        principal = current_principal()
        count = await db_write(
            self.app.db,
            api_keys.revoke_all_api_keys,
            user_id=principal.user_id,
            actor_id=principal.user_id,
            peer=current_peer(),
        )
        return auth_pb2.RevokeAllApiKeysResponse(revoked_count=count)
