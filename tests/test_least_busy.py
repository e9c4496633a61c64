"""least-busy routing (``routing`` component) against LiteLLM 1.108.7's selector.

Each generated case is built twice from its seed (every patch reverted, then applied):
candidate lists with ids of every type pydantic treats differently (str, lone surrogates,
int64 and larger ints, bools, floats, None, str subclasses, missing), odd ``model_info`` and
deployment types, odd model group names; in-flight counts in the cache of every type the
counts validation coerces or rejects (ints beyond 2**53, floats, infinities, bools, JSON
text, None), some expired; sometimes a Redis tier whose read fails (LiteLLM then warns and
uses its own counts). Compared: the pick (position in the list), exceptions (type and
message), the cache afterwards and the clock calls; sync and async. Then a real Router picks
the same deployments over a sequence of calls whose in-flight counts change.
"""

from __future__ import annotations

import asyncio
import random

import pytest

import fast_litellm  # noqa: F401 - before litellm: patches on import
import litellm
from fast_litellm.components import routing as routing_comp
from litellm.caching.dual_cache import DualCache
from litellm.caching.in_memory_cache import InMemoryCache
from litellm.router_strategy.least_busy import LeastBusyLoggingHandler

from _ab import both


class SubStr(str):
    pass


class SubDict(dict):
    pass


IDS = ["a", "b-1", "\ud800", "", 0, 7, -3, 2**63 - 1, 2**63, 2**70, True, 1.0, None, SubStr("s")]
COUNTS = [0, 1, 2, 5, -1, 2**53, 2**53 + 1, -(2**53) - 1, 1.9, -1.5, 0.0, float("inf"), float("nan"),
          True, False, None, "3", "x", "[1]", 10**400]


class FailingRedis:
    """A Redis tier whose reads fail: LiteLLM warns and falls back to its own counts."""

    async def async_batch_get_counts(self, keys):
        raise ConnectionError("redis down")

    def batch_get_counts(self, keys):
        raise ConnectionError("redis down")


def build(seed: int):
    rng = random.Random(seed)
    calls = [0]

    def clock():
        calls[0] += 1
        return 1000.0

    n = rng.choice([0, 1, 2, 3, 5, 8, 30])
    plain = rng.random() < 0.6
    deps = []
    for i in range(n):
        ident = f"id-{i}" if plain or rng.random() < 0.7 else rng.choice(IDS)
        d = {"model_name": "m", "litellm_params": {"model": "openai/x"}, "model_info": {"id": ident}}
        if not plain and rng.random() < 0.08:
            kind = rng.randrange(5)
            if kind == 0:
                d["model_info"] = None
            elif kind == 1:
                del d["model_info"]
            elif kind == 2:
                d["model_info"] = SubDict(d["model_info"])
            elif kind == 3:
                d = SubDict(d)
            else:
                del d["model_info"]["id"]
        deps.append(d)
    if deps and rng.random() < 0.1:
        deps.append(deps[0])
    group = rng.choice(["m", "m", "m", "group/x", SubStr("m"), 5]) if not plain else "m"
    cache = DualCache(in_memory_cache=InMemoryCache(clock=clock))
    for d in deps:
        mi = d.get("model_info") if isinstance(d, dict) else None
        if isinstance(mi, dict) and "id" in mi and rng.random() < 0.7:
            key = f"{group}_request_count:{mi['id']}"
            value = rng.choice(COUNTS[:5]) if plain and rng.random() < 0.8 else rng.choice(COUNTS)
            cache.in_memory_cache.cache_dict[key] = value
            if rng.random() < 0.2:
                cache.in_memory_cache.ttl_dict[key] = rng.choice([999.0, 1001.0])
    handler = LeastBusyLoggingHandler(router_cache=cache)
    if rng.random() < 0.05:
        cache.redis_cache = FailingRedis()
    return handler, group, (deps if rng.random() < 0.8 else tuple(deps)), calls


def _pick(seed: int, how: str):
    handler, group, deps, calls = build(seed)
    try:
        if how == "async":
            got = asyncio.run(handler.async_get_available_deployments(group, deps))
        else:
            got = handler.get_available_deployments(group, deps)
        out = ("ok", None if got is None else next(i for i, d in enumerate(deps) if d is got))
    except Exception as e:  # noqa: BLE001 - compared, type and message
        out = ("err", type(e).__name__, str(e)[:300])
    imc = handler.router_cache.in_memory_cache
    return out, repr(imc.cache_dict), repr(imc.ttl_dict), calls[0]


def _both(fn):
    return both(fn, routing_comp.BUSY_FAST)


def test_patched():
    assert getattr(LeastBusyLoggingHandler.async_get_available_deployments, "__fast_litellm_patch__", None)
    assert getattr(LeastBusyLoggingHandler.get_available_deployments, "__fast_litellm_patch__", None)


