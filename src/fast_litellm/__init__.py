"""Fast LiteLLM: native (C) acceleration for the LiteLLM proxy.

``import fast_litellm`` before ``litellm`` patches LiteLLM's hot paths with native code.
Each component has a flag (``FAST_LITELLM_<NAME>=true|false|canary:N|shadow``), falls back
to LiteLLM's own code on any native error, and is counted in Prometheus metrics.

Public API: :func:`status`, :func:`revert`, :func:`apply`, :func:`configure`,
:func:`active_components`, :func:`register` (plugin components).
"""

from __future__ import annotations

import os
import sys

from . import _proxy, components as _components, patching
from ._log import log
from .patching import Component, Patch, fingerprint
from .tokenizer import Encoding, count_tokens_batch, get_encoding

__all__ = [
    "Component", "Patch", "fingerprint", "status", "revert", "apply", "configure",
    "active_components", "register", "REGISTRY", "__version__",
    "get_encoding", "count_tokens_batch", "Encoding",
]

try:
    from importlib.metadata import version as _version

    __version__ = _version("fast-litellm")
except Exception:  # noqa: BLE001
    __version__ = "0+unknown"

REGISTRY = patching.Registry()
litellm_imported_first: bool = False
litellm_importer: str | None = None


def register(component: Component) -> Component:
    """Register a component (plugins); it is applied if its flag enables it."""
    REGISTRY.register(component)
    if REGISTRY.enabled:
        REGISTRY.read_flags()
        REGISTRY.apply_all()
    return component


def status() -> dict[str, dict]:
    """Per component: active, state, mode, flag, native/python calls, fallbacks, mismatches."""
    return {name: c.status() for name, c in sorted(REGISTRY.components.items())}


def active_components() -> list[str]:
    return _proxy.active_names(REGISTRY)


def revert() -> None:
    """Restore every original LiteLLM object that fast_litellm replaced."""
    REGISTRY.revert_all()


def apply() -> None:
    """Re-apply every enabled component (after :func:`revert`)."""
    REGISTRY.apply_all()


def configure(name: str, mode: str) -> None:
    """Set one component's mode at run time: ``on``, ``off``, ``canary:N`` or ``shadow``."""
    REGISTRY.configure(name, mode)


def _disabled() -> bool:
    return os.environ.get("FAST_LITELLM_DISABLE", "").strip().lower() in ("1", "true", "on", "yes")


def _activate() -> None:
    global litellm_imported_first, litellm_importer
    _proxy.map_litellm_config()
    if _disabled():
        log.info("FAST_LITELLM_DISABLE is set: nothing patched")
        return
    if "litellm" in sys.modules:
        litellm_imported_first = True
        litellm_importer = _proxy.litellm_importer()
        log.warning(
            "litellm was imported before fast_litellm%s. Import fast_litellm first (see the "
            "deployment guide); patching every import site already loaded",
            f" (by module {litellm_importer!r})" if litellm_importer else "",
        )
    patching.install_hook(REGISTRY)
    _components.load(REGISTRY)
    REGISTRY.read_flags()
    REGISTRY.exporter.setup()
    REGISTRY.apply_all()
    REGISTRY.when_loaded(_proxy.PROXY_MODULE, lambda m: _proxy.on_proxy_loaded(REGISTRY, m))
    os.register_at_fork(after_in_child=lambda: _proxy.after_fork_in_child(REGISTRY))


_activate()
