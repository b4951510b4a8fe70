"""Helpers of the DP tests: register the shared Lomas datasets, grant budgets, connect as a user.

Datasets are registered under unique names so tests sharing the session server never collide.
"""

from __future__ import annotations

import uuid

from support import FIXTURES, ServerThread, TestUser
from veil_client import Manager
from veil_service.dpquery import grants
from veil_service.dpquery.registration import register_from_path

LOMAS = FIXTURES / "lomas"

DATASETS = {
    "penguin": "penguins.csv",
    "iris": "iris.csv",
    "pums": "PUMS.csv",
    "titanic": "titanic.csv",
    "birthday": "birthdays.csv",
    "fso_income_synthetic": "income_synthetic_data.csv",
    "covid_synthetic": "covid_synthetic_data.csv",
}
"""Metadata file stem (``<stem>_metadata.yaml``) -> data file in ``lomas/datasets``."""

PENGUIN_CSV = LOMAS / "datasets" / "penguins.csv"
PENGUIN_METADATA = LOMAS / "metadata" / "penguin_metadata.yaml"


def unique(prefix: str = "PENGUIN") -> str:
    """A dataset name no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def register(server: ServerThread, stem: str = "penguin", name: str | None = None) -> str:
    """Register a Lomas dataset from its CSV and metadata; return its name."""
    name = name or unique(stem.upper())
    register_from_path(
        server.app.db,
        server.app.blobs,
        name=name,
        path=str(LOMAS / "datasets" / DATASETS[stem]),
        metadata_text=(LOMAS / "metadata" / f"{stem}_metadata.yaml").read_text(),
    )
    return name


def grant(server: ServerThread, user: TestUser, dataset: str, epsilon: float, delta: float) -> None:
    """Give ``user`` a budget on ``dataset``."""
    with server.app.db.begin() as conn:
        grants.grant_access(conn, user=user.username, dataset=dataset, epsilon=epsilon, delta=delta)


def manager(server: ServerThread, user: TestUser) -> Manager:
    """A client Manager authenticated as ``user``."""
    return Manager(base_url=server.url, api_key=user.api_key)
