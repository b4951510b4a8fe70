"""Veil's Python client, with the names of the Octopize ``avatars`` client.

Porting an Octopize script means changing the import and the URL::

    from veil_client import Manager
    manager = Manager(base_url="localhost:50051", api_key="veil_...")
"""

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
