"""The ``memory_cache`` component: InMemoryCache's batch reads in C against LiteLLM 1.108.7's.

Each case is built twice from its seed (once with every patch reverted, once applied) and
compared: the values returned, exceptions (type and message), the cache's ``cache_dict`` and
``ttl_dict`` afterwards (expired entries are evicted by reads), how many times the cache's
clock was called, and the ``__eq__`` calls of keys whose hash collides with a read key.
Values cover every type ``json.loads`` treats differently (JSON text, invalid text, bytes,
bytearray, numbers, containers, objects); keys are present, missing, expired, repeated,
colliding or unhashable; the cache's clock, ``_remove_key`` and the module's ``json`` can be
replaced, and a ``loads`` can raise an exception LiteLLM does not catch.
"""

from __future__ import annotations

import asyncio
import random
import types

import pytest

import fast_litellm
import litellm  # noqa: F401
from fast_litellm.components import memory_cache as comp
from litellm.caching import in_memory_cache as imc_mod
from litellm.caching.dual_cache import DualCache
from litellm.caching.in_memory_cache import InMemoryCache

from _ab import both


class Obj:
    def __repr__(self):
        return "Obj()"


class SubStr(str):
    pass


class SubCache(InMemoryCache):
    pass


class Collider:
    """Hashes like `twin`; logs every comparison."""

    def __init__(self, twin, log, answer=False):
        self.twin, self.log, self.answer = twin, log, answer

    def __hash__(self):
        return hash(self.twin)

    def __eq__(self, other):
        self.log.append(("eq", other))
        return self.answer

    def __repr__(self):
        return f"Collider({self.twin!r})"


VALUES = [0, 1, -3, 2**70, 1.5, float("nan"), True, None, "7", '{"a": [1, 2]}', "not json", "",
          '"s"', b"12", bytearray(b"[1]"), b"\xff", {"a": 1}, [1, "x"], (1, 2), Obj(), SubStr("5"),
          {1, 2}]


def build(seed: int):
    """(cache, keys, log, clock_calls, extra): one case, the same objects from the seed."""
    rng = random.Random(seed)
    log = []
    calls = [0]
    now = [1000.0]

    def clock():
        calls[0] += 1
        if rng_flags.get("clock_raises") and calls[0] == 3:
            raise ValueError("clock broke")
        return now[0]

    rng_flags = {"clock_raises": rng.random() < 0.05}
    kind = rng.random()
    cls = SubCache if kind < 0.05 else InMemoryCache
    cache = cls(clock=clock)
    names = [f"k{i}" for i in range(rng.randint(0, 12))]
    for name in names:
        if rng.random() < 0.8:
            cache.cache_dict[name] = rng.choice(VALUES)
            r = rng.random()
            if r < 0.3:
                cache.ttl_dict[name] = now[0] - rng.choice([1, 0.001])  # expired
            elif r < 0.4:
                cache.ttl_dict[name] = now[0]  # not expired: clock() > ttl is False
            elif r < 0.8:
                cache.ttl_dict[name] = now[0] + 60
            # else: no ttl at all
    keys = [rng.choice(names) if names and rng.random() < 0.8 else f"missing{rng.randrange(3)}"
            for _ in range(rng.randint(0, 15))]
    r = rng.random()
    if r < 0.08 and keys:
        c = Collider(keys[0], log)
        cache.cache_dict[c] = "collider value"
    elif r < 0.12 and keys:
        c = Collider(keys[0], log, answer=True)  # equal to the key: found instead of it
        cache.cache_dict[c] = 5
        cache.ttl_dict[c] = now[0] + 1
    elif r < 0.15:
        keys.append(["unhashable"])
    elif r < 0.18:
        keys.append(7)
    elif r < 0.2:
        keys.append(SubStr(keys[0]) if keys else SubStr("k0"))
    r = rng.random()
    if r < 0.05:
        def remove(key):
            log.append(("remove", key))
            cache.cache_dict.pop(key, None)
        cache._remove_key = remove
    elif r < 0.08:
        cache.get_cache = lambda key, **kw: ("instance get_cache", key)
    elif r < 0.1:
        cache._is_key_expired = lambda key: True
    shape = rng.random()
    if shape < 0.1:
        keys = tuple(keys)
    elif shape < 0.13:
        keys = iter(keys)
    return cache, keys, log, calls, rng.random()


