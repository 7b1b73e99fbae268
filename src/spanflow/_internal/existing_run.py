"""What ``run(id=..., if_exists=...)`` and ``run(resume=...)`` do about a run that may exist.

A run id given to ``run()`` is looked up first in this process (runs it opened), then in the
run index this process writes to (``written_index.look_up_run``). The answer decides:

- ``if_exists="error"`` (the default with ``id=``): an existing run raises ``RunExistsError``;
- ``"resume"``: an existing run gets a new segment, keeping its name, project and tags;
- ``"new"``: an existing run is left alone and a fresh run with a new id is opened, its
  ``rerun_of`` attribute naming the old one.

``resume=`` an id that the index answers it does not hold raises ``RunNotFoundError``. When
there is no index to ask (``memory``/``console`` exporters, or only a non-spanflow OTLP
endpoint) only this process's own runs are known; a lookup that fails (collector down) warns
once and the run opens as if the id were new.
"""

from __future__ import annotations

from typing import Literal

from spanflow import attributes

IfExists = Literal["error", "resume", "new"]
IF_EXISTS_CHOICES: tuple[IfExists, ...] = ("error", "resume", "new")
DEFAULT_IF_EXISTS: IfExists = "error"
RERUN_OF_ATTRIBUTE = attributes.RUN_RERUN_OF.removeprefix(attributes.RUN_ATTRIBUTE_PREFIX)
"""Free attribute (``spanflow.run.attr.rerun_of``) of a run opened by ``if_exists="new"``."""


class RunExistsError(ValueError):
    """``run(id=...)`` names a run that already exists and ``if_exists`` is ``"error"``."""

    def __init__(self, run_id: str, where: str) -> None:
        super().__init__(
            f"run {run_id!r} already exists in {where}; pass if_exists='resume' to add a segment "
            "to it or if_exists='new' to start a fresh run beside it"
        )
        self.run_id = run_id


def checked_if_exists(value: str | None) -> IfExists | None:
    """``value`` if it is one of the choices (or None); else ``ValueError`` naming them."""
    if value is None:
        return None
    for choice in IF_EXISTS_CHOICES:
        if value == choice:
            return choice
    raise ValueError(
        f"if_exists={value!r}: use one of {', '.join(repr(c) for c in IF_EXISTS_CHOICES)}"
    )
