"""AdminService RPCs about DP datasets and grants."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from veil.v1 import admin_pb2

from veil_service.api import ServicerContext
from veil_service.api import dpquery_convert as convert
from veil_service.auth.principal import current_peer, current_principal
from veil_service.context import AppContext
from veil_service.dpquery import datasets, grants, lomas_import, query_switch, registration
from veil_service.errors import InvalidArgumentError, Reason
from veil_service.storage.db_calls import db_call, db_read, db_write


class AdminDatasetsServicer:
    """RegisterDataset, RegisterDatasetFromPath, RegisterDatasetFromUrl, ListAllDatasets,
    UpdateDatasetMetadata, DeleteDataset, GrantAccess, ListGrants, RevokeAccess, SetMayQuery,
    ImportLomasUsers (see admin.proto)."""

    app: AppContext

    async def RegisterDataset(  # noqa: N802
        self,
        request_iterator: AsyncIterator[admin_pb2.RegisterDatasetRequest | memoryview],
        context: ServicerContext,
    ) -> admin_pb2.RegisterDatasetResponse:
        principal = current_principal()
        iterator = request_iterator.__aiter__()
        first = await anext(iterator, None)
        if first is None or isinstance(first, memoryview) or not first.HasField("header"):
            raise InvalidArgumentError(
                "the first message of RegisterDataset must be a header (name, metadata_yaml).",
                field="header",
                reason=Reason.MISSING_HEADER,
            )
        record = await registration.register_from_upload(
            self.app.db,
            self.app.blobs,
            name=first.header.name,
            metadata_text=first.header.metadata_yaml,
            chunks=iterator,
            actor_id=principal.user_id,
            peer=current_peer(),
        )
        return admin_pb2.RegisterDatasetResponse(dataset=convert.dataset(record))

    async def RegisterDatasetFromPath(  # noqa: N802
        self, request: admin_pb2.RegisterDatasetFromPathRequest, context: ServicerContext
    ) -> admin_pb2.RegisterDatasetFromPathResponse:
        principal = current_principal()
        path = registration.confine_path(request.path, self.app.settings.dataset_roots)
        record = await asyncio.to_thread(
            registration.register_from_path,
            self.app.db,
            self.app.blobs,
            name=request.name,
            path=str(path),
            metadata_text=request.metadata_yaml,
            actor_id=principal.user_id,
            peer=current_peer(),
        )
        return admin_pb2.RegisterDatasetFromPathResponse(dataset=convert.dataset(record))

    async def RegisterDatasetFromUrl(  # noqa: N802
        self, request: admin_pb2.RegisterDatasetFromUrlRequest, context: ServicerContext
    ) -> admin_pb2.RegisterDatasetFromUrlResponse:
        principal = current_principal()
        settings = self.app.settings
        record, downloaded = await asyncio.to_thread(
            registration.register_from_url,
            self.app.db,
            self.app.blobs,
            name=request.name,
            url=request.url,
            metadata_text=request.metadata_yaml,
            prefixes=settings.dataset_url_prefixes,
            limit_bytes=settings.dataset_url_max_bytes,
            max_bytes=request.max_bytes,
            sha256=request.sha256,
            fmt=request.format,
            actor_id=principal.user_id,
            peer=current_peer(),
        )
        return admin_pb2.RegisterDatasetFromUrlResponse(
            dataset=convert.dataset(record),
            source_sha256=downloaded.sha256,
            source_bytes=downloaded.size_bytes,
        )

    async def ListAllDatasets(  # noqa: N802
        self, request: admin_pb2.ListAllDatasetsRequest, context: ServicerContext
    ) -> admin_pb2.ListAllDatasetsResponse:
        records = await db_read(self.app.db, datasets.list_datasets)
        return admin_pb2.ListAllDatasetsResponse(datasets=[convert.dataset(r) for r in records])

    async def UpdateDatasetMetadata(  # noqa: N802
        self, request: admin_pb2.UpdateDatasetMetadataRequest, context: ServicerContext
    ) -> admin_pb2.UpdateDatasetMetadataResponse:
        record = await db_call(
            registration.update_metadata,
            self.app.db,
            name=request.name,
            metadata_text=request.metadata_yaml,
            actor_id=current_principal().user_id,
            peer=current_peer(),
        )
        return admin_pb2.UpdateDatasetMetadataResponse(dataset=convert.dataset(record))

    async def DeleteDataset(  # noqa: N802
        self, request: admin_pb2.DeleteDatasetRequest, context: ServicerContext
    ) -> admin_pb2.DeleteDatasetResponse:
        principal = current_principal()
        await db_call(_delete_dataset, self.app, request.name, principal.user_id, current_peer())
        return admin_pb2.DeleteDatasetResponse()

    async def GrantAccess(  # noqa: N802
        self, request: admin_pb2.GrantAccessRequest, context: ServicerContext
    ) -> admin_pb2.GrantAccessResponse:
        principal = current_principal()
        value = await db_write(
            self.app.db,
            grants.grant_access,
            user=request.user,
            dataset=request.dataset,
            epsilon=request.initial.epsilon,
            delta=request.initial.delta,
            allow_unregistered=request.allow_unregistered,
            actor_id=principal.user_id,
            peer=current_peer(),
        )
        return admin_pb2.GrantAccessResponse(grant=convert.grant(value))

    async def ListGrants(  # noqa: N802
        self, request: admin_pb2.ListGrantsRequest, context: ServicerContext
    ) -> admin_pb2.ListGrantsResponse:
        values = await db_read(
            self.app.db, grants.list_grants, user=request.user, dataset=request.dataset
        )
        return admin_pb2.ListGrantsResponse(grants=[convert.grant(g) for g in values])

    async def RevokeAccess(  # noqa: N802
        self, request: admin_pb2.RevokeAccessRequest, context: ServicerContext
    ) -> admin_pb2.RevokeAccessResponse:
        principal = current_principal()
        value = await db_write(
            self.app.db,
            grants.revoke_access,
            user=request.user,
            dataset=request.dataset,
            actor_id=principal.user_id,
            peer=current_peer(),
        )
        return admin_pb2.RevokeAccessResponse(grant=convert.grant(value))

    async def SetMayQuery(  # noqa: N802
        self, request: admin_pb2.SetMayQueryRequest, context: ServicerContext
    ) -> admin_pb2.SetMayQueryResponse:
        username, value = await db_write(
            self.app.db,
            query_switch.set_may_query,
            user=request.user,
            value=request.may_query,
            actor_id=current_principal().user_id,
            peer=current_peer(),
        )
        return admin_pb2.SetMayQueryResponse(username=username, may_query=value)

    async def ImportLomasUsers(  # noqa: N802
        self, request: admin_pb2.ImportLomasUsersRequest, context: ServicerContext
    ) -> admin_pb2.ImportLomasUsersResponse:
        result = await db_write(
            self.app.db,
            lomas_import.import_users,
            request.users_yaml,
            email_domain=request.email_domain,
            actor_id=current_principal().user_id,
            peer=current_peer(),
        )
        return admin_pb2.ImportLomasUsersResponse(
            created_users=list(result.created_users),
            grants=[convert.grant(g) for g in result.grants],
        )


def _delete_dataset(app: AppContext, name: str, actor_id: str, peer: str) -> None:
    with app.blobs.releasing() as released, app.db.begin() as conn:
        datasets.delete_dataset(conn, released, name, actor_id=actor_id, peer=peer)
