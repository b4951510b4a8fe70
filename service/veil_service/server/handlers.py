"""Building gRPC handlers from the contracts' descriptors.

Each service's handler table comes from its descriptor, so every RPC in the .proto is served by
the servicer's method of that name. Servicers subclass the generated ``*ServiceServicer``, whose
abstract methods make mypy refuse a servicer that misses an RPC.
Streaming RPCs that carry Arrow bytes get the zero-copy codec of ``veil_wire.framing``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import message_factory

Codec = tuple[Callable[[bytes], Any] | None, Callable[[Any], bytes] | None]


def service_handler(
    file_descriptor: Any,
    service_name: str,
    servicer: object,
    *,
    codecs: dict[str, Codec] | None = None,
) -> grpc.GenericRpcHandler[Any, Any]:
    """The generic handler of one service.

    Args:
        file_descriptor: ``<x>_pb2.DESCRIPTOR`` of the file defining the service.
        service_name: Short service name, e.g. "RunsService".
        servicer: Object whose methods are named like the RPCs.
        codecs: Per-RPC (request deserializer, response serializer) overrides.
    """
    descriptor = file_descriptor.services_by_name[service_name]
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in descriptor.methods:
        request_cls = message_factory.GetMessageClass(method.input_type)
        response_cls = message_factory.GetMessageClass(method.output_type)
        deserializer, serializer = (codecs or {}).get(method.name, (None, None))
        deserializer = deserializer or request_cls.FromString
        serializer = serializer or response_cls.SerializeToString
        behavior = getattr(servicer, method.name)
        kind = (method.client_streaming, method.server_streaming)
        factory = {
            (False, False): grpc.unary_unary_rpc_method_handler,
            (False, True): grpc.unary_stream_rpc_method_handler,
            (True, False): grpc.stream_unary_rpc_method_handler,
            (True, True): grpc.stream_stream_rpc_method_handler,
        }[kind]
        handlers[method.name] = factory(
            behavior, request_deserializer=deserializer, response_serializer=serializer
        )
    return grpc.method_handlers_generic_handler(descriptor.full_name, handlers)
