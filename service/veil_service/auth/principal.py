"""Who is calling: the principal attached to each authenticated RPC."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

from veil_service.errors import UnauthenticatedError


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    Attributes:
        user_id: The user's id.
        username: The user's login name.
        role: "admin" or "user".
        credential_kind: "api_key" or "session".
        credential_id: Id of the API key or session used.
    """

    user_id: str
    username: str
    role: str
    credential_kind: str
    credential_id: str

    @property
    def is_admin(self) -> bool:
        """Whether the caller has the admin role."""
        return self.role == "admin"


_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "veil_principal", default=None
)
_peer: contextvars.ContextVar[str] = contextvars.ContextVar("veil_peer", default="")


def set_current(principal: Principal | None, peer: str) -> None:
    """Bind the caller to the running RPC (done by the interceptor only)."""
    _current.set(principal)
    _peer.set(peer)


def current_principal() -> Principal:
    """The caller of the running RPC.

    Raises:
        UnauthenticatedError: the RPC is public and nobody is authenticated.
    """
    principal = _current.get()
    if principal is None:
        raise UnauthenticatedError("this call needs credentials: send an API key.")
    return principal


def current_peer() -> str:
    """The peer address of the running RPC."""
    return _peer.get()
