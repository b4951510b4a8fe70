"""The glibc malloc settings applied by the client and ``veil serve``.

Each case runs in a fresh interpreter: the settings are process-wide and applied once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = (
    "import json; from veil_wire.malloc_tuning import release_free_memory, tune_malloc; "
    "print(json.dumps(tune_malloc())); release_free_memory(); "
    "print(json.dumps(tune_malloc()))"
)


def _applied(**env: str) -> list[dict[str, int]]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MALLOC_") and k != "VEIL_MALLOC_TUNING"
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return [json.loads(line) for line in result.stdout.splitlines()]


def _on_glibc() -> None:
    assert sys.platform.startswith("linux"), "these tests check glibc's malloc: run them on Linux"


def test_all_three_settings_are_applied_once() -> None:
    _on_glibc()
    first, again = _applied()
    assert first == {
        "MALLOC_MMAP_THRESHOLD_": 16 << 20,
        "MALLOC_TRIM_THRESHOLD_": 8 << 20,
        "MALLOC_ARENA_MAX": 1,
    }
    assert again == first


def test_a_variable_the_operator_set_is_left_alone() -> None:
    _on_glibc()
    first, _ = _applied(MALLOC_ARENA_MAX="4")
    assert "MALLOC_ARENA_MAX" not in first
    assert first["MALLOC_MMAP_THRESHOLD_"] == 16 << 20


def test_tuning_can_be_switched_off() -> None:
    assert _applied(VEIL_MALLOC_TUNING="off") == [{}, {}]
