"""Veil's Python client, with the names of the Octopize ``avatars`` client.

Porting an Octopize script means changing the import and the URL::

    from veil_client import Manager
    manager = Manager(base_url="localhost:50051", api_key="veil_...")

Layers, top down: the facades (:class:`Manager`, :class:`Runner`, ``manager.dp(...)``) with the
Octopize and Lomas names; :mod:`veil_client.api`, one module per service and one typed method per
RPC; :mod:`veil_client.transport`, where every call gets its credential, deadline, retries and
error mapping. :mod:`veil_client.testing` offers a transport without a server for unit tests.
"""

from veil_client.auth_client import ApiClient
from veil_client.client_config import ClientConfig
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
from veil_client.pseudonymization import (
    ConstantStrategy,
    FakeDataStrategy,
    HashSha256Strategy,
    IntegerStrategy,
    PiiType,
    SpecificIdStrategy,
    Uuid4Strategy,
)
from veil_client.runner import Runner

__all__ = [
    "AlreadyExists",
    "ApiClient",
    "Cancelled",
    "ClientConfig",
    "ConstantStrategy",
    "FailedPrecondition",
    "FakeDataStrategy",
    "HashSha256Strategy",
    "IntegerStrategy",
    "InvalidArgument",
    "Manager",
    "NotFound",
    "PermissionDenied",
    "PiiType",
    "ResourceExhausted",
    "Runner",
    "ServerError",
    "SpecificIdStrategy",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Uuid4Strategy",
    "VeilError",
]
