"""A caller's access, checked again while a stream is open.

A stream (gRPC WatchJobs, DownloadTable, ...; the web's live job events and downloads) may
outlive its credential: a key revoked, a session ended by a password reset or a logout, a user
disabled. Both edges wrap their streams in :meth:`Authorization.rechecked`, which runs
``auth.authorize`` again before an item when the last check is older than ``RECHECK_SECONDS``,
so revocation reaches every open stream within a second, for one indexed lookup per second of
stream at most. One implementation for both edges, so they cannot drift apart.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TypeVar

import sqlalchemy as sa

from veil_service.auth.authorize import authorize
from veil_service.auth.principal import Principal
from veil_service.storage.db_calls import db_call

T = TypeVar("T")

RECHECK_SECONDS = 1.0
"""A stream checks its caller's credential again before an item when the last check is older
than this (seconds)."""


class Authorization:
    """One caller's credential and the operation it was admitted to, checkable again.

    Args:
        engine: The accounts database.
        method: The RPC whose rule applies (``/veil.v1.RunsService/WatchJobs``); a web page
            names the RPC it stands for.
        credential: The API key or session token the caller sent (None: none).
    """

    def __init__(self, engine: sa.Engine, method: str, credential: str | None) -> None:
        self.engine = engine
        self.method = method
        self.credential = credential
        self.principal: Principal | None = None
        self.checked = 0.0

    async def check(self) -> Principal | None:
        """Authenticate and authorize now, on the database threads (a locked database delays
        this caller only).

        Returns:
            The caller (None only for a public operation without valid credentials).

        Raises:
            UnauthenticatedError: the credential is missing, revoked, expired, or its user
                disabled.
            PermissionDeniedError: the caller does not (or no longer) hold the role needed.
        """
        self.principal = await db_call(authorize, self.engine, self.method, self.credential)
        self.checked = time.monotonic()
        return self.principal

    async def rechecked(self, items: AsyncIterator[T]) -> AsyncGenerator[T, None]:
        """``items``, with the access checked again before an item once ``RECHECK_SECONDS``
        have passed since the last check.

        ``items`` is closed however this generator ends (an async generator left unclosed would
        keep its database reads and subscriptions until garbage collection).

        Raises:
            UnauthenticatedError, PermissionDeniedError: as :meth:`check`, in place of the
                next item.
        """
        async with contextlib.AsyncExitStack() as stack:
            if isinstance(items, AsyncGenerator):
                await stack.enter_async_context(contextlib.aclosing(items))
            async for item in items:
                if time.monotonic() - self.checked >= RECHECK_SECONDS:
                    await self.check()
                yield item
