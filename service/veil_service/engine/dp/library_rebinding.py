"""A library method bound to one model with some of its module's names replaced.

smartnoise-synth's training loops call module-level names Veil must change for one fit:
pategan's ``moments_acc`` (charged data-free, ``pate_accounting``) and dpctgan's
``DataSampler`` (DP category frequencies, ``ctgan_categories``). Patching the module would change
every fit in the process, concurrent ones included; instead the model gets its own copy of the
method whose globals resolve those names to Veil's, and nothing else changes.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any


def rebind(model: Any, method: str, library_function: Callable[..., Any], **names: Any) -> None:
    """Set ``model.<method>`` to ``library_function`` reading ``names`` over its module's globals.

    Args:
        model: The instance that gets the rebound method (deleting the attribute undoes it).
        method: The attribute to set (``"train"``).
        library_function: The library's function (the class attribute, not a bound method).
        names: Module-level names the copy resolves to these values.
    """
    code = types.FunctionType(
        library_function.__code__,
        {**library_function.__globals__, **names},
        library_function.__name__,
        library_function.__defaults__,
        library_function.__closure__,
    )
    setattr(model, method, types.MethodType(code, model))
