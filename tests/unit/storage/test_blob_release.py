"""Blob files released by a transaction go only once it has committed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from veil_service.storage.blobs import BlobStore


def _blob(store: BlobStore, data: bytes) -> str:
    with store.writer(".bin") as writer:
        writer.write(data)
        return writer.commit().relative_path


def _engine(tmp_path: Path) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as conn:
        conn.execute(sa.text("create table t (x integer)"))
    return engine


def test_released_files_go_after_the_commit(tmp_path: Path) -> None:
    store, engine = BlobStore(tmp_path), _engine(tmp_path)
    path = _blob(store, b"x" * 1000)
    with store.releasing() as released, engine.begin() as conn:
        conn.execute(sa.text("insert into t values (1)"))
        released.append(path)
        assert store.path(path).exists()  # nothing is deleted inside the transaction
    deadline = time.monotonic() + 10
    while store.path(path).exists() and time.monotonic() < deadline:
        time.sleep(0.01)  # the unlink runs on a background thread
    assert not store.path(path).exists()


def test_a_failed_transaction_keeps_the_files(tmp_path: Path) -> None:
    store, engine = BlobStore(tmp_path), _engine(tmp_path)
    path = _blob(store, b"y" * 1000)
    with pytest.raises(RuntimeError), store.releasing() as released, engine.begin() as conn:
        conn.execute(sa.text("insert into t values (2)"))
        released.append(path)
        raise RuntimeError("the commit never happens")
    assert store.path(path).read_bytes() == b"y" * 1000
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from t")).scalar() == 0
