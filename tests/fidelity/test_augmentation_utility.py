"""Augmentation's utility on the whole of Adult (the shared data set): a classifier trained on
augmented avatars finds more of the minority class in adult_test than one trained on avatars."""

from __future__ import annotations

import pandas as pd
from paper_data import shared
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import recall_score
from veil_service.engine.augmentation import AugmentationParameters, augment
from veil_service.engine.avatarize import avatarize


def generator(k: int):
    def run(table: pd.DataFrame, seed: int) -> pd.DataFrame:
        return avatarize(
            table, k=min(k, len(table) - 1), ncp=min(5, table.shape[1]), seed=seed
        ).unshuffled

    return run


def test_minority_recall_on_adult_test_beats_plain_avatars() -> None:
    """A classifier trained on the augmented avatars finds more of the minority class (>50K) in
    adult_test than one trained on the plain avatars."""
    train = pd.read_csv(shared("tables", "adult_train.csv")).sample(4000, random_state=0)
    train = train.drop(columns=["native-country", "fnlwgt"]).reset_index(drop=True)
    test = pd.read_csv(shared("tables", "adult_test.csv")).drop(
        columns=["native-country", "fnlwgt"]
    )
    test["income"] = test["income"].str.rstrip(".")
    plain = avatarize(train, k=10, seed=0).avatars
    augmented = augment(
        train,
        AugmentationParameters("minority", target_column="income"),
        generator(10),
        k=10,
        seed=0,
    ).avatars

    def recall(avatars: pd.DataFrame) -> float:
        categorical = [c for c in train.columns if train[c].dtype == object and c != "income"]
        x = avatars.drop(columns="income").copy()
        x_test = test.drop(columns="income").copy()
        for c in categorical:
            categories = pd.Categorical(train[c]).categories
            x[c] = pd.Categorical(x[c], categories=categories).codes
            x_test[c] = pd.Categorical(x_test[c], categories=categories).codes
        model = HistGradientBoostingClassifier(random_state=0).fit(x, avatars["income"] == ">50K")
        return float(recall_score(test["income"] == ">50K", model.predict(x_test)))

    plain_recall, augmented_recall = recall(plain), recall(augmented)
    assert augmented_recall > plain_recall + 0.1, (plain_recall, augmented_recall)
