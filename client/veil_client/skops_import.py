"""Importing ``skops.io`` (the format of the models the server returns) without importing torch.

``import skops.io`` builds its list of trusted scikit-learn types by walking every package under
``sklearn``; the walk imports ``sklearn.externals.array_api_compat.torch`` (which imports torch)
and ``.dask`` only to skip them: about 1.3 CPU s of a client's first model load (1.75 -> 0.43 s
measured), on every ``veil[dp]`` install, since that extra installs torch. Stubbing the adapters
for the length of the import leaves skops' trusted types the same (a unit test compares them).

This is a copy of ``veil_service.engine.dp.skops_import``'s import half, kept apart on purpose:
the client may not import the service, and the engine's algorithms may not import the shared
wire package (tests/test_architecture.py). A unit test checks that the two stub the same
modules.
"""

from __future__ import annotations

import importlib
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

OPTIONAL_ARRAY_BACKENDS = tuple(
    f"sklearn.externals.array_api_compat.{backend}" for backend in ("torch", "dask", "cupy")
)
"""Packages the estimator walk would import only to skip: array-API adapters for libraries that a
diffprivlib pipeline never uses (its arrays are numpy's)."""

_import_lock = threading.Lock()


@contextmanager
def optional_array_backends_skipped() -> Iterator[None]:
    """Stand an empty module in for each backend adapter not yet imported, then take it away.

    ``pkgutil.walk_packages`` looks a package up in ``sys.modules`` first; a module without
    ``__path__`` has nothing to walk, so the adapter (and the library behind it) is not imported.
    An adapter already imported is left as it is.
    """
    stubs = [name for name in OPTIONAL_ARRAY_BACKENDS if name not in sys.modules]
    for name in stubs:
        sys.modules[name] = types.ModuleType(name)
    try:
        yield
    finally:
        for name in stubs:
            sys.modules.pop(name, None)


def skops_io() -> Any:
    """The ``skops.io`` module, imported once per process without the optional backends."""
    module = sys.modules.get("skops.io")
    if module is not None:
        return module
    with _import_lock, optional_array_backends_skipped():
        return importlib.import_module("skops.io")
