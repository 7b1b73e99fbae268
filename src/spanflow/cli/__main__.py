"""``python -m spanflow.cli``."""

import sys

from spanflow.cli import main

sys.exit(main())
