"""The public API of ``spanflow`` is exactly what ``__all__`` promises."""

from __future__ import annotations

import spanflow

# Add a name here when adding it to spanflow.__all__ (kept sorted there).
EXPECTED_PUBLIC_NAMES = {
    "Client",
    "ConfigurationError",
    "RunExistsError",
    "RunHandle",
    "RunStatus",
    "SpanflowWarning",
    "configure",
    "current_run",
    "force_flush",
    "graph",
    "instrument",
    "launch",
    "link",
    "log_artifact",
    "log_input",
    "log_inputs",
    "log_metric",
    "log_metrics",
    "log_output",
    "log_outputs",
    "log_param",
    "log_params",
    "replay",
    "run",
    "shutdown",
    "start_run",
    "step",
    "tag",
    "uninstrument",
}


def test_all_lists_the_expected_public_names() -> None:
    """Nothing is added to or dropped from the public API by accident."""
    assert set(spanflow.__all__) == EXPECTED_PUBLIC_NAMES


def test_all_is_sorted_and_every_name_exists() -> None:
    """``__all__`` stays sorted and each name resolves on the package."""
    assert spanflow.__all__ == sorted(spanflow.__all__)
    for name in spanflow.__all__:
        assert hasattr(spanflow, name), name
