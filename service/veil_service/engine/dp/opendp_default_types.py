"""A thread-safe ``set_default_int_type`` for smartnoise-sql's Gaussian mechanism.

smartnoise-sql's ``Gaussian`` mechanism calls OpenDP's ``set_default_int_type("i64")`` each time
it is built and each time it adds noise. OpenDP implements that call as
``ATOM_EQUIVALENCE_CLASSES[T] = ATOM_EQUIVALENCE_CLASSES.pop(old)`` on a process-wide dict: between
the ``pop`` and the assignment the default int type has no equivalence class. The engine answers
queries in threads (its inline lane), so a second query checking its distances at that moment saw
``inferred type is i64, expected u32`` and smartnoise-sql reported "Unable to find appropriate
noise scale" (a ValueError): a valid query failed, at random, about once in a few hundred
concurrent queries (the 50-query budget test over three servers).

The replacement below does the same change without a gap (the new key is added before the old one
goes) and does nothing when the type is already the default, which is every call but the first;
a lock orders concurrent changes. :func:`install` puts it where smartnoise-sql looks it up.
"""

from __future__ import annotations

import threading

import opendp.typing
from opendp._lib import ATOM_EQUIVALENCE_CLASSES
from opendp.typing import RuntimeType, RuntimeTypeDescriptor

_lock = threading.Lock()


def set_default_int_type(T: RuntimeTypeDescriptor) -> None:  # noqa: N803  (OpenDP's signature)
    """OpenDP's ``set_default_int_type``, atomic for readers and idempotent."""
    wanted = RuntimeType.parse(T)
    with _lock:
        elementary = opendp.typing._ELEMENTARY_TYPES  # the state OpenDP keeps
        current = elementary[int]
        if wanted == current:
            return
        equivalence_class = ATOM_EQUIVALENCE_CLASSES[current]
        if wanted not in equivalence_class:
            raise ValueError(f"T must be one of {equivalence_class}")
        ATOM_EQUIVALENCE_CLASSES[wanted] = equivalence_class  # type: ignore[index]
        elementary[int] = wanted  # type: ignore[assignment]
        del ATOM_EQUIVALENCE_CLASSES[current]


def install() -> None:
    """Make smartnoise-sql's Gaussian mechanism (and OpenDP's own name) use the safe version."""
    from snsql.sql._mechanisms import gaussian

    gaussian.set_default_int_type = set_default_int_type
    opendp.typing.set_default_int_type = set_default_int_type
