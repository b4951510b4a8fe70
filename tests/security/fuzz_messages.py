"""Hypothesis strategies that build any protobuf request message from its descriptor.

Values lean towards what breaks servers: empty, huge and odd strings, integer extremes, NaN and
infinities, enum numbers outside the enum, long repeated fields, and (with ``known``) real ids and
names of this test's own resources so that the calls get past NOT_FOUND into the code behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "\x00", "../../etc/passwd", "' OR 1=1 --", "${jndi:x}", "%s%n"]),
    st.integers(0, 6).map(lambda n: "x" * (10**n)),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=8).map(lambda s: s * 500),
)
INT64 = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, -1, 1, 2**31 - 1, 2**31, 2**63 - 1, -(2**63)]),
)
UINT64 = st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([0, 1, 2**32, 2**64 - 1]))
INT32 = st.integers(-(2**31), 2**31 - 1)
UINT32 = st.integers(0, 2**32 - 1)
DOUBLE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, 1e308, float("nan"), float("inf"), -float("inf")]),
)

_SCALARS: dict[int, st.SearchStrategy[Any]] = {
    FieldDescriptor.TYPE_STRING: TEXT,
    FieldDescriptor.TYPE_BYTES: st.binary(max_size=64),
    FieldDescriptor.TYPE_BOOL: st.booleans(),
    FieldDescriptor.TYPE_INT64: INT64,
    FieldDescriptor.TYPE_SINT64: INT64,
    FieldDescriptor.TYPE_SFIXED64: INT64,
    FieldDescriptor.TYPE_UINT64: UINT64,
    FieldDescriptor.TYPE_FIXED64: UINT64,
    FieldDescriptor.TYPE_INT32: INT32,
    FieldDescriptor.TYPE_SINT32: INT32,
    FieldDescriptor.TYPE_SFIXED32: INT32,
    FieldDescriptor.TYPE_UINT32: UINT32,
    FieldDescriptor.TYPE_FIXED32: UINT32,
    FieldDescriptor.TYPE_DOUBLE: DOUBLE,
    FieldDescriptor.TYPE_FLOAT: st.floats(width=32, allow_nan=True, allow_infinity=True),
}


def _value(field: FieldDescriptor, known: Sequence[str], depth: int) -> st.SearchStrategy[Any]:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return messages(field.message_type, known, depth + 1)
    if field.type == FieldDescriptor.TYPE_ENUM:
        numbers = [v.number for v in field.enum_type.values]
        return st.one_of(st.sampled_from(numbers), st.integers(-5, 1000))
    if field.type == FieldDescriptor.TYPE_STRING and known:
        return st.one_of(st.sampled_from(list(known)), TEXT)
    return _SCALARS[field.type]


@st.composite
def _message(draw: Any, descriptor: Descriptor, known: Sequence[str], depth: int) -> Message:
    from google.protobuf import message_factory

    message = message_factory.GetMessageClass(descriptor)()
    for field in descriptor.fields:
        if field.type == FieldDescriptor.TYPE_MESSAGE and depth >= 3:
            continue
        if field.containing_oneof is not None and message.WhichOneof(field.containing_oneof.name):
            continue
        if not draw(st.booleans()):
            continue
        strategy = _value(field, known, depth)
        if field.is_repeated:
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                key = field.message_type.fields_by_name["key"]
                val = field.message_type.fields_by_name["value"]
                entries = draw(
                    st.dictionaries(
                        _value(key, known, depth), _value(val, known, depth), max_size=4
                    )
                )
                for k, v in entries.items():
                    if val.type == FieldDescriptor.TYPE_MESSAGE:
                        getattr(message, field.name)[k].CopyFrom(v)
                    else:
                        getattr(message, field.name)[k] = v
                continue
            size = draw(st.one_of(st.integers(0, 4), st.just(2000)))
            values = draw(st.lists(strategy, min_size=min(size, 4), max_size=size))
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                getattr(message, field.name).extend(values)
            else:
                getattr(message, field.name).extend(values)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            getattr(message, field.name).CopyFrom(draw(strategy))
        else:
            setattr(message, field.name, draw(strategy))
    return message


def messages(
    descriptor: Descriptor, known: Sequence[str] = (), depth: int = 0
) -> st.SearchStrategy[Message]:
    """Any message of type ``descriptor``; strings drawn from ``known`` half of the time."""
    return _message(descriptor, known, depth)