def _state(cache):
    return repr(cache.cache_dict), repr(cache.ttl_dict)


def _read(seed, how):
    cache, keys, log, calls, roll = build(seed)
    saved_json = imc_mod.json
    if roll < 0.06:
        def loads(v):
            log.append(("loads", repr(v)))
            if v == "7":
                raise KeyboardInterrupt("not an Exception")
            return ("custom", repr(v))
        imc_mod.json = types.SimpleNamespace(loads=loads)
    try:
        if how == "sync":
            r = cache.batch_get_cache(keys)
        elif how == "async":
            r = asyncio.run(cache.async_batch_get_cache(keys=keys, extra="ignored"))
        else:
            r = asyncio.run(DualCache(in_memory_cache=cache).async_batch_get_cache(keys, local_only=True))
        out = ("ok", repr(r))
    except BaseException as e:  # noqa: BLE001 - compared, KeyboardInterrupt included
        out = ("err", type(e).__name__, str(e))
    finally:
        imc_mod.json = saved_json
    return out, _state(cache), calls[0], repr(log)


def _both(fn):
    return both(fn, comp.BATCH_FAST)


def test_component_active():
    assert fast_litellm.status()["memory_cache"]["active"]
    assert getattr(InMemoryCache.async_batch_get_cache, "__fast_litellm_patch__", None) is not None


@pytest.mark.parametrize("how", ["sync", "async", "dual"])
@pytest.mark.parametrize("block", range(3))
def test_generated_reads_same_outcome(how, block):
    seeds = range(block * 700, (block + 1) * 700)
    want, got, served, delegated = _both(lambda: [_read(s, how) for s in seeds])
    for s, a, b in zip(seeds, want, got):
        assert a == b, (s, a, b)
    assert served > 450 and delegated > 40, (served, delegated)
    if how != "dual":  # (DualCache logs what it catches and returns None)
        assert {w[0][0] for w in want} == {"ok", "err"}
    assert any(w[2] > 0 for w in want)  # clocks were called
    assert any("eq" in w[3] for w in want) and any("loads" in w[3] for w in want)


def test_counters_and_json_text_read_as_litellm_reads_them():
    cache = InMemoryCache()
    cache.set_cache("a", 3)
    cache.set_cache("b", '{"x": 1}')
    cache.set_cache("c", "[1")
    assert cache.batch_get_cache(["a", "b", "c", "d"]) == [3, {"x": 1}, "[1", None]


def test_default_clock_performed_as_litellm_calls_it(monkeypatch):
    """The default clock (``lambda: time.time()``) is performed, not called: the same
    ``time`` global and ``time.time`` reads and calls as the lambda's, whatever they are
    now -- time.time replaced, the module's ``time`` replaced or gone (the lambda then looks
    in builtins and raises NameError), the lambda's code under other globals."""
    import time as time_mod
    import types

    from litellm.caching import in_memory_cache as imc

    def scenario(now):
        calls = []

        def fake_time():
            calls.append(1)
            return now

        cache = InMemoryCache()  # its default clock
        for k in ("a", "b", "c"):
            cache.set_cache(k, 1, ttl=10)
        cache.ttl_dict["b"] = 0.0  # expired for any clock above 0
        monkeypatch.setattr(time_mod, "time", fake_time)
        try:
            out = cache.batch_get_cache(["a", "b", "c", "x"])
        except Exception as e:  # noqa: BLE001 - compared, type and message
            out = ("err", type(e), str(e))
        finally:
            monkeypatch.undo()
        return out, len(calls), sorted(cache.cache_dict)

    for now in (5.0, -1.0):
        want, got, served, delegated = _both(lambda: scenario(now))
        assert got == want and served == 1 and want[1] == 3
    def others():
        out = []
        # the module's time replaced by another object with a time()
        cache = InMemoryCache()
        cache.set_cache("a", 1, ttl=10)
        monkeypatch.setattr(imc, "time", types.SimpleNamespace(time=lambda: 1e18))
        out.append(cache.batch_get_cache(["a"]))  # expired under that clock
        monkeypatch.undo()
        # the module's time gone: the lambda's NameError
        cache = InMemoryCache()
        cache.set_cache("a", 1, ttl=10)
        monkeypatch.delattr(imc, "time")
        try:
            cache.batch_get_cache(["a"])
        except NameError as e:
            out.append(("NameError", str(e)))
        monkeypatch.undo()
        # the lambda's code under other globals
        code = cache._clock.__code__
        for now in (0.0, 1.0):
            cache._clock = types.FunctionType(code, {"time": types.SimpleNamespace(time=lambda now=now: now)})
            cache.ttl_dict["a"] = 0.5
            out.append((cache.batch_get_cache(["a"]), sorted(cache.cache_dict)))
        # another function whose globals have a time module: called, not performed
        cache = InMemoryCache()
        cache.set_cache("a", 1, ttl=10)
        cache.ttl_dict["a"] = 10.0
        cache._clock = types.FunctionType((lambda: 7.0).__code__, {"time": time_mod})
        out.append((cache.batch_get_cache(["a"]), sorted(cache.cache_dict)))
        return out

    want, got, served, delegated = _both(others)
    assert got == want == [[None], ("NameError", "name 'time' is not defined"), ([1], ["a"]), ([None], []),
                           ([1], ["a"])]
    assert served == 5


