"""Importing ``skops.io`` (the safe model format) without importing torch on the way.

``import skops.io`` builds its list of trusted scikit-learn types by calling
``sklearn.utils.discovery.all_estimators()``, which walks every package under ``sklearn`` with
``pkgutil.walk_packages``. That walk must import each *package* to find its submodules, so it
imports ``sklearn.externals.array_api_compat.torch`` (which imports torch) and ``.dask`` (which
imports dask.array): 3.8 CPU seconds on this machine, 3 of them for modules the walk then skips
(``all_estimators`` ignores everything under ``externals``). The engine paid it on every
diffprivlib query, since each runs in a freshly forked worker.

:func:`skops_io` imports skops with those optional array backends stubbed out for the length of
the import only (0.85 CPU s): the walk does not descend into them, skops' trusted types are the
same (a unit test compares them), and the stubs are removed again so that nothing later sees
them. The engine's forkserver imports it once for all workers (:mod:`.skops_preload`); the
engine process itself imports it only if it serializes a model, so its cost estimates (which
never do) do not pay for it.
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


def skops_dumps(obj: Any) -> bytes:
    """``skops.io.dumps(obj)``: the safe model format returned to clients."""
    data: bytes = skops_io().dumps(obj)
    return data
