"""CounterCache against LiteLLM's InMemoryCache, operation by operation.

The reference is LiteLLM's own ``InMemoryCache`` with a fake clock. Below 200 entries the
stock cache never evicts a live entry, so stock and CounterCache must agree on every
result, exception, TTL and snapshot. Above it, the reference is the same stock class with
``max_size_in_memory=10**9``: LiteLLM's rules without its capacity eviction, which is what
CounterCache promises (and the stock default must lose counters there).
"""

from __future__ import annotations

import asyncio
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from litellm.caching.in_memory_cache import InMemoryCache

from fast_litellm import _native
from fast_litellm.counter_cache import OVERRIDDEN, CounterCache


class Clock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def pair(max_size=None, max_memory=0, stats=None):
    clock = Clock()
    kw = {} if max_size is None else {"max_size_in_memory": max_size}
    ref = InMemoryCache(clock=clock, **kw)
    ours = CounterCache(InMemoryCache(clock=clock, **kw), max_memory=max_memory, stats=stats)
    return clock, ref, ours


def same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def call(fn, *args, **kwargs):
    try:
        out = fn(*args, **kwargs)
        if asyncio.iscoroutine(out):
            out = asyncio.run(out)
        return ("ok", out)
    except Exception as exc:  # noqa: BLE001 - compared with LiteLLM's exception
        return ("err", type(exc), str(exc))


VALUES = [0, 1, -1, 7, 2**62, 2**63 - 1, -(2**63), 2**63, 10**30, 1.5, -0.0, 0.0,
          float("inf"), float("nan"), "5", "05", "-0", " 7", "1e3", "abc", '{"a": 1}',
          "true", "null", "", "x" * 5000, "\ud800", "é" * 2100, True, False, None,
          [1, 2], {"k": "v"}, (1,)]
# (not NaN: a NaN expiry breaks the order of LiteLLM's expiration heap, and what it then
# evicts depends on every other entry of that heap; CounterCache hands NaN TTLs to the
# wrapped InMemoryCache, whose heap holds only the non-counter entries)
TTLS = [None, None, None, 0, 1, 5, 60, -1, 2.5, 0.25, "3", 10**400, float("inf"), True]


def random_op(rnd: random.Random, keys: list):
    r = rnd.random()
    key = rnd.choice(keys)
    ttl = rnd.choice(TTLS)
    kw = {} if ttl is None and rnd.random() < 0.5 else {"ttl": ttl}
    if r < 0.30:
        return ("set_cache", (key, rnd.choice(VALUES)), kw)
    if r < 0.55:
        return ("get_cache", (key,), {})
    if r < 0.75:
        return ("increment_cache", (key, rnd.choice([1, 1, 1, 5, -3, 2.5, 2**63, True])), kw)
    if r < 0.78:
        return ("async_increment", (key, 1), kw)
    if r < 0.80:
        return ("async_set_cache", (key, rnd.choice(VALUES)), kw)
    if r < 0.82:
        return ("async_get_cache", (key,), {})
    if r < 0.84:
        return ("delete_cache", (key,), {})
    if r < 0.86:
        return ("async_get_ttl", (key,), {})
    if r < 0.87:
        return ("evict_element_if_expired", (key,), {})
    if r < 0.88:
        return ("_is_key_expired", (key,), {})
    if r < 0.89:
        return ("allow_ttl_override", (key,), {})
    if r < 0.90:
        return ("batch_get_cache", ([rnd.choice(keys) for _ in range(3)],), {})
    if r < 0.91:
        return ("async_batch_get_cache", ([rnd.choice(keys) for _ in range(3)],), {})
    if r < 0.92:
        return ("async_set_cache_sadd", (key, ["a", "b"]), {"ttl": rnd.choice([None, 5])})
    if r < 0.93:
        return ("async_increment_pipeline",
                ([{"key": rnd.choice(keys), "increment_value": 1} for _ in range(3)],), kw)
    if r < 0.94:
        return ("async_set_cache_pipeline",
                ([(rnd.choice(keys), rnd.choice(VALUES)) for _ in range(3)],),
                {"ttl": rnd.choice([None, 3])})
    if r < 0.945:
        return ("flush_cache", (), {})
    if r < 0.95:
        return ("check_value_size", (rnd.choice(VALUES),), {})
    return ("evict_cache", (), {})


