"""The backtesting platform's API gateway. The version is here alone: setup.cfg reads it for the
distribution's metadata, and ``orchestrator --version``, ``GET /health``, the OpenAPI document and the
``orchestrator_build_info`` metric show it (``orchestrator/build_info.py``)."""

__version__ = "0.1.0"
