"""``python -m services NAME``: see :mod:`services.cli`.

The services' own libraries (starlette, uvicorn, exchange-calendars) are the ``services`` extra: a
gateway-only install has the package but not them, and is told so instead of shown a traceback.
"""

import sys

#: What the services' extra brings, and what it brings in turn.
STACK = {"starlette", "uvicorn", "exchange_calendars", "pandas", "numpy"}

try:
    from services.cli import main
except ModuleNotFoundError as missing:
    if (missing.name or "").split(".")[0] not in STACK:
        raise  # a module of our own: a bug, not an install
    print(
        f"The reference services need {missing.name}, which is not installed: "
        "pip install 'backtest-orchestrator[services]'",
        file=sys.stderr,
    )
    sys.exit(2)

sys.exit(main())
