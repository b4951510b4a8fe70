"""The connection to a Veil server: address parsing, credentials, deadlines, error mapping.

Every RPC the client makes goes through :meth:`Transport.call` (unary) or the streaming helpers,
so deadlines and the translation of gRPC errors into :mod:`veil_client.errors` live in one place.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc

from veil_client.errors import InvalidArgument, from_rpc_error
from veil_client.malloc_tuning import tune_malloc
from veil_client.wire import CHANNEL_OPTIONS

DEFAULT_TIMEOUT_S = 60.0


def parse_base_url(base_url: str) -> tuple[str, bool]:
    """(target, use_tls) of ``localhost:PORT``, ``grpc://host:port`` or ``grpcs://host:port``.

    Raises:
        InvalidArgument: an http(s) URL or an empty one.
    """
    url = (base_url or "").strip().rstrip("/")
    if not url:
        raise InvalidArgument(
            "base_url is empty: pass base_url='localhost:PORT' or set VEIL_URL.", field="base_url"
        )
    if url.startswith("grpcs://"):
        return url.removeprefix("grpcs://"), True
    if url.startswith("grpc://"):
        return url.removeprefix("grpc://"), False
    if url.startswith(("http://", "https://")):
        raise InvalidArgument(
            f"base_url {url!r} is an HTTP URL; Veil speaks gRPC: use 'grpc://host:port' or "
            "'grpcs://host:port'.",
            field="base_url",
        )
    return url, False


class Transport:
    """A gRPC channel plus the caller's credentials."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        root_certificates: bytes | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        target, tls = parse_base_url(base_url)
        tune_malloc()  # streamed tables: see veil_client.malloc_tuning (VEIL_MALLOC_TUNING=off)
        self.target = target
        self.timeout = timeout
        self._credential = api_key
        if tls:
            ca = root_certificates
            if ca is None and os.environ.get("VEIL_CA_CERT"):
                with open(os.environ["VEIL_CA_CERT"], "rb") as handle:
                    ca = handle.read()
            self.channel = grpc.secure_channel(
                target, grpc.ssl_channel_credentials(root_certificates=ca), options=CHANNEL_OPTIONS
            )
        else:
            self.channel = grpc.insecure_channel(target, options=CHANNEL_OPTIONS)

    def set_credential(self, credential: str | None) -> None:
        """Use an API key or session token for the following calls."""
        self._credential = credential

    @property
    def has_credential(self) -> bool:
        """Whether a credential is set."""
        return bool(self._credential)

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Call metadata carrying the credential."""
        if not self._credential:
            return ()
        return (("authorization", f"Bearer {self._credential}"),)

    def call(self, method: Any, request: Any, *, timeout: float | None = None) -> Any:
        """Invoke a unary RPC with credentials and a deadline, mapping errors."""
        with translate_errors():
            return method(request, metadata=self.metadata(), timeout=timeout or self.timeout)

    def close(self) -> None:
        """Close the channel."""
        self.channel.close()


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn any grpc.RpcError raised inside into the matching VeilError."""
    try:
        yield
    except grpc.RpcError as error:
        raise from_rpc_error(error) from None
