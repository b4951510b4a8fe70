"""skops is imported without torch, trusts the same types, and leaves no stand-in module behind,
in the engine's workers and in the client alike.

Each check runs in a fresh interpreter: which modules an import pulls in depends on what the
process imported before.
"""

from __future__ import annotations

import json
import subprocess
import sys

from veil_service.engine.dp.skops_import import OPTIONAL_ARRAY_BACKENDS

_TRUSTED = """
import skops.io._trusted_types as t
names = {k: sorted(map(str, v)) for k, v in vars(t).items() if k.endswith("_TYPE_NAMES")}
"""


def _run(code: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=300
    ).stdout
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


def test_skops_is_imported_without_torch_and_trusts_the_same_types() -> None:
    plain = _run(f"import json, sys\n{_TRUSTED}\nprint(json.dumps({{'names': names}}))")
    ours = _run(
        "import json, sys\n"
        "from veil_service.engine.dp.skops_import import skops_io, OPTIONAL_ARRAY_BACKENDS\n"
        "skops_io()\n"
        f"{_TRUSTED}\n"
        "print(json.dumps({'names': names, 'torch': 'torch' in sys.modules,"
        " 'dask': 'dask.array' in sys.modules,"
        " 'left': [n for n in OPTIONAL_ARRAY_BACKENDS if n in sys.modules]}))"
    )
    assert ours["names"] == plain["names"]
    assert len(plain["names"]["SKLEARN_ESTIMATOR_TYPE_NAMES"]) > 100  # type: ignore[index]
    assert ours["torch"] is False and ours["dask"] is False
    assert ours["left"] == []  # the stand-ins are gone once skops is imported


def test_the_backends_can_still_be_imported_afterwards() -> None:
    # The stand-ins were taken away: a later import of an adapter gets the real one.
    ours = _run(
        "import json, sys\n"
        "from veil_service.engine.dp.skops_import import skops_io\n"
        "skops_io()\n"
        "import sklearn.externals.array_api_compat.dask as adapter\n"
        "print(json.dumps({'path': hasattr(adapter, '__path__'),"
        " 'file': adapter.__file__.endswith('__init__.py')}))"
    )
    assert ours == {"path": True, "file": True}


def test_a_model_saved_through_it_loads_with_the_clients_trusted_types() -> None:
    import numpy as np
    from diffprivlib.models import GaussianNB
    from veil_client.dp_serialization import load_model
    from veil_service.engine.dp.skops_import import skops_dumps

    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
    model = GaussianNB(epsilon=1.0, bounds=([0.0, 0.0], [1.0, 1.0]), random_state=0)
    model.fit(x, [0, 1, 0, 1])
    loaded = load_model(skops_dumps(model), "skops")
    assert type(loaded) is GaussianNB
    np.testing.assert_array_equal(loaded.theta_, model.theta_)
    # No stand-in is left in this process either (a real adapter, if imported, has a file).
    for name in OPTIONAL_ARRAY_BACKENDS:
        assert name not in sys.modules or hasattr(sys.modules[name], "__file__")


def test_the_client_stubs_the_same_backends_as_the_engine() -> None:
    from veil_client import skops_import as client_copy
    from veil_service.engine.dp import skops_import as engine_copy

    assert client_copy.OPTIONAL_ARRAY_BACKENDS == engine_copy.OPTIONAL_ARRAY_BACKENDS


def test_the_client_loads_a_model_without_importing_torch() -> None:
    """A notebook's first model costs no torch import (``veil[dp]`` installs torch)."""
    import numpy as np
    from diffprivlib.models import GaussianNB
    from veil_service.engine.dp.skops_import import skops_dumps

    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
    model = GaussianNB(epsilon=1.0, bounds=([0.0, 0.0], [1.0, 1.0]), random_state=0)
    data = skops_dumps(model.fit(x, [0, 1, 0, 1]))
    loaded = _run(
        "import json, sys\n"
        "from veil_client.dp_serialization import load_model\n"
        f"model = load_model({data!r}, 'skops')\n"
        "print(json.dumps({'type': type(model).__name__, 'theta': model.theta_.tolist(),"
        " 'torch': 'torch' in sys.modules}))"
    )
    assert loaded == {"type": "GaussianNB", "theta": model.theta_.tolist(), "torch": False}
