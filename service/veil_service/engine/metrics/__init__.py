"""Privacy and signal metrics of an avatar table against its original (issue 5).

Public surface::

    privacy_metrics(original, avatars_unshuffled, **params) -> dict   # one table
    signal_metrics(original, avatars_unshuffled, **params) -> dict    # one table
    aggregate_privacy_batches(results) -> [worst, mean]
    aggregate_signal_batches(results) -> [mean]

Definitions, formulas, targets and the space each metric is measured in: docs/metrics.md.
"""

from veil_service.engine.metrics.evaluate import privacy_metrics, signal_metrics
from veil_service.engine.metrics.output import (
    PRIVACY_TARGETS,
    SIGNAL_TARGETS,
    aggregate_privacy_batches,
    aggregate_signal_batches,
)

__all__ = [
    "PRIVACY_TARGETS",
    "SIGNAL_TARGETS",
    "aggregate_privacy_batches",
    "aggregate_signal_batches",
    "privacy_metrics",
    "signal_metrics",
]
