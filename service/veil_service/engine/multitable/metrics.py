"""Privacy and signal metrics of linked avatar tables, under Octopize's computation types.

Each table gets a list of result dicts in the single-table shape
(:func:`veil_service.engine.metrics.privacy_metrics` / ``signal_metrics``), each tagged with
``metadata.computation_type`` and ``metadata.reference`` (the other table involved; the link,
``flight.origin``, when two tables are linked more than once: :func:`child_reference`):

Privacy (docs/metrics.md, "Linked tables"):

* ``standalone``: an individual-level table alone.
* ``to_top_enriched`` (parent, reference = a child table): the parent with its children summarised
  per row (count, means, modality shares; a time-series child: its series' numbers). On the
  avatar side the summary is taken over the avatar children *assigned* to each avatar parent, so
  the metric sees what the released link structure adds.
* ``to_bottom_id_propagated`` (child, reference = a parent): the child's rows carry the individual
  they came from (the parent row); the attacker links an original row to its closest avatar row
  and succeeds when that avatar row comes from the same individual. ``hidden_rate`` and
  ``local_cloaking`` are counted per individual in that sense; the other metrics per row.
* ``full_enriched`` (child, reference = a parent): the same, the child's rows enriched with every
  parent's variables (the avatar rows with their assigned avatar parents').
* A time-series table: ``standalone`` per individual (reference = its parent), each series read as
  its aligned curve plus its start, span and length.

Signal: ``standalone``; ``to_top_enriched`` (parent with children summarised, plus the child-count
distribution per parent); ``to_bottom_information_propagated`` (child with the variables of the
reference parent broadcast, one result per parent link); time series: the pointwise and density
Hellinger distances (:mod:`veil_service.engine.timeseries.metrics`).

The tables come in as the original tables and the *unshuffled* avatar tables with their new keys:
keys give the avatar structure (which avatar parent each avatar child was assigned to).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from veil_service.engine.metrics import privacy_metrics, signal_metrics
from veil_service.engine.metrics.output import SIGNAL_TARGETS, build_result, meets
from veil_service.engine.metrics.projection import fit_famd, resolve_ncp
from veil_service.engine.metrics.tables import align_tables
from veil_service.engine.multitable.aggregation import (
    broadcast_parent,
    parent_positions,
    summarise_children,
)
from veil_service.engine.multitable.metric_parameters import naming_table
from veil_service.engine.multitable.pipeline import value_columns
from veil_service.engine.multitable.validation import time_values
from veil_service.engine.timeseries.alignment import Aligned, align, sort_readings
from veil_service.engine.timeseries.metrics import hellinger, series_signal
from veil_service.engine.timeseries.parameters import TimeSeriesParameters
from veil_service.engine.timeseries.series import fit_series
from veil_service.engine_contract.linked_tables import TIME_SERIES, Link, Schema
from veil_service.errors import InvalidArgumentError

STANDALONE = "standalone"
TO_TOP_ENRICHED = "to_top_enriched"
TO_BOTTOM_ID_PROPAGATED = "to_bottom_id_propagated"
FULL_ENRICHED = "full_enriched"
TO_BOTTOM_INFORMATION_PROPAGATED = "to_bottom_information_propagated"

SERIES_SIGNAL_TARGETS = {
    "pointwise_hellinger_mean": "< 0.1",
    "density_hellinger_mean": "< 0.1",
    "hellinger_mean": "< 0.1",
}
"""Veil's targets for the time-series signal metrics (Octopize publishes none)."""

_CLOAKING_DEPTH = 32
_MAX_CURVE_POINTS = 50


