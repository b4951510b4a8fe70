"""Streaming benchmark: Veil's table upload/download against Apache Arrow Flight.

Both servers run as subprocesses on 127.0.0.1 in the same run and receive the same in-memory
pyarrow Table, so the only difference is the transport and what each server does with the bytes:

* Veil: ``veil serve`` (its real CLI, a fresh data dir, a bootstrapped API key); upload through
  ``Manager.runs_api.upload_table`` (temp file, fsync, validation, rename, DB row) and download
  through ``download_arrow`` (decoded to a Table, sha256 checked).
* Flight: a ``pyarrow.flight`` server whose ``do_put`` writes the batches to a file with
  ``ipc.new_stream`` on an ``OSFile`` and whose ``do_get`` streams that file back from an
  ``OSFile`` (never the whole table in memory), the reference the issue asks us to match.
* Flight with Veil's guarantees (context only, not in the ratios the targets are about): the
  same server, but ``do_put`` also computes the sha256 of the IPC bytes it writes (on a helper
  thread) and fsyncs the file before answering, which is what Veil does for every upload. It
  shows how much of the upload gap is the cost of those two guarantees rather than transport.

Rounds alternate which system goes first, so both see the same background load, and every
operation is followed by an untimed ``sync`` so that no operation pays for the previous one's
disk writeback (Veil fsyncs every upload before acknowledging it, inside the timed region; the
Flight reference does not, and left alone its dirty pages slowed whatever ran next). The ratios
are the median of per-round ratios, which is robust on a shared, noisy 2-core box. One
unmeasured warm-up round of each system comes first (``--warmup``): on this VM the first touch
of fresh memory is several times slower than reuse, and it would otherwise land on whoever goes
first.
MB = 10**6 bytes of the uncompressed Arrow IPC stream. CPU seconds per GB (server process, and
client process with all its threads) are printed too: under CPU contention the throughput
ratio follows the ratio of total CPU cost.

Usage::

    python bench/stream.py --size-mb 500 --rounds 5

The last line printed holds every figure as ``key=value`` pairs.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight
import pyarrow.ipc as ipc
from veil_wire.digest import BackgroundDigest

BATCH_ROWS = 65_536
BYTES_PER_ROW_ESTIMATE = 103
"""IPC bytes per row of the generated schema, measured; used to size the table, then checked."""

LISTEN_RE = re.compile(r"veil serve listening on (\S+):(\d+)")


# --------------------------------------------------------------------------------------- data


def generate_table(target_bytes: int, seed: int = 7) -> pa.Table:
    """A table shaped like the probe's (grpc_arrow.md section 1) of at least ``target_bytes``.

    8 float64 (4 random normals, 4 rounded random walks), 2 int64 (sequential id, small-range
    ints), 1 utf8 of 6-24 characters from a 200k-string pool and 1 dictionary column of 50
    categories, in 65,536-row batches. Rows are added until the IPC stream reaches the target.
    """
    rng = np.random.default_rng(seed)
    lengths = rng.integers(6, 25, size=200_000)
    letters = (
        rng.choice(
            np.frombuffer(b"abcdefghijklmnopqrstuvwxyz0123456789", np.uint8), int(lengths.sum())
        )
        .tobytes()
        .decode()
    )
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    pool = pa.array([letters[a:b] for a, b in itertools.pairwise(offsets)])
    categories = pa.array([f"category_{i:02d}" for i in range(50)])
    rows = -(-target_bytes // BYTES_PER_ROW_ESTIMATE)
    batches: list[pa.RecordBatch] = []
    start = 0
    while True:
        n = BATCH_ROWS
        columns: dict[str, pa.Array] = {}
        for i in range(4):
            columns[f"normal_{i}"] = pa.array(rng.standard_normal(n))
        for i in range(4):
            walk = np.cumsum(rng.standard_normal(n)) + 100.0 * i
            columns[f"walk_{i}"] = pa.array(np.round(walk, 2))
        columns["id"] = pa.array(np.arange(start, start + n, dtype=np.int64))
        columns["small_int"] = pa.array(rng.integers(0, 1000, n, dtype=np.int64))
        columns["label"] = pool.take(pa.array(rng.integers(0, len(pool), n)))
        columns["category"] = pa.DictionaryArray.from_arrays(
            pa.array(rng.integers(0, 50, n, dtype=np.int32)), categories
        )
        batches.append(pa.RecordBatch.from_pydict(columns))
        start += n
        if start >= rows and ipc_stream_size(pa.Table.from_batches(batches)) >= target_bytes:
            break
    return pa.Table.from_batches(batches)


def ipc_stream_size(table: pa.Table) -> int:
    """Bytes of ``table`` as an uncompressed Arrow IPC stream (measured, nothing kept)."""
    sink = pa.MockOutputStream()
    with ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=BATCH_ROWS):
            writer.write_batch(batch)
    return int(sink.size())


# -------------------------------------------------------------------------------- flight side


class _HashingFile:
    """A write-only file for ``ipc.new_stream``: bytes to disk, sha256 on a helper thread.

    The hashing thread is Veil's own :class:`BackgroundDigest`, so both sides hash the same way.
    """

    def __init__(self, path: str) -> None:
        self._file = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._digest = BackgroundDigest()
        self.closed = False

    def write(self, data: bytes) -> int:
        self._digest.update(memoryview(data))
        return int(self._file.write(data))

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if not self.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._digest.close()
            self.closed = True

    def hexdigest(self) -> str:
        return str(self._digest.hexdigest())


class FileFlightServer(flight.FlightServerBase):  # type: ignore[misc]
    """Flight's reference store-and-forward server: batches to a file and back, via OSFile.

    With ``durable``, ``do_put`` also hashes the IPC bytes and fsyncs them before answering.
    """

    def __init__(self, location: str, directory: Path, durable: bool = False) -> None:
        super().__init__(location)
        self._directory = directory
        self._durable = durable

    def _path(self, descriptor: flight.FlightDescriptor) -> str:
        return str(self._directory / (descriptor.path[0].decode() + ".arrows"))

    def do_put(
        self,
        context: object,
        descriptor: flight.FlightDescriptor,
        reader: flight.MetadataRecordBatchReader,
        writer: flight.FlightMetadataWriter,
    ) -> None:
        if self._durable:
            sink = _HashingFile(self._path(descriptor))
            with ipc.new_stream(pa.PythonFile(sink, mode="w"), reader.schema) as out:
                for chunk in reader:
                    out.write_batch(chunk.data)
            sink.close()
            writer.write(pa.py_buffer(sink.hexdigest().encode()))
            return
        with (
            pa.OSFile(self._path(descriptor), "wb") as sink,
            ipc.new_stream(sink, reader.schema) as out,
        ):
            for chunk in reader:
                out.write_batch(chunk.data)

    def do_get(self, context: object, ticket: flight.Ticket) -> flight.RecordBatchStream:
        source = pa.OSFile(str(self._directory / (ticket.ticket.decode() + ".arrows")), "rb")
        return flight.RecordBatchStream(ipc.open_stream(source))


def serve_flight(directory: str, durable: bool = False) -> None:
    """Entry of the Flight subprocess: print the port, serve until killed."""
    server = FileFlightServer("grpc://127.0.0.1:0", Path(directory), durable)
    print(f"flight listening on 127.0.0.1:{server.port}", flush=True)
    server.serve()


def flight_upload(client: flight.FlightClient, table: pa.Table, name: str) -> None:
    """Put ``table`` in 65,536-row batches and wait until the server has written it."""
    writer, _ = client.do_put(flight.FlightDescriptor.for_path(name), table.schema)
    for batch in table.to_batches(max_chunksize=BATCH_ROWS):
        writer.write_batch(batch)
    writer.close()


def flight_download(client: flight.FlightClient, name: str) -> pa.Table:
    """Get a stored table back, decoded."""
    return client.do_get(flight.Ticket(name.encode())).read_all()


# ---------------------------------------------------------------------------------- processes


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    """VmHWM (peak resident set) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


