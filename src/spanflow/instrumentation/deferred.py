"""Patch a framework when the application imports it, never by importing it ourselves.

``spanflow.instrument()`` enables every framework that is installed; importing LangChain or the
Agents SDK just to patch it would cost an app that never uses them seconds of start-up. A
:class:`DeferredPatch` registers a post-import hook (wrapt's, the one ``opentelemetry-
instrument`` relies on too) that patches the module the moment it is imported, or at once if it
already is.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import ModuleType

from wrapt import register_post_import_hook

from spanflow.instrumentation._guard import report_internal_error

__all__ = ["DeferredPatch"]


class DeferredPatch:
    """``patch(module)`` once ``module_name`` is imported; ``remove()`` calls ``unpatch``.

    Post-import hooks cannot be unregistered, so the hook is registered once per object and
    patches only while the patch is wanted; applying and removing again and again is harmless.
    """

    def __init__(
        self,
        module_name: str,
        patch: Callable[[ModuleType], None],
        unpatch: Callable[[ModuleType], None],
    ) -> None:
        self.module_name = module_name
        self._patch = patch
        self._unpatch = unpatch
        self._lock = threading.RLock()
        self._wanted = False
        self._patched = False
        self._hook_registered = False

    @property
    def patched(self) -> bool:
        """Whether the module is patched right now."""
        return self._patched

    def apply(self) -> None:
        """Patch now if the module is imported, else as soon as it is."""
        with self._lock:
            self._wanted = True
            if not self._hook_registered:
                self._hook_registered = True
                register_post_import_hook(self._on_import, self.module_name)  # runs now if loaded
            elif self.module_name in sys.modules:
                self._on_import(sys.modules[self.module_name])

    def remove(self) -> None:
        """Undo the patch (if applied) and stop patching on a later import."""
        with self._lock:
            self._wanted = False
            if not self._patched:
                return
            self._patched = False
            module = sys.modules.get(self.module_name)
            if module is None:
                return
            try:
                self._unpatch(module)
            except Exception:
                report_internal_error(f"unpatching {self.module_name}")

    def _on_import(self, module: ModuleType) -> None:
        with self._lock:
            if not self._wanted or self._patched:
                return
            try:
                self._patch(module)
            except Exception:
                report_internal_error(f"patching {self.module_name}")
                return
            self._patched = True
