"""YAML read within limits: size, documents, nesting and aliases are bounded before building.

Every YAML text Veil accepts from a caller (avatar_yaml run configurations, DP dataset metadata)
goes through :func:`load_documents`. PyYAML builds whatever it is given: a 50 MB scalar, 60,000
documents in 2 MB, lists nested 5,000 deep (a RecursionError, answered INTERNAL) or aliases that
expand exponentially ("billion laughs") once the result is walked. So the text is measured first,
then scanned as events (no objects built) with counters, and only then loaded. Callers run this
off the server's event loop (it is pure Python): see ``runs.service`` and ``dpquery.registration``.
The limits are documented in docs/security.md ("Limits").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from veil_service.errors import InvalidArgumentError


@dataclass(frozen=True)
class YamlLimits:
    """Bounds on one YAML text.

    Attributes:
        max_chars: Longest text accepted, in characters.
        max_documents: Most ``---`` documents in the text.
        max_depth: Deepest nesting of mappings and sequences.
        max_nodes: Most scalars, mappings and sequences in all documents together (building
            each is Python work: this bounds how long the load takes).
    """

    max_chars: int
    max_documents: int
    max_depth: int
    max_nodes: int


_EVENT_LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML was built with it (about ten times faster), for the scan."""

CONFIG_LIMITS = YamlLimits(max_chars=256 << 10, max_documents=1_000, max_depth=32, max_nodes=20_000)
"""avatar_yaml run configurations: 256 KiB, 1,000 documents, 32 levels, 20,000 nodes (a real
one for ten tables: about 10 KB, 6 levels, 500 nodes)."""
METADATA_LIMITS = YamlLimits(max_chars=1 << 20, max_documents=1, max_depth=32, max_nodes=200_000)
"""DP dataset metadata: 1 MiB, one document, 200,000 nodes (room for columns with many
categories)."""


def load_documents(
    text: str, *, field: str, limits: YamlLimits, loader: type[Any] = _EVENT_LOADER
) -> list[Any]:
    """Every document of ``text``, built with ``loader`` once the text is within ``limits``.

    Raises:
        InvalidArgumentError: Too long, too many documents, too deep, an alias, or malformed
            (the message names the line); ``field`` is named.
    """
    if len(text) > limits.max_chars:
        raise InvalidArgumentError(
            f"{field} is {len(text):,} characters long; at most {limits.max_chars:,} are accepted.",
            field=field,
        )
    try:
        _scan(text, field, limits, loader)
        return list(yaml.load_all(text, Loader=loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InvalidArgumentError(
            f"malformed YAML{where}: {exc.problem or exc.context}{_in(field)}", field=field
        ) from None
    except yaml.YAMLError as exc:
        raise InvalidArgumentError(
            f"malformed YAML: {type(exc).__name__}{_in(field)}", field=field
        ) from None
    except RecursionError:  # a loader's own recursion, should the depth limit ever be raised
        raise InvalidArgumentError(f"{field} is nested too deeply.", field=field) from None


def _in(field: str) -> str:
    return "" if field == "yaml" else f" (in {field})"


def _scan(text: str, field: str, limits: YamlLimits, loader: type[Any]) -> None:
    depth = documents = nodes = 0
    for event in yaml.parse(text, Loader=_EVENT_LOADER):
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > limits.max_nodes:
                raise InvalidArgumentError(
                    f"{field} holds more than {limits.max_nodes:,} YAML values.", field=field
                )
        if isinstance(event, yaml.AliasEvent):
            raise InvalidArgumentError(
                f"{field} uses a YAML alias (*{event.anchor}); aliases are not accepted: write "
                "the value out.",
                field=field,
            )
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > limits.max_documents:
                raise InvalidArgumentError(
                    f"{field} holds more than {limits.max_documents:,} YAML documents.",
                    field=field,
                )
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            if depth > limits.max_depth:
                mark = event.start_mark
                line = f" (line {mark.line + 1})" if mark is not None else ""
                raise InvalidArgumentError(
                    f"{field} is nested more than {limits.max_depth} levels deep{line}.",
                    field=field,
                )
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1
