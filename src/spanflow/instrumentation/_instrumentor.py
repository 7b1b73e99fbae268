"""The instrumentor base: patch named ``(module, attribute)`` targets with wrapt, lazily.

A provider's instrumentor is a list of ``Hook``s. ``instrument()`` patches each target when its
module is imported (at once if it already is), so instrumenting never imports a client library
the application does not use; ``uninstrument()`` restores what was patched and disarms the
hooks still waiting for an import. Every wrapper steps aside while OpenTelemetry's
``suppress_instrumentation`` is in effect.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

import wrapt
from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.instrumentation.utils import is_instrumentation_enabled, unwrap

from spanflow._internal.guard import report_internal_error
from spanflow._version import get_tracer

Wrapper = Callable[[Any, Any, tuple[Any, ...], dict[str, Any]], Any]
WrapperFactory = Callable[[trace.Tracer, Mapping[str, Any]], Wrapper]
"""Makes a target's wrapt wrapper from the tracer and the ``instrument(**kwargs)`` options."""


@dataclass(frozen=True)
class Hook:
    """One patch: ``attribute`` (dotted, e.g. ``"Client.chat"``) of ``module``, and its wrapper."""

    module: str
    attribute: str
    wrapper: WrapperFactory


class LLMInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Base of spanflow's instrumentors: declare ``hooks`` and ``dependencies``, nothing more.

    Subclasses may override ``setup``/``teardown`` for work beyond patching. Like every
    ``BaseInstrumentor``, each subclass is a singleton, ``instrument()`` twice is a no-op and
    ``uninstrument()`` restores the original code.
    """

    hooks: ClassVar[tuple[Hook, ...]] = ()
    dependencies: ClassVar[tuple[str, ...]] = ()

    def instrumentation_dependencies(self) -> Collection[str]:
        return self.dependencies

    def setup(self, tracer: trace.Tracer, options: Mapping[str, Any]) -> None:
        """Extra work when instrumenting, before any hook is armed (default: none)."""

    def teardown(self) -> None:
        """Undo ``setup`` when uninstrumenting (default: nothing)."""

    def on_import(self, module_name: str, action: Callable[[ModuleType], None]) -> None:
        """Run ``action(module)`` once ``module_name`` is imported, unless uninstrumented first.

        For ``setup`` work that needs the library's module; ``teardown`` undoes it.
        """
        generation = self._spanflow_generation

        def guarded(module: ModuleType) -> None:
            with _lock:
                if self._spanflow_generation != generation:
                    return
                try:
                    action(module)
                except Exception:
                    report_internal_error(f"instrumenting {module_name}")

        _when_imported(module_name, guarded)

    def _instrument(self, **kwargs: Any) -> None:
        tracer = get_tracer(type(self).__module__, kwargs.get("tracer_provider"))
        with _lock:
            self._spanflow_generation = getattr(self, "_spanflow_generation", 0) + 1
            self._spanflow_patched: list[tuple[Any, str]] = []
            generation = self._spanflow_generation
        self.setup(tracer, kwargs)
        for hook in self.hooks:
            _when_imported(hook.module, _Patcher(self, hook, tracer, kwargs, generation))

    def _uninstrument(self, **kwargs: Any) -> None:
        with _lock:
            self._spanflow_generation = getattr(self, "_spanflow_generation", 0) + 1
            patched, self._spanflow_patched = getattr(self, "_spanflow_patched", []), []
        for owner, name in reversed(patched):
            unwrap(owner, name)
        self.teardown()


_lock = threading.RLock()


class _Patcher:
    """Applies one hook to its module, unless the instrumentor was switched off meanwhile."""

    def __init__(
        self,
        instrumentor: LLMInstrumentor,
        hook: Hook,
        tracer: trace.Tracer,
        options: Mapping[str, Any],
        generation: int,
    ) -> None:
        self._instrumentor = instrumentor
        self._hook = hook
        self._tracer = tracer
        self._options = options
        self._generation = generation

    def __call__(self, module: ModuleType) -> None:
        instrumentor, hook = self._instrumentor, self._hook
        with _lock:
            if instrumentor._spanflow_generation != self._generation:
                return  # uninstrumented (or instrumented afresh) before the module arrived
            try:
                *path, name = hook.attribute.split(".")
                owner: Any = module
                for step in path:
                    owner = getattr(owner, step)
                if not hasattr(owner, name):
                    return  # this version of the library has no such method
                wrapper = _unless_suppressed(hook.wrapper(self._tracer, self._options))
                wrapt.wrap_function_wrapper(owner, name, wrapper)
                instrumentor._spanflow_patched.append((owner, name))
            except Exception:
                report_internal_error(f"patching {hook.module}.{hook.attribute}")


def _when_imported(module_name: str, patch: Callable[[ModuleType], None]) -> None:
    module = sys.modules.get(module_name)
    if module is not None:
        patch(module)
    else:
        wrapt.register_post_import_hook(patch, module_name)


def _unless_suppressed(wrapper: Wrapper) -> Wrapper:
    def checked(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        return wrapper(wrapped, instance, args, kwargs)

    return checked
