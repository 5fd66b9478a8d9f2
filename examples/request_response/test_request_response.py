"""The guide's client (docs/writing-a-source.md): its behaviour, and its allocations pinned
with vts's `allocations` fixture (a pytest plugin that installing vts registers)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from itertools import repeat
from typing import Any

import pytest
from request_response import Client, FutureClient, connect_echo

from vts import AlreadyAwaitedError, TokenMismatchError, impl

IMPL = impl.selected().name  # "c" where the accelerator is built, unless VTS_IMPL=python
# Allocations per request on CPython 3.11, (pooled Client, FutureClient), as
# docs/writing-a-source.md quotes them; both include the peer's call_soon and the wake-up.
MEASURED_ON_3_11 = {
    ("c", "asyncio"): (21.2, 23.2), ("c", "uvloop"): (3.2, 5.2),
    ("python", "asyncio"): (28.2, 23.2), ("python", "uvloop"): (10.2, 5.2),
}


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def test_each_request_gets_its_own_response_in_order() -> None:
    async def main() -> list[object]:
        client = connect_echo(Client, asyncio.get_running_loop())
        first, second = client.request("a"), client.request("b")
        return [await second, await first, await client.request("c")]

    assert run(main()) == ["b", "a", "c"]


def test_a_source_goes_back_to_the_pool_once_its_response_is_taken() -> None:
    async def main() -> Client:
        client = connect_echo(Client, asyncio.get_running_loop())
        for _ in range(10):
            await client.request("x")
        return client

    client = run(main())
    assert (client.pool.created, len(client.pool)) == (1, 1)


def test_a_second_await_of_a_request_is_refused() -> None:
    async def main() -> None:
        client = connect_echo(Client, asyncio.get_running_loop())
        task = client.request("x")
        await task
        with pytest.raises(AlreadyAwaitedError, match=r"^this ValueTask was already "
                           r"awaited; call \.as_future\(\) to await it more than once$"):
            await task

    run(main())


def test_a_used_token_is_rejected_once_the_response_was_taken() -> None:
    async def main() -> None:
        client = connect_echo(Client, asyncio.get_running_loop())
        task = client.request("x")
        source, token = client.pending[0], client.pending[0].version
        assert await task == "x"
        with pytest.raises(TokenMismatchError, match=(
                rf"^token {token} is not the source's current version {token + 1}: this "
                r"ValueTask was already consumed or its source was recycled$")):
            source.get_result(token)  # a copy of the ValueTask, awaited again

    run(main())


def test_a_lost_connection_fails_every_pending_request() -> None:
    async def main() -> list[ConnectionResetError]:
        client = Client(lambda payload: None)  # a peer that never answers
        pending = [client.request(n) for n in range(3)]
        client.connection_lost(None)
        outcomes = []
        for task in pending:
            with pytest.raises(ConnectionResetError) as raised:
                await task
            outcomes.append(raised.value)
        return outcomes

    assert len(run(main())) == 3


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_what_a_request_allocates(allocations: Any, loop: str) -> None:
    def per_request(client_class: type[Any]) -> Any:
        async def run_requests(n: int) -> None:
            request = connect_echo(client_class, asyncio.get_running_loop()).request
            for _ in repeat(None, n):
                await request(b"ping")

        return allocations.batch(run_requests, loop=loop)

    pooled, per_future = per_request(Client), per_request(FutureClient)
    print(f"{IMPL} {loop}: {pooled.allocs_per_op:g} allocations per request pooled, "
          f"{per_future.allocs_per_op:g} with a Future")
    assert pooled.gc_per_1k_ops == per_future.gc_per_1k_ops == 0
    if sys.version_info[:2] == (3, 11):
        assert (pooled.allocs_per_op, per_future.allocs_per_op) == MEASURED_ON_3_11[IMPL, loop]
    if IMPL == "c":  # the C ValueTask and core: no Future, bridge or generator per request
        assert pooled.allocs_per_op <= per_future.allocs_per_op - 2
