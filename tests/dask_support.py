"""A real dask.distributed cluster on localhost for the tests: ``dask scheduler`` and ``dask
worker`` processes (no nanny, so that killing a worker really removes it)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

DASK = str(Path(sys.executable).parent / "dask")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DaskCluster:
    """One scheduler and ``workers`` single-threaded workers, each a process of its own."""

    def __init__(self, workers: int, log_dir: Path) -> None:
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.log_dir = log_dir
        port = self.address.rsplit(":", 1)[1]
        self.scheduler = self._spawn(
            "scheduler",
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"],
        )
        self.workers = [
            self._spawn(
                f"worker{i}",
                [
                    DASK,
                    "worker",
                    self.address,
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--memory-limit",
                    "0",
                    "--name",
                    f"w{i}",
                    "--death-timeout",
                    "60",
                ],
            )
            for i in range(workers)
        ]
        self.wait_for_workers(workers)

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
        with open(self.log_dir / f"dask-{name}.log", "wb") as log:  # the child keeps its copy
            return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)

    def client(self) -> object:
        """A client of the scheduler (closed by the caller)."""
        from distributed import Client

        return Client(self.address, set_as_default=False, timeout=60)

    def wait_for_workers(self, count: int, timeout: float = 120) -> None:
        """Wait until ``count`` workers are connected."""
        from distributed import Client

        deadline = time.monotonic() + timeout
        while True:
            try:
                with Client(self.address, set_as_default=False, timeout=10) as client:
                    client.wait_for_workers(count, timeout=max(1.0, deadline - time.monotonic()))
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def worker_pids(self) -> dict[str, int]:
        """Worker address -> process id."""
        from distributed import Client

        with Client(self.address, set_as_default=False, timeout=30) as client:
            return dict(client.run(os.getpid))

    def kill_worker(self, pid: int) -> None:
        """kill -9 one worker process."""
        os.kill(pid, signal.SIGKILL)

    def kill_a_busy_worker_during(self, work: Callable[[], T], timeout: float = 300) -> T:
        """Run ``work`` on a thread, kill -9 the first worker seen processing a task, and
        return what ``work`` returned once it finished (its exception is raised here).

        Shared by the batch and the partition tests: both show that Dask reruns a dead
        worker's tasks and that the result does not change.
        """
        from distributed import Client

        outcome: list[T] = []
        failure: list[BaseException] = []

        def run() -> None:
            try:
                outcome.append(work())
            except BaseException as exc:  # raised in the test's thread below
                failure.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        with Client(self.address, set_as_default=False, timeout=30) as client:
            deadline = time.monotonic() + 120
            busy: list[str] = []
            while not busy and time.monotonic() < deadline and thread.is_alive():
                busy = [w for w, keys in client.processing().items() if keys]
                time.sleep(0.02)
            # The client already connected asks the pids: a second client connecting while
            # the scheduler is busy failed its handshake once (distributed's `assert len(msg)
            # == 1` in `Client._ensure_connected`, a CI run of 2026-12-07).
            victim = dict(client.run(os.getpid))[busy[0]] if busy else None
        if victim is not None:
            self.kill_worker(victim)
        thread.join(timeout)
        assert not thread.is_alive(), f"the work did not finish within {timeout} s of the kill"
        if failure:
            raise failure[0]
        assert victim is not None, "no task reached a worker before the work ended"
        return outcome[0]

    def stop(self) -> None:
        """End every process of the cluster."""
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)
