"""AiohttpTransport's own exchanges over a service session, each answer faked by aioresponses.

What a session sends and what it does with each kind of answer: no server needed. What the bytes on
a real connection do (stray answers in the pool, gzip bombs, trickles) is tested on loopback
(test_own_answers.py, test_compressed_answers.py, test_hostile_services.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import orjson
import pytest
from aioresponses import aioresponses
from yarl import URL

import fakes
from orchestrator.clients.transport import AiohttpTransport, Answer, Request, service_session
from orchestrator.errors import AnswerTooLarge, CompressedAnswer
from streams.lean import to_future

PRICES = "http://market-data.test/prices"
ELSEWHERE = "http://elsewhere.test/prices"
BODY = orjson.dumps(fakes.prices())


@pytest.fixture
def answers() -> Iterator[aioresponses]:
    with aioresponses() as faked:
        yield faked


@pytest.fixture
async def sessions() -> AsyncIterator[tuple[aiohttp.ClientSession, aiohttp.ClientSession]]:
    """A pooled service session and the fresh one the second try goes out on."""
    pooled = service_session(aiohttp.TCPConnector(limit=4))
    fresh = service_session(aiohttp.TCPConnector(limit=0, force_close=True))
    yield pooled, fresh
    await pooled.close()
    await fresh.close()


async def send(transport: AiohttpTransport, request: Request | None = None) -> Answer:
    return await to_future(transport.send(request or Request("POST", PRICES, b'{"ticker":"TQQQ"}')))


def sent(answers: aioresponses, url: str = PRICES) -> int:
    return len(answers.requests.get(("POST", URL(url)), []))


async def test_the_request_goes_out_as_given_asking_for_an_uncompressed_answer(answers, sessions):
    answers.post(PRICES, body=BODY)
    request = Request("POST", PRICES, b'{"ticker":"TQQQ"}', {"X-Request-ID": "rid-1"})
    await send(AiohttpTransport(sessions[0]), request)
    [call] = answers.requests[("POST", URL(PRICES))]
    assert call.kwargs["data"] == b'{"ticker":"TQQQ"}'
    assert dict(call.kwargs["headers"]) == {"X-Request-ID": "rid-1", "Accept-Encoding": "identity"}
    assert call.kwargs["allow_redirects"] is False


@pytest.mark.parametrize("status", [200, 400, 503])
async def test_the_answer_is_its_status_and_its_bytes(answers, sessions, status):
    answers.post(PRICES, status=status, body=BODY)
    assert await send(AiohttpTransport(sessions[0])) == Answer(status, BODY)


async def test_a_redirect_is_answered_as_a_redirect_and_not_followed(answers, sessions):
    answers.post(PRICES, status=307, headers={"Location": ELSEWHERE})
    answers.post(ELSEWHERE, body=BODY)
    assert (await send(AiohttpTransport(sessions[0]))).status == 307
    assert sent(answers, ELSEWHERE) == 0


async def test_a_connection_the_service_closed_is_tried_once_more_on_a_fresh_one(answers, sessions):
    answers.post(PRICES, exception=aiohttp.ServerDisconnectedError())
    answers.post(PRICES, body=BODY)
    assert await send(AiohttpTransport(sessions[0], fresh=sessions[1])) == Answer(200, BODY)
    assert sent(answers) == 2


async def test_a_second_closed_connection_is_the_calls_error(answers, sessions):
    answers.post(PRICES, exception=aiohttp.ServerDisconnectedError(), repeat=2)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await send(AiohttpTransport(sessions[0], fresh=sessions[1]))
    assert sent(answers) == 2


async def test_any_other_failure_is_the_calls_error_at_once(answers, sessions):
    answers.post(PRICES, exception=aiohttp.ClientConnectionError("refused"), repeat=True)
    with pytest.raises(aiohttp.ClientConnectionError, match="refused"):
        await send(AiohttpTransport(sessions[0], fresh=sessions[1]))
    assert sent(answers) == 1


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared"])
async def test_an_answer_over_the_cap_is_refused(answers, sessions, declared):
    headers = {"Content-Length": str(len(BODY))} if declared else {}
    answers.post(PRICES, body=BODY, headers=headers)
    with pytest.raises(AnswerTooLarge):
        await send(AiohttpTransport(sessions[0], max_answer_bytes=len(BODY) - 1))


async def test_an_answer_at_the_cap_is_read(answers, sessions):
    answers.post(PRICES, body=BODY)
    assert (await send(AiohttpTransport(sessions[0], max_answer_bytes=len(BODY)))).body == BODY


async def test_a_compressed_answer_is_refused(answers, sessions):
    answers.post(PRICES, body=b"\x1f\x8b not read", headers={"Content-Encoding": "gzip"})
    with pytest.raises(CompressedAnswer):
        await send(AiohttpTransport(sessions[0]))
