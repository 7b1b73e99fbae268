"""The instrumentation's name for spanflow's one internal-error guard (``_internal/guard.py``).

Kept so adapters and instrumentors import it from beside them; there is no second guard.
"""

from __future__ import annotations

from spanflow._internal.guard import internal_errors, report_internal_error, reset_reported

__all__ = ["internal_errors", "report_internal_error", "reset_reported"]
