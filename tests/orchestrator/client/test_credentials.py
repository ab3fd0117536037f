"""The Python client's credential (``client/api.py``): an API key or a token, never both, never shown."""

from __future__ import annotations

import pytest

from orchestrator.client import OrchestratorClient


def test_an_api_key_and_a_token_together_are_refused():
    with pytest.raises(ValueError, match="not both"):
        OrchestratorClient("http://127.0.0.1:1", 1, api_key="bto_x", token="eyJ")


@pytest.mark.parametrize("credential", [{"api_key": "bto_secret"}, {"token": "eyJsecret"}])
def test_the_client_never_shows_its_credential(credential):
    shown = repr(OrchestratorClient("http://127.0.0.1:1", 1, **credential))
    assert "secret" not in shown and "127.0.0.1" in shown
