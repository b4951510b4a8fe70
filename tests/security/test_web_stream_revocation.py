"""The web's live job events stop once the session ends, not when the run's jobs end.

The attack (S42 security round, left open): ``/runs/{id}/events`` checked the session cookie when
the stream opened. A browser signed out elsewhere, or whose user an admin disabled, kept
receiving its run's job states for as long as the jobs ran. The gRPC streams check their
credential again every ``RECHECK_SECONDS``; the web's stream now runs the same check
(``auth.recheck``) and ends with a ``signed_out`` event.

The job here is made by the test (a running job whose lease another server holds, so this
server's dispatcher leaves it alone), and its changes are published as the dispatcher would: the
stream's content is then decided by the test, not by how fast an engine runs on a busy machine.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import grpc
import httpx
import pytest
from support import ServerThread, TestUser, create_user
from veil.v1 import admin_pb2, admin_pb2_grpc
from veil_service.accounts import sessions
from veil_service.auth.recheck import RECHECK_SECONDS
from veil_service.runs import jobs, results, store
from veil_service.web import live
from web_support import WebSession

MARK = 0.4321
"""The progress the test sets after the session ended: the stream must not carry it."""


def _running_job(server: ServerThread, owner: TestUser) -> tuple[str, str]:
    """A run of ``owner`` with one job running on another server; returns (run id, job id)."""
    with server.app.db.begin() as conn:
        run = store.create_run(conn, owner_id=owner.id, display_name="live")
        (job,) = jobs.create_jobs(
            conn, run_id=run.id, owner_id=owner.id, steps=[("standard", [])], params={}
        )
        jobs.update(
            conn,
            job.id,
            status="pending",  # running, in the dispatcher's words
            lease_owner="another-server",
            lease_expires_at=time.time() + 3600,
            started_at=time.time(),
        )
    return run.id, job.id


def _progress(server: ServerThread, run_id: str, job_id: str, progress: float) -> None:
    """Move the job on, and tell the watchers (as the dispatcher does after its commit)."""
    with server.app.db.begin() as conn:
        jobs.update(conn, job_id, progress=progress, phase="avatarization")
    assert server.server.dispatcher is not None
    dispatcher = server.server.dispatcher
    server.loop.call_soon_threadsafe(dispatcher.events.publish, run_id)


def _events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, object]]]:
    """(event name, data) of each SSE event."""
    name = ""
    for line in lines:
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            yield name, json.loads(line[len("data: ") :])


def _follow_then_end(
    server: ServerThread,
    owner: TestUser,
    end_session: Callable[[WebSession], None],
    *,
    finish: bool = False,
) -> list[tuple[str, dict[str, object]]]:
    """Open the run's events, read the job's first state, end the session, let the job move
    on past the recheck interval (then, with ``finish``, end it); every event after the
    first."""
    run_id, job_id = _running_job(server, owner)
    session = WebSession(server.server.web_port)
    try:
        assert session.login_with_key(owner.api_key).status_code == 303
        headers = session._headers(None)
        with session.client.stream(
            "GET", f"/runs/{run_id}/events", headers=headers, timeout=15
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = _events(response.iter_lines())
            first = next(events)
            assert first[0] == "job" and first[1]["status"] == "pending"
            end_session(session)
            time.sleep(RECHECK_SECONDS + 0.5)
            _progress(server, run_id, job_id, MARK)
            after: list[tuple[str, dict[str, object]]] = []
            for event in events:
                after.append(event)
                if event[0] != "job" or event[1]["progress"] == MARK:
                    break
            if finish:
                with server.app.db.begin() as conn:
                    jobs.finish(conn, job_id, "finished")
                server.loop.call_soon_threadsafe(server.server.dispatcher.events.publish, run_id)
                after.extend(events)
            return after
    finally:
        session.close()


def _assert_signed_out(after: list[tuple[str, dict[str, object]]]) -> None:
    assert [name for name, _ in after] == ["signed_out"], after
    assert str(after[0][1]["login"]).startswith("/login?next=/runs/")


def test_live_events_stop_when_an_admin_disables_the_user(veil_server: ServerThread) -> None:
    owner = create_user(veil_server, "user")
    admin = create_user(veil_server, "admin")

    def disable(_: WebSession) -> None:
        with grpc.insecure_channel(veil_server.url) as channel:
            admin_pb2_grpc.AdminServiceStub(channel).DisableUser(
                admin_pb2.DisableUserRequest(user=owner.id),
                metadata=(("x-api-key", admin.api_key),),
                timeout=10,
            )

    _assert_signed_out(_follow_then_end(veil_server, owner, disable))


def test_live_events_stop_when_the_session_signs_out(veil_server: ServerThread) -> None:
    owner = create_user(veil_server, "user")

    def sign_out(session: WebSession) -> None:
        # Another tab of the same browser: same cookies, its own connection.
        other = WebSession(veil_server.server.web_port)
        try:
            other.cookies = dict(session.cookies)
            other.get("/account")
            assert other.post("/logout").status_code == 303
        finally:
            other.close()

    _assert_signed_out(_follow_then_end(veil_server, owner, sign_out))


def test_live_events_go_on_while_signed_in(veil_server: ServerThread) -> None:
    owner = create_user(veil_server, "user")
    after = _follow_then_end(veil_server, owner, lambda _: None, finish=True)
    assert [(name, data.get("progress")) for name, data in after] == [
        ("job", MARK),
        ("job", 1.0),
        ("end", None),
    ]
    assert after[-1][1]["run_status"] == "finished"


def test_an_idle_stream_ends_too(
    veil_server: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No job changes after the session ended: the heartbeat's check ends the stream."""
    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.5)
    owner = create_user(veil_server, "user")
    run_id, _ = _running_job(veil_server, owner)
    session = WebSession(veil_server.server.web_port)
    try:
        assert session.login_with_key(owner.api_key).status_code == 303
        with session.client.stream(
            "GET", f"/runs/{run_id}/events", headers=session._headers(None), timeout=15
        ) as response:
            lines = response.iter_lines()
            events = _events(lines)
            assert next(events)[0] == "job"
            began = time.monotonic()
            with veil_server.app.db.begin() as conn:
                sessions.revoke_user_sessions(conn, user_id=owner.id)
            rest = list(_events(lines))  # the server ends the stream
            waited = time.monotonic() - began
    finally:
        session.close()
    _assert_signed_out(rest)
    assert waited < RECHECK_SECONDS + 0.5 + 3