@pytest.mark.parametrize("how", ["async", "sync"])
@pytest.mark.parametrize("block", range(3))
def test_generated_cases_same_pick(how, block):
    seeds = range(block * 1000, (block + 1) * 1000)
    want, got, served, delegated = _both(lambda: [_pick(s, how) for s in seeds])
    for s, a, b in zip(seeds, want, got):
        assert a == b, (s, a, b)
    assert served > 400 and delegated > 100, (served, delegated)
    kinds = {w[0][0] for w in want}
    assert kinds == {"ok", "err"}, kinds
    assert len({w[0][1] for w in want if w[0][0] == "ok"}) > 5  # picks spread over positions


def test_busy_keys_and_least_index_directly():
    from fast_litellm import _native
    from litellm.router_strategy import least_busy as lb

    deps = [{"model_info": {"id": i}} for i in ("a", 7, -2, "\ud800", 2**63 - 1)]
    memo = {}
    for m in (None, memo, memo):  # built, remembered, then served from the memo
        assert _native.busy_keys("g", deps, m) == lb._request_count_keys("g", deps)
    assert set(memo) == {"g"} and len(memo["g"]) == 5 + 1  # five ids and the last answer (None)
    again = _native.busy_keys("g", deps, memo)
    assert all(a is b for a, b in zip(again, _native.busy_keys("g", deps, memo)))  # the same objects
    assert memo["g"][None][0] is again  # (the last answer, kept with the deployments read)
    # an equal id of another object, and ids that compare equal across types, get their own text
    mixed = [{"model_info": {"id": i}} for i in ("7", 7, "a" * 3, "aaa", 0, "0")]
    assert _native.busy_keys("g", mixed, memo) == lb._request_count_keys("g", mixed)
    assert _native.busy_keys("h", deps, memo) == lb._request_count_keys("h", deps)  # per group
    for bad in ([{"model_info": {"id": True}}], [{"model_info": {"id": 1.0}}], [{"model_info": {"id": 2**63}}],
                [{"model_info": {}}], [{}], [SubDict(model_info={"id": "a"})], iter([])):
        assert _native.busy_keys("g", bad, memo) is None, bad
    assert _native.busy_keys(SubStr("g"), deps, memo) is None
    for raw in ([3, None, 0, 0], [3, 1.9, 2, -0.5], [2, 1.9, 1], [-(2**53), 2**53, -1e18], [0.99, -0.99, 0]):
        order = list(range(len(raw)))
        want = lb._least_busy(order, lb._local_counts(raw, tuple(map(str, order))))
        assert _native.least_index(raw, len(raw)) == want, raw
    for bad, n in [([True], 1), ([2**53 + 1], 1), ([float("inf")], 1), (["3"], 1), ([None, None], 1),
                   ([2**53 + 1, 2**53], 2), ([-(2**53) - 1, -(2**53) - 2], 2), ((0,), 1), ([], 0)]:
        assert _native.least_index(bad, n) is None, bad  # LiteLLM's helpers answer these
    with pytest.raises(TypeError):
        _native.busy_keys("g")
    with pytest.raises(TypeError):
        _native.busy_keys("g", deps, [])


def test_busy_key_memo_is_bounded():
    from fast_litellm import _native
    from litellm.router_strategy import least_busy as lb

    memo = {}
    for g in range(1100):  # past the group bound: the memo starts over
        _native.busy_keys(f"g{g}", [{"model_info": {"id": 1}}], memo)
    assert 0 < len(memo) <= 1024
    deps = [{"model_info": {"id": i}} for i in range(70_000)]  # past a group's bound
    assert _native.busy_keys("big", deps, memo) == lb._request_count_keys("big", deps)
    assert 0 < len(memo["big"]) <= 65_536
    assert _native.busy_keys("big", deps[:10], memo) == lb._request_count_keys("big", deps[:10])


ROUTER_LIST = [{"model_name": "m", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "sk-x",
                                                      "api_base": f"http://127.0.0.1:9/{i}"},
                "model_info": {"id": f"dep-{i}"}} for i in range(12)]


def _router_scenario():
    """Picks of a real least-busy Router while calls start and finish between them."""
    rng = random.Random(5)
    router = litellm.Router(model_list=[dict(d, litellm_params=dict(d["litellm_params"]),
                                             model_info=dict(d["model_info"])) for d in ROUTER_LIST],
                            routing_strategy="least-busy")
    handler = router.leastbusy_logger
    picks = []

    async def main():
        for _ in range(150):
            dep = await router.async_get_available_deployment(model="m", messages=[{"role": "user", "content": "x"}],
                                                            request_kwargs={})
            picks.append(dep["model_info"]["id"])
            kw = {"litellm_params": {"metadata": {"model_group": "m"}, "model_info": dep["model_info"]}}
            if rng.random() < 0.7:
                handler.log_pre_api_call("m", [], kw)  # a call starts on it
            if rng.random() < 0.4:
                other = rng.choice(ROUTER_LIST)
                await handler.async_log_success_event(
                    {"litellm_params": {"metadata": {"model_group": "m"}, "model_info": other["model_info"]}},
                    None, None, None)

    asyncio.run(main())
    return picks, repr(router.cache.in_memory_cache.cache_dict)