def str_keys(rnd: random.Random, n: int) -> list:
    keys = [f"{{api_key:{rnd.getrandbits(64):016x}}}:{kind}"
            for _ in range(n) for kind in ("window", "requests")][:n]
    # (str keys only: LiteLLM's heap compares (expiry, key) tuples, and a non-str key
    # with the same expiry as a str key raises TypeError in whichever set meets it)
    return keys + ["", "k" * 2000, "\udcff", "plain"]


def snapshot(cache, keys):
    ttl = {k: v for k, v in cache.ttl_dict.items()}
    vals = {k: v for k, v in cache.cache_dict.items()}
    return ttl, vals


TICKS = [0, 0, 0.5, 1, 1, 2, 3, 7, 61]


def run_trace(seed: int, nkeys: int, steps: int, ref_size=None, ticks=TICKS, flush=True) -> int:
    """Run both caches; returns the most entries the reference held at a check."""
    rnd = random.Random(seed)
    clock, ref, ours = pair(max_size=ref_size)
    keys = str_keys(rnd, nkeys)
    peak = 0
    for i in range(steps):
        if rnd.random() < 0.3:
            clock.t += rnd.choice(ticks)
        name, args, kw = random_op(rnd, keys)
        while not flush and name == "flush_cache":
            name, args, kw = random_op(rnd, keys)
        a = call(getattr(ref, name), *args, **kw)
        b = call(getattr(ours, name), *args, **kw)
        assert same(a, b), f"seed {seed} step {i}: {name}{args!r} {kw!r}: LiteLLM {a!r}, ours {b!r}"
        if i % 50 == 0:
            assert same(snapshot(ref, keys), snapshot(ours, keys)), f"seed {seed} step {i}: state"
            peak = max(peak, len(ref.cache_dict))
    assert same(snapshot(ref, keys), snapshot(ours, keys))
    for k in keys:
        assert same(call(ref.get_cache, k), call(ours.get_cache, k)), k
    return peak


@pytest.mark.parametrize("seed", range(12))
def test_same_as_litellm_below_its_capacity(seed):
    # 60 string keys (+6 odd ones): stock never reaches 200 entries, so it evicts nothing live
    assert run_trace(seed, 60, 3000) < 200


@pytest.mark.parametrize("seed", range(4))
def test_exact_at_any_number_of_keys(seed):
    # 1,500 keys: CounterCache equals LiteLLM's rules without capacity eviction ...
    # (time moves slowly and nothing is flushed, so that many entries are live at once)
    assert run_trace(1000 + seed, 1500, 6000, ref_size=10**9, ticks=[0, 0.01, 0.02], flush=False) > 400


def test_litellm_itself_loses_live_counters():
    """The bug this component fixes (LiteLLM #40221): stock drops live counters at 200."""
    clock, ref, ours = pair()
    keys = [f"{{api_key:k{i}}}:requests" for i in range(1000)]
    for _ in range(3):
        for k in keys:
            ref.increment_cache(k, 1, ttl=60)
            ours.increment_cache(k, 1, ttl=60)
    ref_counts = [ref.get_cache(k) for k in keys]
    assert [ours.get_cache(k) for k in keys] == [3] * 1000
    assert ref_counts != [3] * 1000, "LiteLLM no longer loses counters: revisit README"


