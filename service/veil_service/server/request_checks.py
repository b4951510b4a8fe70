"""Checks every request message gets before its servicer runs: enums and id lengths.

Protobuf keeps an enum number it does not know (open enums), and servicers then read it as some
default; a caller's id is echoed into NOT_FOUND messages and error trailers, so a 5,000-character
"id" came back whole (issue 19, defect 12). The interceptor calls :func:`check_request` on each
unary request message (streamed uploads check their header themselves):

* an enum field whose number is not one of its values: INVALID_ARGUMENT naming the field (path
  included, e.g. ``config.report_language``) and the accepted names;
* a string field called ``id``, ``*_id`` or ``*_ids`` longer than :data:`MAX_ID_CHARS`:
  INVALID_ARGUMENT naming the field and the limit, without repeating the value;
* a list of ids (``*_ids``) longer than :data:`MAX_IDS`, refused by its length alone: checking
  100,000 ids one by one took 180 ms of the event loop on a loaded machine, and every other call
  waited for it.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from veil_service.errors import InvalidArgumentError

MAX_ID_CHARS = 64
"""Longer than every id Veil issues (UUIDs: 36 characters)."""

MAX_IDS = 1_000
"""Ids one request may list (WatchJobs watches at most as many jobs; DeleteJobs deletes in
pages of this size)."""


def check_request(message: Message) -> None:
    """Refuse unknown enum numbers and over-long ids anywhere in ``message``.

    Raises:
        InvalidArgumentError: the first offending field, by path.
    """
    _check(message, "")


def _is_id(field: FieldDescriptor) -> bool:
    name = field.name
    return field.type == FieldDescriptor.TYPE_STRING and (
        name == "id" or name.endswith(("_id", "_ids"))
    )


def _check(message: Message, prefix: str) -> None:
    for field, value in message.ListFields():
        path = f"{prefix}{field.name}"
        if field.is_repeated and _is_id(field) and len(value) > MAX_IDS:
            raise InvalidArgumentError(
                f"{path} lists {len(value):,} ids; send at most {MAX_IDS:,} in one request.",
                field=path,
            )
        values: list[Any] = list(value) if field.is_repeated else [value]
        enum = field.enum_type
        if field.type == FieldDescriptor.TYPE_ENUM and enum is not None:
            for number in values:
                if number not in enum.values_by_number:
                    names = ", ".join(v.name for v in enum.values)
                    raise InvalidArgumentError(
                        f"{path} is {number}, which is not a {enum.name}; use one of {names}.",
                        field=path,
                    )
        elif _is_id(field):
            for text in values:
                if len(text) > MAX_ID_CHARS:
                    raise InvalidArgumentError(
                        f"{path} holds a value of {len(text):,} characters; no id is longer than "
                        f"{MAX_ID_CHARS}.",
                        field=path,
                    )
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                mapped = value.values() if hasattr(value, "values") else []
                for item in mapped:
                    if isinstance(item, Message):
                        _check(item, f"{path}.")
            else:
                for item in values:
                    _check(item, f"{path}.")