@dataclass(frozen=True)
class LinkedTables:
    """Original tables and their unshuffled avatars, with the schema linking them.

    Attributes:
        schema: Tables, keys and links.
        originals: Original tables by name.
        avatars: Unshuffled avatar tables by name, with their new keys (time series: the
            readings of avatar individual ``i`` of the parent, in parent order).
        categorical: Numeric columns declared categorical, per table.
        series: Time-series parameters per time-series table (defaults otherwise).
    """

    schema: Schema
    originals: Mapping[str, pd.DataFrame]
    avatars: Mapping[str, pd.DataFrame]
    categorical: Mapping[str, list[str]] = field(default_factory=dict)
    series: Mapping[str, TimeSeriesParameters] = field(default_factory=dict)

    def values(self, name: str) -> list[str]:
        """The variables of table ``name`` (keys and time column excluded)."""
        return value_columns(self.schema, name, self.originals[name])

    def parent_rows(self, link: Link, *, avatar: bool) -> np.ndarray:
        """Parent row of each child row, in the original or the (unshuffled) avatar tables.

        Raises:
            InvalidArgumentError: an avatar child whose foreign key matches no avatar parent.
        """
        frames = self.avatars if avatar else self.originals
        parent = frames[link.parent_table][link.parent_field]
        child = frames[link.child_table][link.child_field]
        rows = parent_positions(parent, child)
        orphans = int((rows < 0).sum())
        if orphans:
            side = "avatar" if avatar else "original"
            raise InvalidArgumentError(
                f"{side} table {link.child_table!r}, column {link.child_field!r}: {orphans} row(s) "
                f"point to no row of {side} table {link.parent_table!r}.",
                field=f"tables[{link.child_table}].{link.child_field}",
            )
        return rows


def child_reference(schema: Schema, link: Link) -> str:
    """The reference of a parent's result about ``link``'s child: the child table (``visit``),
    or the link (``flight.origin``) when the parent is linked to that child more than once, so
    that the two links' results, and their summary columns, stay apart."""
    return schema.summary_prefix(link).removesuffix(".")


def parent_reference(schema: Schema, link: Link) -> str:
    """The reference of a child's result about ``link``'s parent: the parent table
    (``patient``), or the link (``airport.origin``) when the child is linked to that parent more
    than once."""
    return schema.broadcast_prefix(link).removesuffix(".")


def _tag(result: dict[str, Any], computation_type: str, reference: str | None) -> dict[str, Any]:
    result["metadata"]["computation_type"] = computation_type
    result["metadata"]["reference"] = reference
    return result


def _child_summaries(tables: LinkedTables, link: Link) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A child table summarised per parent row, originals and avatars on the same modalities."""
    child = link.child_table
    columns = tables.values(child)
    prefix = tables.schema.summary_prefix(link)
    categorical = tables.categorical.get(child, [])
    original = summarise_children(
        tables.originals[child],
        tables.parent_rows(link, avatar=False),
        len(tables.originals[link.parent_table]),
        columns,
        prefix,
        categorical,
    )
    avatar = summarise_children(
        tables.avatars[child],
        tables.parent_rows(link, avatar=True),
        len(tables.avatars[link.parent_table]),
        columns,
        prefix,
        categorical,
        modalities=original.modalities,
    )
    names = list(original.frame.columns)
    return original.frame, avatar.frame.reindex(columns=names)


def _to_top_enriched(tables: LinkedTables, link: Link) -> tuple[pd.DataFrame, pd.DataFrame]:
    parent = link.parent_table
    columns = tables.values(parent)
    original = tables.originals[parent][columns].reset_index(drop=True)
    avatar = tables.avatars[parent][columns].reset_index(drop=True)
    if link.method == TIME_SERIES:
        extra_o, extra_a = _series_features(tables, link, individuals_only=False)
    else:
        extra_o, extra_a = _child_summaries(tables, link)
    return pd.concat([original, extra_o], axis=1), pd.concat([avatar, extra_a], axis=1)


def _full_enriched(tables: LinkedTables, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    return _enriched(tables, name, tables.schema.parents(name))


def _enriched(
    tables: LinkedTables, name: str, links: Sequence[Link]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table ``name`` with the variables of the parents of ``links`` broadcast to its rows (the
    avatar rows with their assigned avatar parents')."""
    columns = tables.values(name)
    blocks_o = [tables.originals[name][columns].reset_index(drop=True)]
    blocks_a = [tables.avatars[name][columns].reset_index(drop=True)]
    for link in links:
        parent = link.parent_table
        parent_columns = tables.values(parent)
        prefix = tables.schema.broadcast_prefix(link)
        blocks_o.append(
            broadcast_parent(
                tables.originals[parent],
                tables.parent_rows(link, avatar=False),
                parent_columns,
                prefix,
            )
        )
        blocks_a.append(
            broadcast_parent(
                tables.avatars[parent],
                tables.parent_rows(link, avatar=True),
                parent_columns,
                prefix,
            )
        )
    return pd.concat(blocks_o, axis=1), pd.concat(blocks_a, axis=1)


