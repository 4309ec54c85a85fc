import asyncio
from collections.abc import Hashable

from ringdesk.switch.timers import TimerQueue


async def wait_until(predicate: object, timeout: float = 10.0) -> None:
    """Poll: a loaded machine may run the loop late, never early."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_fires_in_order_once_and_skips_cancelled() -> None:
    loop = asyncio.get_running_loop()
    fired: list[tuple[Hashable, float]] = []
    queue = TimerQueue(lambda key: fired.append((key, loop.time())))
    queue.bind(loop)
    now = loop.time()
    queue.schedule("c", now + 0.15)
    queue.schedule("a", now + 0.05)
    queue.schedule("b", now + 0.10)
    queue.schedule("a", now + 0.50)  # a later deadline keeps the earlier wake-up
    queue.cancel("b")
    assert len(queue) == 2
    await wait_until(lambda: len(fired) == 2)
    await asyncio.sleep(0.05)
    assert [key for key, _ in fired] == ["a", "c"]
    assert all(at >= now + 0.05 for _, at in fired)
    assert len(queue) == 0


async def test_an_earlier_deadline_rearms_the_wake_up() -> None:
    loop = asyncio.get_running_loop()
    fired: list[Hashable] = []
    queue = TimerQueue(fired.append)
    queue.bind(loop)
    queue.schedule("late", loop.time() + 5)
    queue.schedule("soon", loop.time() + 0.05)
    await wait_until(lambda: fired)
    assert fired == ["soon"]
    queue.clear()
    assert len(queue) == 0


async def test_a_failing_callback_does_not_stop_the_others() -> None:
    loop = asyncio.get_running_loop()
    fired: list[Hashable] = []

    def fire(key: Hashable) -> None:
        if key == "bad":
            raise RuntimeError("boom")
        fired.append(key)

    queue = TimerQueue(fire)
    queue.bind(loop)
    queue.schedule("bad", loop.time() + 0.01)
    queue.schedule("good", loop.time() + 0.02)
    await wait_until(lambda: fired)
    assert fired == ["good"]
