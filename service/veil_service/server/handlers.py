"""Building gRPC handlers from the contracts' descriptors.

Each service's handler table comes from its descriptor, so every RPC in the .proto is served:
the servicer's method when it has one, else an UNIMPLEMENTED error naming the missing feature.
Streaming RPCs that carry Arrow bytes get the zero-copy codec of ``veil_wire.framing``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from google.protobuf import message_factory

from veil_service.errors import UnimplementedError

Codec = tuple[Callable[[bytes], Any] | None, Callable[[Any], bytes] | None]


def _unimplemented(service: str, method: str, streaming: bool, feature: str) -> Any:
    message = f"{service}.{method} is not available yet: {feature} is not built in this version."

    if streaming:

        async def stream_behavior(request: Any, context: Any) -> AsyncIterator[Any]:
            raise UnimplementedError(message)
            yield  # pragma: no cover

        return stream_behavior

    async def behavior(request: Any, context: Any) -> Any:
        raise UnimplementedError(message)

    return behavior


def service_handler(
    file_descriptor: Any,
    service_name: str,
    servicer: object,
    *,
    codecs: dict[str, Codec] | None = None,
    feature: str = "",
) -> grpc.GenericRpcHandler[Any, Any]:
    """The generic handler of one service.

    Args:
        file_descriptor: ``<x>_pb2.DESCRIPTOR`` of the file defining the service.
        service_name: Short service name, e.g. "RunsService".
        servicer: Object whose methods are named like the RPCs.
        codecs: Per-RPC (request deserializer, response serializer) overrides.
        feature: Feature name used in UNIMPLEMENTED messages.
    """
    descriptor = file_descriptor.services_by_name[service_name]
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in descriptor.methods:
        request_cls = message_factory.GetMessageClass(method.input_type)
        response_cls = message_factory.GetMessageClass(method.output_type)
        deserializer, serializer = (codecs or {}).get(method.name, (None, None))
        deserializer = deserializer or request_cls.FromString
        serializer = serializer or response_cls.SerializeToString
        behavior = getattr(servicer, method.name, None) or _unimplemented(
            descriptor.name, method.name, method.server_streaming, feature or descriptor.name
        )
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
