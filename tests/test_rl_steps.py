"""The C table's limiter steps (``TTLMap.requests_step``; ``reserve_all`` with one counter;
csrc/core/fl_rlstep.c) against LiteLLM 1.108.7's own code for the same step.

Reference: a v3 limiter over ``InternalUsageCache(DualCache(InMemoryCache))`` (LiteLLM's
classes, no capacity eviction) on a fake clock. For the RPM pass it reads the window and the
counter (``_batch_get_counter_values``, the pre-check ``int(counter) > limit``) and then runs
``_in_memory_cache_sliding_window``; for the TPM reservation it runs
``_atomic_check_and_increment_in_memory`` with one counter. Ours: the same limiter over a
``CounterCache``, where the step is asked first (``rate_limiter.table_step``) and, when it
declines, LiteLLM's code runs on the CounterCache (what the hook does); a step stopped at the
memory cap has its remaining planned sets made through the CounterCache
(``rate_limiter.step_plan`` / ``reserve_plan``). Before each step the three keys hold generated values (window
starts as str or int, odd strings, floats, huge ints, nothing) with generated expiries, and
the clock moves. Compared: the decision (or LiteLLM's exception), and every key, value and
expiry of both caches.
"""

from __future__ import annotations

import asyncio
import math
import os
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from litellm.caching.dual_cache import DualCache
from litellm.caching.in_memory_cache import InMemoryCache
from litellm.proxy.hooks.parallel_request_limiter_v3 import _PROXY_MaxParallelRequestsHandler_v3
from litellm.proxy.utils import InternalUsageCache

from fast_litellm import _native
from fast_litellm.components.rate_limiter import reserve_plan, step_plan, table_step, table_steps
from fast_litellm.counter_cache import CounterCache

T0 = 1_700_000_000.25
STOPPED: list = []  # sets_done of every step stopped at the cap
EMPTY = _native.TTLMap(bytes(16)).memory  # an empty table's bytes
PREFIX = "{api_key:" + "ab" * 32 + "}:"
WINDOW_VALUES = [None, "T", "T-59", "T-60", "T-61", "T+5", "0", "-5", "abc", "1e3", "007", 1.5,
                 "999999999999999999", "1000000000000000000", 2**63 - 1, -(2**63), 2**70]
COUNTER_VALUES = [None, 0, 1, 2, 5, 99, 100, 101, "7", "x", 2.0, 2**63 - 1, -(2**63), -3, 2**64]


class Clock:
    """The cache's clock (called) and the limiter's (``now``: the same time moved by
    ``offset`` seconds, so that the window arithmetic and the expiries can disagree)."""

    def __init__(self) -> None:
        self.t = T0
        self.offset = 0

    def __call__(self) -> float:
        return self.t

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.t + self.offset)


def limiter_over(mem, clock):
    dual = DualCache(in_memory_cache=mem)
    init = InternalUsageCache.__init__
    init = getattr(init, "__fast_litellm_original__", init)  # LiteLLM's own, even when patched
    usage = InternalUsageCache.__new__(InternalUsageCache)
    init(usage, dual)
    assert usage.dual_cache.in_memory_cache is mem
    return _PROXY_MaxParallelRequestsHandler_v3(usage, time_provider=clock.now)


def window_value(v, now_int):
    if isinstance(v, str) and v.startswith("T"):
        return str(now_int + int(v[1:] or 0))
    return v


def outcome(fn):
    try:
        return ("ok", asyncio.run(fn()))
    except Exception as exc:  # noqa: BLE001 - LiteLLM's exception, compared
        return ("err", type(exc), str(exc))


def snapshot(mem):
    def norm(d):
        return sorted((k, repr(v)) for k, v in d.items())
    return norm(mem.cache_dict), norm(mem.ttl_dict)


def litellm_requests(lim, limit, now_int, window_size):
    keys = [PREFIX + "window", PREFIX + "requests"]

    async def go():
        values = await lim._batch_get_counter_values(keys, None, True)
        if values is not None and values[1] is not None and int(values[1]) > limit:
            return ("over", int(values[1]))
        start, counter = await lim._in_memory_cache_sliding_window(keys=keys, now_int=now_int,
                                                                   window_size=window_size)
        return ("ok", counter)
    return go


