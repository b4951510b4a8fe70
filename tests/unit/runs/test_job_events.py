"""Job change notifications: a watcher wakes for its runs only, and never misses a change."""

from __future__ import annotations

import asyncio

from veil_service.runs.job_events import JobEvents


async def _woken(events: JobEvents, run_ids: set[str], publish: list[str]) -> bool:
    with events.subscribe(run_ids) as changes:
        for run_id in publish:
            events.publish(run_id)
        try:
            await asyncio.wait_for(changes.wait(), 0.05)
        except TimeoutError:
            return False
        return True


def test_a_watcher_wakes_for_its_runs_only() -> None:
    events = JobEvents()
    assert asyncio.run(_woken(events, {"a", "b"}, ["b"]))
    assert not asyncio.run(_woken(events, {"a"}, ["c"]))


def test_a_change_published_before_the_wait_is_not_lost() -> None:
    async def scenario() -> list[bool]:
        events = JobEvents()
        with events.subscribe({"run"}) as changes:
            events.publish("run")  # between the watcher's read and its wait
            events.publish("run")
            await asyncio.wait_for(changes.wait(), 1)
            # Both changes were seen by the one re-read that follows: no second wake-up.
            second = asyncio.create_task(changes.wait())
            await asyncio.sleep(0.05)
            pending = not second.done()
            events.publish("run")
            await asyncio.wait_for(second, 1)
            return [pending, second.done()]

    assert asyncio.run(scenario()) == [True, True]


def test_a_subscription_ends_with_its_block() -> None:
    async def scenario() -> int:
        events = JobEvents()
        with events.subscribe({"run"}):
            pass
        events.publish("run")
        return len(events._subscriptions)

    assert asyncio.run(scenario()) == 0


def test_a_change_published_from_a_database_thread_wakes_the_watcher() -> None:
    # Domain calls run on the database threads (storage.db_calls) and publish from there.
    async def scenario() -> bool:
        events = JobEvents()
        with events.subscribe({"run"}) as changes:
            await asyncio.to_thread(events.publish, "run")
            await asyncio.wait_for(changes.wait(), 1)
            return True

    assert asyncio.run(scenario())
