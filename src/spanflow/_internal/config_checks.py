"""Check ``configure()``'s arguments up front: a bad value is a ``ConfigurationError`` naming it.

Without these checks a wrong type surfaced as whatever the first code to touch it raised
(``TypeError: 'int' object is not iterable``), or was accepted and failed later, at export time,
where spanflow only logs. ``None`` always means "from the environment, else the default".
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace.export import SpanExporter

from spanflow._internal.parameters import ConfigurationError

_ATTRIBUTE_SCALARS = (str, bool, int, float)


def _type_names(value: object) -> str:
    return type(value).__name__


def _check_optional_text(name: str, value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a string, got {_type_names(value)} {value!r}")


def _check_flag(name: str, value: object, *, optional: bool = True) -> None:
    if (value is None and optional) or isinstance(value, bool):
        return
    raise ConfigurationError(f"{name} must be True or False, got {_type_names(value)} {value!r}")


def _check_string_mapping(name: str, value: object) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{name} must be a mapping of strings, got {_type_names(value)}")
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise ConfigurationError(f"{name} must map strings to strings, got {key!r}: {item!r}")


def _check_attributes(value: object) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"resource_attributes must be a mapping, got {_type_names(value)} {value!r}"
        )
    for key, item in value.items():
        items = item if isinstance(item, Sequence) and not isinstance(item, str) else [item]
        if not isinstance(key, str) or not all(isinstance(x, _ATTRIBUTE_SCALARS) for x in items):
            raise ConfigurationError(
                "resource_attributes must map strings to str, bool, int, float or a list of "
                f"them, got {key!r}: {item!r}"
            )


def _check_endpoint(value: object) -> None:
    if value is None or isinstance(value, str):
        return
    if isinstance(value, Sequence) and all(isinstance(url, str) for url in value):
        return
    raise ConfigurationError(
        f"endpoint must be a URL or a list of URLs, got {_type_names(value)} {value!r}"
    )


def exporter_choices(value: object) -> list[str | SpanExporter] | None:
    """``exporters`` as a list; a string is a comma-separated list of names (as the variable).

    Raises:
        ConfigurationError: neither names nor ``SpanExporter`` instances.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, Sequence) and all(isinstance(x, str | SpanExporter) for x in value):
        return list(value)
    raise ConfigurationError(
        "exporters must be a list of exporter names or SpanExporter instances, got "
        f"{_type_names(value)} {value!r}"
    )


def _check_positive_seconds(value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(
            f"heartbeat_interval_s must be a number of seconds, got {_type_names(value)} {value!r}"
        )
    if not (value > 0 and math.isfinite(value)):
        raise ConfigurationError(
            f"heartbeat_interval_s must be a positive, finite number of seconds, got {value}"
        )


def _check_positive_count(value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(
            f"max_content_chars must be a positive whole number of characters, got {value!r}"
        )


def _check_patterns(value: object) -> None:
    if value is None:
        return
    if isinstance(value, Sequence) and not isinstance(value, str):  # noqa: SIM102
        if all(isinstance(pattern, str | re.Pattern) for pattern in value):
            return
    raise ConfigurationError(
        "redact_patterns must be a list of regular expressions (strings or compiled), got "
        f"{_type_names(value)} {value!r}"
    )


def check_arguments(arguments: Mapping[str, Any]) -> None:
    """Raise ``ConfigurationError`` for the first argument of ``configure()`` that cannot work.

    Args:
        arguments: ``configure()``'s keyword arguments by name.
    """
    _check_optional_text("project", arguments.get("project"))
    _check_optional_text("service_name", arguments.get("service_name"))
    _check_endpoint(arguments.get("endpoint"))
    _check_string_mapping("headers", arguments.get("headers"))
    exporter_choices(arguments.get("exporters"))
    db_path = arguments.get("db_path")
    if db_path is not None and not isinstance(db_path, str | os.PathLike):
        raise ConfigurationError(f"db_path must be a path, got {_type_names(db_path)} {db_path!r}")
    _check_positive_seconds(arguments.get("heartbeat_interval_s"))
    _check_flag("capture_content", arguments.get("capture_content"))
    _check_positive_count(arguments.get("max_content_chars"))
    dataflow = arguments.get("dataflow")
    if not (dataflow is None or isinstance(dataflow, bool) or dataflow == "inline"):
        raise ConfigurationError(
            f"dataflow must be True, False or 'inline', got {_type_names(dataflow)} {dataflow!r}"
        )
    _check_flag("propagate_context", arguments.get("propagate_context"), optional=False)
    _check_attributes(arguments.get("resource_attributes"))
    _check_flag("redact", arguments.get("redact"))
    _check_patterns(arguments.get("redact_patterns"))
    _check_flag("openinference", arguments.get("openinference"))
    _check_flag("record_responses", arguments.get("record_responses"))
