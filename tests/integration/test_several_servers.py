"""Several Veil servers on one PostgreSQL database and one blob dir (issue 17, item 3).

Three real ``veil serve`` processes, each with its own data dir (engine socket, outbox) and all on
one PostgreSQL database and one shared blob dir, as docs/scale.md deploys them. They listen on
127.0.0.1, 127.0.0.2 and 127.0.0.3 (all loopback) with one port, so that one DNS name with three
A records (a real DNS server on loopback, dnslib) is the fleet: DNS round robin. The jobs' lease
is 3 s here so that a killed server's job is taken over quickly.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from dnslib import QTYPE, RR, A
from dnslib.server import BaseResolver, DNSServer
from dp_support import LOMAS
from postgres_cluster import PostgresCluster
from support import adult
from veil_client import Manager, ResourceExhausted
from veil_client.api.admin import AdminApi
from veil_client.models import JobKind, JobStatus
from veil_service.accounts import api_keys, users
from veil_service.dpquery import grants
from veil_service.dpquery.registration import register_from_path
from veil_service.storage import schema
from veil_service.storage.blobs import BlobStore
from veil_service.storage.db import create_db_engine

VEIL = [sys.executable, "-m", "veil_service.cli"]
LEASE_S = 3.0
HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
FLEET_NAME = "veil.fleet.test"


class ServerProcess:
    """One ``veil serve`` process of the cluster."""

    def __init__(
        self, data_dir: Path, database_url: str, blob_dir: Path, host: str, port: int
    ) -> None:
        data_dir.mkdir(parents=True)
        self.data_dir = data_dir
        self.log = data_dir.parent / f"{data_dir.name}.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [
                    *VEIL,
                    "serve",
                    "--data-dir",
                    str(data_dir),
                    "--database-url",
                    database_url,
                    "--blob-dir",
                    str(blob_dir),
                    "--host",
                    host,
                    "--port",
                    str(port),
                    "--engine-capacity",
                    "1",
                    "--job-lease-seconds",
                    str(LEASE_S),
                ],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        self.process.stdout.close()
        assert f"listening on {host}:{port}" in line, self.log.read_text()[-3000:]
        self.address = f"{host}:{port}"

    @property
    def pid(self) -> int:
        """The server's process id (part of the lease owner it writes on jobs)."""
        return self.process.pid

    def kill(self) -> None:
        """kill -9: no shutdown of any kind."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        """Graceful stop (SIGTERM), then kill if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Cluster:
    """Servers sharing one database and one blob dir."""

    database_url: str
    blob_dir: Path
    port: int
    servers: list[ServerProcess]
    db: sa.Engine
    usernames: dict[str, str]

    def new_user(self, role: str = "user") -> str:
        """A user with an API key; returns the key."""
        name = f"u_{uuid.uuid4().hex[:10]}"
        with self.db.begin() as conn:
            user = users.create_user(conn, username=name, email=f"{name}@example.org", role=role)
            _, key = api_keys.create_api_key(conn, user_id=user.id, name="t", expiration_days=30)
        self.usernames[key] = name
        return key

    def manager(self, index: int, key: str) -> Manager:
        """A client on server ``index``."""
        return Manager(base_url=self.servers[index % len(self.servers)].address, api_key=key)

    def revive(self, dead: ServerProcess) -> None:
        """Start a new server in a killed one's place (same address, fresh data dir)."""
        index = self.servers.index(dead)
        host = dead.address.rsplit(":", 1)[0]
        data_dir = dead.data_dir.with_name(f"{dead.data_dir.name}-{uuid.uuid4().hex[:6]}")
        self.servers[index] = ServerProcess(
            data_dir, self.database_url, self.blob_dir, host, self.port
        )

    def job_rows(self, run_ids: list[str]) -> list[sa.Row[tuple[object, ...]]]:
        """The jobs of these runs, straight from the database."""
        j = schema.jobs
        with self.db.connect() as conn:
            return list(
                conn.execute(
                    sa.select(j.c.id, j.c.status, j.c.attempts, j.c.lease_owner).where(
                        j.c.run_id.in_(run_ids)
                    )
                ).all()
            )

    def result_count(self, job_id: str, kind: str) -> int:
        """How many results of ``kind`` the job recorded."""
        r = schema.results
        with self.db.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).where(r.c.job_id == job_id, r.c.kind == kind)
                ).scalar_one()
            )


