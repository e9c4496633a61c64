"""dual_cache: DualCache.get_cache / async_get_cache / async_set_cache against LiteLLM 1.108.7's.

Every call runs twice on equal fresh caches, once with the patches reverted and once applied:
results, the caches' contents afterwards, what print_verbose printed (stdout), what was logged,
and exceptions must be the same, with verbose output off and on, for values that are cheap to
format and values whose formatting runs Python code (a __repr__ with a side effect, one that
raises, a 5,000-digit int, a list that holds itself). With verbose output off, the debug
strings of plain containers are skipped (counted); scalars are formatted as LiteLLM does.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging

import pytest

import fast_litellm
import litellm
import litellm._logging as lg
from litellm.caching.dual_cache import DualCache
from litellm.caching.in_memory_cache import InMemoryCache

from fast_litellm.components import dual_cache as dc

CALLS = []


class Loud:
    def __repr__(self):
        CALLS.append("repr")
        return "Loud()"


class Bad:
    def __repr__(self):
        raise RuntimeError("no repr")


def _selfish():
    x = [1]
    x.append(x)
    return x


VALUES = [None, 1, 2.5, "s", b"b", True, {"a": [1, 2.5, None]}, {"m": {"latency": [0.1] * 5, "2025": {"tpm": 1}}},
          (1, "t"), 2**70, Loud(), [Bad()], _selfish(), 10**5000]


class _Redis:
    """A stand-in Redis tier for the control flow (the real one: tests/test_rate_limiter_redis.py)."""

    def __init__(self, store):
        self.store = store

    def get_cache(self, key, parent_otel_span=None):
        return self.store.get(key)

    async def async_get_cache(self, key, parent_otel_span=None):
        return self.store.get(key)

    async def async_set_cache(self, key, value, **kwargs):
        self.store[key] = value


def _run(op, value, verbose, redis):
    import sys

    sys.set_int_max_str_digits(4300)
    cache = DualCache(in_memory_cache=InMemoryCache())
    if redis:
        cache.redis_cache = _Redis({"r": value})
    cache.in_memory_cache.set_cache("k", value)
    out = io.StringIO()
    logs = []
    handler = logging.Handler()
    handler.emit = lambda rec: logs.append((rec.levelname, rec.getMessage()[:80]))
    lg.verbose_logger.addHandler(handler)
    old = lg.set_verbose
    lg.set_verbose = verbose
    CALLS.clear()
    try:
        with contextlib.redirect_stdout(out):
            try:
                if op == "get":
                    r = ("ok", repr_safe(cache.get_cache("k")), repr_safe(cache.get_cache("r")))
                elif op == "aget":
                    r = ("ok", repr_safe(asyncio.run(cache.async_get_cache("k"))),
                         repr_safe(asyncio.run(cache.async_get_cache("r", local_only=True))),
                         repr_safe(asyncio.run(cache.async_get_cache("r"))))
                else:
                    asyncio.run(cache.async_set_cache("n", value, ttl=5))
                    r = ("ok", repr_safe(cache.in_memory_cache.cache_dict.get("n")))
            except Exception as e:  # noqa: BLE001
                r = ("err", type(e).__name__, str(e))
    finally:
        lg.set_verbose = old
        lg.verbose_logger.removeHandler(handler)
    return r, out.getvalue(), logs, list(CALLS), sorted(cache.in_memory_cache.cache_dict)


def repr_safe(v):
    try:
        return type(v).__name__, len(repr(v)) if not isinstance(v, int) or v.bit_length() < 1000 else v.bit_length()
    except Exception as e:  # noqa: BLE001
        return "unreprable", type(e).__name__


def test_component_active():
    st = fast_litellm.status()["dual_cache"]
    assert st["active"], st


@pytest.mark.parametrize("op", ["get", "aget", "aset"])
@pytest.mark.parametrize("verbose", [False, True])
@pytest.mark.parametrize("redis", [False, True])
def test_same_as_litellm(op, verbose, redis):
    for i, value in enumerate(VALUES):
        fast_litellm.revert()
        try:
            want = _run(op, value, verbose, redis)
        finally:
            fast_litellm.apply()
        before = dict(dc.SKIPPED)
        got = _run(op, value, verbose, redis)
        assert got == want, (op, i, verbose, redis)
        skipped = dc.SKIPPED["skipped"] - before["skipped"]
        built = dc.SKIPPED["built"] - before["built"]
        container = type(value) in (dict, list, tuple)
        reached = op == "aset" or redis or "k" in got[4]  # the value reached a debug string
        if not container or not reached:
            continue  # scalars are formatted as LiteLLM formats them
        if verbose or i >= 9:  # output on, or formatting runs code / raises: built
            assert skipped == 0 and built > 0, (op, i, verbose, redis)
        else:  # a plain container with output off: skipped
            assert built == 0 and skipped > 0, (op, i, redis)


def test_latency_map_is_not_formatted():
    """The router's latency map (1,000 entries) read through async_get_cache: no string built."""
    big = {f"id-{i}": {"latency": [0.1, 0.2], "2025-01-02-03-04": {"tpm": 1, "rpm": 1}} for i in range(1000)}
    cache = DualCache()
    cache.in_memory_cache.set_cache("latency_map", big)
    assert asyncio.run(cache.async_get_cache("latency_map")) is big
    before = dict(dc.SKIPPED)
    asyncio.run(cache.async_get_cache("latency_map"))
    # both strings around the map (in_memory_result, result) skipped, none built
    assert dc.SKIPPED["built"] == before["built"] and dc.SKIPPED["skipped"] == before["skipped"] + 2


def test_repr_is_pure():
    from fast_litellm import _native

    for v in VALUES[:9]:
        assert _native.repr_is_pure(v) is True, v
    for v in VALUES[9:]:
        assert _native.repr_is_pure(v) is False, v
    deep = []
    for _ in range(40):
        deep = [deep]
    assert _native.repr_is_pure(deep) is False
    assert _native.repr_is_pure({1: 2, (1, 2): "x", None: b""}) is True
    assert _native.repr_is_pure({"k": {1, 2}}) is False  # a set: not in the list
    assert _native.repr_is_pure(litellm) is False


def test_set_with_an_odd_key_formats_as_litellm():
    """A plain container value under a key whose formatting runs code: the string is built."""

    def run():
        cache = DualCache()
        CALLS.clear()
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            asyncio.run(cache.async_set_cache(Loud(), {"a": [1, 2]}, ttl=5))
        return list(CALLS), out.getvalue()

    fast_litellm.revert()
    try:
        want = run()
    finally:
        fast_litellm.apply()
    assert run() == want and want[0] == ["repr"]
