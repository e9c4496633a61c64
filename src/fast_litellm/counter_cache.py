"""``CounterCache``: LiteLLM's ``InMemoryCache`` with its counters held in a C table.

The proxy keeps its rate-limit state (window starts, request and token counters,
parallel-request gauges) in the in-memory tier of ``InternalUsageCache``: an
``InMemoryCache`` that holds 200 entries and, once full, evicts the entries closest to
expiry, live counters included (LiteLLM issue #40221): with more than ~60 active keys,
limits stop holding.

A :class:`CounterCache` replaces that ``InMemoryCache`` and keeps its rules, read from
``litellm/caching/in_memory_cache.py`` (1.108.7):

* values that are ``int`` (within int64), ``float`` or ``str`` (up to 4,096 UTF-8 bytes)
  under ``str`` keys (up to 1,024 bytes) live in a C table (``fast_litellm._native.TTLMap``,
  ``csrc/core/fl_ttlmap.c``) with LiteLLM's expiry rules: a set sweeps every entry whose
  expiry has passed, a live key's TTL is never extended by a set, a get returns nothing
  after the expiry, ``get`` parses strings as JSON exactly as LiteLLM does;
* **a live entry is never dropped to make room.** The table grows until its memory cap
  (``FAST_LITELLM_RATE_LIMITER_MAX_MEMORY``, bytes, default 512 MiB per cache); at the
  cap it first reclaims every expired entry, and an entry that still does not fit is
  stored the way LiteLLM stores it (the wrapped ``InMemoryCache``, 200 entries, its own
  eviction), counted as a fallback of the ``rate_limiter`` component and logged once;
* every other value (the parallel-request gauges, which are dicts; sets, models, bools,
  huge ints ...) and every other key type is stored in the wrapped ``InMemoryCache``
  itself: LiteLLM's code and rules, the same objects (a dict LiteLLM mutates after a get is
  the stored dict) - except that it holds up to ``FAST_LITELLM_RATE_LIMITER_MAX_OBJECTS``
  entries (default 100,000) before LiteLLM's eviction applies, counted and logged once.
  A key lives in exactly one of the two stores.

Differences from LiteLLM, all deliberate: live entries are not evicted at
``max_size_in_memory`` (``0`` still disables the cache); one clock reading per operation instead of LiteLLM's several; ``cache_dict`` and
``ttl_dict`` are read-only snapshots (LiteLLM's debug endpoints read them).

The table is created at the first write, in the process that writes (under gunicorn
``--preload``: the worker), with a SipHash key drawn from ``os.urandom``.
"""

from __future__ import annotations

import heapq
import json
import os
import re
import time
import weakref
from typing import Any, Callable

from litellm.caching.in_memory_cache import InMemoryCache

from . import _native
from ._log import log

DEFAULT_MAX_MEMORY = 512 * 1024 * 1024
MAX_MEMORY_VAR = "FAST_LITELLM_RATE_LIMITER_MAX_MEMORY"
DEFAULT_MAX_OBJECTS = 100_000
MAX_OBJECTS_VAR = "FAST_LITELLM_RATE_LIMITER_MAX_OBJECTS"

_STORED, _NOT_STORABLE, _FULL = 0, 1, 2
# a str LiteLLM's json.loads turns into an int (bounded: int() of a long digit string
# may raise where json.loads would give the string back)
_json_int = re.compile(r"-?(?:0|[1-9][0-9]{0,17})\Z", re.ASCII).match
_time = time.time
_JSON_LOADS = json.loads
# types json.loads refuses with a TypeError before reading anything (it takes str, bytes
# and bytearray): InMemoryCache.get_cache then returns the stored value as it is
_NOT_JSON_TEXT = frozenset({dict, list, tuple, set, frozenset, int, float, bool, type(None)})
# every CounterCache of this process, for the metrics (no strong references)
_LIVE: "weakref.WeakSet[CounterCache]" = weakref.WeakSet()


