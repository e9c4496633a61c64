"""Differential test of the ``routing`` component against LiteLLM 1.108.7's selectors.

Every case runs in a fresh interpreter with ``FAST_LITELLM_DISABLE=1`` (nothing patched, so
nothing leaks into this process or other test modules): the replacement is built directly
with the component's ``make_*`` from LiteLLM's original, and both run on deep copies of the
same inputs after ``random.seed(case_seed)``. Compared per case: the returned deployment (by
id and by position, identity, in the candidate list), ``random.getstate()`` afterwards, the
cached map after the pick (``repr``: keys, values and insertion order), ``request_kwargs``
after the pick (``_latency_per_deployment``), and exceptions (type and message).

The clock is frozen (``datetime`` replaced on the strategy modules, which both sides read at
call time), so the current-minute counters cannot straddle a minute boundary between sides.

Case groups (the seed is in the test id): ``random.Random(seed)`` cases for each strategy
(2..300 deployments; weights/rpm/tpm in litellm_params, model_info, top level, missing, 0,
None; duplicate ids and the same dict listed twice; map entries for ids not in the list;
empty latency lists, TTFT lists, stale minutes, counters at the limits; costs from the
bundled cost map, base_model, custom input/output_cost_per_token; stream/metadata variants;
a few malformed deployments that raise), Hypothesis cases, and a real ``Router`` per strategy,
patched (``FAST_LITELLM_ROUTING=true``) against unpatched, over 200 picks with warm state fed
by the handlers' own success events.
"""

from __future__ import annotations

import pytest
from _sub import run

# differential runs of minutes, pure Python: in `make test`, not in its ASan pass
pytestmark = [pytest.mark.timeout(600), pytest.mark.exhaustive]

SEEDS = (1108, 7, 20240611, 99)
CASES_PER_SEED = 600
STRATEGIES = ("latency", "cost", "usage_v1")
HYPOTHESIS_EXAMPLES = 300
OFF = {"FAST_LITELLM_DISABLE": "1"}
COST_MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-3.5-turbo", "claude-3-5-sonnet-20240620",
               "openai/gpt-4.1-mini", "no-such-model-xyz", "")

# -- helpers run inside the subprocess (this module is importable there) -------------------

MINUTE = "2025-01-02-03-04"
HHMM = "03-04"


