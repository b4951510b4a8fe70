"""Veil's Python client, with the names of the Octopize ``avatars`` client.

Porting an Octopize script means changing the import and the URL::

    from veil_client import Manager
    manager = Manager(base_url="localhost:50051", api_key="veil_...")
"""

from typing import TYPE_CHECKING, Any

from veil_client.errors import (
    AlreadyExists,
    Cancelled,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    ServerError,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    VeilError,
)

if TYPE_CHECKING:
    from veil_client.manager import Manager

__all__ = [
    "AlreadyExists",
    "Cancelled",
    "FailedPrecondition",
    "InvalidArgument",
    "Manager",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "ServerError",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "VeilError",
]


def __getattr__(name: str) -> Any:
    # Manager pulls in pandas; the server imports veil_client.wire and must not pay for it.
    if name == "Manager":
        from veil_client.manager import Manager

        return Manager
    raise AttributeError(f"module 'veil_client' has no attribute {name!r}")