def test_memory_cap_never_drops_a_live_entry():
    from fast_litellm.metrics import Stats

    stats = Stats()
    clock, ref, ours = pair(max_size=10**9, max_memory=64 * 1024, stats=stats)
    keys = [f"{{api_key:{i:08d}}}:tokens" for i in range(3000)]
    for k in keys:
        assert ours.increment_cache(k, 2, ttl=30) == ref.increment_cache(k, 2, ttl=30)
    assert ours.memory <= 64 * 1024
    assert stats.fallbacks > 0  # overflow went to LiteLLM's store, counted
    # nothing live lost (the overflow store is LiteLLM's: 200 entries, it evicts) ...
    held = sum(ours.get_cache(k) == 2 for k in keys)
    assert held >= len(ours._map) > 0
    # ... and after the window, the table's space is reused by new keys
    clock.t += 31
    before = stats.fallbacks
    for k in keys[:100]:
        assert ours.increment_cache(k + "x", 1, ttl=30) == 1
    assert stats.fallbacks == before


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(
    st.sampled_from(["set_cache", "get_cache", "increment_cache", "delete_cache", "async_get_ttl",
                     "tick"]),
    st.integers(0, 7),
    st.sampled_from(VALUES[:24]),
    st.sampled_from([None, 0, 1, 2, -1, 0.5]),
    st.sampled_from([0, 0.5, 1, 2]),
), max_size=60))
def test_hypothesis_traces(ops):
    clock, ref, ours = pair()
    for name, k, value, ttl, dt in ops:
        key = f"key{k}"
        if name == "tick":
            clock.t += dt
            continue
        kw = {} if ttl is None else {"ttl": ttl}
        if name == "set_cache":
            args = (key, value)
        elif name == "increment_cache":
            args = (key, value if type(value) in (int, float) else 1)
        else:
            args, kw = (key,), {}
        a = call(getattr(ref, name), *args, **kw)
        b = call(getattr(ours, name), *args, **kw)
        assert same(a, b), (name, args, kw, a, b)
    assert same(ref.ttl_dict, ours.ttl_dict)
    assert same(ref.cache_dict, ours.cache_dict)


def test_every_inmemorycache_method_is_overridden():
    own = set(OVERRIDDEN)
    missing = [n for n, v in vars(InMemoryCache).items() if callable(v) and n not in own
               and n != "__init__"]
    assert missing == []


def test_non_str_keys_are_litellms():
    clock, ref, ours = pair()
    for c in (ref, ours):
        c.set_cache(17, 5, ttl=10)
        c.set_cache(("t", 1), {"a": 1})
        assert c.increment_cache(17, 2) == 7
    assert ours._map is None or len(ours._map) == 0
    assert same(ref.cache_dict, ours.cache_dict) and same(ref.ttl_dict, ours.ttl_dict)
    assert same(call(ref.get_cache, ["unhashable"]), call(ours.get_cache, ["unhashable"]))
    assert call(ours.get_cache, ["unhashable"])[0] == "err"


def test_settings_are_shared_with_the_wrapped_cache():
    clock, ref, ours = pair()
    ours.max_size_in_memory = 0  # DualCache.update_in_memory_max_size does this
    assert ours._py.max_size_in_memory == 0
    ours.set_cache("a", 1)
    assert ours.get_cache("a") is None  # 0 disables the cache, as in LiteLLM
    ours.max_size_in_memory = 200
    ours.default_ttl = 5
    ours.set_cache("a", 1)
    assert ours.ttl_dict["a"] == clock.t + 5


