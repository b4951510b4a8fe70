"""The advice's notes as codes with parameters, and their English words.

The engine's ``advice`` result has always said why in English sentences (``notes``: what the
gRPC API and the Python client show, unchanged). Each note is also written as a *structured
note*: a list of parts, each a code of :data:`NOTES` with its parameters, so that a page in
another language says the same from its own catalogue (the web's French one,
``veil_service/web/notes_fr.py``; a test keeps it covering every code here). A part's parameter
may itself be a part or a list of parts (a clause that is there or not): it is rendered first,
in the same language.

The English of a structured note is exactly its ``notes`` sentence: :func:`english` writes both.
Numbers stay numbers in the parameters (the template's format spec rounds them), so another
language writes them its own way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

#: A part of a note: ``{"code": ..., "params": {...}}`` (JSON, as the advice result holds it).
Part = dict[str, Any]

NOTES: dict[str, str] = {
    # A recommendation: "k = 20: <why>"; a flagged column: "age (identifier): <why>".
    "parameter": "{name} = {value}: ",
    "flag.identifier": "{column} (identifier): ",
    "flag.high_cardinality": "{column} (high_cardinality): ",
    "flag.constant": "{column} (constant): ",
    "flag.empty": "{column} (empty): ",
    "flag.unsupported": "{column} (unsupported): ",
    # Why k.
    "k.usual": "{k}, the usual value (the paper's), fits {rows} rows.",
    "k.small": (
        "{rows} rows is small: k={k} (5 % of the rows) keeps neighbourhoods local; raise it "
        "for more privacy at some cost in utility."
    ),
    # Why ncp.
    "ncp.no_column": "No usable column: the default lower bound.",
    "ncp.default": "{ncp}, the default.",
    "ncp.enough": (
        "{ncp} components already hold {captured:.0f} % of the {model} inertia; more "
        "would add noise to the neighbour search."
    ),
    "ncp.usual": (
        "{ncp} components ({model}, {captured:.0f} % of the inertia): the usual value; "
        "a larger ncp gives more utility and less privacy."
    ),
    # Why this imputation.
    "imputation.none_missing": "No missing value: imputation will not run.",
    "imputation.large": (
        "{columns} columns have missing values (up to {share:.0f} % in {worst!r}); {rows} rows: "
        "fast_knn keeps imputation linear."
    ),
    "imputation.small": (
        "{columns} columns have missing values (up to {share:.0f} % in {worst!r}); the table is "
        "small enough for exact knn."
    ),
    # Why (not) the categorical reduction.
    "reduction.on": (
        "{modalities} modalities in total (over {threshold}): embedding them keeps the "
        "projection small; it may cost some utility."
    ),
    "reduction.off": "{modalities} modalities in total: the one-hot projection stays small.",
    # Why a column is flagged.
    "column.empty": "No value (all null): exclude it, nothing to avatarize.",
    "column.unhashable": "Values are not hashable (lists, dicts): exclude it.",
    "column.constant": "One value only: exclude it and add it back unchanged.",
    "column.unsupported_type": "Type {dtype} is not supported: convert or exclude it.",
    "column.identifier": (
        "Looks like an identifier: {distinct} distinct values for {rows} rows ({share:.0f} %)"
        "{named}. Exclude it (exclude_variable_names): it would single individuals out, and the "
        "avatars then carry pseudonyms in its place, never its real values."
    ),
    "column.identifier_named": ", and its name says so",
    "column.high_cardinality": (
        "Very high cardinality: {distinct} modalities. Set use_categorical_reduction, group "
        "rare modalities, or exclude it."
    ),
    # The privacy-targeted search (engine/privacy_advice.py): what it chose and why.
    "comma": ", ",
    "semicolon": "; ",
    "search.splits": " ({splits} random splits each)",
    "search.utility": "utility {utility:.3f}",
    "search.utility_loss": "utility {utility:.3f}, {loss:.3f} below the real data's score",
    "search.met": (
        "The most useful of {trials} parameter sets tried on {rows} rows{each} that meets every "
        "target ({utility})"
    ),
    "search.met.binding": "; {better} more useful set(s) missed a target, first {binding!r}.",
    "search.met.none_binding": "; no target was binding: the most useful set met them all.",
    "search.private": (
        "No parameter set of the {trials} tried on {rows} rows{each} meets every target: the most "
        "useful of the {private} that meet every privacy target (trial {trial}, {utility}) "
        "misses the utility target (a loss of at most {loss:g}); it is kept, privacy first"
    ),
    "search.private.better": (
        ". The {better} more useful set(s) miss a privacy target, first {binding!r}"
    ),
    "search.private.relax": (
        ". Relax that privacy target, or raise utility_loss if this loss is acceptable"
    ),
    "search.private.name_target": (
        "; naming {target!r} as the table's target_column decodes it without the local noise, "
        "which gave back 0.010-0.014 AUC on titanic and german_credit for a little more "
        "inference risk on that column (docs/avatarization.md)"
    ),
    "search.end": ".",
    "search.fallback": (
        "No parameter set of the {trials} tried on {rows} rows{each} meets every target; {kept}, "
        "missing {missed} (first: {binding!r})"
    ),
    "search.fallback.defaults": "Veil's default privacy knobs (k={k}) are kept",
    "search.fallback.as_private": (
        "this set is kept because it is at least as private as Veil's default knobs (k={k}) on "
        "every measure"
    ),
    "search.fallback.closest_riskier": (
        ". The set closest to the targets on the sample (trial {trial}) was not chosen: it is "
        "riskier than the defaults on some measure"
    ),
    "search.fallback.closest_useless": (
        ". The set closest to the targets on the sample (trial {trial}) was not chosen: it loses "
        "more than {tolerance} of their utility"
    ),
    "search.fallback.end": (
        ". Raise k, lower the targets, or remove the columns that single individuals out."
    ),
    "search.secret": (
        "{name} ({rows} control rows outside its most frequent value; risk {risk:.3f}, 95 % "
        "interval [{low:.3f}, {high:.3f}])"
    ),
    "search.unmeasured.every": (
        " Inference could not be measured on the sample for {listed}: fewer than {min_rows} "
        "control rows hold another value than the most frequent one, so the worst inference "
        "still counts them, as no secret tried could be measured. Check them with the privacy "
        "metrics job on the whole table."
    ),
    "search.unmeasured.some": (
        " Inference could not be measured on the sample for {listed}: fewer than {min_rows} "
        "control rows hold another value than the most frequent one, so the worst inference "
        "leaves them out. Check them with the privacy metrics job on the whole table."
    ),
    "search.carry": (
        " The trials ran on {sample_rows} rows; for the table's {table_rows} rows k grows from "
        "{k} to {grown} (k x (rows ratio)^(1/3), measured: the same k on a larger table lets the "
        "attacks find closer neighbours)."
    ),
    "search.check": (
        " Checked on {where} ({train_rows} rows avatarized at k={k}, the rest as control): "
        "{verdict} ({figures})."
    ),
    "search.check.table": "the table",
    "search.check.draw": "a draw of {rows} of the table's rows",
    "search.check.met": "it meets every target there",
    "search.check.missed": "it misses {missed} there",
    "search.figure.percent": "{name} {value:.1f} %",
    "search.figure.count": "{name} {value:g}",
    "search.figure.fraction": "{name} {value:.3f}",
    "search.figure.missed": " (missed)",
    # The k search of a linked run's table (engine/tasks/linked_jobs.py).
    "linked.head": "k = {k} (linked run), {noise} local noise: ",
    "linked.noise.coupled": "coupled",
    "linked.noise.per_variable": "per-variable",
    "linked.source.fresh_sample": "the fresh-sample reference",
    "linked.source.stated": "the stated target",
    "linked.met": (
        "its matched hidden rate ({rate:.1f} % ± {error:.1f}, mean and standard error of "
        "{seeds} runs of every linked table) reaches {source} ({target:.1f} %) beyond that error "
        "and holds on {seeds} other runs (seeds from {held_out_seed:d}: {held_rate:.1f} % ± "
        "{held_error:.1f}, the rate to expect), and of the settings tried that do, its avatars "
        "keep the table best (column shapes and pair trends {fidelity:.3f})"
    ),
    "linked.not_met": (
        "no k tried reaches {source} ({target:.1f} %) on the search's runs and on held-out runs; "
        "this k came nearest ({held_rate:.1f} % on held-out seeds from {held_out_seed:d})"
    ),
    "linked.series_target": "; its series {column} aims at {target:.1f} %",
    "linked.trial": "{k}{coupled}: {rate:.1f}{series}",
    "linked.trial.coupled": " coupled",
    "linked.trial.series": " ({column} {rate:.1f})",
    "linked.tail": "; k tried (rate %): {tried}; re-measured on held-out seeds: {checked}.",
}


def note(code: str, **params: Any) -> Part:
    """One part of a structured note.

    Raises:
        KeyError: ``code`` is not in :data:`NOTES` (a note every language could not say).
    """
    if code not in NOTES:
        raise KeyError(f"advice note code {code!r} is not in NOTES")
    return {"code": code, "params": params}


def render(
    parts: Sequence[Mapping[str, Any]],
    template: Callable[[str], str],
    fill: Callable[[str, Mapping[str, Any]], str],
) -> str:
    """A structured note in words: each part's ``template(code)`` filled by ``fill`` with its
    parameters, a parameter that is a part (or a list of parts) rendered first the same way."""

    def value(item: Any) -> Any:
        if isinstance(item, Mapping) and "code" in item:
            return render([item], template, fill)
        if isinstance(item, list) and all(isinstance(p, Mapping) and "code" in p for p in item):
            return render(item, template, fill)
        return item

    return "".join(
        fill(template(str(part["code"])), {k: value(v) for k, v in part["params"].items()})
        for part in parts
    )


def joined(items: Sequence[Part | list[Part]], separator: str = "comma") -> list[Part]:
    """Parts (or lists of parts) one after the other with a separator part between them
    (``comma`` or ``semicolon``): a list a sentence names."""
    out: list[Part] = []
    for index, item in enumerate(items):
        if index:
            out.append(note(separator))
        out.extend(item if isinstance(item, list) else [item])
    return out


def english(parts: Sequence[Mapping[str, Any]]) -> str:
    """The English sentence of a structured note (the ``notes`` text the API sends)."""
    return render(parts, NOTES.__getitem__, lambda text, values: text.format(**values))