def _port_free_on_every_host() -> int:
    """A port no one listens on at any of HOSTS (the kernel picks it on the first)."""
    while True:
        with socket.socket() as first:
            first.bind((HOSTS[0], 0))
            port = int(first.getsockname()[1])
            try:
                for host in HOSTS[1:]:
                    with socket.socket() as other:
                        other.bind((host, port))
            except OSError:
                continue
        return port


@pytest.fixture(scope="module")
def three_servers(
    postgres: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """Three servers on one PostgreSQL database and one blob dir, one port on three loopback
    addresses (a killed one is revived by its test)."""
    root = tmp_path_factory.mktemp("three")
    url = postgres.create_database("several", migrated=True)
    blob_dir = root / "shared-blobs"
    port = _port_free_on_every_host()
    cluster = Cluster(url, blob_dir, port, [], create_db_engine(url), {})
    try:
        for index, host in enumerate(HOSTS):
            server = ServerProcess(root / f"server{index}", url, blob_dir, host, port)
            cluster.servers.append(server)
        yield cluster
    finally:
        for server in cluster.servers:
            server.stop()
        cluster.db.dispose()
        postgres.drop_database(url)


class _FleetRecords(BaseResolver):  # type: ignore[misc]
    """Answers FLEET_NAME with one A record per server address (TTL 1 s)."""

    def resolve(self, request: object, handler: object) -> object:
        reply = request.reply()  # type: ignore[attr-defined]
        question = request.q  # type: ignore[attr-defined]
        if str(question.qname).rstrip(".") == FLEET_NAME and question.qtype == QTYPE.A:
            for host in HOSTS:
                reply.add_answer(RR(question.qname, QTYPE.A, rdata=A(host), ttl=1))
        return reply


@pytest.fixture(scope="module")
def dns_server() -> Iterator[str]:
    """A real DNS server (UDP, loopback, a free port) that knows FLEET_NAME; yields host:port."""
    server = DNSServer(_FleetRecords(), address="127.0.0.1", port=0, logger=_QuietDnsLog())
    server.start_thread()
    try:
        yield f"127.0.0.1:{server.server.server_address[1]}"
    finally:
        server.stop()
        server.server.server_close()  # stop() ends the thread but leaves the socket open


class _QuietDnsLog:
    """dnslib logs every request to stdout by default; the tests need none of it."""

    def __getattr__(self, name: str) -> object:
        return lambda *args: None


def _wait_running(cluster: Cluster, run_id: str) -> tuple[str, object]:
    """Wait until the run's one job is claimed; returns its id and lease owner."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        [(job_id, status, _attempts, owner)] = cluster.job_rows([run_id])
        if status == "pending" and owner:
            return str(job_id), owner
        assert status == "queued", status
        time.sleep(0.1)
    raise AssertionError("the job was not claimed within 120 s")


def _table(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, rows)
    return pd.DataFrame(
        {
            "age": age,
            "income": age * 700 + rng.normal(0, 5000, rows),
            "city": rng.choice(["Bern", "Lyon", "Gent"], rows),
        }
    )


def _owner_pid(lease_owner: object) -> int:
    return int(str(lease_owner).split(":")[1])


def test_jobs_run_exactly_once_and_watch_jobs_follows_them_from_either_server(
    three_servers: Cluster,
) -> None:
    key = three_servers.new_user()
    runners = []
    for index in range(9):
        runner = three_servers.manager(index, key).create_runner(f"shared-{index}", seed=index)
        runner.add_table("people", _table(1500, index))
        runner.set_parameters("people", k=5)
        runners.append(runner)
    for runner in runners:
        runner.run(jobs_to_run=[JobKind.standard])

    # Each run is watched through the server it was *not* created on; a watch ends only when
    # its jobs ended, so a job run by the other server must be pushed across (LISTEN/NOTIFY).
    seen: dict[str, list[JobStatus]] = {}

    def watch(index: int) -> None:
        other = three_servers.manager(index + 1, key)
        updates = other.runs_api.watch_jobs(run_id=runners[index].set_name)
        seen[runners[index].set_name] = [JobStatus(u.status) for u in updates]

    threads = [threading.Thread(target=watch, args=(i,), daemon=True) for i in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(240)
    assert not any(thread.is_alive() for thread in threads), "a watch never saw its job end"

    rows = three_servers.job_rows([r.set_name for r in runners])
    assert len(rows) == 9
    for job_id, status, attempts, _owner in rows:
        assert (status, attempts) == ("finished", 1)
        assert three_servers.result_count(job_id, "shuffled") == 1
    assert all(statuses[-1] == JobStatus.finished for statuses in seen.values())
    # All three servers took jobs from the one queue.
    pids = {_owner_pid(owner) for *_, owner in rows}
    assert pids == {server.pid for server in three_servers.servers}
    for index, runner in enumerate(runners):
        avatars = three_servers.manager(index + 1, key).create_runner_from_id(runner.set_name)
        assert avatars.shuffled("people").shape == (1500, 3)


def test_cancel_through_one_server_stops_the_job_the_other_runs(
    three_servers: Cluster,
) -> None:
    table = adult(copies=6)  # 36,000 rows: long enough to act on while it runs
    key = three_servers.new_user()
    runner = three_servers.manager(0, key).create_runner("cancelled", seed=3)
    runner.add_table("adult", table)
    runner.set_parameters("adult", k=20)
    runner.run(jobs_to_run=[JobKind.standard])
    job_id, owner = _wait_running(three_servers, runner.set_name)
    other = next(i for i, s in enumerate(three_servers.servers) if s.pid != _owner_pid(owner))

    asked = time.monotonic()
    answer = three_servers.manager(other, key).runs_api.cancel_job(job_id)
    assert JobStatus(answer.status) == JobStatus.cancelled
    assert time.monotonic() - asked < 10  # seen at the owner's next loop turn (0.5 s)
    [(_, status, attempts, _)] = three_servers.job_rows([runner.set_name])
    assert (status, attempts) == ("cancelled", 1)
    assert three_servers.result_count(job_id, "shuffled") == 0


def test_one_dns_name_with_three_records_spreads_calls_over_the_three_servers(
    three_servers: Cluster, dns_server: str
) -> None:
    # gRPC's own resolver asks the DNS server in the target's authority for FLEET_NAME's records.
    fleet = f"dns://{dns_server}/{FLEET_NAME}:{three_servers.port}"
    admin = Manager(base_url=fleet, api_key=three_servers.new_user(role="admin"))
    engines: set[str] = set()
    for _ in range(60):  # round robin over the servers whose connection is ready
        engines |= {e.address for e in AdminApi(admin.transport).get_server_state().engines}
        if len(engines) == 3:
            break
        time.sleep(0.1)
    # Each server's engine socket is in its own data dir: three answers, three servers.
    assert sorted(engines) == sorted(
        f"unix://{(server.data_dir / 'run' / 'engine.sock').resolve()}"
        for server in three_servers.servers
    )
    key = three_servers.new_user()
    runner = Manager(base_url=fleet, api_key=key).create_runner("by-name", seed=5)
    runner.add_table("people", _table(300, 5))
    runner.set_parameters("people", k=5)
    runner.run(jobs_to_run=[JobKind.standard])
    runner.get_all_results()
    assert runner.get_status(JobKind.standard) == JobStatus.finished
    assert runner.shuffled("people").shape == (300, 3)


def test_a_job_of_a_killed_server_is_finished_by_another_within_the_lease(
    three_servers: Cluster,
) -> None:
    table = adult(copies=6)  # 36,000 rows: long enough to act on while it runs
    key = three_servers.new_user()
    runner = three_servers.manager(0, key).create_runner("killed", seed=7)
    runner.add_table("adult", table)
    runner.set_parameters("adult", k=20)
    runner.run(jobs_to_run=[JobKind.standard])

    job_id, owner = _wait_running(three_servers, runner.set_name)
    victim = next(s for s in three_servers.servers if s.pid == _owner_pid(owner))
    survivors = {s.pid for s in three_servers.servers if s is not victim}
    victim.kill()
    try:
        _finished_by_a_survivor(three_servers, runner.set_name, job_id, survivors)
        # A client given all three addresses carries on: the dead one is skipped.
        every = ",".join(server.address for server in three_servers.servers)
        manager = Manager(base_url=every, api_key=key)
        for _ in range(3):
            shuffled = manager.create_runner_from_id(runner.set_name).shuffled("adult")
            assert shuffled.shape == table.shape
    finally:
        three_servers.revive(victim)


def _finished_by_a_survivor(
    three_servers: Cluster, run_id: str, job_id: str, survivors: set[int]
) -> None:
    killed_at = time.monotonic()
    taken_over = float("inf")

    while time.monotonic() < killed_at + 240:
        [(_, status, attempts, owner)] = three_servers.job_rows([run_id])
        if status not in ("queued", "pending"):
            break
        if status == "pending" and _owner_pid(owner) in survivors:
            taken_over = min(taken_over, time.monotonic() - killed_at)
        time.sleep(0.2)
    assert (status, attempts) == ("finished", 2)
    assert _owner_pid(owner) in survivors
    # Taken over once the lease ran out (3 s, renewed every second), with the loop's slack.
    assert taken_over < LEASE_S + 5
    assert three_servers.result_count(job_id, "shuffled") == 1


def test_fifty_queries_over_three_servers_with_budget_for_ten_give_ten_answers(
    three_servers: Cluster,
) -> None:
    key = three_servers.new_user()
    name = f"PENGUIN_{uuid.uuid4().hex[:8]}"
    register_from_path(
        three_servers.db,
        BlobStore(three_servers.blob_dir),
        name=name,
        path=str(LOMAS / "datasets" / "penguins.csv"),
        metadata_text=(LOMAS / "metadata" / "penguin_metadata.yaml").read_text(),
    )
    username = three_servers.usernames[key]
    with three_servers.db.begin() as conn:
        grants.grant_access(conn, user=username, dataset=name, epsilon=1.0, delta=1.0)
    count = "SELECT COUNT(*) AS n FROM df"
    cost = (
        three_servers.manager(0, key)
        .dp(name)
        .smartnoise_sql.cost(count, 0.1, 1e-5, {"count": "gaussian"})
    )
    with three_servers.db.begin() as conn:
        grants.grant_access(
            conn, user=username, dataset=name, epsilon=10 * cost.epsilon, delta=10 * cost.delta
        )

    clients = [three_servers.manager(i, key).dp(name) for i in range(3)]

    def one(index: int) -> object:
        try:
            return clients[index % 3].smartnoise_sql.query(count, 0.1, 1e-5, {"count": "gaussian"})
        except ResourceExhausted as exc:
            return exc

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(one, range(50)))
    answers = [o for o in outcomes if not isinstance(o, ResourceExhausted)]
    assert len(answers) == 10
    assert all(o.reason == "BUDGET_EXHAUSTED" for o in outcomes if isinstance(o, ResourceExhausted))
    spent = clients[1].get_total_spent_budget()
    assert spent.total_spent_epsilon == pytest.approx(10 * cost.epsilon, abs=1e-12)
    assert spent.total_spent_delta == pytest.approx(10 * cost.delta, abs=1e-15)
    assert len(clients[2].get_previous_queries()) == 10