def litellm_reserve(lim, increment, limit, window_size):
    meta = {"descriptor_key": "api_key", "descriptor_value": "v", "current_limit": limit,
            "rate_limit_type": "tokens", "window_key": PREFIX + "window", "counter_key": PREFIX + "tokens",
            "increment": increment, "ttl": window_size, "window_size": window_size}

    async def go():
        r = await lim._atomic_check_and_increment_in_memory([meta])
        return (r["overall_code"], r["statuses"][0]["limit_remaining"], r.get("reservation_windows"))
    return go


def ours_step(mem, lim, kind, args, clock):
    """What the hook does: the table step (the RPM pass: requests_step; the reservation:
    reserve_all with one counter), else LiteLLM's code on the CounterCache."""
    step = table_step(mem, PREFIX)
    if kind == "requests":
        limit, now_int, window_size = args
        if step is not None:
            m, now = step
            step = m.requests_step(PREFIX, limit, now_int, window_size, now)
        if step is None:
            return outcome(litellm_requests(lim, *args)), False
        over, counter, start, reset, done, complete = step
        if not complete:
            STOPPED.append(done)
            for key, value, ttl in step_plan(PREFIX, reset, now_int, window_size, "requests", counter,
                                             window_size)[done:]:
                mem.set_cache(key, value, ttl=ttl)
        return ("ok", ("over" if over else "ok", counter)), True
    increment, limit, now_int, window_size = args
    meta = {"window_key": PREFIX + "window", "counter_key": PREFIX + "tokens", "window_size": window_size,
            "ttl": window_size}
    if step is not None:
        m, now = step
        step = m.reserve_all([(PREFIX + "window", PREFIX + "tokens", increment, limit, window_size, window_size)],
                             now_int, now)
    if step is None:
        return outcome(litellm_reserve(lim, increment, limit, window_size)), False
    over_index, counter, states, done, complete = step
    if over_index == 0:
        assert complete and done == 0  # nothing written
        return ("ok", ("OVER_LIMIT", max(0, limit - counter), None)), True
    if not complete:
        STOPPED.append(done)
        for key, value, ttl in reserve_plan([meta], states, now_int)[done:]:
            mem.set_cache(key, value, ttl=ttl)
    _expired, _current, new, start = states[0]
    return ("ok", ("OK", max(0, limit - new), frozenset({(PREFIX + "tokens", str(start), "local")}))), True


@st.composite
def cases(draw):
    n = draw(st.integers(1, 6))
    steps = []
    for _ in range(n):
        steps.append(dict(
            dt=draw(st.sampled_from([0, 0, 0.5, 1, 30, 59, 60, 61, 600])),
            seed=draw(st.booleans()),  # overwrite the three keys first
            window=draw(st.sampled_from(WINDOW_VALUES)),
            requests=draw(st.sampled_from(COUNTER_VALUES)),
            tokens=draw(st.sampled_from(COUNTER_VALUES)),
            ttls=draw(st.tuples(*[st.sampled_from([1, 30, 60, 61, 0.5]) for _ in range(3)])),
            kind=draw(st.sampled_from(["requests", "reserve"])),
            limit=draw(st.sampled_from([0, 1, 2, 100, 10**6, 2**63 - 1, 2**64])),
            increment=draw(st.sampled_from([1, 5, 0, -2, 2**62, 2**63 - 1])),
            window_size=draw(st.sampled_from([60, 1, 30, 0, -5])),
            now_offset=draw(st.sampled_from([0, 0, 1, -100])),
        ))
    return draw(st.sampled_from([0, 0, 200, 500, 800])), steps


