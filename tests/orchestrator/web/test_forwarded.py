"""The client behind the proxies: believed only from a trusted peer, and only in the proxy's header."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from structlog.testing import capture_logs

from orchestrator.limits import EdgeConfig
from orchestrator.web.forwarded import forwarded_client
from orchestrator.web.middlewares import error_envelopes, request_context

#: The test client connects from 127.0.0.1.
LOOPBACK = "127.0.0.0/8"


async def echo(request: web.Request) -> web.Response:
    return web.json_response({"remote": request.remote, "scheme": request.scheme, "host": request.host})


@pytest.fixture
def asked(aiohttp_client: Any):
    """``asked(headers, **edge)``: the client, scheme and host the handler saw, and the log line."""

    async def ask(headers: dict[str, str], **edge: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        app = web.Application(
            middlewares=[request_context, error_envelopes, forwarded_client(EdgeConfig(**edge))]
        )
        app.router.add_get("/echo", echo)
        client = await aiohttp_client(app)
        with capture_logs() as logs:
            response = await client.get("/echo", headers=headers)
            seen = await response.json()
        (line,) = [entry for entry in logs if entry.get("event") == "request"]
        return seen, line

    return ask


async def test_without_trusted_proxies_the_headers_are_ignored(asked):
    seen, line = await asked({"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
    assert (seen["remote"], seen["scheme"], line["client"]) == ("127.0.0.1", "http", "127.0.0.1")


async def test_a_peer_that_is_not_trusted_is_the_client(asked):
    seen, line = await asked({"X-Forwarded-For": "203.0.113.7"}, trusted_proxies=["10.0.0.0/8"])
    assert (seen["remote"], line["client"]) == ("127.0.0.1", "127.0.0.1")


async def test_a_trusted_proxy_names_the_client_and_its_scheme(asked):
    headers = {
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "api.example",
    }
    seen, line = await asked(headers, trusted_proxies=[LOOPBACK])
    assert seen == {"remote": "203.0.113.7", "scheme": "https", "host": "api.example"}
    assert (line["client"], line["proxy"]) == ("203.0.113.7", "127.0.0.1")


async def test_what_the_client_wrote_before_the_proxy_appended_is_not_believed(asked):
    seen, _ = await asked({"X-Forwarded-For": "1.1.1.1, 203.0.113.7"}, trusted_proxies=[LOOPBACK])
    assert seen["remote"] == "203.0.113.7"


async def test_a_chain_of_trusted_proxies_is_skipped(asked):
    headers = {"X-Forwarded-For": "1.1.1.1, 203.0.113.7, 10.1.2.3"}  # client, its address, an inner proxy
    seen, _ = await asked(headers, trusted_proxies=[LOOPBACK, "10.0.0.0/8"])
    assert seen["remote"] == "203.0.113.7"


async def test_a_trusted_proxy_without_the_header_is_its_own_client(asked):
    seen, line = await asked({}, trusted_proxies=[LOOPBACK])
    assert (seen["remote"], line["client"]) == ("127.0.0.1", "127.0.0.1")


async def test_a_forwarded_header_is_ignored_where_proxies_write_x_forwarded_for(asked):
    seen, _ = await asked({"Forwarded": "for=203.0.113.7"}, trusted_proxies=[LOOPBACK])
    assert seen["remote"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("forwarded", "remote", "scheme"),
    [
        ('for="[2001:db8::1]:4711";proto=https', "2001:db8::1", "https"),
        ("for=198.51.100.2:80", "198.51.100.2", "http"),
        ("for=1.1.1.1, for=203.0.113.7;proto=https", "203.0.113.7", "https"),
        ("for=203.0.113.7, for=10.9.9.9", "203.0.113.7", "http"),
        ("for=unknown", "unknown", "http"),
    ],
    ids=["ipv6-with-port", "ipv4-with-port", "client-written-first", "inner-proxy-skipped", "unknown"],
)
async def test_where_proxies_write_forwarded_it_names_the_client(asked, forwarded, remote, scheme):
    headers = {"Forwarded": forwarded, "X-Forwarded-For": "6.6.6.6"}  # the other header: ignored
    edge = {"trusted_proxies": [LOOPBACK, "10.0.0.0/8"], "proxy_header": "forwarded"}
    seen, _ = await asked(headers, **edge)
    assert (seen["remote"], seen["scheme"]) == (remote, scheme)


async def test_a_malformed_header_from_a_trusted_proxy_is_a_400_envelope(aiohttp_client):
    app = web.Application(
        middlewares=[
            request_context,
            error_envelopes,
            forwarded_client(EdgeConfig(trusted_proxies=[LOOPBACK])),
        ]
    )
    app.router.add_get("/echo", echo)
    client = await aiohttp_client(app)
    response = await client.get("/echo", headers={"X-Forwarded-For": "not-an-address"})
    assert (response.status, (await response.json())["error"]["code"]) == (400, "INVALID_REQUEST")


def test_trusted_proxies_are_read_from_a_comma_separated_setting():
    edge = EdgeConfig(trusted_proxies="10.0.0.0/8, 192.168.1.1")  # type: ignore[arg-type]
    assert [str(network) for network in edge.trusted_proxies] == ["10.0.0.0/8", "192.168.1.1/32"]


@pytest.mark.parametrize(
    ("address", "trusted"),
    [("10.2.3.4", True), ("11.0.0.1", False), ("::ffff:10.2.3.4", True), ("not-an-ip", False), (None, False)],
)
def test_which_peers_are_trusted(address, trusted):
    assert EdgeConfig(trusted_proxies=["10.0.0.0/8"]).trusts(address) is trusted