def individual_hidden_rate(
    original: pd.DataFrame,
    avatars: pd.DataFrame,
    individuals: np.ndarray,
    params: Mapping[str, Any],
) -> dict[str, float]:
    """Hidden rate and local cloaking when rows belong to individuals (id propagated).

    Row ``i`` of ``avatars`` comes from original row ``i``, hence from individual
    ``individuals[i]``. An original row is *not hidden* when its closest avatar row comes from its
    own individual. Local cloaking counts the avatar rows of other individuals closer than the
    closest avatar row of its own (at most 32; the median is reported).

    Args:
        original: Original rows (variables only).
        avatars: Unshuffled avatar rows.
        individuals: Individual of each row.
        params: Privacy parameters (``ncp``, ``column_weights``).
    """
    aligned = align_tables(original, avatars)
    weights = params.get("column_weights") or None
    model = fit_famd(aligned.original, aligned.continuous, aligned.categorical, weights)
    ncp = resolve_ncp(params.get("ncp"), model)
    points_o = model.transform(aligned.original, ncp)
    points_a = model.transform(aligned.avatars, ncp)
    depth = min(_CLOAKING_DEPTH, len(points_a))
    _, idx = cKDTree(points_a).query(points_o, k=depth)
    idx = np.asarray(idx).reshape(len(points_o), depth)
    same = individuals[idx] == individuals[:, None]
    hidden = ~same[:, 0]
    cloaking = np.where(same.any(axis=1), same.argmax(axis=1), depth)
    return {
        "hidden_rate": float(100.0 * hidden.mean()),
        "local_cloaking": float(np.median(cloaking)),
    }


def _individual_level(
    tables: LinkedTables,
    link: Link,
    original: pd.DataFrame,
    avatar: pd.DataFrame,
    params: dict[str, Any],
    computation_type: str,
) -> dict[str, Any]:
    result = privacy_metrics(original, avatar, **{**params, "compute_attacks": False})
    individuals = tables.parent_rows(link, avatar=False)
    rates = individual_hidden_rate(original, avatar, individuals, params)
    result["details"]["row_level_hidden_rate"] = result["hidden_rate"]
    result["details"]["row_level_local_cloaking"] = result["local_cloaking"]
    result.update(rates)
    for name in rates:
        result["passed"][name] = meets(rates[name], result["targets"][name])
    result["metadata"]["individual_table"] = link.parent_table
    return _tag(result, computation_type, parent_reference(tables.schema, link))


def aligned_series(tables: LinkedTables, link: Link) -> tuple[Aligned, Aligned, list[str], int]:
    """A series table's original and avatar curves on the originals' common grid.

    Returns:
        (original aligned, avatar aligned, variables, grid length).
    """
    name = link.child_table
    table = tables.schema.table(name)
    assert table.time_series_time is not None
    params = tables.series.get(name) or TimeSeriesParameters()
    variables = tables.values(name)
    model = fit_series(
        name,
        tables.originals[name],
        tables.parent_rows(link, avatar=False),
        len(tables.originals[link.parent_table]),
        table.time_series_time,
        variables,
        params,
        prefix="",
    )
    avatar = tables.avatars[name]
    seconds = time_values(name, table.time_series_time, avatar[table.time_series_time])
    readings = sort_readings(
        tables.parent_rows(link, avatar=True),
        seconds,
        avatar[variables].to_numpy(dtype=np.float64, na_value=np.nan),
        len(tables.avatars[link.parent_table]),
    )
    return model.aligned, align(readings, model.n_points), variables, model.n_points


