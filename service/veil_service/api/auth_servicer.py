"""AuthService servicer: decode, call the accounts domain, encode."""

from __future__ import annotations

from typing import Any

from veil.v1 import auth_pb2

from veil_service.accounts import api_keys, users
from veil_service.api import convert
from veil_service.api.paging import next_token, page_bounds
from veil_service.auth.principal import current_peer, current_principal
from veil_service.context import AppContext


class AuthServicer:
    """See auth.proto for what each RPC does and which errors it returns."""

    def __init__(self, app: AppContext) -> None:
        self.app = app

    async def WhoAmI(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        with self.app.db.connect() as conn:
            record = users.find_user(conn, principal.user_id)
        return auth_pb2.WhoAmIResponse(
            user=convert.user(record), credential_kind=principal.credential_kind,
            api_key_id=principal.credential_id if principal.credential_kind == "api_key" else "")

    async def CreateApiKey(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        with self.app.db.begin() as conn:
            record, plaintext = api_keys.create_api_key(
                conn, user_id=principal.user_id, name=request.name,
                expiration_days=request.expiration_days, peer=current_peer())
        return auth_pb2.CreateApiKeyResponse(api_key=convert.api_key(record), plaintext=plaintext)

    async def ListApiKeys(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        limit, offset = page_bounds(request.page_size, request.page_token)
        with self.app.db.connect() as conn:
            records = api_keys.list_api_keys(conn, user_id=principal.user_id,
                                             include_inactive=request.include_inactive,
                                             limit=limit, offset=offset)
        return auth_pb2.ListApiKeysResponse(api_keys=[convert.api_key(r) for r in records],
                                            next_page_token=next_token(offset, limit,
                                                                       len(records)))

    async def GetApiKey(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        with self.app.db.connect() as conn:
            record = api_keys.get_api_key(conn, key_id=request.api_key_id,
                                          user_id=principal.user_id)
        return auth_pb2.GetApiKeyResponse(api_key=convert.api_key(record))

    async def RevokeApiKey(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        with self.app.db.begin() as conn:
            record = api_keys.revoke_api_key(conn, key_id=request.api_key_id,
                                             user_id=principal.user_id,
                                             actor_id=principal.user_id, peer=current_peer())
        return auth_pb2.RevokeApiKeyResponse(api_key=convert.api_key(record))

    async def RevokeAllApiKeys(self, request: Any, context: Any) -> Any:  # noqa: N802
        principal = current_principal()
        with self.app.db.begin() as conn:
            count = api_keys.revoke_all_api_keys(conn, user_id=principal.user_id,
                                                 actor_id=principal.user_id, peer=current_peer())
        return auth_pb2.RevokeAllApiKeysResponse(revoked_count=count)