def run_case(cap, steps, fillers=40):
    clock = Clock()
    ref = InMemoryCache(max_size_in_memory=10**9, clock=clock)
    # cap: bytes beyond an empty table's (0: no cap)
    ours = CounterCache(InMemoryCache(clock=clock), max_memory=cap and cap + EMPTY)
    ref_lim, our_lim = limiter_over(ref, clock), limiter_over(ours, clock)
    answered = partial = 0
    if cap:  # fill most of the table with other live descriptors so that the cap is met
        for i in range(fillers):
            for cache in (ref, ours):
                cache.set_cache(f"{{api_key:{i:064x}}}:requests", i, ttl=10**6)
    for s in steps:
        clock.t += s["dt"]
        clock.offset = s["now_offset"]
        now_int = int(clock.now().timestamp())  # what the limiter computes
        if s["seed"]:
            for name, ttl in zip(("window", "requests", "tokens"), s["ttls"]):
                value = window_value(s["window"], now_int) if name == "window" else s[name]
                if value is None:
                    continue
                for cache in (ref, ours):
                    cache.set_cache(PREFIX + name, value, ttl=ttl)
        if s["kind"] == "requests":
            args = (s["limit"], now_int, s["window_size"])
            want = outcome(litellm_requests(ref_lim, *args))
        else:
            args = (s["increment"], s["limit"], now_int, s["window_size"])
            want = outcome(litellm_reserve(ref_lim, s["increment"], s["limit"], s["window_size"]))
        got, took = ours_step(ours, our_lim, s["kind"], args, clock)
        assert got == want, (s, got, want)
        assert snapshot(ours) == snapshot(ref), s
        answered += took
    return answered


@settings(max_examples=300, deadline=None, database=None)
@given(cases())
def test_steps_same_as_litellm(case):
    cap, steps = case
    run_case(cap, steps)


def test_steps_answer_and_stop_at_the_cap():
    """Plain traces (the proxy's common case) are answered by the steps, and with a small
    cap some steps stop after some of their sets, which CounterCache then makes."""
    import random

    rng = random.Random(7)
    answered = 0
    del STOPPED[:]
    for i in range(300):
        steps = [dict(dt=rng.choice([0, 1, 61]), seed=rng.random() < 0.3, window=rng.choice(["T", None, "T-61"]),
                      requests=rng.choice([None, 1, 5]), tokens=rng.choice([None, 3]), ttls=(60, 60, 60),
                      kind=rng.choice(["requests", "reserve"]), limit=100, increment=3, window_size=60,
                      now_offset=0) for _ in range(5)]
        answered += run_case(rng.choice([0, 200, 500, 800]) if i % 2 else 0, steps)
    assert answered > 700
    # a stale window whose record must grow for P"tokens": caps from an empty table's size up
    for extra in range(0, 400, 4):
        for kind in ("requests", "reserve"):
            run_case(extra, [dict(dt=0, seed=True, window="T-61", requests=5, tokens=None, ttls=(60, 60, 60),
                                  kind=kind, limit=100, increment=3, window_size=60, now_offset=0)], fillers=0)
    assert 0 in STOPPED and any(d > 0 for d in STOPPED), STOPPED


def test_step_stopped_at_the_cap_is_finished_by_counter_cache():
    clock = Clock()
    ours = CounterCache(InMemoryCache(clock=clock), max_memory=1)
    # the cap that matters is the map's, set by hand here (CounterCache makes its map only
    # at the first write): 64 bytes above an empty table's size
    ours._map = _native.TTLMap(os.urandom(16), _native.TTLMap(os.urandom(16)).memory + 64)
    ref = InMemoryCache(max_size_in_memory=10**9, clock=clock)
    m, now = table_step(ours, PREFIX)
    over, counter, start, reset, done, complete = m.requests_step(PREFIX, 10, int(clock.t), 60, now)
    assert (over, counter, reset, complete) == (False, 1, True, False)
    assert done < 4
    for key, value, ttl in step_plan(PREFIX, reset, int(clock.t), 60, "requests", counter, 60)[done:]:
        ours.set_cache(key, value, ttl=ttl)
    outcome(litellm_requests(limiter_over(ref, clock), 10, int(clock.t), 60))
    assert snapshot(ours) == snapshot(ref)
    assert ours._py.cache_dict  # the rest went to the object store