def freeze_clock():
    import datetime as _dt

    import litellm.router_strategy.lowest_cost as lc
    import litellm.router_strategy.lowest_latency as ll
    import litellm.router_strategy.lowest_tpm_rpm as lt

    fixed = _dt.datetime(2025, 1, 2, 3, 4, 5)

    class Frozen(_dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return fixed

    for m in (ll, lc, lt):
        m.datetime = Frozen


def _limit_value(rng):
    return rng.choice([None, None, 0, 1, 2, 3, 5, 50, 1000, 10**6, 2.5])


def gen_deployments(rng, n, cost=False):
    deps = []
    for i in range(n):
        params = {"model": "openai/gpt-4o-mini"}
        info = {}
        d = {"model_name": "m", "litellm_params": params, "model_info": info}
        r = rng.random()
        if r < 0.85:
            info["id"] = f"d{i}"
        elif deps:
            info["id"] = rng.choice(deps)["model_info"].get("id", f"d{i}")  # duplicate id
        else:
            info["id"] = f"d{i}"
        for key in ("tpm", "rpm"):
            where = rng.choice(["params", "info", "top", "none", "none", "params"])
            v = _limit_value(rng)
            if where == "params":
                params[key] = v
            elif where == "info":
                info[key] = v
            elif where == "top":
                d[key] = v
        if rng.random() < 0.3:
            params["weight"] = rng.choice([0, 1, 2, 5])
        r = rng.random()
        if r < 0.7:
            params["api_base"] = f"http://h{rng.randrange(max(2, n))}/v1"  # collisions on purpose
        elif r < 0.8:
            params["api_base"] = None
        if cost:
            m = rng.choice(COST_MODELS)
            params["model"] = m
            r = rng.random()
            if r < 0.15:
                info["base_model"] = rng.choice(COST_MODELS)
            elif r < 0.25:
                params["base_model"] = rng.choice(COST_MODELS)
            if rng.random() < 0.3:
                params["input_cost_per_token"] = rng.choice([0, 1e-6, 2e-6, 3e-6, None])
            if rng.random() < 0.3:
                params["output_cost_per_token"] = rng.choice([0, 1e-6, 4e-6, None])
        deps.append(d)
    if n > 2 and rng.random() < 0.15:
        deps.insert(rng.randrange(n), deps[rng.randrange(n)])  # the same dict twice
    if rng.random() < 0.02:  # malformed: raises in both
        bad = rng.choice(["no_info", "no_id", "params_none", "str_limit", "unhashable_base"])
        d = deps[rng.randrange(len(deps))]
        if bad == "no_info":
            d.pop("model_info")
        elif bad == "no_id":
            d["model_info"].pop("id", None)
        elif bad == "params_none":
            d["litellm_params"] = None
        elif bad == "unhashable_base":
            d["litellm_params"]["api_base"] = ["http://h0/v1"]  # LiteLLM hashes it: TypeError
        else:
            d["tpm"] = "100"
    return deps


def _ids(deps):
    out = []
    for d in deps:
        i = (d.get("model_info") or {}).get("id")
        if i is not None:
            out.append(i)
    return out


def _counter(rng):
    return {"tpm": rng.choice([0, 0, 10, 100, 999, 1000, 5000, 10**6]), "rpm": rng.choice([0, 0, 1, 2, 4, 49, 999])}


def gen_latency_map(rng, deps):
    ids = _ids(deps)
    r = rng.random()
    if r < 0.04:
        return None
    if r < 0.12:
        return {}
    keys = [i for i in ids if rng.random() < 0.8]
    keys += [f"gone{j}" for j in range(rng.randrange(4))]
    rng.shuffle(keys)
    m = {}
    lat_vals = [0, 0.1, 0.2, 0.2, 0.5, 1.0, 3.0, 1000.0]
    for k in keys:
        e = {}
        r = rng.random()
        if r < 0.8:
            e["latency"] = [rng.choice(lat_vals) for _ in range(rng.randrange(0, 6))]
        if rng.random() < 0.4:
            e["time_to_first_token_seconds"] = [rng.choice(lat_vals) for _ in range(rng.randrange(0, 5))]
        if rng.random() < 0.7:
            e[MINUTE] = _counter(rng)
        if rng.random() < 0.2:
            e["2025-01-02-03-03"] = _counter(rng)
        m[k] = e
    return m


def gen_cost_map(rng, deps):
    ids = _ids(deps)
    if rng.random() < 0.1:
        return None  # nothing cached: `or {}`
    keys = [i for i in ids if rng.random() < 0.7] + [f"gone{j}" for j in range(rng.randrange(3))]
    rng.shuffle(keys)
    m = {}
    for k in keys:
        e = {}
        if rng.random() < 0.75:
            e[MINUTE] = _counter(rng)
        m[k] = e
    return m


def gen_usage_maps(rng, deps):
    ids = _ids(deps)
    tpm = None
    if rng.random() < 0.8:
        keys = [i for i in ids if rng.random() < 0.7] + [f"gone{j}" for j in range(rng.randrange(3))]
        rng.shuffle(keys)
        tpm = {k: rng.choice([0, 0, 5, 10, 100, 999, 1000, 10**6]) for k in keys}
    rpm = None
    if rng.random() < 0.7:
        rpm = {k: rng.choice([0, 1, 2, 4, 49]) for k in ids if rng.random() < 0.6}
    return tpm, rpm


def gen_request(rng):
    r = rng.random()
    if r < 0.1:
        return None
    kw = {}
    s = rng.random()
    if s < 0.4:
        kw["stream"] = True
    elif s < 0.5:
        kw["stream"] = rng.choice([False, None, "true", 1])
    m = rng.random()
    if m < 0.4:
        kw["metadata"] = {"user": "u"}
    elif m < 0.6:
        kw["litellm_metadata"] = {}
    elif m < 0.7:
        kw["metadata"] = {}
        kw["litellm_metadata"] = {"x": 1}
    return kw


def gen_messages(rng):
    r = rng.random()
    if r < 0.5:
        return [{"role": "user", "content": "hello " * rng.randrange(0, 400)}], None
    if r < 0.7:
        return None, "some input text " * rng.randrange(0, 100)
    if r < 0.8:
        return None, ["a list", "of inputs"]
    if r < 0.9:
        return None, None
    return [{"role": "user", "content": 12345}], None  # token_counter raises: 0 tokens


def gen_case(rng, strategy):
    n = rng.choice([2, 2, 3, 4, 5, 8, 13, 20, 40]) if rng.random() < 0.9 else rng.randrange(50, 301)
    deps = gen_deployments(rng, n, cost=(strategy == "cost"))
    messages, inp = gen_messages(rng)
    case = {"strategy": strategy, "deps": deps, "messages": messages, "input": inp, "seed": rng.getrandbits(32)}
    if strategy == "latency":
        case["map"] = gen_latency_map(rng, deps)
        case["request_kwargs"] = gen_request(rng)
        case["routing_args"] = {"lowest_latency_buffer": rng.choice([0, 0, 0.1, 0.5, 1.0]),
                                "ttft_percentile": rng.choice([None, None, 0.5, 0.9, 1.0])}
    elif strategy == "cost":
        case["map"] = gen_cost_map(rng, deps)
    else:
        case["tpm"], case["rpm"] = gen_usage_maps(rng, deps)
    return case


class _Cache:
    def __init__(self, store):
        self.store = store

    def get_cache(self, key, **kwargs):
        return self.store.get(key)

    async def async_get_cache(self, key, **kwargs):
        return self.store.get(key)


def _position(deps, chosen):
    for i, d in enumerate(deps):
        if d is chosen:
            return i
    return None if chosen is None else -1  # -1: not an object from the list


def run_one(case, fn):
    """Run one selector (LiteLLM's or ours) on a deep copy of the case; return what it did."""
    import asyncio
    import copy
    import random

    strategy = case["strategy"]
    deps, store_map, rk, messages, inp, tpm, rpm = copy.deepcopy(
        (case["deps"], case.get("map"), case.get("request_kwargs"), case["messages"], case["input"],
         case.get("tpm"), case.get("rpm")))
    random.seed(case["seed"])
    out = {}
    try:
        if strategy == "latency":
            from litellm.router_strategy.lowest_latency import LowestLatencyLoggingHandler

            h = LowestLatencyLoggingHandler(router_cache=_Cache({}), routing_args=case["routing_args"])
            got = fn(h, "m", deps, messages, inp, rk, store_map)
        elif strategy == "cost":
            from litellm.router_strategy.lowest_cost import LowestCostLoggingHandler

            store = {} if store_map is None else {"cost_map:m": store_map}
            h = LowestCostLoggingHandler(router_cache=_Cache(store))
            got = asyncio.run(fn(h, model_group="m", healthy_deployments=deps, messages=messages, input=inp))
        else:
            from litellm.router_strategy.lowest_tpm_rpm import LowestTPMLoggingHandler

            store = {}
            if tpm is not None:
                store[f"m:tpm:{HHMM}"] = tpm
            if rpm is not None:
                store[f"m:rpm:{HHMM}"] = rpm
            h = LowestTPMLoggingHandler(router_cache=_Cache(store))
            got = fn(h, "m", deps, messages, inp)
        out["result"] = ["ok", _position(deps, got), None if got is None else got["model_info"]["id"]]
    except Exception as exc:  # noqa: BLE001
        out["result"] = ["err", type(exc).__qualname__, str(exc)]
    out["random"] = hash(random.getstate())
    out["map"] = repr(store_map)
    out["tpm"] = repr(tpm)
    out["rpm"] = repr(rpm)
    out["request_kwargs"] = repr(rk)
    out["deps"] = repr(deps)
    return out


def pairs():
    """(strategy, LiteLLM's function, ours) with ours built by the component's make_*."""
    import inspect

    from litellm.router_strategy.lowest_cost import LowestCostLoggingHandler
    from litellm.router_strategy.lowest_latency import LowestLatencyLoggingHandler
    from litellm.router_strategy.lowest_tpm_rpm import LowestTPMLoggingHandler

    from fast_litellm.components import routing as r

    lat = LowestLatencyLoggingHandler.__dict__["_get_available_deployments"]
    cost = LowestCostLoggingHandler.__dict__["async_get_available_deployments"]
    use = LowestTPMLoggingHandler.__dict__["get_available_deployments"]
    assert not hasattr(lat, "__fast_litellm_original__")  # FAST_LITELLM_DISABLE: unpatched
    assert inspect.iscoroutinefunction(r.make_cost(cost))
    return {"latency": (lat, r.make_latency(lat)), "cost": (cost, r.make_cost(cost)),
            "usage_v1": (use, r.make_usage_v1(use))}


def compare_cases(cases):
    """Run each case on both sides; return (count, mismatches, outcome tally)."""
    fns = pairs()
    bad = []
    tally = {}
    for c in cases:
        orig, ours = fns[c["strategy"]]
        a = run_one(c, orig)
        b = run_one(c, ours)
        key = (c["strategy"], a["result"][0] if a["result"][0] == "err" else
               ("none" if a["result"][1] is None else "picked"))
        tally[str(key)] = tally.get(str(key), 0) + 1
        if a != b:
            diff = {k: (a[k], b[k]) for k in a if a[k] != b[k]}
            bad.append({"case": repr(c)[:2000], "diff": repr(diff)[:2000]})
    return len(cases), bad, tally


# -- tests -------------------------------------------------------------------------------------

@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("seed", SEEDS)
def test_generated_cases(seed, strategy):
    res, _ = run(f"""
        import random, test_routing_diff as T
        T.freeze_clock()
        rng = random.Random({seed})
        cases = [T.gen_case(rng, {strategy!r}) for _ in range({CASES_PER_SEED})]
        emit(T.compare_cases(cases))
    """, extra_env=OFF, timeout=600)
    n, bad, tally = res
    assert n == CASES_PER_SEED
    assert not bad, f"{len(bad)} of {n} differ; first: {bad[0]}"
    # the generator reaches every outcome
    assert tally.get(str((strategy, "picked")), 0) > n // 4, tally
    assert tally.get(str((strategy, "none")), 0) > 0, tally
    assert tally.get(str((strategy, "err")), 0) > 0, tally


def test_hypothesis_cases():
    res, _ = run(f"""
        import random, test_routing_diff as T
        import hypothesis, hypothesis.strategies as st
        T.freeze_clock()
        checked = []

        @hypothesis.settings(max_examples={HYPOTHESIS_EXAMPLES}, deadline=None, database=None,
                             derandomize=True, suppress_health_check=list(hypothesis.HealthCheck))
        @hypothesis.given(seed=st.integers(0, 2**32 - 1), strategy=st.sampled_from(T.STRATEGIES))
        def check(seed, strategy):
            case = T.gen_case(random.Random(seed), strategy)
            n, bad, _ = T.compare_cases([case])
            checked.append(1)
            assert not bad, bad[0]

        check()
        emit(len(checked))
    """, extra_env=OFF, timeout=600)
    assert res >= HYPOTHESIS_EXAMPLES


def test_ids_that_are_not_str():
    """Ids that are not exactly str take the == scan: ints, a str subclass, 1 == 1.0 == True."""
    res, _ = run("""
        import test_routing_diff as T
        T.freeze_clock()

        class S(str):
            pass

        cases = []
        for ids in ([1, 2, 3], [1, 1.0, True], ["a", S("a"), "b"], [S("x"), "x"], [(1, 2), (1, 2)]):
            deps = [{"litellm_params": {"api_base": f"b{k}"}, "model_info": {"id": i}} for k, i in enumerate(ids)]
            for strategy in T.STRATEGIES:
                for seed in range(5):
                    c = {"strategy": strategy, "deps": deps, "messages": None, "input": "hi", "seed": seed,
                         "map": {1: {}, "a": {"latency": [0.1]}}, "request_kwargs": {"metadata": {}},
                         "routing_args": {}, "tpm": {True: 3, "x": 0}, "rpm": None}
                    if strategy == "cost":
                        c["map"] = {1: {}, "a": {}}
                    cases.append(c)
        emit(T.compare_cases(cases))
    """, extra_env=OFF)
    n, bad, _ = res
    assert n > 0 and not bad, bad[:1]


ROUTER_SIM = """
import fast_litellm  # first: patches on import (FAST_LITELLM_DISABLE=1 on the reference side)
import asyncio, datetime, hashlib, random, sys
import test_routing_diff as T
T.freeze_clock()
import litellm
from litellm import ModelResponse, Router
from litellm.types.utils import Usage

STRATEGY = {strategy!r}
rng = random.Random(5)
model_list = []
for i in range(40):
    p = {{"model": "openai/" + ("gpt-4o-mini", "gpt-4o", "gpt-3.5-turbo")[i % 3],
         "api_base": "http://127.0.0.1:%d/v1" % (20000 + i), "api_key": "sk-%d" % i}}
    if STRATEGY == "cost-based-routing":  # the cheapest fill up, one after another
        p["rpm"] = rng.choice([3, 5])
    elif rng.random() < 0.5:
        p["rpm"] = rng.choice([3, 5, 1000])
    if rng.random() < 0.5:
        p["tpm"] = rng.choice([2000, 10000, 10**6])
    if rng.random() < 0.2:
        p["input_cost_per_token"] = rng.choice([1e-7, 5e-7])
    model_list.append({{"model_name": "m", "litellm_params": p, "model_info": {{"id": "dep-%d" % i}}}})

router = Router(model_list=model_list, routing_strategy=STRATEGY,
                routing_strategy_args={{"lowest_latency_buffer": 0.3}} if STRATEGY == "latency-based-routing" else {{}})
logger = {{"latency-based-routing": router.lowestlatency_logger, "cost-based-routing": router.lowestcost_logger,
          "usage-based-routing": router.lowesttpm_logger}}[STRATEGY]
start = datetime.datetime(2025, 1, 2, 3, 4, 5)

async def feed(dep_id, k):
    stream = k % 3 == 0
    kwargs = {{"litellm_params": {{"metadata": {{"model_group": "m"}}, "model_info": {{"id": dep_id}}}},
              "stream": stream, "completion_start_time": start + datetime.timedelta(seconds=rng.random())}}
    resp = ModelResponse(usage=Usage(prompt_tokens=10, completion_tokens=rng.randrange(1, 50), total_tokens=300))
    end = start + datetime.timedelta(seconds=rng.uniform(0.1, 3.0))
    if k % 2:
        await logger.async_log_success_event(kwargs, resp, start, end)
    else:
        logger.log_success_event(kwargs, resp, start, end)

async def main():
    # warm state for every deployment
    for k, d in enumerate(model_list):
        await feed(d["model_info"]["id"], k)
    random.seed(1234)
    picks = []
    for k in range(200):
        rk = {{"metadata": {{}}}} if k % 2 else {{"litellm_metadata": {{}}, "stream": True}}
        try:
            dep = await router.async_get_available_deployment(
                model="m", messages=[{{"role": "user", "content": "hello " * (k % 7)}}], request_kwargs=rk)
            picks.append(dep["model_info"]["id"])
            if k % 4:
                await feed(dep["model_info"]["id"], k)
        except Exception as exc:
            picks.append(type(exc).__name__)
    await asyncio.sleep(0)
    return picks

picks = asyncio.run(main())
lat = router.cache.get_cache(key="m_map")
st = fast_litellm.status().get("routing", {{}})
emit({{"picks": picks, "random": hashlib.sha256(repr(random.getstate()).encode()).hexdigest(),
      "map": repr(lat), "cost_map": repr(router.cache.get_cache(key="cost_map:m")),
      "patched": hasattr(type(logger).__dict__.get("_get_available_deployments" if STRATEGY == "latency-based-routing"
                          else ("async_get_available_deployments" if STRATEGY == "cost-based-routing"
                                else "get_available_deployments")), "__fast_litellm_original__"),
      "native": st.get("native_calls", 0)}})
"""


@pytest.mark.parametrize("strategy", ["latency-based-routing", "cost-based-routing", "usage-based-routing"])
def test_router_picks_same_sequence(strategy):
    code = ROUTER_SIM.format(strategy=strategy)
    ref, _ = run(code, extra_env=OFF)
    got, _ = run(code, extra_env={"FAST_LITELLM_ROUTING": "true"})
    assert not ref["patched"] and got["patched"]
    assert got["native"] >= 200
    assert len(set(p for p in ref["picks"] if p.startswith("dep-"))) > 3, ref["picks"]
    for key in ("picks", "random", "map", "cost_map"):
        assert ref[key] == got[key], key
