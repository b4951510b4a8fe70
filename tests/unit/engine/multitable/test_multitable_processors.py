"""Single-table features in a linked run: server-side processors apply around the linked pipeline,
per table; augmentation and DP generators are refused, naming the table and the parameter."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from veil_service.engine.multitable import (
    Link,
    Schema,
    TableKeys,
    TableParameters,
    avatarize_tables,
)
from veil_service.engine.multitable.pipeline import check_parameters
from veil_service.errors import InvalidArgumentError

SCHEMA = Schema(
    (TableKeys("patient", "p_id"), TableKeys("stay", "s_id", ("patient_id",))),
    (Link("patient", "p_id", "stay", "patient_id"),),
)


def tables(seed: int = 0) -> dict[str, pd.DataFrame]:
    """Patients (billed >= paid, close) and their hospital stays, each patient's stays one after
    the other (start <= end <= next start)."""
    rng = np.random.default_rng(seed)
    n = 120
    billed = rng.gamma(4.0, 500.0, n)
    patients = pd.DataFrame(
        {
            "p_id": np.arange(n) + 1000,
            "age": rng.integers(20, 90, n),
            "billed": billed,
            "paid": billed * rng.uniform(0.9, 1.0, n),
        }
    )
    owners, starts, ends = [], [], []
    for p_id in patients["p_id"]:
        t = float(rng.uniform(0, 30))
        for _ in range(int(rng.integers(1, 5))):
            start = t + float(rng.exponential(20))
            end = start + float(rng.exponential(5))
            owners.append(p_id)
            starts.append(start)
            ends.append(end)
            t = end
    stays = pd.DataFrame(
        {
            "s_id": np.arange(len(owners)),
            "patient_id": owners,
            "start": starts,
            "end": ends,
            "ward": rng.choice(["a", "b", "c"], len(owners)),
        }
    )
    return {"patient": patients, "stay": stays}


RELATIVE = {"target": "paid", "references": ["billed"]}
INTER_RECORD = {"id_variable": "patient_id", "target_start_variable": "start"}
INTER_RECORD["target_end_variable"] = "end"


def parameters(**extra: dict[str, object]) -> dict[str, TableParameters]:
    return {name: TableParameters({"k": 8, **extra.get(name, {})}) for name in ("patient", "stay")}


def test_processors_hold_their_constraints_in_a_linked_run() -> None:
    frames = tables()
    plain = avatarize_tables(SCHEMA, frames, parameters(), seed=1)
    processed = avatarize_tables(
        SCHEMA,
        frames,
        parameters(patient={"processors": [RELATIVE]}, stay={"processors": [INTER_RECORD]}),
        seed=1,
    )
    # Without processors the avatar method's per-variable noise breaks both constraints on some
    # rows; with them, none is broken.
    before = plain.tables["patient"].avatars
    assert (before["paid"] > before["billed"]).any()
    after = processed.tables["patient"].avatars
    assert (after["paid"] <= after["billed"] + 1e-9).all()

    def chain_broken(stays: pd.DataFrame) -> int:
        """Stays of one patient that overlap, or end before they start, taken by start."""
        broken = 0
        for _, group in stays.groupby("patient_id", sort=False):
            group = group.sort_values("start", kind="stable")
            start, end = group["start"].to_numpy(), group["end"].to_numpy()
            broken += int((start > end + 1e-9).sum() + (start[1:] < end[:-1] - 1e-9).sum())
        return broken

    assert chain_broken(plain.tables["stay"].unshuffled) > 0
    stays = processed.tables["stay"]
    # The chain holds per avatar patient (the processor's individual is the foreign key, which
    # carries the new keys), in the released (shuffled) table too.
    assert chain_broken(stays.unshuffled) == 0
    assert chain_broken(stays.avatars) == 0
    # Original columns and dtypes, no helper column, keys consistent across the tables.
    for name, frame in frames.items():
        table = processed.tables[name]
        assert list(table.avatars.columns) == list(frame.columns)
        assert list(table.avatars.dtypes) == list(frame.dtypes)
        assert len(table.avatars) == len(frame)
    assert set(stays.avatars["patient_id"]) <= set(after["p_id"])
    assert sorted(stays.avatars["s_id"]) == sorted(stays.unshuffled["s_id"])
    # Same parameters and seed: the same avatars.
    again = avatarize_tables(
        SCHEMA,
        frames,
        parameters(patient={"processors": [RELATIVE]}, stay={"processors": [INTER_RECORD]}),
        seed=1,
    )
    pd.testing.assert_frame_equal(again.tables["stay"].avatars, stays.avatars)


def test_a_processor_on_a_missing_column_names_the_table() -> None:
    bad = {"target": "paid", "references": ["discount"]}
    with pytest.raises(InvalidArgumentError, match=r"table 'patient'.*discount") as caught:
        avatarize_tables(SCHEMA, tables(), parameters(patient={"processors": [bad]}), seed=1)
    assert caught.value.field.startswith("tables[patient]")


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("data_augmentation_strategy", "minority", "child table.*'stay'.*assignment"),
        ("open_dp_epsilon", 1.0, "DP generator"),
        ("fast_dp_epsilon", 1.0, "DP generator"),
    ],
)
def test_augmentation_and_dp_generators_are_refused_naming_table_and_parameter(
    key: str, value: object, reason: str
) -> None:
    frames = tables()
    params = parameters(patient={key: value})
    with pytest.raises(InvalidArgumentError, match=f"table 'patient': {key}.*{reason}") as caught:
        check_parameters("patient", frames["patient"], params["patient"], SCHEMA)
    assert caught.value.field == f"tables[patient].{key}"
    with pytest.raises(InvalidArgumentError, match=f"table 'patient': {key}"):
        avatarize_tables(SCHEMA, frames, params, seed=1)
