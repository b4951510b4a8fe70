"""Data augmentation: row counts per strategy, no copies, lineage, barycentres (minority recall on
all of Adult: tests/fidelity/test_augmentation_utility.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support import FIXTURES
from veil_service.engine.augmentation import AugmentationParameters, augment, barycentres
from veil_service.engine.avatarize import avatarize
from veil_service.errors import InvalidArgumentError

WBCD = FIXTURES / "tables" / "wbcd.csv"


def generator(k: int, classes: tuple[str, ...] = ("Class",)):
    def run(table: pd.DataFrame, seed: int) -> pd.DataFrame:
        return avatarize(
            table,
            k=min(k, len(table) - 1),
            ncp=min(5, table.shape[1]),
            seed=seed,
            categorical_columns=[c for c in classes if c in table.columns],
        ).unshuffled

    return run


@pytest.fixture(scope="module")
def wbcd() -> pd.DataFrame:
    return pd.read_csv(WBCD)


def test_minority_balances_the_classes_with_fresh_avatars(wbcd: pd.DataFrame) -> None:
    params = AugmentationParameters("minority", target_column="Class")
    result = augment(wbcd, params, generator(5), k=5, seed=0)
    # Counted on the released avatars (an avatar may change class), which keep both classes.
    counts = result.unshuffled.iloc[: len(wbcd)]["Class"].value_counts()
    assert set(counts.index) == {2, 4}
    assert result.extra_per_class == {4: int(counts[2] - counts[4])}
    out = result.avatars["Class"].value_counts()
    assert abs(out[4] - out[2]) <= 0.05 * out[2]
    assert len(result.avatars) == len(wbcd) + counts[2] - counts[4]
    extra = result.unshuffled.iloc[len(wbcd) :]
    assert (extra["Class"] == 4).all()
    assert (wbcd["Class"].to_numpy()[result.sources[len(wbcd) :]] == 4).all()


def test_extra_rows_are_never_copies_of_originals() -> None:
    # Continuous values: a copy would be an exact match, a barycentre of k others never is.
    rng = np.random.default_rng(7)
    df = pd.DataFrame(
        {"c": rng.choice(["a", "b"], 300, p=[0.8, 0.2]), "x": rng.normal(size=300)}
    ).assign(y=lambda d: d["x"] * 2 + rng.normal(size=300))
    result = augment(
        df, AugmentationParameters("minority", target_column="c"), generator(5), k=5, seed=0
    )
    extra = result.unshuffled.iloc[len(df) :]
    assert len(extra) == result.extra_per_class["b"] > 100
    assert not extra[["x", "y"]].merge(df[["x", "y"]], how="inner").shape[0]


def test_multiplier_triples_the_rows_and_keeps_class_shares(wbcd: pd.DataFrame) -> None:
    result = augment(wbcd, AugmentationParameters(3), generator(5), k=5, seed=1)
    assert len(result.avatars) == 3 * len(wbcd)
    shares = result.avatars["Class"].value_counts(normalize=True)
    original = wbcd["Class"].value_counts(normalize=True)
    assert abs(shares[2] - original[2]) < 0.05


def test_not_majority_and_modality_shares() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "c": rng.choice(["a", "b", "c"], 400, p=[0.6, 0.3, 0.1]),
            "x": rng.normal(size=400),
            "y": rng.normal(size=400),
        }
    )
    balanced = augment(
        df, AugmentationParameters("not_majority", target_column="c"), generator(5), k=5, seed=2
    )
    counts = balanced.avatars["c"].value_counts()
    assert counts.max() - counts.min() <= 0.1 * counts.max()
    shares = augment(
        df,
        AugmentationParameters({"a": 0.4, "b": 0.3, "c": 0.3}, target_column="c"),
        generator(5),
        k=5,
        seed=3,
    )
    got = shares.avatars["c"].value_counts(normalize=True)
    assert got["c"] == pytest.approx(0.3, abs=0.03)
    assert len(shares.avatars) >= len(df)


def test_without_anonymizing_the_original_rows_are_kept(wbcd: pd.DataFrame) -> None:
    params = AugmentationParameters(
        "minority", target_column="Class", should_anonymize_original_table=False
    )
    result = augment(wbcd, params, generator(5), k=5, seed=4)
    pd.testing.assert_frame_equal(result.unshuffled.iloc[: len(wbcd)], wbcd, check_dtype=False)


def test_barycentres_follow_the_lineage(wbcd: pd.DataFrame) -> None:
    result = augment(
        wbcd, AugmentationParameters("minority", target_column="Class"), generator(5), k=5, seed=5
    )
    originals, centres = barycentres(wbcd, result.unshuffled, result.sources)
    assert len(originals) == len(centres) == len(wbcd)
    augmented, aug_centres = barycentres(
        wbcd, result.unshuffled, result.sources, only_augmented=True
    )
    assert 0 < len(augmented) <= (wbcd["Class"] == 4).sum()
    assert (augmented["Class"] == 4).all()
    assert len(aug_centres) == len(augmented)
    i = int(np.flatnonzero(np.bincount(result.sources) > 1)[0])
    own = result.unshuffled[result.sources == i]
    assert centres.loc[i, "Mitoses"] == round(own["Mitoses"].mean())


def test_bad_augmentation_parameters_are_refused(wbcd: pd.DataFrame) -> None:
    with pytest.raises(InvalidArgumentError, match="target_column is required"):
        AugmentationParameters("minority")
    with pytest.raises(InvalidArgumentError, match="multiplier"):
        AugmentationParameters(1.0)
    with pytest.raises(InvalidArgumentError, match="add up to 1"):
        AugmentationParameters({"2": 0.5, "4": 0.2}, target_column="Class")
    with pytest.raises(InvalidArgumentError, match="not a column"):
        augment(wbcd, AugmentationParameters("minority", target_column="nope"), generator(5), k=5)
    with pytest.raises(InvalidArgumentError, match="modalities"):
        augment(
            wbcd,
            AugmentationParameters({"2": 0.5, "9": 0.5}, target_column="Class"),
            generator(5),
            k=5,
        )
