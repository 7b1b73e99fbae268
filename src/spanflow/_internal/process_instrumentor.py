"""The base of spanflow's process-level instrumentors: standard-library methods wrapped with wrapt.

The LLM client instrumentors (``spanflow.instrumentation._instrumentor``) patch libraries that
may not be imported yet; these patch standard-library classes that always are, so each patch is
applied at once. What they share with them is the ``BaseInstrumentor`` contract: one instance
per class, ``instrument()`` twice wraps once, ``uninstrument()`` undoes it.

Undoing must not break a library that wrapped the same method after spanflow did (another
tracer's thread instrumentation, a test double). So a patch is a wrapt ``FunctionWrapper`` layer
that can be switched off:

* when spanflow's layer is still the class attribute, ``uninstrument()`` puts back exactly what
  it wrapped (the original function object, same identity);
* when someone else's wrapper sits on top of it, the layer stays in their chain but passes every
  call straight through, and a later ``instrument()`` switches that same layer back on instead
  of stacking a second one.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, ClassVar

import wrapt
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)

Wrapper = Callable[[Any, Any, tuple[Any, ...], dict[str, Any]], Any]
"""A wrapt wrapper: ``(wrapped, instance, args, kwargs)``, returns what ``wrapped`` returns."""

_CHAIN_LIMIT = 64  # wrappers of one method followed through ``__wrapped__`` before giving up


@dataclass(frozen=True)
class MethodPatch:
    """One wrapped method: ``owner.name`` (looked up in the class itself) and its wrapper."""

    owner: type
    name: str
    wrapper: Wrapper


class _Layer:
    """spanflow's wrapt layer over one method, with the switch that turns it into a pass-through."""

    def __init__(self, patch: MethodPatch) -> None:
        self.active = True
        self.proxy = wrapt.FunctionWrapper(vars(patch.owner)[patch.name], self._call)
        self._wrapper = patch.wrapper

    def _call(
        self, wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if not self.active:
            return wrapped(*args, **kwargs)
        if instance is None and args:
            # Called on the function itself (``vars(Thread)["start"](thread)``, as a wrapper
            # another library saved may do): the instance is the first argument.
            instance, args = args[0], args[1:]
            wrapped = functools.partial(wrapped, instance)
        return self._wrapper(wrapped, instance, args, kwargs)

    def in_chain_of(self, attribute: object) -> bool:
        """Whether this layer is ``attribute`` or something ``attribute`` wraps."""
        current: object = attribute
        for _ in range(_CHAIN_LIMIT):
            if current is self.proxy:
                return True
            current = getattr(current, "__wrapped__", None)
            if current is None:
                return False
        return False


_lock = threading.Lock()


class ProcessInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Wraps the standard-library methods in ``patches``; subclasses declare nothing else."""

    patches: ClassVar[tuple[MethodPatch, ...]] = ()

    def instrumentation_dependencies(self) -> Collection[str]:
        return ()  # the standard library

    def _instrument(self, **kwargs: Any) -> None:
        with _lock:
            layers: dict[tuple[type, str], _Layer] = self.__dict__.setdefault("_layers", {})
            for patch in self.patches:
                if patch.name not in vars(patch.owner):
                    continue  # not in this Python version (a private method): nothing to carry
                key = (patch.owner, patch.name)
                layer = layers.get(key)
                if layer is not None and layer.in_chain_of(vars(patch.owner).get(patch.name)):
                    layer.active = True  # switched off under someone else's wrapper: reuse it
                    continue
                layer = _Layer(patch)
                setattr(patch.owner, patch.name, layer.proxy)
                layers[key] = layer

    def _uninstrument(self, **kwargs: Any) -> None:
        with _lock:
            layers: dict[tuple[type, str], _Layer] = self.__dict__.setdefault("_layers", {})
            for patch in reversed(self.patches):
                key = (patch.owner, patch.name)
                layer = layers.get(key)
                if layer is None:
                    continue
                layer.active = False
                if vars(patch.owner).get(patch.name) is layer.proxy:
                    setattr(patch.owner, patch.name, layer.proxy.__wrapped__)
                    del layers[key]
                # Otherwise another wrapper holds ours: it stays there, passing calls through.

    def ensure(self, *, instrumented: bool) -> None:
        """Instrument or uninstrument, without OpenTelemetry's warning when already so."""
        if instrumented and not self.is_instrumented_by_opentelemetry:
            self.instrument()
        elif not instrumented and self.is_instrumented_by_opentelemetry:
            self.uninstrument()
