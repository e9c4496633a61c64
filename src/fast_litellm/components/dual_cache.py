"""dual_cache: LiteLLM's DualCache reads and writes without building debug strings nobody prints.

``DualCache.get_cache``, ``async_get_cache`` and ``async_set_cache`` (litellm 1.108.7) format
the key and the whole value into f-strings for ``print_verbose`` on every call, before
``print_verbose`` checks whether verbose output is on (it is off unless ``litellm.set_verbose``
is set). The Router keeps each strategy's per-deployment state in one cached dict (the
latency, cost and usage maps), so at 1,000 deployments every latency-based pick formats a
1,000-entry map twice: about 4 ms of a 5 ms pick here.

Patched: those three methods, as LiteLLM writes them, except that the debug string of a
value that is a dict, list or tuple is not built when verbose output is off and formatting
it has no effect (nothing in it but None, bools, 64-bit ints, floats, str, bytes and plain
dicts, lists and tuples of them: ``_native.repr_is_pure``). Scalars (keys, counters) are
formatted as LiteLLM formats them: that costs less than the check. Otherwise the call does
exactly what LiteLLM's does: the same cache calls, in the same order, with the same
arguments, the same Redis traffic, the same exceptions caught and logged.

Flag: ``FAST_LITELLM_DUAL_CACHE``; ``canary:N`` per call; ``shadow`` is refused (the
methods change caches).
"""

from __future__ import annotations

import logging

from ..patching import Component, Patch, still_bound

_DC = "litellm.caching.dual_cache:DualCache."
GET = _DC + "get_cache"
AGET = _DC + "async_get_cache"
ASET = _DC + "async_set_cache"
FP_GET = frozenset({"2d4b67fbf5086a75"})
FP_AGET = frozenset({"838fbccb182b95f0"})
FP_ASET = frozenset({"1ae8eadce206c5a8"})
GUARDS = [("litellm._logging:print_verbose", frozenset({"1136967e5bb951d6"}))]

# debug strings of containers skipped / built (tests read them)
SKIPPED = {"skipped": 0, "built": 0}


_CONTAINERS = frozenset({dict, list, tuple})


def _helpers():
    """(quiet(obj) -> bool, mod): quiet is True when obj is a container, LiteLLM's
    print_verbose would print nothing and formatting obj has no effect, so the f-string can
    be skipped. Scalars are not worth the check (formatting one costs less)."""
    import sys

    from .. import _native

    # (through sys.modules: the patch is applied as soon as the module has loaded, which
    # can be while its package, litellm.caching, is still importing it)
    mod = sys.modules["litellm.caching.dual_cache"]
    logging_mod = sys.modules["litellm._logging"]
    pv = logging_mod.print_verbose
    pv_globals = pv.__globals__
    pure = _native.repr_is_pure
    unchanged = still_bound((mod, "print_verbose"), (logging_mod, "print_verbose"))
    containers = _CONTAINERS

    def quiet(obj) -> bool:
        if type(obj) not in containers:
            return False
        if pv_globals.get("set_verbose") is False and unchanged() and pure(obj):
            SKIPPED["skipped"] += 1
            return True
        SKIPPED["built"] += 1
        return False

    return quiet, mod


def make_get(original):
    quiet, mod = _helpers()

    def get_cache(self, key, parent_otel_span=None, local_only: bool = False, **kwargs):
        # Try to fetch from in-memory cache first
        try:
            result = None
            if self.in_memory_cache is not None:
                in_memory_result = self.in_memory_cache.get_cache(key, **kwargs)

                if in_memory_result is not None:
                    result = in_memory_result

            if result is None and self.redis_cache is not None and local_only is False:
                # If not found in in-memory cache, try fetching from Redis
                redis_result = self.redis_cache.get_cache(key, parent_otel_span=parent_otel_span)

                if redis_result is not None:
                    # Update in-memory cache with the value from Redis
                    self.in_memory_cache.set_cache(key, redis_result, **self._backfill_kwargs(kwargs))

                result = redis_result

            if not quiet(result):
                mod.print_verbose(f"get cache: cache result: {result}")
            return result
        except Exception as e:
            mod.log_redis_failure(
                mod.verbose_logger, logging.ERROR, "LiteLLM Cache: exception in get_cache", e, with_traceback=True
            )

    return get_cache


def make_aget(original):
    quiet, mod = _helpers()

    async def async_get_cache(self, key, parent_otel_span=None, local_only: bool = False, **kwargs):
        # Try to fetch from in-memory cache first
        try:
            mod.print_verbose(f"async get cache: cache key: {key}; local_only: {local_only}")
            result = None
            if self.in_memory_cache is not None:
                in_memory_result = await self.in_memory_cache.async_get_cache(key, **kwargs)

                if not quiet(in_memory_result):
                    mod.print_verbose(f"in_memory_result: {in_memory_result}")
                if in_memory_result is not None:
                    result = in_memory_result

            if result is None and self.redis_cache is not None and local_only is False:
                request_batch = mod.active_request_redis_batch(self.redis_cache)
                if request_batch is not None and request_batch.read_as_missing(key):
                    return None
                # If not found in in-memory cache, try fetching from Redis
                redis_result = await self.redis_cache.async_get_cache(key, parent_otel_span=parent_otel_span)

                if redis_result is not None:
                    # Update in-memory cache with the value from Redis
                    await self.in_memory_cache.async_set_cache(key, redis_result, **self._backfill_kwargs(kwargs))

                result = redis_result

            if not quiet(result):
                mod.print_verbose(f"get cache: cache result: {result}")
            return result
        except Exception as e:
            mod.log_redis_failure(
                mod.verbose_logger, logging.ERROR, "LiteLLM Cache: exception in async_get_cache", e,
                with_traceback=True
            )

    return async_get_cache


def make_aset(original):
    quiet, mod = _helpers()

    async def async_set_cache(self, key, value, local_only: bool = False, **kwargs):
        # (skipped only with a str key and a bool local_only, whose formatting is pure)
        if not (type(key) is str and type(local_only) is bool and quiet(value)):
            mod.print_verbose(f"async set cache: cache key: {key}; local_only: {local_only}; value: {value}")
        try:
            if self.in_memory_cache is not None:
                if "ttl" not in kwargs and self.default_in_memory_ttl is not None:
                    kwargs["ttl"] = self.default_in_memory_ttl
                await self.in_memory_cache.async_set_cache(key, value, **kwargs)

            if self.redis_cache is not None and local_only is False:
                await self.redis_cache.async_set_cache(key, value, **kwargs)
        except Exception as e:
            mod.log_redis_failure(
                mod.verbose_logger, logging.ERROR, "LiteLLM Cache: exception in async add_cache", e,
                with_traceback=True
            )

    return async_set_cache


def register(registry) -> None:
    registry.register(Component(
        name="dual_cache",
        patches=[
            # LiteLLM's cache calls raise their own exceptions from inside ours
            Patch(GET, make_get, FP_GET, passthrough=(Exception,)),
            Patch(AGET, make_aget, FP_AGET, passthrough=(Exception,)),
            Patch(ASET, make_aset, FP_ASET, passthrough=(Exception,)),
        ],
        guards=GUARDS,
        description="DualCache reads and writes without formatting values into debug strings that are off",
        shadow_ok=False,
    ))
