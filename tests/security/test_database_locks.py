"""A locked database delays only the calls that wait for the lock (issue 17, item 2).

Another process holds the metadata database's write lock (SQLite: ``BEGIN IMMEDIATE``;
PostgreSQL: ``LOCK TABLE runs IN EXCLUSIVE MODE``, which lets reads through). One user's
CreateRun waits for that lock. Meanwhile health checks, and another user's reads (every one of
them authenticated by the same database), answer within 100 ms, as ``health_probe`` measures
them: database calls run on the database threads (``storage.db_calls``), not on the event loop.
When the lock goes, the waiting CreateRun completes.

Before that change, the waiting CreateRun blocked the event loop for up to SQLite's 10 s busy
timeout (forever on PostgreSQL), and with it every RPC of the server.
"""

from __future__ import annotations

import sqlite3
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import grpc
import psycopg
import pytest
import sqlalchemy as sa
from health_probe import HEALTH_BOUND_S, assert_responsive, call_with_key, health_watch
from support import ServerThread, TestUser, create_user
from veil.v1 import runs_pb2, runs_pb2_grpc

# Measures wall-clock time: runs alone after the parallel part of `make test`.
pytestmark = pytest.mark.serial

LOCK_HELD_S = 1.5
"""How long the lock is held while measuring: well under SQLite's 10 s busy timeout, so the
waiting CreateRun succeeds once the lock goes."""


@contextmanager
def write_lock(database_url: str) -> Iterator[None]:
    """Hold the database's write lock from a connection of its own (as another process would)."""
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(str(url.database), isolation_level=None, timeout=10)
        try:
            connection.execute("BEGIN IMMEDIATE")
            yield
            connection.execute("ROLLBACK")
        finally:
            connection.close()
        return
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as connection:
        connection.execute("LOCK TABLE runs IN EXCLUSIVE MODE")
        yield
        connection.rollback()


def _timed(call: Callable[[], object]) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def test_a_held_write_lock_delays_only_the_writer(
    veil_server: ServerThread, user: TestUser
) -> None:
    other = create_user(veil_server, "user")
    channel = grpc.insecure_channel(veil_server.url)
    stub = runs_pb2_grpc.RunsServiceStub(channel)
    writer, reader = call_with_key(user.api_key), call_with_key(other.api_key)
    run_id = stub.CreateRun(runs_pb2.CreateRunRequest(display_name="mine"), metadata=reader).run.id
    stub.ListRuns(runs_pb2.ListRunsRequest(), metadata=writer)  # both keys used: no write pending

    get_run, list_runs = runs_pb2.GetRunRequest(run_id=run_id), runs_pb2.ListRunsRequest()

    def read_for(seconds: float) -> list[float]:
        took: list[float] = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            took.append(_timed(lambda: stub.GetRun(get_run, metadata=reader, timeout=5)))
            took.append(_timed(lambda: stub.ListRuns(list_runs, metadata=reader, timeout=5)))
            threading.Event().wait(0.02)
        return took

    unlocked = statistics.median(read_for(0.5))
    with ThreadPoolExecutor(1) as pool, health_watch(veil_server.url) as health:
        with write_lock(veil_server.settings.effective_database_url):
            waiting: Future[runs_pb2.CreateRunResponse] = pool.submit(
                stub.CreateRun,
                runs_pb2.CreateRunRequest(display_name="waits for the lock"),
                metadata=writer,
                timeout=30,
            )
            reads = read_for(LOCK_HELD_S)
            assert not waiting.done(), "CreateRun did not wait for the lock: nothing was proven"
        created = waiting.result(timeout=30)
    channel.close()

    assert created.run.display_name == "waits for the lock"
    assert_responsive(health(), "a held write lock")
    # 100 ms, or three times the same reads without the lock when a loaded machine makes even
    # those slower (seen: half over 100 ms, slowest 255 ms, at load 12-20 on PostgreSQL). A read
    # stuck behind the lock takes
    # the whole LOCK_HELD_S.
    bound = max(HEALTH_BOUND_S, 3 * unlocked)
    on_time = sum(1 for s in reads if s < bound) / len(reads)
    assert on_time >= 0.9 and max(reads) < 1.0, (
        f"another user's reads during the lock: {on_time:.0%} of {len(reads)} within "
        f"{bound * 1000:.0f} ms (unlocked median {unlocked * 1000:.0f} ms), "
        f"slowest {max(reads):.3f} s"
    )


def test_a_web_page_waiting_for_the_lock_stalls_neither_grpc_nor_other_pages(
    veil_server: ServerThread, user: TestUser
) -> None:
    # The web application shares the gRPC server's event loop (web/server.py): a page that waits
    # for the database there would stall every RPC. Its handlers run their database work on the
    # database threads (web/page.py), as the servicers do.
    from web_support import WebSession

    other = create_user(veil_server, "user")
    port = veil_server.server.web_port
    writer, reader = WebSession(port), WebSession(port)
    try:
        assert writer.login_with_key(user.api_key).status_code == 303
        assert reader.login_with_key(other.api_key).status_code == 303
        writer.get("/runs/new")  # the form's CSRF token
        unlocked = statistics.median(_timed(lambda: reader.get("/runs")) for _ in range(5))
        csv = ("patients.csv", b"a,b\n1,2\n3,4\n5,6\n", "text/csv")
        with ThreadPoolExecutor(1) as pool, health_watch(veil_server.url) as health:
            with write_lock(veil_server.settings.effective_database_url):
                waiting = pool.submit(
                    writer.post, "/runs/new", {"display_name": "waits"}, files={"file": csv}
                )
                reads = []
                deadline = time.monotonic() + LOCK_HELD_S
                while time.monotonic() < deadline:
                    reads.append(_timed(lambda: reader.get("/runs")))
                assert not waiting.done(), "the page did not wait for the lock: nothing was proven"
            created = waiting.result(timeout=30)
        assert created.status_code == 303 and created.headers["location"].endswith("/setup")
        assert_responsive(health(), "a web page waiting for a held write lock")
        bound = max(0.25, 3 * unlocked)
        on_time = sum(1 for s in reads if s < bound) / len(reads)
        assert on_time >= 0.9 and max(reads) < 1.0, (
            f"another user's pages during the lock: {on_time:.0%} of {len(reads)} within "
            f"{bound * 1000:.0f} ms (unlocked median {unlocked * 1000:.0f} ms), "
            f"slowest {max(reads):.3f} s"
        )
    finally:
        writer.close()
        reader.close()
