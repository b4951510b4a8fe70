"""Full-column MWEM on PENGUIN (issue 16 item 12): the old way of calling smartnoise-synth
against today's, in one run, then through a real server and client, private and dummy.

1. In this process, on the 344 PENGUIN rows and all seven columns, ε = 1, the library's
   default iterations (30), ``nb_samples`` 200:

   * ``old``: how Veil called MWEM before (the library's nullable encoders, a bin column and a
     null-flag column per binned column; the histogram sized from the codes present in the
     rows; Veil's multiplicative-weights step);
   * ``new``: ``smartnoise_synth.execute`` as it is now (the null as one more bin, the
     histogram sized from the public encoders).

   CPU seconds of this process for each fit, and the histogram's cells.
2. A real ``veil serve`` (subprocess) with PENGUIN registered and granted: the same query
   through the DP client, private (charged, ε 1) then dummy (344 rows): wall time, and CPU
   seconds of the server's process tree (server, engines, their workers).

Usage::

    nice -n 10 python bench/dp_synth.py [--skip-old] [--skip-server]

The last line holds every figure as ``key=value`` pairs (seconds, cells, load averages).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
from _veil import running_veil
from snsynth import Synthesizer
from veil_client import Manager
from veil_client.dp_admin import DPAdminClient
from veil_service.engine.dp import mwem_weights, smartnoise_synth
from veil_service.engine.dp.synth_transformers import build_transformer
from veil_service.engine_contract.dp_metadata import load_metadata_file
from veil_service.engine_contract.dp_requests import SmartnoiseSynthRequest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from shared_data import SHARED_DATA

LOMAS = SHARED_DATA / "lomas"
PENGUIN_CSV = LOMAS / "datasets" / "penguins.csv"
PENGUIN_METADATA = LOMAS / "metadata" / "penguin_metadata.yaml"
EPSILON = 1.0
SAMPLES = 200


def old_fit(frame: pd.DataFrame, metadata: Any) -> tuple[float, int]:
    """The fit as Veil ran it before: CPU seconds, histogram cells."""
    columns = metadata.column_names
    request = SmartnoiseSynthRequest("mwem", EPSILON, None, (), {}, nb_samples=SAMPLES)
    started = time.process_time()
    transformer = build_transformer(
        metadata, columns, style="cube", nullable=True, constraints=None
    )
    model = Synthesizer.create("mwem", epsilon=EPSILON)
    mwem_weights.install(model)  # the multiplicative-weights step only, as before
    rows = smartnoise_synth._fit_rows(frame[columns], request, metadata)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(rows, transformer=transformer, preprocessor_eps=0.0, nullable=True)
        model.sample(SAMPLES)
    return time.process_time() - started, int(model.histograms[0].data.size)


def new_fit(frame: pd.DataFrame, metadata: Any) -> tuple[float, int]:
    """The fit as Veil runs it now: CPU seconds, histogram cells."""
    request = SmartnoiseSynthRequest("mwem", EPSILON, None, (), {}, nb_samples=SAMPLES)
    started = time.process_time()
    result = smartnoise_synth.execute(request, frame, metadata)
    seconds = time.process_time() - started
    assert result.table is not None and len(result.table) == SAMPLES
    transformer = smartnoise_synth._transformer(request, metadata, metadata.column_names)
    return seconds, int(np.prod(transformer.cardinality))


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process, its live descendants and its reaped children."""
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def through_server(figures: dict[str, str]) -> None:
    metadata_text = PENGUIN_METADATA.read_text()
    with running_veil("--dataset-root", str(PENGUIN_CSV.parent)) as veil:
        manager = Manager(base_url=veil.url, api_key=veil.api_key)
        admin = DPAdminClient(manager)
        admin.register_dataset_from_path("PENGUIN", str(PENGUIN_CSV), metadata_text)
        username = manager.whoami()["user"]["username"]
        admin.grant(username, "PENGUIN", 100.0, 1.0)
        client = manager.dp("PENGUIN")
        for mode in ("private", "dummy"):
            cpu = tree_cpu(veil.process.pid)
            wall = time.perf_counter()
            if mode == "private":
                response = client.smartnoise_synth.query("mwem", EPSILON, nb_samples=SAMPLES)
                assert response.charged and response.epsilon == EPSILON
            else:
                response = client.smartnoise_synth.query(
                    "mwem", EPSILON, nb_samples=SAMPLES, dummy=True, nb_rows=344
                )
            figures[f"server_{mode}_wall_s"] = f"{time.perf_counter() - wall:.1f}"
            figures[f"server_{mode}_cpu_s"] = f"{tree_cpu(veil.process.pid) - cpu:.1f}"
            figures[f"server_{mode}_load"] = f"{os.getloadavg()[0]:.1f}"
            assert len(response.result.df_samples) == SAMPLES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--skip-old", action="store_true", help="no baseline fit")
    parser.add_argument("--skip-server", action="store_true", help="no server run")
    args = parser.parse_args()
    metadata = load_metadata_file(PENGUIN_METADATA)
    frame = pd.read_csv(PENGUIN_CSV)
    figures: dict[str, str] = {"load_start": f"{os.getloadavg()[0]:.1f}"}
    new_cpu, new_cells = new_fit(frame, metadata)
    figures.update(new_cpu_s=f"{new_cpu:.1f}", new_cells=str(new_cells))
    print(f"new: {new_cpu:.1f} s CPU, {new_cells:,} cells", flush=True)
    if not args.skip_old:
        old_cpu, old_cells = old_fit(frame, metadata)
        figures.update(old_cpu_s=f"{old_cpu:.1f}", old_cells=str(old_cells))
        figures["speedup"] = f"{old_cpu / new_cpu:.2f}"
        print(f"old: {old_cpu:.1f} s CPU, {old_cells:,} cells", flush=True)
    if not args.skip_server:
        through_server(figures)
    figures["load_end"] = f"{os.getloadavg()[0]:.1f}"
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
