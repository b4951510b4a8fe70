"""Fixtures shared by the engine's DP library tests: Lomas's PENGUIN dataset and its metadata.

Modules that use them skip themselves when the shared Lomas data is absent (``pytestmark``).
"""

from __future__ import annotations

import pandas as pd
import pytest
from support import FIXTURES
from veil_service.engine_contract.dp_metadata import Metadata, load_metadata_file

LOMAS = FIXTURES / "lomas"


@pytest.fixture(scope="module")
def penguin() -> Metadata:
    """The PENGUIN metadata, as Lomas ships it."""
    return load_metadata_file(LOMAS / "metadata" / "penguin_metadata.yaml")


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    """The PENGUIN data (344 rows)."""
    return pd.read_csv(LOMAS / "datasets" / "penguins.csv")