def test_step_arguments():
    m = _native.TTLMap(os.urandom(16))
    now = 1.0e9
    for bad in [(1.0, 1, 60), (1, 1, "60")]:
        try:
            m.requests_step(PREFIX, *bad, now)
        except TypeError as exc:
            assert "must be an int" in str(exc)
        else:
            raise AssertionError(bad)
    try:
        m.requests_step(PREFIX, 1, 1, 60, 1)
    except TypeError as exc:
        assert "now must be a float" in str(exc)
    else:
        raise AssertionError
    # outside int64, an empty or too long prefix, a prefix with no UTF-8, a NaN clock: declined
    assert m.requests_step(PREFIX, 2**63, 1, 60, now) is None
    assert m.requests_step("", 1, 1, 60, now) is None
    assert m.requests_step("x" * 1017, 1, 1, 60, now) is None
    assert m.requests_step("\ud800", 1, 1, 60, now) is None
    assert m.requests_step(PREFIX, 1, 1, 60, math.nan) is None
    assert len(m) == 0
    assert m.requests_step("x" * 1016, 1, 1, 60, now)[:4] == (False, 1, 1, True)


# ---- several descriptors: window_pairs and reserve_all -----------------------------------

PREFIXES = [PREFIX, "{user:u-1}:", "{team:t-1}:"]


@st.composite
def multi_cases(draw):
    steps = []
    for _ in range(draw(st.integers(1, 5))):
        chosen = draw(st.lists(st.integers(0, 2), min_size=1, max_size=4))  # duplicates allowed
        steps.append(dict(
            dt=draw(st.sampled_from([0, 0, 1, 30, 60, 61])),
            seeds=draw(st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["window", "requests", "tokens"]),
                                          st.sampled_from(WINDOW_VALUES[:8] + COUNTER_VALUES[:8]),
                                          st.sampled_from([1, 60, 61])), max_size=4)),
            kind=draw(st.sampled_from(["pairs", "reserve"])),
            chosen=chosen,
            tokens=draw(st.lists(st.booleans(), min_size=len(chosen), max_size=len(chosen))),
            limits=draw(st.lists(st.sampled_from([0, 2, 10, 100, 2**64]), min_size=len(chosen), max_size=len(chosen))),
            increments=draw(st.lists(st.sampled_from([0, 1, 7, 60, -1]), min_size=len(chosen), max_size=len(chosen))),
            window_sizes=draw(st.lists(st.sampled_from([60, 60, 30, 1]), min_size=len(chosen), max_size=len(chosen))),
        ))
    return steps


def litellm_pairs(lim, keys, now_int, window_size):
    async def go():
        return await lim._in_memory_cache_sliding_window(keys=keys, now_int=now_int, window_size=window_size)
    return go


def litellm_reserve_all(lim, metas):
    async def go():
        r = await lim._atomic_check_and_increment_in_memory(metas)
        return r["overall_code"], r["statuses"], r.get("reservation_windows")
    return go