def _series_features(
    tables: LinkedTables, link: Link, *, individuals_only: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each individual's series as numbers: aligned curve (at most 50 points), start, span."""
    original, avatar, variables, n_points = aligned_series(tables, link)
    picks = np.unique(np.linspace(0, n_points - 1, min(n_points, _MAX_CURVE_POINTS)).astype(int))
    frames = []
    for aligned in (original, avatar):
        data: dict[str, np.ndarray] = {}
        start = np.nan_to_num(aligned.start - np.nanmin(original.start))
        data[f"{link.child_table}.start"] = start
        data[f"{link.child_table}.span"] = np.nan_to_num(aligned.span)
        data[f"{link.child_table}.points"] = aligned.counts.astype(np.float64)
        for v, variable in enumerate(variables):
            curves = np.nan_to_num(aligned.curves[:, picks, v])
            for position, g in enumerate(picks):
                data[f"{link.child_table}.{variable}@{position}"] = curves[:, g]
        frames.append(pd.DataFrame(data))
    features_o, features_a = frames
    if individuals_only:
        keep = original.has_series & avatar.has_series
        features_o = features_o[keep].reset_index(drop=True)
        features_a = features_a[keep].reset_index(drop=True)
    constant = [c for c in features_o.columns if features_o[c].nunique() <= 1]
    return features_o.drop(columns=constant), features_a.drop(columns=constant)


def linked_privacy_metrics(
    tables: LinkedTables, parameters: Mapping[str, Mapping[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """Privacy metrics of every table under every computation type that applies to it.

    Args:
        tables: The linked original and unshuffled avatar tables.
        parameters: Privacy parameters per table (``ncp``, ``known_variables``, ``target``,
            ``quantile_threshold``, ``column_weights``, ``seed``...).

    Returns:
        ``{table: [result, ...]}``, each result tagged with its computation type and reference.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for name in tables.schema.order():
        params = {"table_name": name, **dict(parameters.get(name) or {})}
        with naming_table(name):
            out[name] = _table_privacy(tables, name, params)
    return out


def _table_privacy(tables: LinkedTables, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    schema = tables.schema
    results: list[dict[str, Any]] = []
    if schema.is_time_series(name):
        link = schema.parents(name)[0]
        features_o, features_a = _series_features(tables, link, individuals_only=True)
        series_params = {k: v for k, v in params.items() if k in ("table_name", "ncp", "seed")}
        result = privacy_metrics(features_o, features_a, **series_params, compute_attacks=False)
        result["metadata"]["individual_table"] = link.parent_table
        return [_tag(result, STANDALONE, link.parent_table)]
    columns = tables.values(name)
    if schema.is_individual_level(name):
        result = privacy_metrics(
            tables.originals[name][columns].reset_index(drop=True),
            tables.avatars[name][columns].reset_index(drop=True),
            **params,
        )
        results.append(_tag(result, STANDALONE, None))
    for link in schema.children(name):
        original, avatar = _to_top_enriched(tables, link)
        result = privacy_metrics(original, avatar, **{**params, "compute_attacks": False})
        results.append(_tag(result, TO_TOP_ENRICHED, child_reference(schema, link)))
    for link in schema.parents(name):
        own_o = tables.originals[name][columns].reset_index(drop=True)
        own_a = tables.avatars[name][columns].reset_index(drop=True)
        results.append(
            _individual_level(tables, link, own_o, own_a, params, TO_BOTTOM_ID_PROPAGATED)
        )
        full_o, full_a = _full_enriched(tables, name)
        results.append(_individual_level(tables, link, full_o, full_a, params, FULL_ENRICHED))
    return results


def _child_counts(tables: LinkedTables, link: Link) -> dict[str, float]:
    original = np.bincount(
        tables.parent_rows(link, avatar=False), minlength=len(tables.originals[link.parent_table])
    )
    avatar = np.bincount(
        tables.parent_rows(link, avatar=True), minlength=len(tables.avatars[link.parent_table])
    )
    top = int(max(original.max(), avatar.max())) + 1
    p = np.bincount(original, minlength=top) / len(original)
    q = np.bincount(avatar, minlength=top) / len(avatar)
    return {
        "child_count_hellinger": float(np.sqrt(0.5 * ((np.sqrt(p) - np.sqrt(q)) ** 2).sum())),
        "child_count_mean_original": float(original.mean()),
        "child_count_mean_avatar": float(avatar.mean()),
        "child_count_max_original": float(original.max()),
        "child_count_max_avatar": float(avatar.max()),
        "childless_share_original": float(100.0 * (original == 0).mean()),
        "childless_share_avatar": float(100.0 * (avatar == 0).mean()),
    }


def _series_signal(tables: LinkedTables, link: Link, params: dict[str, Any]) -> dict[str, Any]:
    original, avatar, variables, _ = aligned_series(tables, link)
    keep_o, keep_a = original.has_series, avatar.has_series
    name = link.child_table
    readings_o = tables.originals[name][variables].to_numpy(dtype=np.float64, na_value=np.nan)
    readings_a = tables.avatars[name][variables].to_numpy(dtype=np.float64, na_value=np.nan)
    metrics = series_signal(
        original.curves[keep_o], avatar.curves[keep_a], readings_o, readings_a, variables
    )
    time_column = tables.schema.table(name).time_series_time
    assert time_column is not None
    per_column = {v: hellinger(readings_o[:, j], readings_a[:, j]) for j, v in enumerate(variables)}
    per_column[time_column] = hellinger(
        time_values(name, time_column, tables.originals[name][time_column]),
        time_values(name, time_column, tables.avatars[name][time_column]),
    )
    values = np.array(list(per_column.values()))
    details = dict(metrics.pop("details"))  # type: ignore[call-overload]
    details["hellinger"] = per_column
    counts_o, counts_a = original.counts[keep_o], avatar.counts[keep_a]
    result: dict[str, Any] = {
        "hellinger_mean": float(values.mean()),
        "hellinger_std": float(values.std()),
        **metrics,
        "series_length_mean_original": float(counts_o.mean()),
        "series_length_mean_avatar": float(counts_a.mean()) if len(counts_a) else 0.0,
        "details": details,
    }
    metadata = {
        "table_name": name,
        "computation_type": STANDALONE,
        "reference": link.parent_table,
        "n_original_rows": len(tables.originals[name]),
        "n_avatar_rows": len(tables.avatars[name]),
        "n_series_original": int(keep_o.sum()),
        "n_series_avatar": int(keep_a.sum()),
        "grid_points": int(original.curves.shape[1]),
        "parameters": {"seed": params.get("seed")},
    }
    return build_result(result, SERIES_SIGNAL_TARGETS, metadata)


def linked_signal_metrics(
    tables: LinkedTables, parameters: Mapping[str, Mapping[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """Signal metrics of every table under every computation type that applies to it.

    Args:
        tables: The linked original and unshuffled avatar tables.
        parameters: Signal parameters per table (``target``, ``seed``...).

    Returns:
        ``{table: [result, ...]}``, each result tagged with its computation type and reference.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for name in tables.schema.order():
        params = {"table_name": name, **dict(parameters.get(name) or {})}
        with naming_table(name):
            out[name] = _table_signal(tables, name, params)
    return out


def _table_signal(tables: LinkedTables, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    schema = tables.schema
    if schema.is_time_series(name):
        return [_series_signal(tables, schema.parents(name)[0], params)]
    columns = tables.values(name)
    results = [
        _tag(
            signal_metrics(
                tables.originals[name][columns].reset_index(drop=True),
                tables.avatars[name][columns].reset_index(drop=True),
                **params,
            ),
            STANDALONE,
            None,
        )
    ]
    for link in schema.children(name):
        original, avatar = _to_top_enriched(tables, link)
        result = signal_metrics(original, avatar, **{**params, "compute_utility": False})
        if link.method != TIME_SERIES:
            result.update(_child_counts(tables, link))
        results.append(_tag(result, TO_TOP_ENRICHED, child_reference(schema, link)))
    for link in schema.parents(name):
        # The child with this parent's variables only, so each reference measures its link.
        enriched_o, enriched_a = _enriched(tables, name, [link])
        result = signal_metrics(enriched_o, enriched_a, **{**params, "compute_utility": False})
        reference = parent_reference(schema, link)
        results.append(_tag(result, TO_BOTTOM_INFORMATION_PROPAGATED, reference))
    return results


def summary_reference(result: Mapping[str, Any]) -> str:
    """The summary column of a result: the other table involved, or ``standalone``."""
    metadata = result.get("metadata") or {}
    if metadata.get("computation_type") == STANDALONE:
        return STANDALONE
    return str(metadata.get("reference") or STANDALONE)


def meta_metric(result: Mapping[str, Any], kind: str) -> float | None:
    """The one number a summary shows for a result (docs/metrics.md, "Meta metrics").

    Privacy: the hidden rate (%). Signal: 100 * (1 - Hellinger mean), the time-series tables'
    pointwise Hellinger mean, so that higher is better on both sides.
    """
    if kind == "privacy":
        value = result.get("hidden_rate")
        return None if value is None else float(value)
    hellinger_mean = result.get("pointwise_hellinger_mean", result.get("hellinger_mean"))
    return None if hellinger_mean is None else float(100.0 * (1.0 - hellinger_mean))


def metrics_summary(
    results: Mapping[str, Sequence[Mapping[str, Any]]], kind: str
) -> dict[str, dict[str, float | None]]:
    """``{table: {reference: meta_metric}}``: Octopize's ``*_metrics_summary.json`` shape.

    Several results of one table with one reference (``to_bottom_id_propagated`` and
    ``full_enriched``) are summarised by the worst of them.
    """
    summary: dict[str, dict[str, float | None]] = {}
    for table, items in results.items():
        row: dict[str, float | None] = {}
        for item in items:
            reference = summary_reference(item)
            value = meta_metric(item, kind)
            previous = row.get(reference)
            if reference not in row or previous is None:
                row[reference] = value
            elif value is not None:
                row[reference] = min(previous, value)
        summary[table] = row
    return summary


__all__ = [
    "FULL_ENRICHED",
    "SIGNAL_TARGETS",
    "STANDALONE",
    "TO_BOTTOM_ID_PROPAGATED",
    "TO_BOTTOM_INFORMATION_PROPAGATED",
    "TO_TOP_ENRICHED",
    "LinkedTables",
    "aligned_series",
    "child_reference",
    "linked_privacy_metrics",
    "linked_signal_metrics",
    "metrics_summary",
    "parent_reference",
]


def first_avatars(
    schema: Schema,
    avatars: Mapping[str, pd.DataFrame],
    lineages: Mapping[str, np.ndarray],
    originals: Mapping[str, pd.DataFrame],
) -> dict[str, pd.DataFrame]:
    """The avatars the linked metrics pair with the originals, for augmented tables.

    An augmented table's unshuffled avatars hold the avatar of each original first, then the
    extra individuals (``multitable.augmentation``); the metrics pair original ``i`` with
    avatar ``i``, so they take the first rows, and the readings of the series owned by them.
    The extra rows' exposure is measured separately (:func:`augmented_privacy_metrics`).
    """
    out = dict(avatars)
    for name in lineages:
        n = len(originals[name])
        out[name] = out[name].iloc[:n].reset_index(drop=True)
        for link in schema.children(name):
            child = out[link.child_table]
            kept = child[link.child_field].isin(out[name][link.parent_field])
            out[link.child_table] = child[kept.to_numpy()].reset_index(drop=True)
    return out


def augmented_privacy_metrics(
    tables: LinkedTables,
    full_avatars: pd.DataFrame,
    sources: np.ndarray,
    name: str,
    params: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """Octopize's ``barycentered`` and ``class_balancing_barycenter`` privacy metrics of an
    augmented linked table, on its own variables, as a single-table augmented run has them: an
    original with several descendants is measured against their barycentre."""
    from veil_service.engine.augmentation import barycentres

    columns = tables.values(name)
    original = tables.originals[name][columns].reset_index(drop=True)
    released = full_avatars[columns].reset_index(drop=True)
    results = [
        _tag(
            privacy_metrics(*barycentres(original, released, sources), **params),
            "barycentered",
            None,
        )
    ]
    kept, centres = barycentres(original, released, sources, only_augmented=True)
    if len(kept) >= 3:
        results.append(
            _tag(
                privacy_metrics(kept, centres, **{**params, "compute_attacks": False}),
                "class_balancing_barycenter",
                None,
            )
        )
    return results
