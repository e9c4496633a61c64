"""Built-in components, and plugin components named by ``FAST_LITELLM_PLUGINS``.

A component module exposes ``register(registry)`` which registers one or more
:class:`fast_litellm.patching.Component`. ``FAST_LITELLM_PLUGINS`` is a comma-separated
list of importable modules with the same ``register`` function: any hot piece of the
proxy can become a component, with the same flag, guard, fallback and metrics.
"""

from __future__ import annotations

import importlib
import os

from .._log import log

# module names under fast_litellm.components, one per built-in component
BUILTIN: tuple[str, ...] = ("token_counter", "batch_token_counting", "rate_limiter", "otel_seed", "routing",
                             "gc_freeze", "dual_cache", "memory_cache")


def load(registry) -> None:
    for name in BUILTIN:
        importlib.import_module(f"{__name__}.{name}").register(registry)
    for spec in filter(None, (s.strip() for s in os.environ.get("FAST_LITELLM_PLUGINS", "").split(","))):
        try:
            mod = importlib.import_module(spec)
            mod.register(registry)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the proxy
            log.warning("plugin %s (FAST_LITELLM_PLUGINS) could not be loaded: %s: %s",
                        spec, type(exc).__name__, exc)