def ours_multi(mem, lim, s, now_int, metas, keys):
    """The table's call, then LiteLLM's code for what it did not take (what _window and
    _atomic in the hook do); no memory cap here (tests/test_rate_limiter_hook.py has the
    capped runs)."""
    found = table_steps(mem, [p for p in PREFIXES])
    if s["kind"] == "pairs":
        if found is None:
            return outcome(litellm_pairs(lim, keys, now_int, s["window_sizes"][0])), 0
        m, now = found
        results, done, partial = m.window_pairs(keys, now_int, s["window_sizes"][0], now)
        assert partial is None
        if done * 2 >= len(keys):
            return ("ok", results), 1
        rest = outcome(litellm_pairs(lim, keys[2 * done:], now_int, s["window_sizes"][0]))
        return (rest if rest[0] == "err" else ("ok", results + rest[1])), 1
    if found is None:
        return outcome(litellm_reserve_all(lim, metas)), 0
    m, now = found
    answer = m.reserve_all([(mt["window_key"], mt["counter_key"], mt["increment"], mt["current_limit"],
                             mt["window_size"], mt["ttl"]) for mt in metas], now_int, now)
    if answer is None:
        return outcome(litellm_reserve_all(lim, metas)), 0
    over_index, counter, states, sets_done, complete = answer
    assert complete

    def status(mt, code, remaining):
        return {"code": code, "current_limit": mt["current_limit"], "limit_remaining": remaining,
                "rate_limit_type": mt["rate_limit_type"], "descriptor_key": mt["descriptor_key"],
                "descriptor_value": mt["descriptor_value"]}
    if over_index < len(metas):
        mt = metas[over_index]
        return ("ok", ("OVER_LIMIT", [status(mt, "OVER_LIMIT", max(0, mt["current_limit"] - counter))], None)), 1
    return ("ok", ("OK", [status(mt, "OK", max(0, mt["current_limit"] - st_[2])) for mt, st_ in zip(metas, states)],
                   frozenset((mt["counter_key"], str(st_[3]), "local") for mt, st_ in zip(metas, states)))), 1


def run_multi(steps):
    clock = Clock()
    ref = InMemoryCache(max_size_in_memory=10**9, clock=clock)
    ours = CounterCache(InMemoryCache(clock=clock))
    ref_lim, our_lim = limiter_over(ref, clock), limiter_over(ours, clock)
    taken = 0
    for s in steps:
        clock.t += s["dt"]
        now_int = int(clock.now().timestamp())
        for i, name, value, ttl in s["seeds"]:
            value = window_value(value, now_int) if name == "window" else value
            if value is None:
                continue
            for cache in (ref, ours):
                cache.set_cache(PREFIXES[i] + name, value, ttl=ttl)
        prefixes = [PREFIXES[i] for i in s["chosen"]]
        keys = [k for p in prefixes for k in (p + "window", p + "requests")]
        metas = [{"descriptor_key": p[1:p.index(":")], "descriptor_value": p[p.index(":") + 1:-2],
                  "current_limit": lim, "rate_limit_type": "tokens" if tok else "requests",
                  "window_key": p + "window", "counter_key": p + ("tokens" if tok else "requests"),
                  "increment": inc, "ttl": ws, "window_size": ws}
                 for p, tok, lim, inc, ws in zip(prefixes, s["tokens"], s["limits"], s["increments"],
                                                  s["window_sizes"])]
        if s["kind"] == "pairs":
            want = outcome(litellm_pairs(ref_lim, keys, now_int, s["window_sizes"][0]))
        else:
            want = outcome(litellm_reserve_all(ref_lim, metas))
        got, took = ours_multi(ours, our_lim, s, now_int, metas, keys)
        assert got == want, (s, got, want)
        assert snapshot(ours) == snapshot(ref), s
        taken += took
    return taken


@settings(max_examples=300, deadline=None, database=None)
@given(multi_cases())
def test_several_descriptors_same_as_litellm(steps):
    run_multi(steps)


def test_several_descriptors_taken_by_the_table():
    import random

    rng = random.Random(11)
    taken = 0
    for _ in range(100):
        steps = []
        for _ in range(4):
            chosen = [rng.randrange(3) for _ in range(rng.randrange(1, 4))]
            steps.append(dict(dt=rng.choice([0, 1, 61]), seeds=[], kind=rng.choice(["pairs", "reserve"]),
                              chosen=chosen, tokens=[True] * len(chosen), limits=[100] * len(chosen),
                              increments=[3] * len(chosen), window_sizes=[60] * len(chosen)))
        taken += run_multi(steps)
    assert taken > 300


@settings(max_examples=500, deadline=None, database=None)
@given(st.binary(min_size=16, max_size=16))
def test_slot_ids_are_uuid4_hex(raw):
    """The parallel-slot id the hook draws: uuid.uuid4().hex's bits from the same bytes."""
    import uuid

    from fast_litellm.components.rate_limiter import uuid4_hex

    assert uuid4_hex(raw) == uuid.UUID(bytes=raw, version=4).hex
