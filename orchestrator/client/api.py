"""The orchestrator's HTTP API from Python: :class:`OrchestratorClient`, a method per route.

One client holds one HTTP session, opened and closed by ``async with``. Every way an exchange can
end is a :class:`Reply` or a :class:`~orchestrator.client.answers.Failed`: an error envelope, a
refused connection, a timeout, a stream cut off before its last event. The streamed routes hand
each event named in ``on_event`` to its handler as it arrives (``sse.py`` reads the stream).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp

from orchestrator.client.answers import Failed, decode, describe_error, read_envelope
from orchestrator.client.sse import iter_events

OnEvent = Callable[[dict[str, Any]], None]  # told the data of each event of one name
Handlers = Mapping[str, OnEvent]
HINT = "is the orchestrator running? try `orchestrator dev` (or point --url / $ORCHESTRATOR_URL at it)"


@dataclass(frozen=True, slots=True)
class Reply:
    """A success: the answer's text as it came, and the envelope it decodes to."""

    text: str
    envelope: dict[str, Any]


class OrchestratorClient:
    """``async with OrchestratorClient(url, timeout_s) as client: reply = await client.backtest(body)``.

    ``timeout_s`` bounds each exchange, from its request to the last byte of its answer."""

    def __init__(self, url: str, timeout_s: float) -> None:
        self.url, self.timeout_s = url, timeout_s
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> OrchestratorClient:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def backtest(self, body: dict[str, Any], on_event: Handlers | None = None) -> Reply:
        """``POST /api/backtest``, streamed: ``progress`` events, then the ``result``."""
        return await self._stream("/api/backtest", body, on_event or {}, final="result")

    async def compare(self, body: dict[str, Any], on_event: Handlers | None = None) -> Reply:
        """``POST /api/compare``, streamed: ``progress`` events, then the ``result``."""
        return await self._stream("/api/compare", body, on_event or {}, final="result")

    async def sweep(self, body: dict[str, Any], on_event: Handlers | None = None) -> Reply:
        """``POST /api/sweep``, streamed: ``plan``, ``setting`` and ``fold`` events, then the ``summary``."""
        return await self._stream("/api/sweep", body, on_event or {}, final="summary")

    async def sweep_csv(self, body: dict[str, Any]) -> str:
        """``POST /api/sweep?format=csv``: the sweep's CSV export."""
        return await self._csv("/api/sweep", body)

    async def search_tickers(self, query: str, limit: int = 10) -> Reply:
        """``GET /api/tickers/search``: tickers whose symbol or name holds ``query``."""
        params = {"q": query, "limit": str(limit)}
        async with self._exchange("GET", "/api/tickers/search", None, "application/json", params) as response:
            text = await response.text()
            return Reply(text, read_envelope(response.status, text))

    async def _stream(self, path: str, body: dict[str, Any], on_event: Handlers, final: str) -> Reply:
        """POST ``body`` as a stream: the ``final`` event's data; every other event whose name
        ``on_event`` has is handed to its handler as it arrives, events of other names are ignored."""
        async with self._exchange("POST", path, body, "text/event-stream") as response:
            if response.content_type != "text/event-stream":
                # Validation errors (and servers that do not stream) answer plain JSON.
                text = await response.text()
                return Reply(text, read_envelope(response.status, text))
            async for event in iter_events(response.content):
                if event.event == final:
                    return Reply(event.data, decode(event.data))
                if event.event == "error":
                    raise Failed(describe_error(decode(event.data)), 1)
                if (handler := on_event.get(event.event)) is not None:
                    handler(decode(event.data))
        raise Failed(f"the stream ended without a {final} (did the orchestrator stop?)", 2)

    async def _csv(self, path: str, body: dict[str, Any]) -> str:
        async with self._exchange("POST", path, body, "text/csv", {"format": "csv"}) as response:
            text = await response.text()
            if 200 <= response.status < 300 and response.content_type == "text/csv":
                return text
            read_envelope(response.status, text)  # errors are still the JSON envelope: this raises them
            raise Failed(f"HTTP {response.status}: asked for CSV, got {response.content_type}", 2)

    @asynccontextmanager
    async def _exchange(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        accept: str,
        params: dict[str, str] | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """The response, while it is read; whatever goes wrong on the way is :class:`Failed`."""
        if self._session is None:
            raise RuntimeError("OrchestratorClient is used inside `async with` only")
        url, headers = self.url.rstrip("/") + path, {"Accept": accept}
        try:
            async with self._session.request(
                method, url, json=body, headers=headers, params=params
            ) as response:
                yield response
        except aiohttp.ClientConnectorError as error:
            raise Failed(f"cannot connect to the orchestrator at {self.url}: {error}\n{HINT}", 2) from None
        except TimeoutError:
            raise Failed(
                f"no answer from {self.url} within {self.timeout_s:g} s (see --timeout)", 2
            ) from None
        except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError):
            raise Failed(f"not an http(s) URL: {self.url!r} (e.g. http://127.0.0.1:8011)", 2) from None
        except aiohttp.ClientError as error:
            raise Failed(f"lost the connection to {self.url}: {error or type(error).__name__}", 2) from None
