"""deploy/compose.scale.yaml, checked without a Docker engine: the topology of docs/scale.md
(PostgreSQL, a Dask scheduler and two workers, two Veil servers on one blob volume), and every
Veil command in it parses with the real ``veil`` argument parser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from veil_service.cli import build_parser

COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "compose.scale.yaml"


def _services() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def test_the_topology_is_postgresql_a_dask_scheduler_two_workers_and_two_servers() -> None:
    services = _services()
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["dask-scheduler"]["command"][0] == "scheduler"
    workers = [s for name, s in services.items() if name.startswith("dask-worker")]
    assert len(workers) == 2
    assert all(w["command"][:2] == ["worker", "tcp://dask-scheduler:8786"] for w in workers)
    servers = {name: s for name, s in services.items() if name.startswith("veil-")}
    assert len(servers) == 2
    published = {s["ports"][0].split(":")[0] for s in servers.values()}
    assert len(published) == 2


def test_the_servers_share_the_database_and_blob_volume_but_not_their_data_dirs() -> None:
    servers = [s for name, s in _services().items() if name.startswith("veil-")]
    urls = {s["environment"]["VEIL_DATABASE_URL"] for s in servers}
    assert len(urls) == 1 and urls.pop().startswith("postgresql+psycopg://veil:")
    data_volumes = set()
    for server in servers:
        args = build_parser().parse_args(server["command"])
        assert args.func.__name__ == "_cmd_serve"
        assert args.dask_scheduler == "tcp://dask-scheduler:8786"
        mounts = dict(v.split(":")[::-1] for v in server["volumes"])
        assert mounts[args.blob_dir] == "blobs"
        data_volumes.add(mounts[args.data_dir])
    assert len(data_volumes) == 2
    assert server["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_workers_mount_the_blob_volume_where_the_servers_keep_it() -> None:
    """The partition path hands workers absolute paths in the blob dir (docs/scale.md 7b)."""
    services = _services()
    blob_dirs = {
        build_parser().parse_args(s["command"]).blob_dir
        for name, s in services.items()
        if name.startswith("veil-")
    }
    assert len(blob_dirs) == 1
    blob_dir = blob_dirs.pop()
    for name, service in services.items():
        if name.startswith("dask-worker"):
            assert f"blobs:{blob_dir}" in service["volumes"], name