def table_stats() -> dict[str, int]:
    """Totals over this process's CounterCaches: C table bytes and entries, object entries."""
    out = {"bytes": 0, "entries": 0, "objects": 0}
    for c in list(_LIVE):
        m = c._map
        if m is not None:
            out["bytes"] += m.memory
            out["entries"] += len(m)
        out["objects"] += len(c._py.cache_dict)
    return out


def _count_from_env(var: str, default: int, minimum: int) -> int:
    raw = os.environ.get(var, "").strip()
    if not raw:
        return default
    try:
        val = int(raw)
        if val < minimum:
            raise ValueError
    except ValueError:
        log.warning("%s=%r is not a whole number >= %d; using %d", var, raw, minimum, default)
        return default
    return val


def max_memory_from_env() -> int:
    return _count_from_env(MAX_MEMORY_VAR, DEFAULT_MAX_MEMORY, 0)


def max_objects_from_env() -> int:
    return _count_from_env(MAX_OBJECTS_VAR, DEFAULT_MAX_OBJECTS, 1)


def _loads(s: str) -> Any:
    """``json.loads(s)``, or ``s`` when that fails: what LiteLLM's get_cache returns."""
    if _json_int(s):
        return int(s)
    try:
        return json.loads(s)
    except Exception:  # noqa: BLE001 - LiteLLM returns the raw value on any failure
        return s


