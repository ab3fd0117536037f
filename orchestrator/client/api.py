"""The orchestrator's HTTP API from Python: :class:`OrchestratorClient`, a method per route.

One client holds one HTTP session, opened and closed by ``async with``. Every way an exchange can
end is a :class:`Reply` or a :class:`~orchestrator.client.answers.Failed`: an error envelope, a
refused connection, a timeout, a stream cut off before its last event. The streamed routes hand
each event named in ``on_event`` to its handler as it arrives (``sse.py`` reads the stream).

The job methods (``/api/jobs``, docs/contract.md section 7) answer the API's pydantic models
(``orchestrator.schemas.jobs``); :meth:`OrchestratorClient.watch_job` resumes a dropped event
stream from the last event id it saw, so a watcher gets every result once whatever the network does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp

from orchestrator.client.answers import Failed, decode, describe_error, read_envelope
from orchestrator.client.sse import iter_events

if TYPE_CHECKING:
    from orchestrator.client.jobs import JobEvent
    from orchestrator.schemas.jobs import Job, JobResults
    from orchestrator.schemas.research_responses import RankedSweepRow

# The job methods import the API's models (``client/jobs.py``, ``orchestrator.schemas``) as they
# run: the command line's other commands need not load them (tests/test_layers.py).

OnEvent = Callable[[dict[str, Any]], None]  # told the data of each event of one name
Handlers = Mapping[str, OnEvent]
HINT = "is the orchestrator running? try `orchestrator dev` (or point --url / $ORCHESTRATOR_URL at it)"
DEFAULT_URL = "http://127.0.0.1:8011"
#: A job's statuses once it is over: nothing more will change but its expiry.
FINISHED = frozenset({"succeeded", "failed", "cancelled"})
#: The most rows one results page may ask for (the server's limit): iterating reads pages this big.
PAGE_MAX = 1000


@dataclass(frozen=True, slots=True)
class Reply:
    """A success: the answer's text as it came, and the envelope it decodes to."""

    text: str
    envelope: dict[str, Any]