def test_ttlmap_binding_errors():
    with pytest.raises(ValueError):
        _native.TTLMap(b"short")
    with pytest.raises(ValueError):
        _native.TTLMap(bytes(16), -1)
    with pytest.raises(ValueError):
        _native.TTLMap(bytes(16), 10)  # below an empty map's size
    m = _native.TTLMap(bytes(16))
    with pytest.raises(TypeError):
        m.set("k", 1, 0.0)
    with pytest.raises(TypeError):
        m.get("k", "now")
    assert m.set(5, 1, 0.0, 1.0) == 1  # non-str key: not storable
    assert m.set("k", object(), 0.0, 1.0) == 1
    assert m.set("k", 2**64, 0.0, 1.0) == 1
    assert m.set("k", "v", float("nan"), 1.0) == 1
    assert m.set("k", "v", 0.0, 1.0) == 0 and m.get("k", 0.0) == "v"
    assert m.incr("k", 1, 0.0, 1.0) is None  # a str: the general way
    assert m.set("n", 1, 0.0, 1.0) == 0 and m.incr("n", 2, 0.0, 1.0) == 3
    assert m.incr("n", 2**63 - 1, 0.0, 1.0) is None  # overflow: the general way
    assert len(m) == 2 and m.memory > 0
    assert sorted(k for k, _, _ in m.items()) == ["k", "n"]
    assert m.delete("k") and not m.delete("k")
    m.clear()
    assert len(m) == 0


def test_object_values_are_kept_beyond_200_and_capped():
    """Dict values (the limiter's parallel-request gauges) live in the wrapped store: no
    eviction at 200; at FAST_LITELLM_RATE_LIMITER_MAX_OBJECTS LiteLLM's eviction applies,
    counted."""
    from fast_litellm.metrics import Stats

    stats = Stats()
    clock, ref, ours = pair(max_size=10**9)
    small = CounterCache(InMemoryCache(clock=clock), max_objects=300, stats=stats)
    for i in range(1000):
        for c in (ref, ours, small):
            c.set_cache(f"gauge{i}", {f"slot{i}": 1.0}, ttl=3600)
    assert ours.max_size_in_memory == 10**9 and small.max_size_in_memory == 200
    got = [ours.get_cache(f"gauge{i}") for i in range(1000)]
    assert got == [ref.get_cache(f"gauge{i}") for i in range(1000)]
    assert all(g is not None for g in got)
    # the same object, as LiteLLM hands it out (the limiter mutates it after a get)
    assert ours.get_cache("gauge7") is ours.get_cache("gauge7")
    held = sum(small.get_cache(f"gauge{i}") is not None for i in range(1000))
    assert 200 < held <= 300 and stats.fallbacks > 0


@pytest.mark.exhaustive
def test_a_million_live_descriptors():
    """1,000,000 descriptors (window, requests and tokens each: 3,000,000 live entries) in
    one cache, keyed as the proxy keys them (a hashed API key: 64 hex digits), the three keys
    written microseconds apart as in the proxy: every counter is kept, and the table's own
    byte count (struct, slots, records as requested from malloc) is at most 96 bytes per
    descriptor."""
    import hashlib

    clock, _ref, ours = pair(max_memory=0)
    n = 1_000_000
    inc, setc = ours.increment_cache, ours.set_cache

    def desc(i):
        return "{api_key:%s}" % hashlib.sha256(b"%d" % i).hexdigest()

    for i in range(n):
        d = desc(i)
        setc(d + ":window", str(1_700_000_000), ttl=60)
        clock.t += 0.000003
        inc(d + ":requests", 1, ttl=60)
        clock.t += 0.000003
        inc(d + ":tokens", 37, ttl=60)
    clock.t += 30
    for i in range(0, n, 997):  # a sample, read back through LiteLLM's API
        d = desc(i)
        assert ours.get_cache(d + ":window") == 1_700_000_000
        assert ours.get_cache(d + ":requests") == 1 and ours.get_cache(d + ":tokens") == 37
    assert len(ours._map) == 3 * n and not ours._py.cache_dict
    per_descriptor = ours.memory / n
    print(f"1M descriptors: {ours.memory / 2**20:.1f} MiB, {per_descriptor:.1f} B per descriptor")
    assert per_descriptor <= 96
    clock.t += 31  # the window is over: every entry is gone (removed lazily) ...
    assert ours.get_cache(desc(0) + ":requests") is None
    setc("next", 1, ttl=60)  # ... a set is LiteLLM's sweep: all of them are dead now
    assert ours._map.reclaim() == 3 * n - 1 and len(ours._map) == 1
