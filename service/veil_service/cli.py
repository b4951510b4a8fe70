"""The ``veil`` command: ``serve``, ``engine``, and ``admin`` (the ``admin_cli`` package)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from veil_service.errors import VeilServiceError


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=None, help="data dir (default ./veil-data)")
    parser.add_argument("--database-url", default=None, help="SQLAlchemy URL of the database")


def _cmd_serve(args: argparse.Namespace) -> int:
    from veil_wire.malloc_tuning import tune_malloc

    tune_malloc()  # before gRPC starts its threads: see the module for why and what
    from veil_service.logs import configure_logging
    from veil_service.server.app import serve
    from veil_service.settings import load_settings

    settings = load_settings(
        {
            "data_dir": args.data_dir,
            "host": args.host,
            "port": args.port,
            "database_url": args.database_url,
            "blob_dir": args.blob_dir,
            "job_lease_seconds": args.job_lease_seconds,
            "engines": args.engine or None,
            "dask_scheduler": args.dask_scheduler,
            "dask_partition_threshold_rows": args.dask_partition_threshold_rows,
            "dask_partition_rows": args.dask_partition_rows,
            "dataset_roots": args.dataset_root or None,
            "dataset_url_prefixes": args.dataset_url_prefix or None,
            "dataset_url_max_bytes": args.dataset_url_max_bytes,
            "task_time_limits": args.task_time_limit or None,
            "engine_slots_per_user": args.engine_slots_per_user,
            "dp_answer_quantum_s": args.dp_answer_quantum,
            "dp_synth_max_epochs": args.dp_synth_max_epochs,
            "engine_capacity": args.engine_capacity,
            "tls_cert": args.tls_cert,
            "tls_key": args.tls_key,
            "smtp_host": args.smtp_host,
            "smtp_port": args.smtp_port,
            "smtp_from": args.smtp_from,
            "smtp_user": args.smtp_user,
            "smtp_starttls": args.smtp_starttls or None,
            "smtp_tls": args.smtp_tls or None,
            "allow_pickle": args.allow_pickle or None,
            "log_format": args.log_format,
            "web_port": args.web_port,
        }
    )
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(serve(settings))
    return 0


def _cmd_engine(args: argparse.Namespace) -> int:
    from veil_wire.malloc_tuning import tune_malloc

    tune_malloc()
    # The engine's work dir holds copies of private tables: its files are this user's alone
    # (as the server's; a local child inherits the server's umask anyway).
    os.umask(0o077)
    if args.dask_scheduler:  # read by engine.dask_cluster in every task process
        os.environ["VEIL_DASK_SCHEDULER"] = args.dask_scheduler
    from veil_service.engine.server import serve_engine
    from veil_service.logs import configure_logging

    configure_logging("INFO", "auto")
    asyncio.run(
        serve_engine(
            args.listen,
            work_dir=Path(args.work_dir).resolve(),
            capacity=args.capacity,
            cache_bytes=args.cache_mib << 20,
        )
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(prog="veil", description="Veil privacy service")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gRPC server (and a local engine)")
    _add_data_dir(serve)
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument(
        "--engine",
        action="append",
        default=[],
        help="address of a remote engine (repeatable); none = local child",
    )
    serve.add_argument("--engine-capacity", type=int, default=None)
    serve.add_argument(
        "--dask-scheduler",
        default=None,
        help="dask.distributed scheduler (tcp://host:8786) for the batches of large tables",
    )
    serve.add_argument(
        "--dask-partition-threshold-rows",
        type=int,
        default=None,
        help="with --dask-scheduler, tables of at least this many rows are read by the Dask "
        "workers as Parquet partitions from the blob dir (default 1000000; 0: never)",
    )
    serve.add_argument(
        "--dask-partition-rows",
        type=int,
        default=None,
        help="rows of each such partition (default 250000)",
    )
    serve.add_argument(
        "--blob-dir",
        default=None,
        help="folder of stored tables and results (default: the data dir); servers sharing "
        "one database share it",
    )
    serve.add_argument(
        "--job-lease-seconds",
        type=float,
        default=None,
        help="a job whose server stops renewing its lease this long is taken over (default 30)",
    )
    serve.add_argument(
        "--task-time-limit",
        action="append",
        default=[],
        metavar="KIND=SECONDS",
        help="time limit of an engine task kind (repeatable; dp_query:dummy for dummy queries)",
    )
    serve.add_argument(
        "--dp-answer-quantum",
        type=float,
        default=None,
        help="round private DP answer times up to a multiple of this many seconds "
        "(timing-attack protection; default 0.5, 0 disables)",
    )
    serve.add_argument(
        "--dp-synth-max-epochs",
        type=int,
        default=None,
        help="most epochs (PATE-GAN: rounds) a GAN synthesizer may train for one DP query; "
        "larger requests are refused with the limit (default 1000). Bound the fit's time with "
        "--task-time-limit dp_query=SECONDS",
    )
    serve.add_argument(
        "--engine-slots-per-user",
        type=int,
        default=None,
        help="worker slots one user may hold at once (default: all but one)",
    )
    serve.add_argument(
        "--dataset-root",
        action="append",
        default=[],
        help="folder RegisterDatasetFromPath may read from (repeatable); none disables it",
    )
    serve.add_argument(
        "--dataset-url-prefix",
        action="append",
        default=[],
        help="URL prefix (scheme://host[:port][/path]) RegisterDatasetFromUrl may read "
        "(repeatable); none disables it",
    )
    serve.add_argument(
        "--dataset-url-max-bytes",
        type=int,
        default=None,
        help="largest file RegisterDatasetFromUrl downloads (default 4 GiB)",
    )
    serve.add_argument("--tls-cert", default=None)
    serve.add_argument("--tls-key", default=None)
    serve.add_argument("--smtp-host", default=None)
    serve.add_argument("--smtp-port", type=int, default=None)
    serve.add_argument("--smtp-from", default=None)
    serve.add_argument("--smtp-user", default=None)
    serve.add_argument("--smtp-starttls", action="store_true")
    serve.add_argument("--smtp-tls", action="store_true")
    serve.add_argument(
        "--allow-pickle", action="store_true", help="let clients opt in to pickled models"
    )
    serve.add_argument("--log-format", choices=["auto", "json", "text"], default=None)
    serve.add_argument(
        "--web-port",
        type=int,
        default=None,
        help="also serve the web application on this port (same host and TLS; off by default)",
    )
    serve.set_defaults(func=_cmd_serve)

    engine = sub.add_parser("engine", help="run an engine alone")
    engine.add_argument("--listen", required=True, help="e.g. 127.0.0.1:50052 or unix:///path")
    engine.add_argument("--work-dir", default="./veil-engine")
    engine.add_argument("--capacity", type=int, default=2)
    engine.add_argument("--cache-mib", type=int, default=2048)
    engine.add_argument(
        "--dask-scheduler",
        default=None,
        help="dask.distributed scheduler (tcp://host:8786) for the batches of large tables",
    )
    engine.set_defaults(func=_cmd_engine)

    from veil_service import admin_cli

    admin_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``veil`` command."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except VeilServiceError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
