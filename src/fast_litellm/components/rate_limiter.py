"""rate_limiter: the proxy's rate-limit counters in a C table that never loses a live one.

LiteLLM 1.108.7's limiter (``parallel_request_limiter_v3``, and the batch and dynamic
limiters beside it) keeps its window starts, counters and parallel-request gauges in the
in-memory tier of ``InternalUsageCache``: an ``InMemoryCache`` of 200 entries that evicts
live counters when full, so that limits stop holding beyond a few dozen active keys.

Patched: ``litellm.proxy.utils:InternalUsageCache.__init__``. A ``DualCache`` handed to it
whose in-memory tier is a plain ``InMemoryCache`` gets a
:class:`fast_litellm.counter_cache.CounterCache` wrapping that cache instead: the same
rules and API, the counters in C, no live entry ever evicted (see counter_cache.py for
the rules and the memory cap). The limiter's decisions, headers and Redis traffic are
LiteLLM's own code, unchanged.

Guards: every method of ``InMemoryCache`` (CounterCache re-implements its rules), so a
LiteLLM release that changes one refuses the component.

Flag: ``FAST_LITELLM_RATE_LIMITER``; the memory cap: ``FAST_LITELLM_RATE_LIMITER_MAX_MEMORY``.
``canary:N`` applies per cache created; ``shadow`` is not supported (the patch builds
state). Reverting keeps the caches already built.
"""

from __future__ import annotations

from ..patching import Component, Patch

TARGET = "litellm.proxy.utils:InternalUsageCache.__init__"
FP_INIT = frozenset({"6abc64379fcd420e"})

_IMC = "litellm.caching.in_memory_cache:InMemoryCache."
# fingerprints of InMemoryCache's methods in litellm 1.108.7
GUARDS = [(_IMC + name, frozenset({fp})) for name, fp in (
    ("__init__", "05e713fb6c24466b"),
    ("check_value_size", "56fdc5f3911c271f"),
    ("_is_key_expired", "fb8a22238539e9af"),
    ("_cache_keys", "844471b55fdae820"),
    ("_remove_key", "6c1e61512091cd11"),
    ("evict_cache", "43656a541c8dd7f8"),
    ("allow_ttl_override", "292eaad99376af4a"),
    ("set_cache", "19817fb0ce70eca4"),
    ("async_set_cache", "c4b38e20f3a0a5c7"),
    ("async_set_cache_pipeline", "54a547f17adcde79"),
    ("async_set_cache_sadd", "99b25197d24963fe"),
    ("evict_element_if_expired", "22f942ee3e8b5d49"),
    ("get_cache", "2196d207c2c326bd"),
    ("batch_get_cache", "a2580820886c838f"),
    ("increment_cache", "0e67f52f1de4855a"),
    ("async_get_cache", "08375c6f7144c12a"),
    ("async_batch_get_cache", "e70ec940aeedea04"),
    ("async_increment", "071749f84e53774f"),
    ("async_increment_pipeline", "169930b76d85a718"),
    ("flush_cache", "5c86305a19d5f3f5"),
    ("disconnect", "f75af6553d20e8db"),
    ("delete_cache", "8eee71774a5caadd"),
    ("async_get_ttl", "28bc4ca248d18ea6"),
    ("async_get_oldest_n_keys", "54599f33933948de"),
)]


def register(registry) -> None:
    def gauges():
        from ..counter_cache import table_stats

        t = table_stats()
        return {
            "counter_table_bytes": ("Bytes held by the rate-limit counter tables (C)", t["bytes"]),
            "counter_table_entries": ("Entries in the rate-limit counter tables (C)", t["entries"]),
            "counter_object_entries": ("Rate-limit entries of other types (Python objects)", t["objects"]),
        }

    comp = Component(
        name="rate_limiter",
        patches=[],
        description="rate-limit counters in a C table: exact at any number of keys",
        shadow_ok=False,
        guards=GUARDS,
        gauges=gauges,
    )

    def make_init(original):
        from litellm.caching.in_memory_cache import InMemoryCache

        from ..counter_cache import CounterCache

        def __init__(self, dual_cache):
            mem = getattr(dual_cache, "in_memory_cache", None)
            if type(mem) is InMemoryCache:
                dual_cache.in_memory_cache = CounterCache(
                    mem, stats=comp.stats, on_fallback=lambda: registry.exporter.flush(comp))
            original(self, dual_cache)

        return __init__

    comp.patches.append(Patch(TARGET, make_init, FP_INIT))
    registry.register(comp)
