"""Opening a gRPC channel to a Veil server from an address a person typed.

Both the Python client and ``veil admin --server`` connect this way, so the accepted address
forms, TLS and the message size limits are the same for every caller.
"""

from __future__ import annotations

import json
import os
import socket
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


ROUND_ROBIN = ("grpc.service_config", json.dumps({"loadBalancingConfig": [{"round_robin": {}}]}))


def address_list_target(target: str) -> tuple[str, str]:
    """(gRPC target, TLS name) of an address list ``host1:port1,host2:port2,...``.

    Several servers share one database (docs/scale.md): each name is resolved now and the
    channel gets gRPC's static list form (``ipv4:a:p,b:p``), balanced round robin; a server
    that stops answering is skipped and idempotent calls are retried on the others. The TLS
    name is the first host's (each server's certificate must be valid for it). For a fleet
    that changes, give one DNS name with several records instead (``dns:///veil.internal:50051``,
    or ``dns://RESOLVER:53/veil.internal:50051`` to ask one DNS server): the channel balances
    over every address the name resolves to, round robin too.

    Raises:
        AddressError: an item is not ``host:port`` or its host does not resolve.
    """
    addresses: dict[int, list[str]] = {socket.AF_INET: [], socket.AF_INET6: []}
    first_host = ""
    for item in (part.strip() for part in target.split(",")):
        host, _, port = item.rpartition(":")
        host = host.strip("[]")
        if not host or not port.isdigit():
            raise AddressError(
                f"address list item {item!r} is not host:port; write 'h1:50051,h2:50051'."
            )
        first_host = first_host or host
        try:
            infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
        except OSError as exc:
            raise AddressError(f"address list item {item!r} does not resolve: {exc}") from None
        for family, _, _, _, sockaddr in infos:
            if family in addresses:
                form = (
                    f"[{sockaddr[0]}]:{port}"
                    if family == socket.AF_INET6
                    else f"{sockaddr[0]}:{port}"
                )
                if form not in addresses[family]:
                    addresses[family].append(form)
    if addresses[socket.AF_INET]:
        return "ipv4:" + ",".join(addresses[socket.AF_INET]), first_host
    return "ipv6:" + ",".join(addresses[socket.AF_INET6]), first_host


def open_channel(target: str, *, tls: bool, root_certificates: bytes | None = None) -> grpc.Channel:
    """A channel to ``target`` (one address, or a comma-separated list: see
    :func:`address_list_target`); with TLS, the CA is ``root_certificates``, else
    ``VEIL_CA_CERT`` (a PEM file path), else the system's roots."""
    options = list(CLIENT_CHANNEL_OPTIONS)
    if not target.startswith("unix:"):
        # A DNS name with several records (``dns:///veil.internal:50051`` or a plain
        # ``host:port``) is several servers: balance over all of them, as over an address list.
        # gRPC re-resolves the name when a server goes away, so a changing fleet is followed.
        options.append(ROUND_ROBIN)
    if "," in target:
        target, name = address_list_target(target)
        if tls:
            options.append(("grpc.ssl_target_name_override", name))
            options.append(("grpc.default_authority", name))
    if not tls:
        return grpc.insecure_channel(target, options=options)
    ca = root_certificates
    if ca is None and os.environ.get("VEIL_CA_CERT"):
        with open(os.environ["VEIL_CA_CERT"], "rb") as handle:
            ca = handle.read()
    credentials = grpc.ssl_channel_credentials(root_certificates=ca)
    return grpc.secure_channel(target, credentials, options=options)
