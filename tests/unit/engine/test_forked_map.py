"""Independent pieces run in forked children (engine/forked_map.py)."""

from __future__ import annotations

import os
import signal
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from veil_service.engine.forked_map import ForkedPieceDiedError, ForkedWorkers, forked_map
from veil_service.errors import InvalidArgumentError


def _pid_and_square(value: int) -> tuple[int, int]:
    return os.getpid(), value * value


def test_results_come_back_in_the_order_given_from_other_processes() -> None:
    pieces = [partial(_pid_and_square, v) for v in range(7)]
    found = forked_map(pieces, workers=2)
    assert [square for _, square in found] == [v * v for v in range(7)]
    # The pieces ran in two children, never here, each child running several.
    pids = {pid for pid, _ in found}
    assert os.getpid() not in pids and len(pids) == 2
    # Both children have left and been reaped.
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


@pytest.mark.parametrize("workers", [1, 2])
def test_pieces_submitted_as_others_end_run_too(workers: int) -> None:
    # A follow-up of each first piece (as a table's check follows its searches) is submitted
    # when that piece ends, while the others still run.
    # The messages (here numbers) cross to the children, which inherited the handler.
    pool = ForkedWorkers(_pid_and_square, workers)
    firsts = {pool.submit(v, cost=v): v for v in range(5)}
    follow_ups: dict[int, int] = {}
    results: dict[int, int] = {}
    order = []
    for ticket, (_, square) in pool.completed():
        results[ticket] = square
        order.append(ticket)
        if ticket in firsts:
            follow_ups[pool.submit(square + 1)] = firsts[ticket]
    assert {results[t] for t in firsts} == {v * v for v in range(5)}
    assert {follow_ups[t]: results[t] for t in follow_ups} == {
        v: (v * v + 1) ** 2 for v in range(5)
    }
    if workers == 1:
        # Here, one at a time: the costliest waiting piece first, the first submitted of
        # equals (the follow-ups cost 0, as the first piece does).
        assert order == [4, 3, 2, 1, 0, 5, 6, 7, 8, 9] and results[5] == 17**2


def test_one_worker_runs_the_pieces_here_with_the_same_results() -> None:
    here = forked_map([partial(_pid_and_square, v) for v in range(3)], workers=1)
    assert here == [(os.getpid(), v * v) for v in range(3)]


def test_a_result_larger_than_a_pipe_buffer_arrives_whole() -> None:
    # A pipe holds 64 KiB: the parent reads while the children write.
    pieces = [partial(np.random.default_rng(s).random, 400_000) for s in range(3)]
    found = forked_map(pieces, workers=2)
    for seed, values in enumerate(found):
        np.testing.assert_array_equal(values, np.random.default_rng(seed).random(400_000))


def _fails(value: int) -> int:
    if value in (2, 4):
        raise InvalidArgumentError(f"piece {value} is wrong", field=f"pieces[{value}]")
    return value


def test_the_first_failure_by_order_reaches_the_caller_with_its_fields() -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        forked_map([partial(_fails, v) for v in range(6)], workers=1)
    assert raised.value.field == "pieces[2]"
    with pytest.raises(InvalidArgumentError) as forked:
        forked_map([partial(_fails, v) for v in range(6)], workers=2)
    # The error crossed the pipe whole: its class, message and field.
    assert forked.value.field in {"pieces[2]", "pieces[4]"}
    assert str(forked.value) == f"piece {forked.value.field[7]} is wrong"


class _UnpicklableError(Exception):
    def __init__(self, value: int, extra: int) -> None:
        super().__init__(f"bad {value}")
        self.extra = extra

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("no pickling")


def _raises_unpicklable() -> None:
    raise _UnpicklableError(1, 2)


def test_an_exception_that_does_not_pickle_arrives_as_its_text() -> None:
    with pytest.raises(RuntimeError, match="_UnpicklableError: bad 1"):
        forked_map([_raises_unpicklable, partial(_pid_and_square, 1)], workers=2)


def _killed() -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return 0


def _slow(path: Path) -> int:
    path.write_text(str(os.getpid()))
    time.sleep(60)
    return 0


def test_a_child_killed_before_its_result_is_a_clear_error_and_stops_the_others(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "slow.pid"
    # The slow piece starts first and records its pid before the other is killed.
    with pytest.raises(ForkedPieceDiedError, match="without a result"):
        forked_map([partial(_slow, pid_file), _wait_then_die(pid_file)], workers=2)
    # The slow piece did not run its minute: it was killed and reaped (no zombie left).
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def _wait_then_die(pid_file: Path) -> partial[int]:
    return partial(_die_after, pid_file)


def _die_after(pid_file: Path) -> int:
    while not pid_file.exists() or not pid_file.read_text():
        time.sleep(0.01)
    return _killed()


def test_a_fork_beside_a_library_with_native_threads_raises_no_warning() -> None:
    # JAX (imported by the DP tasks) warns at every fork of a process that loaded it; with
    # warnings as errors (the test suite's setting) the fork itself failed.
    jax_numpy = pytest.importorskip("jax.numpy")
    assert float(jax_numpy.ones(2).sum()) == 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = forked_map([partial(_pid_and_square, v) for v in range(3)], workers=2)
    assert [square for _, square in found] == [0, 1, 4]


def test_a_message_larger_than_a_pipe_buffer_reaches_its_child_whole() -> None:
    # The parent writes the whole message (a table's trials, say) while the child reads it.
    pool = ForkedWorkers(np.sum, 2)
    arrays = [np.random.default_rng(s).random(300_000) for s in range(3)]
    tickets = {pool.submit(values): values for values in arrays}
    for ticket, total in pool.completed():
        assert total == np.sum(tickets[ticket])


class _Unreadable:
    """Pickles, but fails to unpickle (in the child)."""

    def __reduce__(self) -> tuple[object, ...]:
        return (_refuse, ())


def _refuse() -> None:
    raise ValueError("this message cannot be read here")


def test_a_message_the_child_cannot_read_is_an_error_not_a_dead_child() -> None:
    pool = ForkedWorkers(_pid_and_square, 2)
    pool.submit(3)
    pool.submit(_Unreadable())
    with pytest.raises(ValueError, match="cannot be read here"):
        dict(pool.completed())