def _read_listen_line(
    process: subprocess.Popen[str], pattern: re.Pattern[str], what: str
) -> re.Match[str]:
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"{what} exited before listening (code {process.wait()})")
        match = pattern.search(line)
        if match:
            return match
    raise RuntimeError(f"{what} did not report its port within 120 s")


@contextmanager
def veil_server(
    data_dir: Path, veil: str | None = None, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[int, str, subprocess.Popen[str]]]:
    """Bootstrap a key and run ``veil serve --port 0``; yields (port, key, process).

    Args:
        veil: The ``veil`` executable (default: the one of this environment).
        extra_env: Variables added to the server's environment.
    """
    veil = veil or shutil.which("veil") or str(Path(sys.executable).with_name("veil"))
    boot = subprocess.run(
        [veil, "admin", "bootstrap", "--data-dir", str(data_dir)],
        check=True,
        capture_output=True,
        text=True,
    )
    key = boot.stdout.strip().splitlines()[-1]
    env = {**os.environ, "VEIL_LOG_LEVEL": "WARNING", **(extra_env or {})}
    process = subprocess.Popen(
        [veil, "serve", "--data-dir", str(data_dir), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        match = _read_listen_line(process, LISTEN_RE, "veil serve")
        yield int(match.group(2)), key, process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def flight_server(
    directory: Path, durable: bool = False
) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    """Run :func:`serve_flight` in a subprocess; yields (port, process)."""
    process = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve-flight",
            str(directory),
            *(["--durable"] if durable else []),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        match = _read_listen_line(
            process, re.compile(r"flight listening on (\S+):(\d+)"), "flight server"
        )
        yield int(match.group(2)), process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --------------------------------------------------------------------------------------- main


@dataclass
class Figures:
    """MB/s and CPU seconds per GB of every measured operation, in round order."""

    rates: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def add(self, key: str, mbps: float, server_cpu: float, client_cpu: float) -> None:
        self.rates.setdefault(key, []).append(mbps)
        self.cpu.setdefault(key, []).append((server_cpu, client_cpu))

    def median(self, key: str) -> float:
        return statistics.median(self.rates[key])

    def median_cpu(self, key: str, side: int) -> float:
        return statistics.median(c[side] for c in self.cpu[key])

    def ratio(self, op: str, baseline: str = "flight") -> float:
        """Median over rounds of Veil's MB/s divided by the baseline's in the same round."""
        pairs = zip(self.rates[f"veil_{op}"], self.rates[f"{baseline}_{op}"], strict=True)
        return statistics.median(v / f for v, f in pairs)


def measure(
    action: Callable[[], None], server_pid: int, gigabytes: float
) -> tuple[float, float, float]:
    """(MB/s, server CPU s/GB, client CPU s/GB) of one call of ``action``."""
    server_start, client_start = cpu_seconds(server_pid), time.process_time()
    start = time.perf_counter()
    action()
    seconds = time.perf_counter() - start
    cpu = cpu_seconds(server_pid) - server_start, time.process_time() - client_start
    # Flush dirty pages outside the timed region, so the next operation does not pay for this
    # one's writeback: the Flight server leaves a whole table dirty (it never fsyncs), and the
    # kernel writing it out during the next measurement cost that one up to 3x.
    os.sync()
    return gigabytes * 1000 / seconds, cpu[0] / gigabytes, cpu[1] / gigabytes


def run(size_mb: int, rounds: int, warmup: int = 1) -> int:
    """Generate the table, start both servers, alternate rounds, print the figures."""
    from veil_client import Manager

    print(
        f"load average {os.getloadavg()[0]:.1f}; generating a table of at least {size_mb} MB "
        "of Arrow IPC stream ...",
        flush=True,
    )
    table = generate_table(size_mb * 10**6)
    stream_bytes = ipc_stream_size(table)
    mb = stream_bytes / 1e6
    print(
        f"table: {table.num_rows:,} rows, {table.num_columns} columns, "
        f"{stream_bytes:,} bytes of IPC stream",
        flush=True,
    )
    figures = Figures()
    with tempfile.TemporaryDirectory(prefix="veil-bench-") as tmp:
        root = Path(tmp)
        (root / "veil").mkdir()
        (root / "flight").mkdir()
        (root / "durable").mkdir()
        with (
            veil_server(root / "veil") as (port, key, veil_process),
            flight_server(root / "flight") as (flight_port, flight_process),
            flight_server(root / "durable", durable=True) as (durable_port, durable_process),
        ):
            manager = Manager(base_url=f"localhost:{port}", api_key=key)
            run_id = manager.runs_api.create_run("bench").id
            client = flight.FlightClient(f"grpc://127.0.0.1:{flight_port}")
            durable_client = flight.FlightClient(f"grpc://127.0.0.1:{durable_port}")

            def veil_put() -> None:
                manager.runs_api.upload_table(run_id, "t", table, replace=True)

            def veil_get() -> None:
                got = manager.runs_api.download_arrow(run_id, "t")
                assert got.num_rows == table.num_rows, "veil download lost rows"

            def flight_put() -> None:
                flight_upload(client, table, "t")

            def flight_get() -> None:
                got = flight_download(client, "t")
                assert got.num_rows == table.num_rows, "flight download lost rows"

            def durable_put() -> None:
                flight_upload(durable_client, table, "t")

            operations: dict[str, dict[str, Callable[[], None]]] = {
                "upload": {"veil": veil_put, "flight": flight_put, "flight_durable": durable_put},
                "download": {"veil": veil_get, "flight": flight_get},
            }
            pids = {
                "veil": veil_process.pid,
                "flight": flight_process.pid,
                "flight_durable": durable_process.pid,
            }
            for index in range(warmup + rounds):
                order = ("veil", "flight") if index % 2 == 0 else ("flight", "veil")
                measured = index >= warmup
                line = [f"round {index + 1 - warmup}:" if measured else "warm-up:"]
                for op, actions in operations.items():
                    for system in (*order, *(s for s in actions if s not in order)):
                        mbps, server_cpu, client_cpu = measure(
                            actions[system], pids[system], mb / 1000
                        )
                        if measured:
                            figures.add(f"{system}_{op}", mbps, server_cpu, client_cpu)
                        line.append(
                            f"{system} {op} {mbps:.0f} MB/s (CPU s/GB server "
                            f"{server_cpu:.2f} client {client_cpu:.2f})"
                        )
                print("\n  ".join(line), flush=True)
            veil_rss = peak_rss_mib(veil_process.pid)
            flight_rss = peak_rss_mib(flight_process.pid)
            manager.close()
            client.close()
            durable_client.close()
    result = {
        "upload_ratio": f"{figures.ratio('upload'):.2f}",
        "download_ratio": f"{figures.ratio('download'):.2f}",
        "veil_upload_mbps": f"{figures.median('veil_upload'):.0f}",
        "veil_download_mbps": f"{figures.median('veil_download'):.0f}",
        "flight_upload_mbps": f"{figures.median('flight_upload'):.0f}",
        "flight_download_mbps": f"{figures.median('flight_download'):.0f}",
        "server_peak_rss_mib": f"{veil_rss:.0f}",
        "flight_server_peak_rss_mib": f"{flight_rss:.0f}",
        **{
            f"{system}_{op}_{side}_cpu_s_per_gb": f"{figures.median_cpu(f'{system}_{op}', i):.2f}"
            for system in ("veil", "flight")
            for op in ("upload", "download")
            for i, side in enumerate(("server", "client"))
        },
        "flight_durable_upload_mbps": f"{figures.median('flight_durable_upload'):.0f}",
        "upload_ratio_vs_flight_durable": f"{figures.ratio('upload', 'flight_durable'):.2f}",
        "load_average": f"{os.getloadavg()[0]:.1f}",
    }
    print(
        f"table_mb={mb:.0f} rounds={rounds} warmup={warmup} (medians; ratios = median of "
        "per-round ratios; "
        "targets: upload >= 1.0, download >= 0.9, server RSS < 150 MiB)"
    )
    print(" ".join(f"{k}={v}" for k, v in result.items()), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse flags; ``--serve-flight DIR`` is the Flight subprocess's own entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--size-mb",
        type=int,
        default=500,
        help="minimum size of the IPC stream, in 10**6 bytes (default 500)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="rounds of each (default 5: medians of fewer moved by 0.3 here)",
    )
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured rounds first (default 1)")
    parser.add_argument("--serve-flight", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--durable", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_flight:
        serve_flight(args.serve_flight, args.durable)
        return 0
    return run(args.size_mb, args.rounds, args.warmup)


if __name__ == "__main__":
    raise SystemExit(main())
