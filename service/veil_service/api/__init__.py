"""The gRPC edge: servicers (thin) and protobuf conversions. Protobufs stop here.

Each servicer subclasses the generated ``*ServiceServicer`` of its contract, so mypy checks every
RPC's request and response types against the .proto (and that no RPC is missing).
"""

from __future__ import annotations

from google.protobuf.message import Message
from grpc import aio

ServicerContext = aio.ServicerContext[Message, Message]
"""The call context every RPC method receives (the servicers use it for nothing but its type)."""
