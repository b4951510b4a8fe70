"""Who may reach an operation: the one check both edges (gRPC interceptor, web app) run.

An operation is named by its RPC (``/veil.v1.RunsService/ListRuns``). The gRPC interceptor passes
the called method; every page and form of the web application names the RPC it stands for, so
both edges read the same rule in ``auth.rules`` and authenticate the same way. There is no
second table of who may do what.
"""

from __future__ import annotations

import sqlalchemy as sa

from veil_service.auth.authenticate import authenticate
from veil_service.auth.principal import Principal
from veil_service.auth.rules import Access, rule_for
from veil_service.errors import PermissionDeniedError, Reason, UnauthenticatedError


def authorize(engine: sa.Engine, method: str, credential: str | None) -> Principal | None:
    """Authenticate a credential and apply the access rule of ``method``.

    Returns:
        The caller; None only for a public operation called without valid credentials.

    Raises:
        PermissionDeniedError: the operation has no rule (reason ``NO_RULE``), or needs the
            admin role (reason ``ADMIN_REQUIRED``).
        UnauthenticatedError: missing, malformed, unknown, expired or revoked credentials for
            an operation that needs them.
    """
    rule = rule_for(method)
    if rule is None:
        raise PermissionDeniedError(
            f"{method} has no authorization rule; refused.", reason=Reason.NO_RULE
        )
    if rule is Access.PUBLIC:
        if not credential:
            return None
        try:
            return authenticate(engine, credential)
        except UnauthenticatedError:
            return None
    principal = authenticate(engine, credential)
    if rule is Access.ADMIN and not principal.is_admin:
        raise PermissionDeniedError("this call needs the admin role.", reason=Reason.ADMIN_REQUIRED)
    return principal
