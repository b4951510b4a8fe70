"""Start and stop a real `veil serve` for benchmarks (fresh data dir, bootstrapped key)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

VEIL = [sys.executable, "-m", "veil_service.cli"]


@dataclass(frozen=True)
class RunningVeil:
    """A server subprocess and how to reach it."""

    process: subprocess.Popen[str]
    port: int
    api_key: str
    data_dir: Path

    @property
    def url(self) -> str:
        """Address for Manager(base_url=...)."""
        return f"localhost:{self.port}"


@contextmanager
def running_veil(*extra: str) -> Iterator[RunningVeil]:
    """A fresh data dir, a bootstrapped admin key, `veil serve --port 0`; stopped on exit."""
    data_dir = Path(tempfile.mkdtemp(prefix="veil-bench-"))
    key = (
        subprocess.run(
            [*VEIL, "admin", "bootstrap", "--data-dir", str(data_dir)],
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    process = subprocess.Popen(
        [
            *VEIL,
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            "0",
            "--log-format",
            "json",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise SystemExit(f"veil serve did not start: {line!r}")
    try:
        yield RunningVeil(process, int(line.rsplit(":", 1)[1]), key, data_dir)
    finally:
        process.terminate()
        process.wait(60)
        shutil.rmtree(data_dir, ignore_errors=True)
