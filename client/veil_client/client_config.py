"""``ClientConfig``: every connection setting in one object, as Octopize's ``ClientConfig``.

``Manager(config=ClientConfig(base_url=..., api_key=...))`` and
``ApiClient(config=ClientConfig(...))`` take it; a setting it leaves unset comes from the
environment (``VEIL_URL``, ``VEIL_API_KEY``), as Octopize's priority goes: constructor arguments,
then the ``ClientConfig``, then the environment.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from veil_client.errors import InvalidArgument
from veil_client.transport import DEFAULT_TIMEOUT_S, GrpcTransport


@dataclasses.dataclass(frozen=True)
class ClientConfig:
    """How to reach a Veil server.

    Args:
        base_url: ``localhost:PORT``, ``grpc://host:port`` or ``grpcs://host:port``; None reads
            ``VEIL_URL``.
        api_key: An API key; None reads ``VEIL_API_KEY``.
        timeout: Default deadline of unary calls, in seconds; None is
            ``transport.DEFAULT_TIMEOUT_S``.
        should_verify_ssl: Octopize's switch to turn certificate checks off. Veil always checks
            them, so only True is accepted: give a private CA's certificate in
            ``root_certificates`` instead.
        root_certificates: PEM CA bundle for ``grpcs://`` servers with a private CA.
        base_api_url: Octopize's name for the address (``.../api`` there); accepted for
            ``base_url``, not with it.

    Raises:
        InvalidArgument: ``should_verify_ssl=False``, both ``base_url`` and ``base_api_url``,
            or a timeout that is not positive (naming the field).
    """

    base_url: str | None = None
    api_key: str | None = None
    timeout: float | None = None
    should_verify_ssl: bool = True
    root_certificates: bytes | None = None
    base_api_url: str | None = None

    def __post_init__(self) -> None:
        if not self.should_verify_ssl:
            raise InvalidArgument(
                "should_verify_ssl=False: Veil does not turn certificate checks off; for a "
                "server with a private CA pass its certificate as root_certificates=<PEM "
                "bytes>.",
                field="should_verify_ssl",
            )
        if self.base_url is not None and self.base_api_url is not None:
            raise InvalidArgument(
                "give the server's address once: base_url or base_api_url (Octopize's name "
                "for it), not both.",
                field="base_api_url",
            )
        if self.timeout is not None and not self.timeout > 0:
            raise InvalidArgument(
                f"timeout must be a positive number of seconds; got {self.timeout!r}.",
                field="timeout",
            )

    @property
    def url(self) -> str:
        """The address to connect to: ``base_url``, ``base_api_url``, else ``VEIL_URL``."""
        return self.base_url or self.base_api_url or os.environ.get("VEIL_URL", "")

    @property
    def key(self) -> str | None:
        """The API key: ``api_key``, else ``VEIL_API_KEY`` (None when neither is set)."""
        if self.api_key is not None:
            return self.api_key
        return os.environ.get("VEIL_API_KEY") or None

    @property
    def deadline(self) -> float:
        """The default deadline of unary calls, in seconds."""
        return DEFAULT_TIMEOUT_S if self.timeout is None else float(self.timeout)

    def open_transport(self) -> GrpcTransport:
        """A channel to the server these settings name (no call is made yet).

        Raises:
            InvalidArgument: the address is empty or an HTTP URL (field ``base_url``).
        """
        return GrpcTransport(
            self.url,
            api_key=self.key,
            timeout=self.deadline,
            root_certificates=self.root_certificates,
        )


def refuse_conflicts(owner: str, owner_hint: str, **given: Any) -> None:
    """Refuse arguments given beside one that already says everything they would say.

    Octopize's Manager refuses ``api_client`` with any other setting and ``config`` with
    ``base_url`` or ``api_key`` (a ValueError listing them): two sources for one setting
    would leave the reader guessing which one won.

    Args:
        owner: The argument that excludes the others (``api_client``, ``config``).
        owner_hint: What to do instead, ending the message.
        given: The other arguments, None when not given.

    Raises:
        InvalidArgument: some of ``given`` are set (a ValueError naming ``owner`` as field).
    """
    conflicting = [name for name, value in given.items() if value is not None]
    if conflicting:
        raise InvalidArgument(
            f"Cannot provide both {owner!r} and other parameters ({', '.join(conflicting)}). "
            f"{owner_hint}",
            field=owner,
        )
