"""memory_cache: LiteLLM's InMemoryCache batch reads, step by step in C.

``InMemoryCache.batch_get_cache`` / ``async_batch_get_cache`` (litellm 1.108.7) call
``get_cache`` once per key: an expiry check through three method calls, and for every value
found a ``json.loads`` attempt that raises and is caught when the value is a number (the
in-flight and usage counters the Router keeps are). The Router reads one key per deployment
on every least-busy and usage-based-v2 pick: at 1,000 deployments, half a millisecond.

Patched: both methods. ``_native.mem_batch_get`` performs LiteLLM's operations in LiteLLM's
order -- the same attribute reads, ``in`` tests and item reads (colliding keys run their
``__eq__`` as they would), the same ``_clock()`` and ``_remove_key`` calls, ``json.loads``
looked up through the module's ``json`` for every value -- and skips only the ``json.loads``
call that the standard library's function would answer with a TypeError before running any
code (an exact int, float, bool, None, dict, list or tuple), whose result LiteLLM's
``except Exception`` then discards. The default clock (``lambda: time.time()``, found as
the lambda constant of ``__init__``, guarded by its fingerprint) is performed rather than
called: ``time`` from the lambda's globals, its ``time`` read and called (no frame).
LiteLLM's methods answer when the cache is not exactly
an ``InMemoryCache``, when ``get_cache``, ``evict_element_if_expired`` or
``_is_key_expired`` are replaced (on the class or the instance), or when the keys are not a
list or tuple.

Flag: ``FAST_LITELLM_MEMORY_CACHE``; ``canary:N`` per call; ``shadow`` is refused (reads
evict expired entries).
"""

from __future__ import annotations

import json
import types

from ..patching import Component, Patch, still_bound

_IMC = "litellm.caching.in_memory_cache:InMemoryCache."
BATCH = _IMC + "batch_get_cache"
ABATCH = _IMC + "async_batch_get_cache"
FP_BATCH = frozenset({"a2580820886c838f"})
FP_ABATCH = frozenset({"e70ec940aeedea04"})
# the bodies mem_batch_get performs (and __init__, whose default clock it performs)
GUARDS = [(_IMC + name, frozenset({fp})) for name, fp in (
    ("__init__", "05e713fb6c24466b"),
    ("get_cache", "2196d207c2c326bd"),
    ("evict_element_if_expired", "22f942ee3e8b5d49"),
    ("_is_key_expired", "fb8a22238539e9af"),
)]
_INLINED = ("get_cache", "evict_element_if_expired", "_is_key_expired")
_INLINED_SET = frozenset(_INLINED)

# batch reads served in C / handed to LiteLLM (tests read them)
BATCH_FAST = {"served": 0, "delegated": 0}


def _fast(original):
    import sys

    from .. import _native

    mod = sys.modules["litellm.caching.in_memory_cache"]
    cls = mod.InMemoryCache
    unchanged = still_bound(*((cls, name) for name in _INLINED))
    batch = _native.mem_batch_get
    module_globals = vars(mod)
    json_loads = json.loads  # the standard library's (mem_batch_get compares identity)
    # the default clock's code (`lambda: time.time()` in __init__): mem_batch_get performs it
    clock_code = next((c for c in cls.__init__.__code__.co_consts
                       if isinstance(c, types.CodeType) and c.co_name == "<lambda>"), None)

    def read(self, keys):
        """LiteLLM's answer from C, or None when LiteLLM's method must answer."""
        if (type(self) is cls and (type(keys) is list or type(keys) is tuple) and unchanged()
                and not self.__dict__.keys() & _INLINED_SET):
            BATCH_FAST["served"] += 1
            return batch(self, keys, module_globals, json_loads, clock_code)
        BATCH_FAST["delegated"] += 1
        return None

    return read


def make_batch(original):
    read = _fast(original)

    def batch_get_cache(self, keys: list, **kwargs):
        got = read(self, keys)
        return original(self, keys, **kwargs) if got is None else got

    return batch_get_cache


def make_abatch(original):
    read = _fast(original)

    async def async_batch_get_cache(self, keys: list, **kwargs):
        got = read(self, keys)
        return await original(self, keys, **kwargs) if got is None else got

    return async_batch_get_cache


def register(registry) -> None:
    registry.register(Component(
        name="memory_cache",
        patches=[
            # LiteLLM's exceptions (a key's __eq__, a clock that raises) are raised from ours
            Patch(BATCH, make_batch, FP_BATCH, passthrough=(Exception,)),
            Patch(ABATCH, make_abatch, FP_ABATCH, passthrough=(Exception,)),
        ],
        guards=GUARDS,
        description="InMemoryCache batch reads in C, operation for operation",
        shadow_ok=False,
        paths={"batch_get": BATCH_FAST},
    ))