def test_a_result_download_is_cut_when_the_session_ends(veil_server: ServerThread) -> None:
    """A 40 MiB result: far more than the sockets buffer ahead of a reader that stopped."""
    owner = create_user(veil_server, "user")
    run_id, job_id = _running_job(veil_server, owner)
    writer = veil_server.app.blobs.writer(".csv")
    size = 40 << 20
    writer.write(b"x" * size)
    stored = writer.commit()
    with veil_server.app.db.begin() as conn:
        result_id = results.add_result(
            conn,
            job_id=job_id,
            run_id=run_id,
            kind="report",
            subkind="",
            table_name="",
            filename="big.csv",
            media_type="text/csv",
            stored=stored,
        )
    session = WebSession(veil_server.server.web_port)
    received = 0
    try:
        assert session.login_with_key(owner.api_key).status_code == 303
        with session.client.stream(
            "GET", f"/results/{result_id}", headers=session._headers(None), timeout=15
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-length"] == str(size)
            chunks = response.iter_raw(1 << 16)
            received += len(next(chunks))
            with veil_server.app.db.begin() as conn:
                sessions.revoke_user_sessions(conn, user_id=owner.id)
            time.sleep(RECHECK_SECONDS + 0.5)
            with pytest.raises(httpx.RemoteProtocolError):
                for chunk in chunks:
                    received += len(chunk)
    finally:
        session.close()
    assert received < 20 << 20  # at most what was already on its way
