"""Defect 6: a crashed server takes its engine with it (issue 19).

The attack: after ``kill -9`` of ``veil serve``, the engine child, its forkserver and resource
tracker (330-600 MB each) lived on forever and finished the in-flight task. Now the engine dies
with its parent (PR_SET_PDEATHSIG), its forkserver and workers follow, and a server starting on
the same data dir ends any engine a previous one left. Here ``veil serve`` is killed twice
(five times under ``make soak``) and the processes left behind are counted.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import grpc
import psutil
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support import assert_eventually, soak

# Measures wall-clock time: runs alone after the parallel part of `make test`.
pytestmark = pytest.mark.serial

KILLS = soak(2, 5)
"""Two kills check both rules (the engine dies with its server; a new server ends what a
previous one left); ``make soak`` repeats five times."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _of(data_dir: Path) -> list[psutil.Process]:
    """Every live process whose command line names this data dir (engine, forkserver, ...)."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        try:
            if process.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            command = " ".join(process.info["cmdline"] or ())
            if str(data_dir) in command or any(
                str(data_dir) in str(p.path) for p in process.open_files()
            ):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _serving(port: int) -> bool:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=1
            )
        except grpc.RpcError:
            return False
    return answer.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.soak
def test_killing_the_server_leaves_no_engine_behind(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {**os.environ, "VEIL_LOG_FORMAT": "text"}
    for attempt in range(KILLS):
        port = _free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "veil_service.cli",
                "serve",
                "--data-dir",
                str(data_dir),
                "--port",
                str(port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        family: list[psutil.Process] = []
        try:
            assert_eventually(lambda p=port: _serving(p), timeout=90, message="not serving")
            # The engine child, its forkserver and the resource tracker.
            assert_eventually(
                lambda s=server: len(psutil.Process(s.pid).children(recursive=True)) >= 2,
                timeout=30,
                message="engine not started",
            )
            family = psutil.Process(server.pid).children(recursive=True)
            assert any("engine" in " ".join(p.cmdline()) for p in family)
        finally:
            server.send_signal(signal.SIGKILL)
            server.wait(30)
        assert_eventually(
            lambda f=family: not [p for p in f if _alive(p)] and _of(data_dir) == [],
            timeout=20,
            message=f"after kill {attempt + 1}: {[p.pid for p in family if _alive(p)]} live on",
        )
