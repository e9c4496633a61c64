"""gc_freeze: LiteLLM's start-up heap frozen out of the cyclic garbage collector.

Importing the proxy builds a heap of well over a million Python objects (the model cost
map, pydantic models, FastAPI routes, provider modules) that lives as long as the
process. Python's cyclic collector walks all of it on every full collection: about
160 ms each here, ten of them while a worker starts, more under load. Under gunicorn
``--preload`` that walk also writes to every object's GC header, so each forked worker
un-shares the pages it inherited from the master: measured here (demo proxy, two
workers, 300 requests, ``bench/memory/gc_freeze_pss.sh``), 243 MB of PSS per worker
without this component, 165-172 MB with it.

When ``litellm.proxy.proxy_server`` has finished loading (in the gunicorn master under
``--preload``, in each worker otherwise), this component runs one ``gc.collect()`` and
then ``gc.freeze()``: every object alive at that moment moves to the permanent
generation, which later collections skip. This is the use Python's documentation gives
for ``gc.freeze`` in pre-fork servers. Nothing LiteLLM computes changes; the one
difference: an object that was alive at start-up and later becomes part of unreachable
reference cycle is not reclaimed (reference counting still frees everything else).
Revert (``FAST_LITELLM_GC_FREEZE=false`` or ``fast_litellm.revert()``) does not unfreeze
a heap already frozen.

No patch target: the component acts once per process. ``canary:N`` freezes in N % of the
processes that load the proxy; ``shadow`` is refused (nothing to compare).
Gauge: ``fast_litellm_gc_frozen_objects``.
"""

from __future__ import annotations

import gc

from .._log import log
from ..patching import Component

PROXY = "litellm.proxy.proxy_server"


def register(registry) -> None:
    frozen = {"objects": 0}

    comp = Component(
        name="gc_freeze",
        patches=[],
        description="the proxy's start-up heap frozen out of the cyclic GC (shared pages stay shared)",
        shadow_ok=False,
        gauges=lambda: {"gc_frozen_objects": ("Objects moved out of the cyclic GC once the proxy "
                                              "was loaded (gc.freeze)", float(frozen["objects"]))},
    )

    def freeze(_module=None) -> None:
        if not comp.active:
            return
        if comp.sampler is not None and not comp.sampler():
            return  # canary: not this process
        try:
            gc.collect()
            gc.freeze()
        except Exception as exc:  # noqa: BLE001 - never stop the proxy for this
            comp.stats.fallbacks += 1
            log.warning("gc_freeze: gc.freeze() failed (%s: %s); the heap stays as it is",
                        type(exc).__name__, exc)
            return
        frozen["objects"] = gc.get_freeze_count()
        comp.stats.native += 1

    comp.on_activate = lambda: registry.when_loaded(PROXY, freeze)
    registry.register(comp)
