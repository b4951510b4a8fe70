"""Data augmentation (Octopize's ``data_augmentation_strategy``): more rows, never copies.

Usage::

    from veil_service.engine.augmentation import AugmentationParameters, augment

    params = AugmentationParameters("minority", target_column="Class")
    result = augment(df, params, lambda table, seed: avatarize(table, k=5, seed=seed).unshuffled,
                     k=5, seed=0)
    result.avatars      # avatars plus fresh avatars of the minority class, shuffled
"""

from veil_service.engine.augmentation.augment import (
    AugmentedTable,
    AvatarizeFn,
    augment,
    barycentres,
)
from veil_service.engine.augmentation.parameters import (
    CLASS_STRATEGIES,
    AugmentationParameters,
)

__all__ = [
    "CLASS_STRATEGIES",
    "AugmentationParameters",
    "AugmentedTable",
    "AvatarizeFn",
    "augment",
    "barycentres",
]
