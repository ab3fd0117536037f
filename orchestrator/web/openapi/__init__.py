"""The API's description, OpenAPI 3.1, generated rather than written: :func:`document`.

- **Schemas** come from the pydantic models of the requests and answers
  (``pydantic.json_schema.models_json_schema``, JSON Schema 2020-12: OpenAPI 3.1's own dialect).
- **Error answers** come from the error tree: each status an operation can answer with the codes
  of ``errors.py`` that carry it, the ``code`` of the envelope narrowed to them.
- **Operations** are :data:`OPERATIONS` (``operations.py``): per route, its body, its answers by
  status and media type (JSON, CSV, Server-Sent Events), its parameters and its errors' statuses.
- **Streams.** OpenAPI 3.1 has no word for a stream's events (3.2 adds ``itemSchema``); before 3.2
  the convention (schemathesis reads it) is that a ``text/event-stream`` schema describes *each
  event*: an object with ``event``, ``data`` and ``id``, whose ``data`` is JSON
  (``contentMediaType``) of the ``contentSchema`` its event's name selects.

``routes/api_docs.py`` serves it at ``/api/openapi.json`` and Swagger UI at ``/api/docs``.
``tests/orchestrator/web/test_openapi.py`` checks it covers every route and passes
openapi-spec-validator; ``test_openapi_answers.py`` and ``test_schemathesis.py`` that the app
answers within it.
"""

from orchestrator.web.openapi.document import AMOUNTS, PERCENTS, document
from orchestrator.web.openapi.operations import BACKTEST_EXAMPLE, OPERATIONS
from orchestrator.web.openapi.parts import REQUEST_ID_PATTERN, STATUS_MEANINGS, codes_by_status

__all__ = [
    "AMOUNTS",
    "BACKTEST_EXAMPLE",
    "OPERATIONS",
    "PERCENTS",
    "REQUEST_ID_PATTERN",
    "STATUS_MEANINGS",
    "codes_by_status",
    "document",
]
