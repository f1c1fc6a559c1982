"""Waiting inside a Pilot test for what a live run will do."""

import asyncio


async def wait_for(predicate, timeout: float = 90.0) -> None:
    """Poll ``predicate`` every 50 ms; fail the test if it is not true in time."""
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")
