"""``Client``: Lomas's constructor on Veil, so a ``lomas_client`` script ports by import and URL.

::

    from veil_client.lomas import Client          # was: from lomas_client import Client
    client = Client(url="grpc://veil:50051", user_name="Dr. Antartica", dataset_name="PENGUIN")
    client.smartnoise_sql.query("SELECT COUNT(*) AS n FROM df", 0.1, 1e-5)

Lomas trusts the ``user-name`` header; Veil authenticates. The credential is an API key, from
``api_key=`` or the ``VEIL_API_KEY`` environment variable (the URL may come from ``VEIL_URL``).
``user_name`` is checked against the key's user, so a script never runs under an identity other
than the one it names. Everything else is :class:`veil_client.dp_client.DPClient`, with Lomas's
methods, exceptions (``veil_client.lomas_errors``) and results. Importing this module enables
OpenDP's ``contrib`` features, as importing ``lomas_client`` does.
"""

from __future__ import annotations

from veil_client.dp_client import DPClient
from veil_client.errors import VeilError
from veil_client.lomas_errors import (
    BudgetExhaustedException,
    DatasetNotFoundException,
    ExternalLibraryException,
    InternalServerException,
    InvalidQueryException,
    UnauthorizedAccessException,
    UserNotFoundException,
    as_lomas,
)
from veil_client.manager import Manager


class Client(DPClient):
    """A DP client for one dataset, built the way ``lomas_client.Client`` is.

    Args:
        url: The server, ``host:port``, ``grpc://host:port`` or ``grpcs://host:port``
            (defaults to ``VEIL_URL``).
        user_name: Your username; must be the API key's user (None: not checked).
        dataset_name: The dataset to query, e.g. ``PENGUIN``.
        api_key: Your API key (defaults to ``VEIL_API_KEY``).
        root_certificates: PEM roots for a ``grpcs://`` server with a private CA.

    Raises:
        UserNotFoundException: The key is missing or invalid, or belongs to another user than
            ``user_name`` (Lomas: "User ... does not exist").
    """

    def __init__(
        self,
        url: str | None = None,
        user_name: str | None = None,
        dataset_name: str = "",
        *,
        api_key: str | None = None,
        root_certificates: bytes | None = None,
    ) -> None:
        self.manager = Manager(url, api_key, root_certificates=root_certificates)
        self.user_name = user_name
        if user_name is not None:
            try:
                actual = self.manager.whoami()["user"]["username"]
            except VeilError as error:
                raise as_lomas(error) from error
            if actual != user_name:
                raise UserNotFoundException(
                    f"User {user_name} does not exist. Please, verify the client object "
                    f"initialisation: the API key given belongs to {actual!r}.",
                    code="UNAUTHENTICATED",
                )
        super().__init__(self.manager.transport, dataset_name)


__all__ = [
    "BudgetExhaustedException",
    "Client",
    "DatasetNotFoundException",
    "ExternalLibraryException",
    "InternalServerException",
    "InvalidQueryException",
    "UnauthorizedAccessException",
    "UserNotFoundException",
]