def test_router_picks_same_sequence():
    want, got, served, _ = _both(_router_scenario)
    assert got == want
    assert served >= 150
    assert len(set(want[0])) >= 6  # the in-flight counts moved the picks around


from test_rate_limiter_redis import redis_server  # noqa: E402,F401 - a real redis-server (fixture)


def test_shared_counts_in_redis_decide_as_in_litellm(redis_server):  # noqa: F811
    """With a Redis tier LiteLLM reads the shared in-flight counts (here: dep-3 least busy,
    while this worker's own counts say dep-0): the patched selector hands those calls to
    LiteLLM and picks the same."""
    from litellm.caching.redis_cache import RedisCache

    client = redis_server.client()
    shared = {f"m_request_count:dep-{i}": 5 - (i == 3) * 4 for i in range(6)}
    client.mset(shared)

    def scenario():
        deps = [{"model_name": "m", "model_info": {"id": f"dep-{i}"}} for i in range(6)]
        cache = DualCache(in_memory_cache=InMemoryCache(),
                          redis_cache=RedisCache(host="127.0.0.1", port=redis_server.port))
        for i in range(6):
            cache.in_memory_cache.set_cache(f"m_request_count:dep-{i}", 0 if i == 0 else 9)
        handler = LeastBusyLoggingHandler(router_cache=cache)
        picks = [handler.get_available_deployments("m", deps)["model_info"]["id"]]
        picks.append(asyncio.run(handler.async_get_available_deployments("m", deps))["model_info"]["id"])
        return picks

    want, got, served, delegated = _both(scenario)
    assert want == got == ["dep-3", "dep-3"]
    assert delegated == 2 and served == 0


def _plain_id(d) -> bool:
    mi = d.get("model_info")
    i = mi.get("id") if type(mi) is dict else None
    return type(i) is str or (type(i) is int and -(2**63) <= i < 2**63)


def test_last_answer_follows_deployments_changed_in_place():
    """busy_keys returns its last tuple for the same deployment objects while their dicts
    and model_info dicts are unchanged (version tags); every in-place change between calls --
    an id set (to an equal or another value, another type), model_info replaced, emptied or
    removed, a key added elsewhere in the deployment, the list reordered, shortened,
    extended, copied, a tuple -- gives LiteLLM's keys (or None where LiteLLM must answer)."""
    from fast_litellm import _native
    from litellm.router_strategy import least_busy as lb

    def litellm_keys(group, deps):
        try:
            return lb._request_count_keys(group, deps)
        except Exception:  # noqa: BLE001 - LiteLLM rejects it: busy_keys says None
            return None

    rng = random.Random(11)
    memo = {}
    deps = [{"model_info": {"id": f"d{i}"}, "litellm_params": {}} for i in range(12)]
    seq = deps
    served_again = 0
    kept = []
    for step in range(3000):
        r = rng.random()
        d = rng.choice(deps)
        if r < 0.1:
            d["model_info"]["id"] = rng.choice(["x", f"d{step}", 5, 2**62, "d0", d["model_info"].get("id")])
        elif r < 0.15:
            kept.append(d["model_info"])  # (alive: its memory cannot become the new one's)
            d["model_info"] = {"id": rng.choice(["y", 9, f"d{step}"])}
        elif r < 0.17:
            d["model_info"].clear()
        elif r < 0.19:
            d.pop("model_info", None)
            d["model_info"] = {"id": "back"}
        elif r < 0.22:
            d["note"] = step  # the deployment changed elsewhere: keys the same
        elif r < 0.25:
            d["model_info"]["other"] = step
        elif r < 0.3:
            seq = list(deps)
            rng.shuffle(seq)
        elif r < 0.33:
            seq = deps[: rng.randint(1, len(deps))]
        elif r < 0.36:
            seq = tuple(deps)
        elif r < 0.38:
            seq = deps + [{"model_info": {"id": True}}]  # not plain: None
        elif r < 0.4:
            seq = list(seq)  # a new list of the same dicts
        group = "g" if rng.random() < 0.9 else "h"
        before = memo.get(group, {}).get(None)
        got = _native.busy_keys(group, seq, memo)
        if got is None:  # LiteLLM answers: only for an id busy_keys leaves to it
            assert any(not _plain_id(d) for d in seq), (step, seq)
        else:
            assert got == litellm_keys(group, seq), (step, seq)
        if got is not None and before is not None and got is before[0]:
            served_again += 1
    assert served_again > 300, served_again  # the last answer was used, and was right
