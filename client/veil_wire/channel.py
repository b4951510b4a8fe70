"""Opening a gRPC channel to a Veil server from an address a person typed.

Both the Python client and ``veil admin --server`` connect this way, so the accepted address
forms, TLS and the message size limits are the same for every caller.
"""

from __future__ import annotations

import os
from typing import Any

import grpc

from veil_wire.framing import CHANNEL_OPTIONS

CLIENT_CHANNEL_OPTIONS: list[tuple[str, Any]] = [
    *CHANNEL_OPTIONS,
    # gRPC waits 1 s, then up to 120 s, before reconnecting to a server it lost; a retried call
    # would only meet the same closed door. Reconnect quickly instead, at most every 5 s.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 5000),
]


class AddressError(ValueError):
    """The address is not one a gRPC channel can use; the message says which form to use."""


def parse_base_url(base_url: str) -> tuple[str, bool]:
    """(target, use_tls) of ``localhost:PORT``, ``grpc://host:port`` or ``grpcs://host:port``.

    Raises:
        AddressError: an empty address or an http(s) URL.
    """
    url = (base_url or "").strip().rstrip("/")
    if not url:
        raise AddressError("base_url is empty: pass base_url='localhost:PORT' or set VEIL_URL.")
    if url.startswith("grpcs://"):
        return url.removeprefix("grpcs://"), True
    if url.startswith("grpc://"):
        return url.removeprefix("grpc://"), False
    if url.startswith(("http://", "https://")):
        raise AddressError(
            f"base_url {url!r} is an HTTP URL; Veil speaks gRPC: use 'grpc://host:port' or "
            "'grpcs://host:port'."
        )
    return url, False


def open_channel(target: str, *, tls: bool, root_certificates: bytes | None = None) -> grpc.Channel:
    """A channel to ``target``; with TLS, the CA is ``root_certificates``, else ``VEIL_CA_CERT``
    (a PEM file path), else the system's roots."""
    if not tls:
        return grpc.insecure_channel(target, options=CLIENT_CHANNEL_OPTIONS)
    ca = root_certificates
    if ca is None and os.environ.get("VEIL_CA_CERT"):
        with open(os.environ["VEIL_CA_CERT"], "rb") as handle:
            ca = handle.read()
    credentials = grpc.ssl_channel_credentials(root_certificates=ca)
    return grpc.secure_channel(target, credentials, options=CLIENT_CHANNEL_OPTIONS)
