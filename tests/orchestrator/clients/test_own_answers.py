"""A pooled connection holding bytes nobody asked for is never read from (``clients/own_answers.py``).

First the finding and the guard, on a service that writes a second answer 50 ms after each real
one; then one test per assumption the guard makes about aiohttp's insides (numbered as in the
module), so that an upgrade that breaks one says which.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from orchestrator.clients.own_answers import OwnAnswersOnly, UnaskedBytes
from orchestrator.clients.transport import AiohttpTransport, Request, service_session
from streams.lean import to_future
from tests.orchestrator.clients.stray_service import POISON, StrayService, http_answer, prices

#: Named in every assumption's failure: the aiohttp release that broke it.
AIOHTTP = f"aiohttp {aiohttp.__version__}"
#: Long enough for the stray, written 50 ms after each answer, to have arrived.
AFTER_THE_STRAY_S = 0.15


@pytest.fixture
async def pooled() -> AsyncIterator[aiohttp.ClientSession]:
    """A service session as the application makes them: one pool, kept-alive connections."""
    session = service_session(aiohttp.TCPConnector(limit=4, keepalive_timeout=30))
    yield session
    await session.close()


@pytest.fixture
async def fresh() -> AsyncIterator[aiohttp.ClientSession]:
    session = service_session(aiohttp.TCPConnector(limit=0, force_close=True))
    yield session
    await session.close()


async def ticker_of(session: aiohttp.ClientSession, url: str, ticker: str) -> str:
    async with session.post(url + "/prices", json={"ticker": ticker}) as answer:
        return str((await answer.json())["data"]["ticker"])


# --- the finding, and the guard ---------------------------------------------------------------------


async def test_without_the_guard_aiohttp_reads_a_stray_answer_as_the_next_one():
    """What the guard is for: aiohttp's own answers read the stray as the next request's."""
    async with StrayService() as service, aiohttp.ClientSession() as session:
        assert await ticker_of(session, service.url, "AAA") == "AAA"
        await asyncio.sleep(AFTER_THE_STRAY_S)
        assert await ticker_of(session, service.url, "BBB") == POISON
        assert service.connections == 1


async def test_a_request_after_a_stray_answer_goes_out_fresh_and_gets_its_own(pooled, fresh):
    async with StrayService() as service:
        transport = AiohttpTransport(pooled, fresh=fresh)
        answers = []
        for ticker in ("AAA", "BBB", "CCC"):
            request = Request("POST", service.url + "/prices", orjson.dumps({"ticker": ticker}))
            answer = await to_future(transport.send(request))
            answers.append(orjson.loads(answer.body)["data"]["ticker"])
            await asyncio.sleep(AFTER_THE_STRAY_S)
        assert answers == ["AAA", "BBB", "CCC"]
        # the first request's connection, then one fresh connection per request after a stray
        assert (service.connections, service.requests) == (3, 3)


# --- 1. the response class reads every answer, before the loop has read anything -----------------


async def test_every_answer_of_a_service_session_is_read_by_the_guard(pooled):
    async with (
        StrayService(stray_s=None) as service,
        pooled.post(service.url + "/prices", json={"ticker": "AAA"}) as answer,
    ):
        assert isinstance(answer, OwnAnswersOnly), (
            f"{AIOHTTP}: ClientSession(response_class=...) no longer makes the session's answers "
            f"(got {type(answer).__name__}): assumption 1 of own_answers.py"
        )


async def test_a_connection_answering_in_turn_is_kept_and_reused(pooled):
    """Our own answer is never in the connection when the guard looks: twenty requests in a row
    on one kept-alive connection, none refused."""
    async with StrayService(stray_s=None) as service:
        for index in range(20):
            try:
                assert await ticker_of(pooled, service.url, f"T{index}") == f"T{index}"
            except UnaskedBytes:
                pytest.fail(
                    f"{AIOHTTP}: ClientResponse.start is called after the loop has read the answer "
                    f"(request {index} refused): assumption 1 of own_answers.py"
                )
        assert service.connections == 1, f"{AIOHTTP}: an answered connection was not pooled again"


# --- 2. should_close says when an idle connection received bytes -----------------------------------


class Recording(aiohttp.ClientResponse):
    """Keeps the protocol of every connection an answer was read from."""

    protocols: list[Any] = []

    async def start(self, connection: Any) -> aiohttp.ClientResponse:
        Recording.protocols.append(connection.protocol)
        return await super().start(connection)


STRAY = http_answer(prices(POISON))
HEAD_END = STRAY.index(b"\r\n\r\n") + 4


@pytest.mark.parametrize(
    ("stray", "held"),
    [
        (STRAY, True),  # a whole answer
        (STRAY[: HEAD_END + 10], True),  # its head and part of its body
        (STRAY[:HEAD_END], True),  # its head alone
        (None, False),  # nothing
    ],
    ids=["a-whole-answer", "a-head-and-part-of-a-body", "a-head-alone", "nothing"],
)
async def test_should_close_is_true_on_a_connection_that_received_bytes_while_idle(stray, held):
    Recording.protocols = []
    async with (
        StrayService(stray_s=None if stray is None else 0.05, stray=stray) as service,
        aiohttp.ClientSession(response_class=Recording) as session,
    ):
        await ticker_of(session, service.url, "AAA")
        await asyncio.sleep(AFTER_THE_STRAY_S)
        [protocol] = Recording.protocols
        assert protocol.is_connected()  # still open: the pool would hand it out again
        assert protocol.should_close is held, (
            f"{AIOHTTP}: connection.protocol.should_close is {protocol.should_close} on an idle "
            f"connection that received {'bytes' if held else 'nothing'}: assumption 2 of own_answers.py"
        )


async def test_bytes_short_of_a_message_head_are_never_read_as_an_answer(pooled):
    """``should_close`` does not see part of a head, but the next request's parser replaces the
    one holding it: what follows is read afresh."""
    async with StrayService(stray=STRAY[: HEAD_END // 2]) as service:
        assert await ticker_of(pooled, service.url, "AAA") == "AAA"
        await asyncio.sleep(AFTER_THE_STRAY_S)
        assert await ticker_of(pooled, service.url, "BBB") == "BBB", (
            f"{AIOHTTP}: part of a head received while idle was read as the next answer: "
            f"assumption 2 of own_answers.py"
        )


# --- 3. an exception from start closes the connection ------------------------------------------------


async def test_the_guard_closes_the_connection_rather_than_pooling_it(pooled):
    async with StrayService() as service:
        assert await ticker_of(pooled, service.url, "AAA") == "AAA"
        await asyncio.sleep(AFTER_THE_STRAY_S)
        with pytest.raises(UnaskedBytes):  # a POST: aiohttp does not send it again itself
            await ticker_of(pooled, service.url, "BBB")
        try:
            await asyncio.wait_for(service.hung_up.wait(), 2)
        except TimeoutError:
            pytest.fail(
                f"{AIOHTTP}: an exception raised by ClientResponse.start no longer closes the "
                f"connection: assumption 3 of own_answers.py"
            )
        assert service.closed_by_client == 1
        assert await ticker_of(pooled, service.url, "CCC") == "CCC"  # on a new connection
        assert (service.connections, service.requests) == (2, 2)  # BBB was never sent