class CounterCache(InMemoryCache):
    """An ``InMemoryCache`` whose counters live in C and are never evicted while live."""

    def __init__(self, wrapped: InMemoryCache | None = None, *, max_memory: int | None = None,
                 max_objects: int | None = None, stats: Any = None,
                 on_fallback: Callable[[], None] | None = None) -> None:
        # BaseCache/InMemoryCache __init__ are not called: the wrapped cache holds that
        # state (and keeps whatever entries it already had).
        self._py = wrapped if wrapped is not None else InMemoryCache()
        self._now = self._py._clock
        self._map = None
        self._max_memory = max_memory_from_env() if max_memory is None else max_memory
        self._max_objects = max_objects_from_env() if max_objects is None else max_objects
        self._stats = stats
        self._on_fallback = on_fallback
        self._warned_full = False
        _LIVE.add(self)
        # the configured size is reported as is; the wrapped store (objects: the parallel
        # request gauges are dicts) holds up to max_objects entries before LiteLLM's
        # eviction starts; 0 still disables the cache
        self._max_size = self._py.max_size_in_memory
        self.max_size_in_memory = self._max_size

    # ---- the wrapped cache's settings, shared --------------------------------------
    @property
    def max_size_in_memory(self):
        return self._max_size

    @max_size_in_memory.setter
    def max_size_in_memory(self, value) -> None:
        self._max_size = value
        self._py.max_size_in_memory = 0 if value == 0 else max(value, self._max_objects)

    @property
    def default_ttl(self):
        return self._py.default_ttl

    @default_ttl.setter
    def default_ttl(self, value) -> None:
        self._py.default_ttl = value

    @property
    def max_size_per_item(self):
        return self._py.max_size_per_item

    @max_size_per_item.setter
    def max_size_per_item(self, value) -> None:
        self._py.max_size_per_item = value

    @property
    def _clock(self):
        return self._py._clock

    @property
    def expiration_heap(self):
        return self._py.expiration_heap

    @property
    def cache_dict(self) -> dict:
        """A snapshot: every entry of both stores (values as stored)."""
        d = dict(self._py.cache_dict)
        if self._map is not None:
            for key, _exp, value in self._map.items():
                d[key] = value
        return d

    @property
    def ttl_dict(self) -> dict:
        """A snapshot: the expiry of every entry of both stores."""
        d = dict(self._py.ttl_dict)
        if self._map is not None:
            for key, exp, _value in self._map.items():
                d[key] = exp
        return d

    @property
    def memory(self) -> int:
        """Bytes held by the C table."""
        return 0 if self._map is None else self._map.memory

    def _table(self):
        m = self._map
        if m is None:
            m = self._map = _native.TTLMap(os.urandom(16), self._max_memory)
        return m

    # ---- writes ---------------------------------------------------------------------
    def set_cache(self, key, value, **kwargs):
        py = self._py
        if py.max_size_in_memory == 0:
            return
        ttl = kwargs.get("ttl")
        if ttl is None:
            ttl = py.default_ttl
        tt = type(ttl)
        if type(key) is str and (tt is float or tt is int) and not (py.cache_dict and key in py.cache_dict):
            m = self._map
            if m is None:
                m = self._table()
            now = self._now()
            heap = py.expiration_heap
            if heap and heap[0][0] <= now:
                py.evict_cache()  # LiteLLM's set sweeps every entry, the wrapped store's too
            try:
                r = m.set(key, value, now, ttl)
            except OverflowError:  # an int ttl beyond float: LiteLLM's code decides
                r = _NOT_STORABLE
            if r == _STORED:
                return
            if r == _FULL:
                self._full(key)
        self._set_general(key, value, kwargs)

    def _count_fallback(self) -> None:
        if self._stats is not None:
            self._stats.fallbacks += 1
        if self._on_fallback is not None:
            self._on_fallback()

    def _full(self, key) -> None:
        self._count_fallback()
        if not self._warned_full:
            self._warned_full = True
            log.warning("rate_limiter: the counter table reached %s=%d bytes with only live "
                        "entries; new entries go to the object store (%s=%d entries, then "
                        "LiteLLM's eviction) until entries expire (first key: %.80r)",
                        MAX_MEMORY_VAR, self._max_memory, MAX_OBJECTS_VAR, self._max_objects, key)

    def _objects_full(self, key) -> None:
        self._count_fallback()
        if not self._warned_full:
            self._warned_full = True
            log.warning("rate_limiter: the object store reached %s=%d entries; LiteLLM's "
                        "eviction applies to it from now on (first key: %.80r)",
                        MAX_OBJECTS_VAR, self._max_objects, key)

    def _set_general(self, key, value, kwargs) -> None:
        """LiteLLM's set_cache, for a value or key the table does not hold (or when full)."""
        py = self._py
        m = self._map
        if m is not None and type(key) is str:
            now = self._now()
            m.sweep(now)  # LiteLLM's set sweeps every entry
            old = m.get(key, now)
            if old is not None:
                # the key moves to the wrapped store with its expiry (a live TTL is kept)
                exp = m.expiry(key)
                m.delete(key)
                py.cache_dict[key] = old
                py.ttl_dict[key] = exp
                heapq.heappush(py.expiration_heap, (exp, key))
            else:
                m.delete(key)
        pyd = py.cache_dict
        if len(pyd) >= py.max_size_in_memory > 0 and key not in pyd:
            self._objects_full(key)  # LiteLLM's eviction is about to drop an entry
        py.set_cache(key, value, **kwargs)

    async def async_set_cache(self, key, value, **kwargs):
        self.set_cache(key, value, **kwargs)

    async def async_set_cache_pipeline(self, cache_list, ttl=None, **kwargs):
        for cache_key, cache_value in cache_list:
            if ttl is not None:
                self.set_cache(key=cache_key, value=cache_value, ttl=ttl)
            else:
                self.set_cache(key=cache_key, value=cache_value)

    async def async_set_cache_sadd(self, key, value: list, ttl: float | None):
        init_value = self.get_cache(key=key) or set()
        for val in value:
            init_value.add(val)
        self.set_cache(key, init_value, ttl=ttl)
        return value

    def increment_cache(self, key, value: float, **kwargs) -> float:
        py = self._py
        if type(key) is str and type(value) is int and py.max_size_in_memory != 0 and not (
                py.cache_dict and key in py.cache_dict):
            ttl = kwargs.get("ttl")
            if ttl is None:
                ttl = py.default_ttl
            tt = type(ttl)
            if tt is float or tt is int:
                m = self._map
                if m is None:
                    m = self._table()
                now = self._now()
                heap = py.expiration_heap
                if heap and heap[0][0] <= now:
                    py.evict_cache()
                try:
                    r = m.incr(key, value, now, ttl)
                except OverflowError:
                    r = None
                if r is not None:
                    return r
        with py._increment_lock:
            init_value = self.get_cache(key=key) or 0
            value = init_value + value
            self.set_cache(key, value, **kwargs)
            return value

    async def async_increment(self, key, value: float, **kwargs) -> float:
        return self.increment_cache(key=key, value=value, **kwargs)

    async def async_increment_pipeline(self, increment_list, **kwargs):
        results = []
        for increment in increment_list:
            result = await self.async_increment(increment["key"], increment["increment_value"], **kwargs)
            results.append(result)
        return results

    # ---- reads ----------------------------------------------------------------------
    def get_cache(self, key, **kwargs):
        if type(key) is str:
            m = self._map
            if m is not None:
                v = m.get(key, self._now())
                if v is not None:
                    return _loads(v) if type(v) is str else v
            py = self._py
            pyd = py.cache_dict
            if not pyd:
                return None
            if key in pyd and json.loads is _JSON_LOADS and type(pyd[key]) in _NOT_JSON_TEXT:
                # InMemoryCache.get_cache for a value json.loads refuses by its type (the
                # parallel-request gauges are dicts): the expiry check, then the value
                # itself, without raising and catching json.loads' TypeError
                if py.evict_element_if_expired(key):
                    return None
                return pyd[key]
            return py.get_cache(key, **kwargs)
        return self._py.get_cache(key, **kwargs)

    async def async_get_cache(self, key, **kwargs):
        return self.get_cache(key, **kwargs)

    def batch_get_cache(self, keys: list, **kwargs):
        m = self._map
        if m is not None and type(keys) is list:
            # the table's values in one call (TTLMap.get_many: str keys the object store
            # does not hold, int-valued strings parsed as get_cache parses them), else
            # key by key
            got = m.get_many(keys, self._now(), self._py.cache_dict)
            if got is not None:
                return got
        get = self.get_cache
        return [get(key=k, **kwargs) for k in keys]

    async def async_batch_get_cache(self, keys: list, **kwargs):
        return self.batch_get_cache(keys, **kwargs)

    async def async_get_ttl(self, key: str) -> int | None:
        if self._map is not None and type(key) is str:
            exp = self._map.expiry(key)
            if exp is not None:
                return exp
        return self._py.ttl_dict.get(key, None)

    async def async_get_oldest_n_keys(self, n: int) -> list[str]:
        return [key for key, _ in sorted(self.ttl_dict.items(), key=lambda x: x[1])[:n]]

    # ---- the rest of InMemoryCache's surface -----------------------------------------
    def check_value_size(self, value: Any):
        return self._py.check_value_size(value)

    def _is_key_expired(self, key: str) -> bool:
        if self._map is not None and type(key) is str:
            exp = self._map.expiry(key)
            if exp is not None:
                return self._now() > exp
        return self._py._is_key_expired(key)

    def _cache_keys(self) -> tuple:
        return tuple(self.cache_dict)

    def _remove_key(self, key: str) -> None:
        if self._map is not None and type(key) is str:
            self._map.delete(key)
        self._py._remove_key(key)

    def evict_cache(self):
        if self._map is not None:
            self._map.sweep(self._now())
            self._map.reclaim()
        self._py.evict_cache()

    def allow_ttl_override(self, key: str) -> bool:
        if self._map is not None and type(key) is str:
            exp = self._map.expiry(key)
            if exp is not None:
                return exp < self._now()
        return self._py.allow_ttl_override(key)

    def evict_element_if_expired(self, key: str) -> bool:
        if self._map is not None and type(key) is str:
            exp = self._map.expiry(key)
            if exp is not None:
                if self._now() > exp:
                    self._map.delete(key)
                    return True
                return False
        return self._py.evict_element_if_expired(key)

    def flush_cache(self):
        if self._map is not None:
            self._map.clear()
        self._py.flush_cache()

    async def disconnect(self):
        pass

    def delete_cache(self, key: str) -> None:
        self._remove_key(key)

    # no __len__: InMemoryCache has none, and DualCache(in_memory_cache=c) tests `c or ...`


# every public or private method InMemoryCache defines is answered above: the test suite
# checks this list against the pinned LiteLLM, so a new method is noticed
OVERRIDDEN = tuple(sorted(
    name for name, val in vars(CounterCache).items()
    if callable(val) or isinstance(val, property)))