class OrchestratorClient:
    """``async with OrchestratorClient(url, timeout_s) as client: reply = await client.backtest(body)``.

    ``timeout_s`` bounds each exchange, from its request to the last byte of its answer; a job's
    event stream, which lasts as long as its job, is bounded by it between two bytes instead (the
    server's heartbeat keeps an idle stream talking). A caller proves who it is with an ``api_key``
    (sent as ``X-API-Key``) or a ``token`` (a JWT, sent as ``Authorization: Bearer``), when the
    orchestrator asks for one (``AUTH__MODE``)."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        timeout_s: float = 300.0,
        *,
        api_key: str | None = None,
        token: str | None = None,
    ) -> None:
        if api_key and token:
            raise ValueError("give an API key or a token, not both")
        self.url, self.timeout_s = url, timeout_s
        self._credential = {"X-API-Key": api_key} if api_key else {}
        if token:
            self._credential = {"Authorization": f"Bearer {token}"}
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:  # never the credential
        return f"OrchestratorClient({self.url!r}, timeout_s={self.timeout_s:g})"

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
        return await self._csv("POST", "/api/sweep", body)

    async def search_tickers(self, query: str, limit: int = 10) -> Reply:
        """``GET /api/tickers/search``: tickers whose symbol or name holds ``query``."""
        params = {"q": query, "limit": str(limit)}
        async with self._exchange("GET", "/api/tickers/search", None, "application/json", params) as response:
            text = await response.text()
            return Reply(text, read_envelope(response.status, text))

    # --- jobs (docs/contract.md, section 7) ------------------------------------------------------

    async def submit_job(self, body: dict[str, Any], idempotency_key: str | None = None) -> Job:
        """``POST /api/jobs``: ``body`` is a sweep's or a comparison's with its ``kind``. The same body
        sent again with the same ``idempotency_key`` answers the first job rather than make another."""
        from orchestrator.client.jobs import Job

        headers = {} if idempotency_key is None else {"Idempotency-Key": idempotency_key}
        envelope = await self._json("POST", "/api/jobs", body=body, headers=headers)
        return Job.model_validate(envelope["data"])

    async def job(self, job_id: str) -> Job:
        """``GET /api/jobs/{id}``: the job's status, counts, time left, calls and provenance."""
        from orchestrator.client.jobs import Job

        return Job.model_validate((await self._json("GET", _job_path(job_id)))["data"])

    async def jobs(self, limit: int = 20) -> list[Job]:
        """``GET /api/jobs``: this address's recent jobs, newest first."""
        from orchestrator.client.jobs import Job

        envelope = await self._json("GET", "/api/jobs", params={"limit": str(limit)})
        return [Job.model_validate(job) for job in envelope["data"]["jobs"]]

    async def cancel_job(self, job_id: str) -> Job:
        """``DELETE /api/jobs/{id}``: no new setting of it starts; a job already over stays as it ended."""
        from orchestrator.client.jobs import Job

        return Job.model_validate((await self._json("DELETE", _job_path(job_id)))["data"])

    async def job_results(self, job_id: str, offset: int = 0, limit: int = 100) -> JobResults:
        """``GET /api/jobs/{id}/results``: one page of the ranked table (so far, while it runs)."""
        from orchestrator.client.jobs import JobResults

        params = {"offset": str(offset), "limit": str(limit)}
        envelope = await self._json("GET", _job_path(job_id, "/results"), params=params)
        return JobResults.model_validate(envelope["data"])

    async def iter_job_results(self, job_id: str, page_size: int = PAGE_MAX) -> AsyncIterator[RankedSweepRow]:
        """Every row of the ranked table, best first, a page at a time (never all of it in memory).
        Read a finished job's: while a job runs its table moves under the pages."""
        offset = 0
        while True:
            page = await self.job_results(job_id, offset, page_size)
            for row in page.rows:
                yield row
            if len(page.rows) < page_size:
                return
            offset += len(page.rows)

    async def job_csv(self, job_id: str) -> str:
        """``GET /api/jobs/{id}/results?format=csv``: the whole ranked table as CSV."""
        return await self._csv("GET", _job_path(job_id, "/results"), None)

    async def results_frame(self, job_id: str) -> Any:  # a pandas.DataFrame (jobs.frame says why Any)
        """The whole ranked table as a pandas DataFrame: ``rank``, ``index``, a column per grid path,
        per metric and per comparison, ``error_code`` and ``error_message``. Needs pandas."""
        from orchestrator.client.jobs import frame

        frame([])  # says what to install before reading every page
        return frame([row async for row in self.iter_job_results(job_id)])

    async def wait_job(self, job_id: str, poll_s: float = 1.0) -> Job:
        """The job once it is over (``succeeded``, ``failed`` or ``cancelled``), asking every ``poll_s``."""
        while True:  # polled: a stream would carry every row of the job to say when it ends
            job = await self.job(job_id)
            if job.status in FINISHED:
                return job
            await asyncio.sleep(poll_s)

    async def watch_job(
        self,
        job_id: str,
        last_event_id: str | None = None,
        reconnects: int = 5,
        retry_s: float = 1.0,
        on_drop: Callable[[Failed, str | None], None] | None = None,
    ) -> AsyncIterator[JobEvent]:
        """``GET /api/jobs/{id}/events``, typed, until the ``summary`` (the last event yielded).

        A stream that drops (cut, timed out, ended by a stopping server, or by an ``error`` event
        when the jobs' store failed) is opened again with ``Last-Event-ID`` set to the last id seen,
        after ``retry_s`` doubling up to ten times that: every ``result`` comes once, none is lost.
        ``reconnects`` drops in a row with no event between them end the watch with the last
        :class:`Failed`; an error answer (an unknown job: ``NOT_FOUND``) ends it at once. ``on_drop``
        is told each drop it will resume from, and the id it resumes after."""
        after, failures = last_event_id, 0
        while True:
            try:
                async for event in self._job_events(job_id, after):
                    failures = 0
                    after = event.id or after
                    yield event
                    if event.kind == "summary":
                        return
                raise Failed(f"the event stream of job {job_id} ended before its summary", 2)
            except Failed as failure:
                if failure.exit_code == 1 and failure.code != "SERVICE_UNAVAILABLE":
                    raise
                failures += 1
                if failures > reconnects:
                    raise Failed(
                        f"{failure} ({failures} times in a row: gave up)", 2, failure.error
                    ) from None
                if on_drop is not None:
                    on_drop(failure, after)
            await asyncio.sleep(min(retry_s * 2 ** (failures - 1), retry_s * 10))

    async def _job_events(self, job_id: str, after: str | None) -> AsyncIterator[JobEvent]:
        """One connection's events; an ``error`` event is :class:`Failed`."""
        from orchestrator.client.jobs import job_event

        headers = {} if after is None else {"Last-Event-ID": after}
        # Bounded between two bytes, not in all: the stream lasts as long as the job.
        bounds = aiohttp.ClientTimeout(total=None, sock_connect=self.timeout_s, sock_read=self.timeout_s)
        path = _job_path(job_id, "/events")
        async with self._exchange(
            "GET", path, None, "text/event-stream", headers=headers, bounds=bounds
        ) as response:
            if response.content_type != "text/event-stream":
                read_envelope(response.status, await response.text())  # an error answer: this raises it
                raise Failed(f"HTTP {response.status}: asked for events, got {response.content_type}", 2)
            async for raw in iter_events(response.content):
                if raw.event == "error":
                    envelope = decode(raw.data)
                    raise Failed(describe_error(envelope), 1, envelope.get("error"))
                if (event := job_event(raw.event, raw.id, decode(raw.data))) is not None:
                    yield event

    async def _json(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The success envelope of one JSON exchange, or :class:`Failed`."""
        async with self._exchange(method, path, body, "application/json", params, headers) as response:
            return read_envelope(response.status, await response.text())

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

    async def _csv(self, method: str, path: str, body: dict[str, Any] | None) -> str:
        async with self._exchange(method, path, body, "text/csv", {"format": "csv"}) as response:
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
        headers: dict[str, str] | None = None,
        bounds: aiohttp.ClientTimeout | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """The response, while it is read; whatever goes wrong on the way is :class:`Failed`."""
        if self._session is None:
            raise RuntimeError("OrchestratorClient is used inside `async with` only")
        url, sent = self.url.rstrip("/") + path, {"Accept": accept, **self._credential, **(headers or {})}
        options: dict[str, Any] = {} if bounds is None else {"timeout": bounds}
        try:
            async with self._session.request(
                method, url, json=body, headers=sent, params=params, **options
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


def _job_path(job_id: str, rest: str = "") -> str:
    """A job's path; an id is URL-safe base64, so anything else is quoted rather than let change the path."""
    return f"/api/jobs/{quote(job_id, safe='')}{rest}"
