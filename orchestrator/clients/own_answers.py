"""A pooled connection that holds bytes nobody asked for is never read from: each answer is our own.

aiohttp (3.13, and its master branch as of this writing) puts a connection back in its pool with
the last answer's parser still attached, so bytes a service writes on the connection while it is
idle (a second answer, a stray retransmission, a proxy's late error page) are parsed and kept in
the connection's buffer. The pool hands the connection out again if it is still open, and the next
request reads the message waiting there as its own answer: another request's prices, served 200 and
perhaps cached for everyone. aiohttp checks ``ResponseHandler.should_close`` (true when the buffer,
an unparsed tail, or an unfinished payload holds anything) only when it releases a connection.

So the services' sessions read their answers with :class:`OwnAnswersOnly`, given to
``aiohttp.ClientSession(response_class=...)``. Its ``start`` runs right after our request was
handed to the connection, before the event loop has had a turn to read anything in reply: whatever
the connection holds at that moment came before our request. Then it raises :class:`UnaskedBytes`,
aiohttp closes that connection instead of pooling it again, and the transport sends the request
once more on a fresh connection (``transport.AiohttpTransport._send``), as it does after a pooled
connection the service had closed. Bytes that arrive once our request is out cannot be told from
our answer by timing; an answer that does not match its request is refused by what it says
(``schemas/downstream.py``: the expectations).

Every assumption about aiohttp's insides that this relies on is here, each with a test of its own
in ``tests/orchestrator/clients/test_own_answers.py``, so that an aiohttp upgrade that breaks one
says which:

1. ``ClientSession(response_class=...)`` makes every answer of the session with that class, and
   ``start(connection)`` is called with the connection the request was sent on, before any turn of
   the loop after the request was written;
2. ``connection.protocol.should_close`` is true on a connection that received a message head while
   idle in the pool (with all, part or none of its body), and false on a connection that received
   nothing; bytes short of a whole head are not seen, but are never read as an answer either: the
   next request's ``set_response_params`` replaces the parser holding them;
3. an exception raised by ``start`` closes the connection rather than pooling it again.
"""

from __future__ import annotations

from typing import Any

import aiohttp


class UnaskedBytes(aiohttp.ServerDisconnectedError):
    """The pooled connection held bytes sent before our request: it is closed, not read.

    A ``ServerDisconnectedError`` because that is what it amounts to: the connection cannot be
    used, the request was not answered on it, and sending it again on a fresh one is safe (aiohttp
    itself does so once for an idempotent method; our transport for every call).
    """

    def __init__(self) -> None:
        super().__init__("the pooled connection held bytes sent before our request")


class OwnAnswersOnly(aiohttp.ClientResponse):
    """An answer read only from a connection that held nothing before the request went out."""

    async def start(self, connection: Any) -> aiohttp.ClientResponse:
        protocol = connection.protocol
        if protocol is not None and protocol.should_close:
            raise UnaskedBytes()
        return await super().start(connection)
