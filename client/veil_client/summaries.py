"""The metrics summaries of a multi-table run, in the shapes of Octopize's client.

The privacy and signal jobs of a linked run write ``privacy_metrics_summary`` and
``signal_metrics_summary``: ``{table: {reference: value}}``, where ``reference`` is
``standalone`` or the other table a computation involved, and the value is the hidden rate (%)
for privacy and 100 x (1 - Hellinger mean) for signal (higher is better on both sides).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

Summary = Mapping[str, Mapping[str, float | None]]


def summary_frame(privacy: Summary, signal: Summary) -> pd.DataFrame:
    """Octopize's ``metrics_summary()``: index = table, columns = (reference, privacy|signal)."""
    tables = list(dict.fromkeys([*privacy, *signal]))
    references: list[str] = []
    for summary in (privacy, signal):
        for row in summary.values():
            references += [r for r in row if r not in references]
    references.sort(key=lambda r: (r != "standalone", r))
    columns = pd.MultiIndex.from_tuples(
        [(reference, kind) for reference in references for kind in ("privacy", "signal")]
    )
    rows = [
        [
            (privacy if kind == "privacy" else signal).get(table, {}).get(reference)
            for reference, kind in columns
        ]
        for table in tables
    ]
    return pd.DataFrame(rows, index=pd.Index(tables, name="table"), columns=columns, dtype=float)
