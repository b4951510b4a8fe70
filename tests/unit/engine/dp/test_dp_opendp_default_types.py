"""smartnoise-sql's Gaussian mechanism in threads: OpenDP's default int type never goes missing.

smartnoise-sql sets OpenDP's default int type each time a Gaussian mechanism is built or adds
noise; OpenDP's own ``set_default_int_type`` removed and re-added the type's equivalence class,
and a query checking its distances in another thread at that moment failed with "inferred type
is i64, expected u32" (a ValueError from smartnoise-sql: the flaky 3-server budget test).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest
from opendp._convert import _check_and_cast_scalar
from opendp._lib import ATOM_EQUIVALENCE_CLASSES
from snsql.sql._mechanisms import gaussian
from veil_service.engine.dp import smartnoise_sql  # noqa: F401  (installs the safe setter)
from veil_service.engine.dp.opendp_default_types import set_default_int_type


@pytest.fixture()
def fast_thread_switches() -> Iterator[None]:
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def test_smartnoise_sql_uses_the_safe_setter() -> None:
    assert gaussian.set_default_int_type is set_default_int_type


def test_distance_checks_never_fail_while_other_threads_set_the_type(
    fast_thread_switches: None,
) -> None:
    set_default_int_type("i64")  # smartnoise-sql's first call: the one real change
    stop = threading.Event()

    def set_repeatedly() -> None:
        while not stop.is_set():
            gaussian.set_default_int_type("i64")

    setters = [threading.Thread(target=set_repeatedly) for _ in range(2)]
    for thread in setters:
        thread.start()
    try:
        for _ in range(20_000):  # OpenDP's own setter failed this within ~1,000 checks
            assert _check_and_cast_scalar("u32", 1) == 1
    finally:
        stop.set()
        for thread in setters:
            thread.join()
    assert "i64" in ATOM_EQUIVALENCE_CLASSES


def test_a_real_change_keeps_the_equivalence_class() -> None:
    set_default_int_type("i64")
    members = list(ATOM_EQUIVALENCE_CLASSES["i64"])
    set_default_int_type("i32")
    try:
        assert ATOM_EQUIVALENCE_CLASSES["i32"] == members and "i64" not in ATOM_EQUIVALENCE_CLASSES
        with pytest.raises(ValueError, match="T must be one of"):
            set_default_int_type("f64")
    finally:
        set_default_int_type("i64")
