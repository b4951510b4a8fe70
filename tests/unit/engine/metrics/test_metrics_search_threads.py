"""The privacy metrics' searches on several threads give exactly the single-thread values.

The neighbour searches are split into chunks of query rows answered on a pool of threads
(issue 17 item 6: the 1M-row privacy metrics on both cores). Each row's answer is the tree's
alone, so every distance, count, flag and metric must be bitwise the one-thread result,
whatever the chunk size and the order the threads finish in.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np
import pandas as pd
import pytest
from veil_service.engine.metrics import privacy_metrics
from veil_service.engine.metrics.distances import (
    Trees,
    closest_two,
    leave_one_out_two,
    nearest,
    own_avatar_search,
)
from veil_service.engine.metrics.search_threads import (
    INLINE,
    MIN_CHUNK_ROWS,
    THREADS_ENV,
    SearchPool,
    available_cores,
    default_threads,
    resolve_threads,
)
from veil_service.errors import FailedPreconditionError, InvalidArgumentError


def _far(rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Continuous avatars loosely tied to their originals: every search stage runs."""
    rng = np.random.default_rng(3)
    original = rng.normal(size=(rows, 3))
    return original, original + rng.normal(scale=0.9, size=(rows, 3))


def _tied(rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer coordinates: exact ties everywhere, so the tie rule and its settling run."""
    rng = np.random.default_rng(5)
    original = rng.integers(0, 4, size=(rows, 2)).astype(np.float64)
    return original, original + rng.integers(-1, 2, size=(rows, 2))


@pytest.mark.parametrize("tables", [_far, _tied])
@pytest.mark.parametrize("chunk_entries", [700, 1 << 21])
def test_own_avatar_search_on_threads_equals_one_thread(tables, chunk_entries: int) -> None:  # type: ignore[no-untyped-def]
    original, avatars = tables(6_000)
    alone = own_avatar_search(original, avatars, chunk_entries=chunk_entries)
    with SearchPool(3) as pool:
        threaded = own_avatar_search(original, avatars, chunk_entries=chunk_entries, pool=pool)
    assert np.median(alone.closer_count) > 16  # the refining stages ran
    for field in ("own_distance", "closer_count", "hidden", "strictly_hidden"):
        assert np.array_equal(getattr(threaded, field), getattr(alone, field)), field


@pytest.mark.parametrize("tables", [_far, _tied])
def test_distance_searches_on_threads_equal_one_thread(tables) -> None:  # type: ignore[no-untyped-def]
    original, avatars = tables(20_000)
    holdout = tables(3_000)[1] + 0.25
    single = Trees.build(original, avatars)
    with SearchPool(2) as pool:
        trees = Trees.build(original, avatars, pool)
        assert np.array_equal(trees.original.indices, single.original.indices)
        assert np.array_equal(trees.avatars.indices, single.avatars.indices)
        pairs = [
            (closest_two(original, avatars, trees, pool), closest_two(original, avatars, single)),
            (closest_two(original, holdout, trees, pool), closest_two(original, holdout, single)),
            (leave_one_out_two(original, trees, pool), leave_one_out_two(original, single)),
        ]
        found = nearest(avatars, original, pool)
    assert np.array_equal(found, nearest(avatars, original))
    for threaded, alone in pairs:
        assert np.array_equal(threaded[0], alone[0])
        assert np.array_equal(threaded[1], alone[1])


def _tables(rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def table(n: int) -> pd.DataFrame:
        age = rng.integers(18, 90, n)
        return pd.DataFrame(
            {
                "age": age,
                "income": np.round(age * 800.0 + rng.normal(0, 4000, n), -2),
                "hours": rng.integers(20, 60, n).astype(float),
                "region": rng.choice(["north", "south", "east", "west"], n),
                "smoker": rng.choice(["yes", "no"], n, p=[0.2, 0.8]),
                "plan": rng.choice(["a", "b", "c"], n),
            }
        )

    original = table(rows)
    avatars = original.copy()
    avatars["income"] = np.round(avatars["income"] + rng.normal(0, 3000, rows), -2)
    avatars["age"] = (avatars["age"] + rng.integers(-3, 4, rows)).clip(18, 90)
    redraw = rng.random(rows) < 0.3
    avatars.loc[redraw, "region"] = rng.choice(["north", "south"], int(redraw.sum()))
    return original, avatars, table(rows // 4)


def _without_threads(result: dict[str, Any]) -> dict[str, Any]:
    out = dict(result)
    out["metadata"] = {k: v for k, v in result["metadata"].items() if k != "threads"}
    return out


def _same(a: Any, b: Any) -> bool:
    """Equal, NaN equal to NaN (a metric may be NaN in both runs)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


@pytest.mark.parametrize("full", [False, True])
def test_privacy_metrics_on_threads_equal_one_thread(full: bool) -> None:
    """Every metric, detail and attack of the result, with 1 and with 3 threads."""
    original, avatars, holdout = _tables(12_000, seed=11)
    params: dict[str, Any] = {"seed": 4, "n_attacks": 100}
    if full:
        params.update(holdout=holdout, known_variables=["age", "region"], target="smoker")
    alone = privacy_metrics(original, avatars, threads=1, **params)
    threaded = privacy_metrics(original, avatars, threads=3, **params)
    assert alone["metadata"]["threads"] == 1
    assert threaded["metadata"]["threads"] == 3
    assert alone["local_cloaking"] > 0 and alone["hidden_rate"] is not None
    if full:
        assert alone["inference_categorical"] is not None
        assert alone["correlation_protection_rate"] is not None
    assert _same(_without_threads(threaded), _without_threads(alone))


def test_one_thread_runs_every_chunk_in_the_calling_thread() -> None:
    caller = threading.get_ident()
    assert set(INLINE.map(lambda _: threading.get_ident(), range(20))) == {caller}
    with SearchPool(2) as pool:
        names = set(pool.map(lambda _: threading.current_thread().name, range(50)))
    assert names and all(name.startswith("veil-search") for name in names)


def test_chunks_stay_within_the_memory_bound_and_split_for_threads() -> None:
    assert INLINE.chunk_rows(1_000_000, 16, 1 << 21) == (1 << 21) // 16
    with SearchPool(2) as pool:
        step = pool.chunk_rows(1_000_000, 2, 1 << 21)
        assert step * 2 <= 1 << 21
        assert math.ceil(1_000_000 / step) >= 2 * 8  # enough chunks for both threads
        assert pool.chunk_rows(3_000, 16, 1 << 21) == MIN_CHUNK_ROWS


def test_thread_count_defaults_to_the_cores_this_process_may_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert default_threads() == available_cores()
    assert resolve_threads(None) == available_cores()
    monkeypatch.setenv(THREADS_ENV, "3")
    assert resolve_threads(None) == 3
    assert resolve_threads(1) == 1


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_a_bad_thread_setting_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(THREADS_ENV, value)
    with pytest.raises(FailedPreconditionError) as error:
        default_threads()
    assert error.value.field == THREADS_ENV
    assert THREADS_ENV in str(error.value)


@pytest.mark.parametrize("value", [0, -1, 1.5, True])
def test_a_bad_threads_argument_is_refused_by_name(value: Any) -> None:
    original, avatars, _ = _tables(50, seed=1)
    with pytest.raises(InvalidArgumentError) as error:
        privacy_metrics(original, avatars, threads=value)
    assert error.value.field == "threads"
