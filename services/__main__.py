"""``python -m services NAME``: see :mod:`services.cli`."""

import sys

from services.cli import main

sys.exit(main())
