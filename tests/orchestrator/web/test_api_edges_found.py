"""What schemathesis and probing the documented API turned up, pinned: each was a bug.

- ``X-Request-Timeout-Ms: ²`` was a 500: ``str.isdigit`` takes the superscript, ``int`` refuses it;
  and Arabic-Indic digits were read as a number. Only ASCII digits are milliseconds.
- A 405 came without ``Allow``, which HTTP requires of it.
"""

from __future__ import annotations

import pytest

import fakes


@pytest.mark.parametrize("value", ["²", "٣٠٠٠", "\uff11\uff10"])
async def test_a_deadline_header_of_other_digits_is_a_400(client, services, value):
    response = await client.post(
        "/api/backtest", json=fakes.backtest_request(), headers={"X-Request-Timeout-Ms": value}
    )
    assert (response.status, (await response.json())["error"]["code"]) == (400, "INVALID_REQUEST")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("DELETE", "/api/backtest", "OPTIONS,POST"), ("POST", "/api/openapi.json", "GET,HEAD,OPTIONS")],
)
async def test_a_405_says_which_methods_the_path_takes(client, method, path, allowed):
    response = await client.request(method, path)
    assert (response.status, response.headers["Allow"]) == (405, allowed)
    assert (await response.json())["error"]["details"]["allowed"] == allowed.split(",")
