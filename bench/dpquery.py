"""DP query benchmark: smartnoise-sql through Veil against smartnoise-sql called directly.

A real ``veil serve`` (subprocess, fresh data dir, bootstrapped admin key) holds two datasets:
PENGUIN (344 rows, lomas/datasets/penguins.csv) and BIG (1,000,000 rows drawn by the dummy
generator from the penguin metadata, registered from Parquet). For each dataset and query
(``COUNT(*)`` and ``AVG(bill_length_mm)``, ε = 0.1, δ = 1e-5), the same query runs

* through Veil: ``manager.dp(name).smartnoise_sql.query`` (gRPC, auth, grant lookup, cost from
  the memoized library cost, atomic charge and archive record, engine round trip, result as Arrow;
  the engine keeps each dataset's SQLite copy between queries);
* directly: ``snsql.from_connection(df, privacy, metadata).execute(query)`` in this process, on
  the same DataFrame and metadata, as Lomas does per request: the floor the issue names. (It
  copies the DataFrame into SQLite on every call, which dominates on the 1M-row table.)

Calls alternate Veil / direct so both see the same background load (the box is shared); the
overhead is the median of the per-pair differences. Then 16 client threads (one channel each) send
COUNT on PENGUIN for a fixed time: queries per second.

The server runs with ``--dp-answer-quantum 0`` unless ``--answer-quantum`` says otherwise: by
default Veil rounds each private answer's time up to whole 0.5 s quanta (a timing side channel
closed, docs/security.md), which would hide the processing overhead this measures behind the
padding; ``--answer-quantum 0.5`` measures what a user of the defaults waits.

A diffprivlib model (``GaussianNB``, ε = 1, on PENGUIN's three bill and flipper measures, species
as the label) runs the same way against the fit Lomas makes per request (diffprivlib on the
DataFrame in this process, the model pickled): through Veil it is fitted in a forked engine
worker and returned as skops bytes; the dummy-data query (public, never padded) runs beside it.

Usage::

    python bench/dpquery.py [--iterations 40] [--big-iterations 3] [--qps-seconds 10]
        [--model-iterations 10] [--answer-quantum 0]

The last line holds every figure as ``key=value`` pairs (milliseconds, queries per second).
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import snsql
from _veil import running_veil
from snsql import Privacy
from veil_client import Manager
from veil_client.dp_admin import DPAdminClient
from veil_service.engine.dp.dummy import make_dummy_dataset
from veil_service.engine_contract.dp_metadata import load_metadata_text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from shared_data import SHARED_DATA

LOMAS = SHARED_DATA / "lomas"
PENGUIN_CSV = LOMAS / "datasets" / "penguins.csv"
PENGUIN_METADATA = LOMAS / "metadata" / "penguin_metadata.yaml"
QUERIES = {
    "count": "SELECT COUNT(*) AS n FROM df",
    "avg": "SELECT AVG(bill_length_mm) AS avg_bill FROM df",
}
EPSILON, DELTA = 0.1, 1e-5
MODEL_FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm"]
MODEL_BOUNDS = ([30.0, 13.0, 150.0], [65.0, 23.0, 250.0])


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def timed(call: Callable[[], object]) -> float:
    """Wall time of one call, in milliseconds."""
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def compare(
    name: str,
    client: object,
    frame: pd.DataFrame,
    metadata_text: str,
    iterations: int,
    figures: dict[str, float],
) -> None:
    """Latency of each query through Veil and directly, alternating."""
    sn_metadata = load_metadata_text(metadata_text).to_smartnoise_dict()
    for label, query in QUERIES.items():

        def veil(query: str = query) -> object:
            return client.smartnoise_sql.query(query, EPSILON, DELTA)  # type: ignore[attr-defined]

        def direct(query: str = query) -> object:
            reader = snsql.from_connection(
                frame, privacy=Privacy(epsilon=EPSILON, delta=DELTA), metadata=sn_metadata
            )
            return reader.execute(query)

        veil()
        direct()
        through: list[float] = []
        floor: list[float] = []
        for i in range(iterations):
            pair = (veil, direct) if i % 2 == 0 else (direct, veil)
            for call in pair:
                (through if call is veil else floor).append(timed(call))
        key = f"{name}_{label}"
        figures[f"{key}_p50_ms"] = statistics.median(through)
        figures[f"{key}_p95_ms"] = percentile(through, 0.95)
        figures[f"{key}_direct_p50_ms"] = statistics.median(floor)
        figures[f"{key}_direct_p95_ms"] = percentile(floor, 0.95)
        # Median of per-pair differences: each pair ran back to back, under the same load.
        figures[f"{key}_overhead_p50_ms"] = statistics.median(
            v - d for v, d in zip(through, floor, strict=True)
        )
        print(
            f"{key:16s} veil p50 {figures[f'{key}_p50_ms']:8.1f} ms  p95 "
            f"{figures[f'{key}_p95_ms']:8.1f} ms | direct p50 "
            f"{figures[f'{key}_direct_p50_ms']:8.1f} ms  p95 "
            f"{figures[f'{key}_direct_p95_ms']:8.1f} ms | overhead p50 "
            f"{figures[f'{key}_overhead_p50_ms']:+7.1f} ms",
            flush=True,
        )


def model_latency(client: object, frame: pd.DataFrame, iterations: int) -> dict[str, float]:
    """A diffprivlib GaussianNB through Veil (private, then dummy) against a direct fit."""
    from diffprivlib.models import GaussianNB

    def model() -> GaussianNB:
        return GaussianNB(epsilon=1.0, bounds=MODEL_BOUNDS)

    def private() -> object:
        return client.diffprivlib.query(model(), MODEL_FEATURES, ["species"])  # type: ignore[attr-defined]

    def dummy() -> object:
        return client.diffprivlib.query(  # type: ignore[attr-defined]
            model(), MODEL_FEATURES, ["species"], dummy=True, nb_rows=344
        )

    rows = frame.dropna(subset=[*MODEL_FEATURES, "species"])

    def direct() -> object:
        fitted = model().fit(rows[MODEL_FEATURES], rows["species"])
        return pickle.dumps(fitted)

    for call in (private, dummy, direct):
        call()
    times: dict[str, list[float]] = {"private": [], "dummy": [], "direct": []}
    for i in range(iterations):
        order = [("private", private), ("dummy", dummy), ("direct", direct)]
        for label, call in order if i % 2 == 0 else order[::-1]:
            times[label].append(timed(call))
    figures = {f"model_{label}_p50_ms": statistics.median(v) for label, v in times.items()}
    figures["model_dummy_overhead_p50_ms"] = statistics.median(
        d - f for d, f in zip(times["dummy"], times["direct"], strict=True)
    )
    print(
        f"diffprivlib GaussianNB: private p50 {figures['model_private_p50_ms']:.0f} ms, "
        f"dummy p50 {figures['model_dummy_p50_ms']:.0f} ms | direct fit p50 "
        f"{figures['model_direct_p50_ms']:.1f} ms | dummy overhead p50 "
        f"{figures['model_dummy_overhead_p50_ms']:+.0f} ms",
        flush=True,
    )
    return figures


def queries_per_second(url: str, api_key: str, dataset: str, clients: int, seconds: float) -> float:
    """COUNT queries per second with ``clients`` threads, each with its own channel."""
    managers = [Manager(base_url=url, api_key=api_key) for _ in range(clients)]
    counts = [0] * clients
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def loop(index: int) -> None:
        client = managers[index].dp(dataset)
        client.smartnoise_sql.query(QUERIES["count"], EPSILON, DELTA)
        start.wait()
        while time.perf_counter() < deadline[0]:
            client.smartnoise_sql.query(QUERIES["count"], EPSILON, DELTA)
            counts[index] += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + 1e9
    start.wait()
    began = time.perf_counter()
    deadline[0] = began + seconds
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    for manager in managers:
        manager.close()
    return sum(counts) / elapsed


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=40, help="queries per PENGUIN case")
    parser.add_argument("--big-iterations", type=int, default=3, help="queries per BIG case")
    parser.add_argument("--big-rows", type=int, default=1_000_000)
    parser.add_argument("--qps-seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--model-iterations", type=int, default=10, help="diffprivlib queries of each kind"
    )
    parser.add_argument(
        "--answer-quantum",
        type=float,
        default=0.0,
        help="the server's --dp-answer-quantum (its default is 0.5 s; 0 measures the work)",
    )
    args = parser.parse_args(argv)

    load_start = os.getloadavg()[0]
    print(f"load average at start: {load_start:.1f}", flush=True)
    penguin_text = PENGUIN_METADATA.read_text()
    big_text = penguin_text.replace("rows: 344", f"rows: {args.big_rows}")
    penguins = pd.read_csv(PENGUIN_CSV)
    big = make_dummy_dataset(load_metadata_text(big_text), nb_rows=args.big_rows, seed=0)
    figures: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory(prefix="veil-dpbench-") as scratch,
        # The server reads registered files only from folders its operator names.
        running_veil(
            "--dataset-root",
            str(LOMAS),
            "--dataset-root",
            scratch,
            "--dp-answer-quantum",
            str(args.answer_quantum),
        ) as veil,
    ):
        big_path = Path(scratch) / "big.parquet"
        pq.write_table(pa.Table.from_pandas(big, preserve_index=False), big_path)
        manager = Manager(base_url=veil.url, api_key=veil.api_key)
        admin = DPAdminClient(manager)
        admin.register_dataset_from_path("PENGUIN", str(PENGUIN_CSV), penguin_text)
        admin.register_dataset_from_path("BIG", str(big_path), big_text)
        username = manager.whoami()["user"]["username"]
        admin.grant(username, "PENGUIN", 1e9, 1.0)
        admin.grant(username, "BIG", 1e9, 1.0)
        compare("penguins", manager.dp("PENGUIN"), penguins, penguin_text, args.iterations, figures)
        compare("big", manager.dp("BIG"), big, big_text, args.big_iterations, figures)
        if args.model_iterations > 0:
            figures.update(model_latency(manager.dp("PENGUIN"), penguins, args.model_iterations))
        figures[f"qps_{args.clients}"] = queries_per_second(
            veil.url, veil.api_key, "PENGUIN", args.clients, args.qps_seconds
        )
        print(f"{args.clients} clients: {figures[f'qps_{args.clients}']:.1f} queries/s", flush=True)
        manager.close()
    figures["load_average"] = load_start
    figures["answer_quantum_s"] = args.answer_quantum
    print(f"load average at the end: {os.getloadavg()[0]:.1f}", flush=True)
    figures["direct_p50_ms"] = figures["penguins_count_direct_p50_ms"]
    figures["overhead_p50_ms"] = figures["penguins_count_overhead_p50_ms"]
    print(" ".join(f"{k}={v:.2f}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
