"""The `veil` command as operators use it: bootstrap, serve, remote engine, graceful stop."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support import FIXTURES
from veil_client import Manager, NotFound, Unauthenticated

VEIL = [sys.executable, "-m", "veil_service.cli"]


def _serve(data_dir: Path, *extra: str) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [*VEIL, "serve", "--data-dir", str(data_dir), "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    process.stdout.close()
    assert "listening on 127.0.0.1:" in line, line
    return process, int(line.rsplit(":", 1)[1])


def test_bootstrap_prints_the_key_alone_on_its_last_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [*VEIL, "admin", "bootstrap", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    key = done.stdout.strip().splitlines()[-1]
    assert key.startswith("veil_") and " " not in key
    again = subprocess.run(
        [*VEIL, "admin", "bootstrap", "--data-dir", str(tmp_path)], capture_output=True, text=True
    )
    assert again.returncode != 0 and "already exists" in again.stderr
    assert key not in (tmp_path / "veil.db").read_bytes().decode("latin-1")


def test_serve_health_auth_and_graceful_stop(tmp_path: Path) -> None:
    key = subprocess.run(
        [*VEIL, "admin", "bootstrap", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[-1]
    process, port = _serve(tmp_path)
    try:
        manager = Manager(base_url=f"grpc://localhost:{port}", api_key=key)
        assert manager.get_health() == {"status": "SERVING"}
        assert manager.whoami()["user"]["username"] == "admin"
        with pytest.raises(Unauthenticated, match="missing credentials"):
            Manager(base_url=f"localhost:{port}", api_key="").whoami()
        with pytest.raises(Unauthenticated):
            Manager(base_url=f"localhost:{port}", api_key="veil_wrong").whoami()
        with pytest.raises(NotFound, match="Dataset x does not exist"):
            manager.dp("x").get_remaining_budget()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    assert not (tmp_path / "tmp").exists() or not any((tmp_path / "tmp").iterdir())


def test_health_turns_not_serving_on_sigterm_while_a_call_runs(tmp_path: Path) -> None:
    key = subprocess.run(
        [*VEIL, "admin", "bootstrap", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[-1]
    process, port = _serve(tmp_path)
    channel = grpc.insecure_channel(f"localhost:{port}")
    health = health_pb2_grpc.HealthStub(channel)
    watch = health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=30)
    assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
    process.send_signal(signal.SIGTERM)
    assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert process.wait(30) == 0
    channel.close()
    assert key


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_with_a_remote_engine(tmp_path: Path) -> None:
    port = _free_port()
    engine = subprocess.Popen(
        [*VEIL, "engine", "--listen", f"127.0.0.1:{port}", "--work-dir", str(tmp_path / "engine")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert engine.stdout is not None and "listening" in engine.stdout.readline()
        engine.stdout.close()
        key = subprocess.run(
            [*VEIL, "admin", "bootstrap", "--data-dir", str(tmp_path / "d")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()[-1]
        server, server_port = _serve(tmp_path / "d", "--engine", f"127.0.0.1:{port}")
        try:
            manager = Manager(base_url=f"localhost:{server_port}", api_key=key)
            run = manager.runs_api.create_run("remote")
            manager.runs_api.upload_table(run.id, "iris", FIXTURES / "tables" / "iris.csv")
            stats = manager.runs_api.describe_table(run.id, "iris")
            assert [c.name for c in stats.columns][:2] == ["sepal.length", "sepal.width"]
            assert abs((stats.columns[0].mean or 0.0) - 5.843) < 0.01
            assert not (tmp_path / "d" / "run" / "engine.sock").exists()
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
    finally:
        engine.send_signal(signal.SIGTERM)
        engine.wait(30)
    time.sleep(0)
