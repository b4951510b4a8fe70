"""A/B of Veil uploads: two Veil servers, the same client, alternating rounds.

A tool for work on the upload path, not a target benchmark. On this 2-core VM two full runs of
``bench/stream.py`` on the same code differ by up to 0.3 in ``upload_ratio``, which hides any
change worth less than that. Running the two variants side by side, in alternating order, with
per-round ratios, shows a 5-10 % difference in about 15 rounds.

The variants are two ``veil`` executables (a worktree with its own venv holding the change, say)
and/or two sets of server environment variables. Both servers receive the same in-memory table
through the same client (this environment's ``veil_client``), with ``replace=True`` as in
``bench/stream.py``, and an untimed ``sync`` after each upload.

Usage::

    python bench/stream_ab.py --rounds 15                       # A/A: the noise floor
    python bench/stream_ab.py --b-veil ../other/.venv/bin/veil  # this build (A) against another (B)
    python bench/stream_ab.py --a-env VEIL_MALLOC_TUNING=off    # one setting against the default

The last line holds the figures as ``key=value`` pairs (``ratio`` = median of A/B per round).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from contextlib import ExitStack
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stream import generate_table, ipc_stream_size, measure, veil_server


def _env_pairs(values: list[str]) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name:
            raise SystemExit(f"--a-env/--b-env take NAME=VALUE, got {value!r}")
        pairs[name] = setting
    return pairs


def run(args: argparse.Namespace) -> int:
    """Start both servers, alternate uploads, print per-round and median figures."""
    from veil_client import Manager

    table = generate_table(args.size_mb * 10**6)
    gigabytes = ipc_stream_size(table) / 1e9
    variants = {
        "a": (args.a_veil, _env_pairs(args.a_env)),
        "b": (args.b_veil, _env_pairs(args.b_env)),
    }
    rows: dict[str, list[tuple[float, float, float]]] = {"a": [], "b": []}
    with ExitStack() as stack:
        targets = {}
        for name, (veil, env) in variants.items():
            data_dir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix=f"veil-ab-{name}-"))
            )
            port, key, process = stack.enter_context(veil_server(data_dir, veil, env))
            manager = Manager(base_url=f"localhost:{port}", api_key=key)
            stack.callback(manager.close)
            targets[name] = (manager, manager.runs_api.create_run("ab").id, process.pid)
        for index in range(args.warmup + args.rounds):
            for name in ("a", "b") if index % 2 == 0 else ("b", "a"):
                manager, run_id, pid = targets[name]
                result = measure(
                    partial(manager.runs_api.upload_table, run_id, "t", table, replace=True),
                    pid,
                    gigabytes,
                )
                if index >= args.warmup:
                    rows[name].append(result)
            if index >= args.warmup:
                a, b = rows["a"][-1], rows["b"][-1]
                print(
                    f"round {index + 1 - args.warmup}: A {a[0]:.0f} MB/s (server {a[1]:.2f} "
                    f"client {a[2]:.2f} CPU s/GB)  B {b[0]:.0f} MB/s (server {b[1]:.2f} "
                    f"client {b[2]:.2f})  A/B {a[0] / b[0]:.2f}",
                    flush=True,
                )
    ratios = [a[0] / b[0] for a, b in zip(rows["a"], rows["b"], strict=True)]
    figures = {
        "ratio": f"{statistics.median(ratios):.3f}",
        "ratio_min": f"{min(ratios):.2f}",
        "ratio_max": f"{max(ratios):.2f}",
    }
    for name in ("a", "b"):
        columns = list(zip(*rows[name], strict=True))
        figures[f"{name}_upload_mbps"] = f"{statistics.median(columns[0]):.0f}"
        figures[f"{name}_server_cpu_s_per_gb"] = f"{statistics.median(columns[1]):.2f}"
        figures[f"{name}_client_cpu_s_per_gb"] = f"{statistics.median(columns[2]):.2f}"
    print(
        f"table_mb={gigabytes * 1000:.0f} rounds={args.rounds} "
        + " ".join(f"{k}={v}" for k, v in figures.items()),
        flush=True,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse flags and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--size-mb",
        type=int,
        default=500,
        help="minimum size of the IPC stream, in 10**6 bytes (default 500)",
    )
    parser.add_argument("--rounds", type=int, default=15, help="measured rounds (default 15)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured rounds first")
    for name in ("a", "b"):
        parser.add_argument(
            f"--{name}-veil",
            metavar="PATH",
            help=f"`veil` executable of variant {name.upper()} (default: this environment's)",
        )
        parser.add_argument(
            f"--{name}-env",
            metavar="NAME=VALUE",
            action="append",
            default=[],
            help=f"environment variable for variant {name.upper()}'s server (repeatable)",
        )
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