# -- the shortcut (membatch.c): batches of 8 keys or more read the cache's attributes once
# and re-check them after every step that can run Python code. Code run in the middle of a
# batch (the clock, _remove_key, a non-str key's __eq__, json.loads) changes what the next
# steps must read; LiteLLM re-reads everything, and so must the shortcut.

MUTATIONS = [
    "none", "rebind_cache_dict", "rebind_ttl_dict", "rebind_clock", "replace_instance_dict",
    "class_attr_unrelated", "class_property", "change_class", "non_str_key", "pop_later_key",
    "set_later_value", "expire_later_key", "json_loads_replaced", "module_json_replaced",
    "time_replaced", "non_str_key_that_rebinds",
]


class Stamp:
    """A ttl that is not a number: ``now > stamp`` runs its ``__lt__``."""

    def __init__(self, on_compare):
        self.on_compare = on_compare

    def __lt__(self, other):
        self.on_compare()
        return False

    def __repr__(self):
        return "Stamp()"


def _mid_batch(kind: str, at: int, channel: str, seed: int):
    """One batch of 12-40 keys over a cache of str keys; `kind` happens the `at`-th time
    Python code of `channel` runs during the read."""
    import json as json_mod
    import time as time_mod

    rng = random.Random(seed)
    log = []
    calls = [0]
    default_clock = channel in ("default_clock", "remove", "loads")
    cache = InMemoryCache() if default_clock else InMemoryCache(clock=lambda: fire("clock") or 1000.0)
    names = [f"k{i}" for i in range(rng.randint(10, 30))]
    for name in names:
        if rng.random() < 0.7:
            cache.cache_dict[name] = rng.choice([1, 2.5, None, "[1, 2]", "text", {"a": 1}])
            r = rng.random()
            if r < 0.2:
                cache.ttl_dict[name] = 1.0  # expired for every clock here
            elif r < 0.8:
                cache.ttl_dict[name] = 5e12  # live
    keys = [rng.choice(names) if rng.random() < 0.85 else f"missing{i}" for i in range(rng.randint(12, 40))]
    later = keys[len(keys) // 2]
    undo = []

    def mutate():
        log.append(("mutate", kind))
        if kind == "rebind_cache_dict":
            cache.cache_dict = {k: ("new", k) for k in names[::2]}
        elif kind == "rebind_ttl_dict":
            cache.ttl_dict = {k: 1.0 for k in names}  # everything expired from now on
        elif kind == "rebind_clock":
            cache._clock = lambda: log.append("new clock") or 1e13
        elif kind == "replace_instance_dict":
            d = dict(cache.__dict__)
            d["cache_dict"] = {k: "swapped" for k in names}
            cache.__dict__ = d
        elif kind == "class_attr_unrelated":
            InMemoryCache.fl_test_marker = 1
            undo.append(lambda: delattr(InMemoryCache, "fl_test_marker"))
        elif kind == "class_property":
            InMemoryCache.cache_dict = property(lambda self: {k: "property" for k in names})
            undo.append(lambda: delattr(InMemoryCache, "cache_dict"))
        elif kind == "change_class":
            cache.__class__ = SubCache
        elif kind == "non_str_key":
            cache.cache_dict[Collider(later, log, answer=True)] = "collider"
        elif kind == "non_str_key_that_rebinds":
            # its __eq__ (run by the lookup of `later`) rebinds cache_dict
            rebinder = type("Rebinder", (Collider,), {
                "__eq__": lambda self, o: bool(setattr(cache, "cache_dict", {later: "rebound"})) or True,
                "__hash__": Collider.__hash__})
            cache.cache_dict[rebinder(later, log)] = "collider"
        elif kind == "pop_later_key":
            cache.cache_dict.pop(later, None)
        elif kind == "set_later_value":
            cache.cache_dict[later] = "set mid-batch"
            cache.ttl_dict.pop(later, None)
        elif kind == "expire_later_key":
            cache.ttl_dict[later] = 1.0
        elif kind == "json_loads_replaced":
            saved = json_mod.loads
            json_mod.loads = lambda v: ("loads", v)
            undo.append(lambda: setattr(json_mod, "loads", saved))
        elif kind == "module_json_replaced":
            imc_mod.json = types.SimpleNamespace(loads=lambda v: ("ns loads", v))
            undo.append(lambda: setattr(imc_mod, "json", json_mod))
        elif kind == "time_replaced":
            saved = time_mod.time
            time_mod.time = lambda: log.append("new time") or 1e13
            undo.append(lambda: setattr(time_mod, "time", saved))

    def fire(where):
        if where == channel:
            calls[0] += 1
            if calls[0] == at:
                mutate()

    if channel == "remove":
        removed = cache._remove_key

        def remove(key):
            fire("remove")
            removed(key)
        cache._remove_key = remove
    elif channel == "eq":
        keys.insert(rng.randrange(len(keys) - 4), Collider(keys[-1], log))
        eq = Collider.__eq__
        keys[[type(k) is Collider for k in keys].index(True)].__class__ = type(
            "FiringCollider", (Collider,), {"__eq__": lambda self, o: fire("eq") or eq(self, o), "__hash__": Collider.__hash__})
        cache.cache_dict[keys[-1] + ""] = cache.cache_dict.get(keys[-1], 0)
    elif channel == "loads":
        saved_loads = json_mod.loads

        def loads(v, *a, **kw):
            fire("loads")
            return json_mod.JSONDecoder().decode(v) if isinstance(v, str) and v.startswith("[") else saved_loads(v)
        json_mod.loads = loads
        undo.append(lambda: setattr(json_mod, "loads", saved_loads))
    elif channel == "cmp":
        for name in names[::3]:
            if name in cache.cache_dict:
                cache.ttl_dict[name] = Stamp(lambda: fire("cmp"))
    elif channel == "default_clock":
        saved_time = time_mod.time

        def tick():
            fire("default_clock")
            return 1000.0
        time_mod.time = tick
        undo.insert(0, lambda: setattr(time_mod, "time", saved_time))
    try:
        out = ("ok", repr(cache.batch_get_cache(keys)))
    except Exception as e:  # noqa: BLE001 - compared, type and message
        out = ("err", type(e).__name__, str(e))
    finally:
        for u in reversed(undo):
            u()
    return out, repr(vars(cache).get("cache_dict")), repr(vars(cache).get("ttl_dict")), type(cache).__name__, repr(log)


@pytest.mark.parametrize("channel", ["clock", "default_clock", "remove", "eq", "loads", "cmp"])
def test_code_run_mid_batch_read_as_litellm_reads(channel):
    """Every mutation, fired at the 1st to 4th run of Python code from `channel` in the
    middle of a batch: values, exceptions, the cache afterwards and the log as LiteLLM's."""
    cases = [(kind, at, seed) for kind in MUTATIONS for at in (1, 2, 4) for seed in range(4)]
    want, got, served, delegated = _both(lambda: [_mid_batch(k, at, channel, s) for k, at, s in cases])
    assert served == len(cases)
    for case, a, b in zip(cases, want, got):
        assert a == b, (case, a, b)
    assert sum("mutate" in w[4] for w in want) > len(cases) // 5  # the mutations happened
    base = {(at, s): w[0] for (k, at, s), w in zip(cases, want) if k == "none"}
    changed = sum(w[0] != base[at, s] for (k, at, s), w in zip(cases, want))
    assert changed > len(cases) // 10, changed  # and changed what the reads return
