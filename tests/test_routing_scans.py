"""latency_scan and cost_scan (csrc/ext/latscan.c, costscan.c) against the component's Python
loops, which tests/test_routing_diff.py holds to LiteLLM 1.108.7's selectors.

Generated deployments and usage maps carry every kind of value those loops read: limits at
the top level, in litellm_params or model_info (0, None, ints, floats, NaN, inf, bools,
strings), latency lists (empty, None, ints and floats, huge ints), minute counters, api_base
(absent, None, str, unhashable), prices in litellm_params and cost-map rows, base_model in
model_info and litellm_params (empty, unknown, equal to the model), dict subclasses and
non-str keys. For each case the C function either declines (None: the Python loop runs) or
returns exactly what the Python loop builds: the same deployments, by identity, in order,
with the same latency / cost floats (repr), and for latency the same per-api_base map (keys,
values, order). A case the C side declines must be one it cannot answer without running
Python code or raising; the plain ones must be served.
"""

from __future__ import annotations

import math
import random

import pytest

import fast_litellm  # noqa: F401
import litellm
from fast_litellm import _native
from fast_litellm.components import routing as rc
from litellm.litellm_core_utils.get_model_cost_map import AliasedCostEntry

MINUTE = "2025-01-02-03-04"
MODELS = ["gpt-4o-mini", "gpt-4o", "gpt-3.5-turbo", "no-such-model-xyz", "", "openai/gpt-4.1-mini"]


class SubDict(dict):
    pass


def _num(rng, odd):
    vals = [None, 0, 1, 3, 50, 1000, 2.5, 0.0, -1, 10**6]
    if odd:
        vals += [float("nan"), float("inf"), True, False, "7", 2**70, [1], -0.0]
    return rng.choice(vals)


def gen(rng, n, odd):
    deps, items = [], []
    for i in range(n):
        lp = {"model": rng.choice(MODELS)}
        mi = {"id": f"d{i}"}
        d = {"model_name": "m", "litellm_params": lp, "model_info": mi}
        for key in ("tpm", "rpm"):
            where = rng.choice([lp, mi, d, None, None])
            if where is not None:
                where[key] = _num(rng, odd and rng.random() < 0.2)
        r = rng.random()
        if r < 0.6:
            lp["api_base"] = f"http://h{rng.randrange(4)}"
        elif r < 0.7:
            lp["api_base"] = None
        elif odd and r < 0.72:
            lp["api_base"] = rng.choice([["unhashable"], 3, b"x"])
        r = rng.random()
        if r < 0.2:
            mi["base_model"] = rng.choice(MODELS + [None])
        if rng.random() < 0.2:
            lp["base_model"] = rng.choice(MODELS + [None])
        for key in ("input_cost_per_token", "output_cost_per_token"):
            if rng.random() < 0.25:
                lp[key] = rng.choice([0, 1e-6, 3e-6, None, 2, 0.0] + (["1e-6", True] if odd else []))
        if odd and rng.random() < 0.05:
            kind = rng.randrange(6)
            if kind == 0:
                d = SubDict(d)
            elif kind == 1:
                d["litellm_params"] = None
            elif kind == 2:
                d["model_info"] = SubDict(mi)
            elif kind == 3:
                lp[7] = "int key"
            elif kind == 4:
                d.pop("litellm_params")
            else:
                mi["base_model"] = 5
        deps.append(d)
        entry = {}
        r = rng.random()
        if r < 0.8:
            entry["latency"] = [rng.choice([0.1, 0.25, 1, 2, 0.003, 7.5]) for _ in range(rng.randrange(4))]
            if odd and rng.random() < 0.1:
                entry["latency"] = rng.choice([None, [], [2**80, 1], [float("nan")], (0.1,), [True], ["x"]])
        if rng.random() < 0.8:
            entry[MINUTE] = {"tpm": rng.choice([0, 10, 999, 5000]), "rpm": rng.choice([0, 1, 2, 49])}
            if odd and rng.random() < 0.05:
                entry[MINUTE] = rng.choice([None, {"tpm": None}, {"rpm": 1.5}, SubDict(tpm=1)])
        items.append((f"d{i}" if rng.random() < 0.95 else f"gone{i}", entry))
    if odd and items and rng.random() < 0.05:
        items.append((7, {}))
    rng.shuffle(items)
    return deps, items


def _index(deps):
    return dict(zip([d["model_info"]["id"] for d in deps], deps))


def _same_potential(a, b):
    return len(a) == len(b) and all(x[0] is y[0] and repr(x[1]) == repr(y[1]) for x, y in zip(a, b))


def _py_latency(deps, items, tokens):
    by_id = rc._ById(deps, [d["model_info"]["id"] for d in deps])
    per = {}
    try:
        pot = rc._latency_loop(None, items, by_id, MINUTE, tokens, None, per)
    except Exception as e:  # noqa: BLE001
        return ("err", type(e), str(e))
    return per, pot


def _py_cost(deps, items, tokens):
    import litellm.router_strategy.lowest_cost as lc

    by_id = rc._ById(deps, [d["model_info"]["id"] for d in deps])
    try:
        return rc._cost_loop(vars(lc), dict(items), by_id, MINUTE, tokens)
    except Exception as e:  # noqa: BLE001
        return ("err", type(e), str(e))


@pytest.mark.parametrize("seed", range(6))
def test_latency_scan_matches_the_python_loop(seed):
    rng = random.Random(seed)
    served = declined = 0
    for _ in range(400):
        odd = rng.random() < 0.5
        deps, items = gen(rng, rng.choice([1, 2, 5, 20, 60]), odd)
        deps = [d for d in deps if type(d) is dict and type(d.get("model_info")) is dict]
        tokens = rng.choice([0, 5, 1000, 10**6])
        got = _native.latency_scan(items, _index(deps), MINUTE, tokens)
        want = _py_latency(deps, items, tokens)
        if got is None:
            declined += 1
            assert odd, (deps, items)  # plain cases are served
            continue
        served += 1
        assert want[0] != "err", want
        per, pot = got
        assert list(per.items()).__repr__() == list(want[0].items()).__repr__()
        assert _same_potential(pot, want[1])
        # the five-argument form: the shortlist LiteLLM draws from (ranked, within the buffer)
        buffer = rng.choice([0, 0.0, 0.1, 0.5, 1, 2.5, -0.5, float("inf")])
        short = _native.latency_scan(items, _index(deps), MINUTE, tokens, buffer)
        if any(math.isnan(x[1]) for x in want[1]):
            assert short is None  # Python's sort order with a NaN is its own
            continue
        per2, valid, admitted = short
        assert list(per2.items()).__repr__() == list(want[0].items()).__repr__()
        assert admitted == len(want[1])
        if want[1]:
            ranked = sorted(want[1], key=lambda x: x[1])
            lowest = ranked[0][1]
            wanted = [x[0] for x in ranked if x[1] <= lowest + buffer * lowest]
            assert len(valid) == len(wanted) and all(a is b for a, b in zip(valid, wanted))
        else:
            assert valid == []
    assert served > 200 and declined > 10


@pytest.mark.parametrize("seed", range(6))
def test_cost_scan_matches_the_python_loop(seed):
    rng = random.Random(100 + seed)
    served = declined = 0
    for _ in range(400):
        odd = rng.random() < 0.5
        deps, items = gen(rng, rng.choice([1, 2, 5, 20, 60]), odd)
        deps = [d for d in deps if type(d) is dict and type(d.get("model_info")) is dict]
        tokens = rng.choice([0, 5, 1000, 10**6])
        got = _native.cost_scan(items, _index(deps), MINUTE, tokens, litellm.model_cost, AliasedCostEntry)
        want = _py_cost(deps, items, tokens)
        if got is None:
            declined += 1
            assert odd, (deps, items)
            continue
        served += 1
        assert want[0] != "err" if isinstance(want, tuple) else True, want
        assert _same_potential(got, want), (deps, items)
    assert served > 200 and declined > 10


def test_cost_scan_reads_base_model_as_litellm_does():
    """model_info.base_model, then litellm_params.base_model when the first is empty or unset,
    then the model: the first cost-map row with a price wins (repeats dropped)."""
    cases = [
        ({"base_model": ""}, {"base_model": "gpt-4o", "model": "no-such-model-xyz"}),
        ({"base_model": "no-such-model-xyz"}, {"base_model": "gpt-4o", "model": "gpt-4o-mini"}),
        ({}, {"base_model": "gpt-4o-mini", "model": "gpt-4o-mini"}),
        ({"base_model": None}, {"base_model": "", "model": "gpt-3.5-turbo"}),
        ({}, {"model": "no-such-model-xyz"}),
    ]
    for mi, lp in cases:
        dep = {"model_info": dict(mi, id="a"), "litellm_params": dict(lp)}
        items = [("a", {})]
        got = _native.cost_scan(items, {"a": dep}, MINUTE, 0, litellm.model_cost, AliasedCostEntry)
        want = _py_cost([dep], items, 0)
        assert got is not None and _same_potential(got, want), (mi, lp, got, want)
    assert math.isclose(_native.cost_scan([("a", {})], {"a": {"model_info": {"id": "a"}}}, MINUTE, 0,
                                          litellm.model_cost)[0][1], 10.0)


def test_scans_reject_bad_arguments():
    assert _native.latency_scan((), {}, MINUTE, 0) is None
    assert _native.latency_scan([], {}, MINUTE, 1.0) is None
    assert _native.cost_scan([], {}, MINUTE, 0, SubDict()) is None
    assert _native.latency_scan([], {}, MINUTE, 0, "0.1") is None  # a buffer of another type
    assert _native.latency_scan([], {}, MINUTE, 0, 0.1) == ({}, [], 0)
    with pytest.raises(TypeError):
        _native.latency_scan([], {}, MINUTE)
    with pytest.raises(TypeError):
        _native.latency_scan([], {}, MINUTE, 0, 0.1, 2)
    with pytest.raises(TypeError):
        _native.cost_scan([], {}, MINUTE, 0)


def test_cost_scan_reads_the_rows_the_router_registers():
    """A Router turns the cost-map rows of the models it serves into AliasedCostEntry (a dict
    subclass that overrides nothing): the scan reads them as LiteLLM's str_keyed does, and
    declines other dict subclasses (regression: every registered model sent cost-based picks
    to the Python loop, and the generated-case test failed after any test built a Router)."""
    litellm.Router(model_list=[{"model_name": "m", "litellm_params": {"model": "openai/gpt-4o-mini",
                                                                     "api_key": "sk-x"}}])
    assert type(litellm.model_cost["gpt-4o-mini"]) is AliasedCostEntry
    dep = {"model_info": {"id": "a"}, "litellm_params": {"model": "gpt-4o-mini"}}
    items = [("a", {})]
    got = _native.cost_scan(items, {"a": dep}, MINUTE, 10, litellm.model_cost, AliasedCostEntry)
    want = _py_cost([dep], items, 10)
    assert got is not None and _same_potential(got, want)
    assert _native.cost_scan(items, {"a": dep}, MINUTE, 10, litellm.model_cost) is None
    other = {"gpt-4o-mini": SubDict(litellm.model_cost["gpt-4o-mini"])}
    assert _native.cost_scan(items, {"a": dep}, MINUTE, 10, other, AliasedCostEntry) is None
    with pytest.raises(TypeError):
        _native.cost_scan(items, {"a": dep}, MINUTE, 10, litellm.model_cost, "not a type")


def _py_usage(deps, tpm_dict, rpm_dict, tokens):
    by_id = rc._ById(deps, [d["model_info"]["id"] for d in deps])
    try:
        return (rc._usage_loop(tpm_dict, by_id, rpm_dict, tokens),)
    except Exception as e:  # noqa: BLE001
        return ("err", type(e), str(e))


@pytest.mark.parametrize("seed", range(6))
def test_usage_scan_matches_the_python_loop(seed):
    """usage_scan (v1scan.c) against usage-based routing v1's loop: limits read with the
    is-None chain (a 0 is a limit), usage values of every kind, rpm maps absent or partial,
    token counts up to int64's edge (an int sum past it is declined), ties (the first wins)."""
    rng = random.Random(200 + seed)
    served = declined = 0
    for _ in range(400):
        odd = rng.random() < 0.5
        deps, _items = gen(rng, rng.choice([1, 2, 5, 20, 60]), odd)
        deps = [d for d in deps if type(d) is dict and type(d.get("model_info")) is dict]
        ids = [d["model_info"]["id"] for d in deps]
        usage = [0, 0, 5, 10, 999, 1.5, 2.0, 10**6]
        if odd:
            usage += [None, float("nan"), float("inf"), 2**70, "3", True, 2**63 - 1]
        tpm_dict = {i: rng.choice(usage) for i in ids if rng.random() < 0.9}
        for i in ids:  # LiteLLM's fill
            tpm_dict.setdefault(i, 0)
        if odd and rng.random() < 0.1:
            tpm_dict["gone"] = 1
        rpm_dict = None
        if rng.random() < 0.7:
            rpm_dict = {i: rng.choice([0, 1, 4, 49, 2.5] + (usage if odd else [])) for i in ids if rng.random() < 0.6}
        tokens = rng.choice([0, 5, 1000, 10**6] + ([2**63 - 2, -(2**63)] if odd else []))
        got = _native.usage_scan(tpm_dict, _index(deps), rpm_dict, tokens)
        want = _py_usage(deps, tpm_dict, rpm_dict, tokens)
        if got is None:
            declined += 1
            assert odd, (deps, tpm_dict, rpm_dict, tokens)
            continue
        served += 1
        assert want[0] != "err", want
        assert len(got) == 1 and got[0] is want[0], (deps, tpm_dict, rpm_dict, tokens)
    assert served > 200 and declined > 10


def test_usage_scan_declines_what_it_cannot_read():
    dep = {"model_info": {"id": "a"}, "litellm_params": {"tpm": 0}}
    assert _native.usage_scan({"a": 0}, {"a": dep}, None, 0) == (dep,)  # 0 + 0 > 0 is False
    assert _native.usage_scan({"a": 0}, {"a": dep}, None, 1) == (None,)  # a 0 limit is a limit
    assert _native.usage_scan({"a": 0}, {"a": dict(dep, litellm_params={})}, None, 1)[0]["model_info"]["id"] == "a"
    assert _native.usage_scan({"a": None}, {"a": dep}, None, 0) is None
    assert _native.usage_scan({"a": 0}, {"a": dep}, SubDict(), 0) is None
    assert _native.usage_scan(SubDict(a=0), {"a": dep}, None, 0) is None
    assert _native.usage_scan({"a": 0}, {"a": dep}, None, 2**64) is None
    assert _native.usage_scan({"a": 2**63 - 1}, {"a": {"model_info": {"id": "a"}}}, None, 1) is None
    with pytest.raises(TypeError):
        _native.usage_scan({}, {}, None)


# -- dicts whose lookups would run Python code ----------------------------------------------

NAMES = ["tpm", "rpm", "litellm_params", "model_info", "id", "model", "api_base", "latency",
         "weight", "model_name", "order", "input_cost_per_token", "output_cost_per_token",
         "base_model", MINUTE]


class _Colliding:
    """A key with the hash of one of the names the scans look up: a lookup of that name
    compares with it and runs __eq__, which frees the deployment's litellm_params (a scan
    that held it borrowed would then read freed memory) and counts the call."""

    calls = 0
    armed = False

    def __init__(self, name, victim):
        self.name, self.victim = name, victim

    def __hash__(self):
        return hash(self.name)

    def __eq__(self, other):
        if _Colliding.armed:
            _Colliding.calls += 1
            self.victim["litellm_params"] = None
        return False


def _trapped(where):
    """A deployment whose dict named `where` holds a colliding key for every name."""
    d = {"model_name": "m", "litellm_params": {"model": "gpt-4o", "api_base": "x" * 64, "rpm": 5},
         "model_info": {"id": "a"}}
    target = {"dep": d, "lp": d["litellm_params"], "mi": d["model_info"]}[where]
    _Colliding.armed = False  # (inserting them compares them with the names already there)
    for name in NAMES:
        target[_Colliding(name, d)] = 1
    _Colliding.armed = True
    return d


@pytest.mark.parametrize("where", ["dep", "lp", "mi"])
def test_scans_never_run_code_in_a_lookup(where):
    """Every native scan and filter declines a deployment with a key that is not an exact
    str (a lookup there could run its __eq__ and free what the scan holds borrowed: with the
    check removed, latency_scan read the freed litellm_params' api_base), and runs no Python
    code doing so. LiteLLM's code then answers, as for any case the scans decline. (A check
    that never reads litellm_params or model_info may serve a deployment with the colliding
    keys there: it makes no lookup in them.)"""
    entry = {"latency": [0.1], MINUTE: {"tpm": 1, "rpm": 1}}
    checks = {
        "latency_scan": lambda d: _native.latency_scan([("a", entry)], {"a": d}, MINUTE, 0),
        "latency_scan/5": lambda d: _native.latency_scan([("a", entry)], {"a": d}, MINUTE, 0, 0.5),
        "cost_scan": lambda d: _native.cost_scan([("a", entry)], {"a": d}, MINUTE, 0, litellm.model_cost),
        "usage_scan": lambda d: _native.usage_scan({"a": 0}, {"a": d}, {"a": 1}, 0),
        "plain_deployments": lambda d: _native.plain_deployments([d], "auto_router/"),
        "ids_present": lambda d: _native.ids_present([d]),
        "metric_weights": lambda d: _native.metric_weights([d], "rpm"),
        "named_deployments": lambda d: _native.named_deployments([d], [0], "m"),
        "busy_keys": lambda d: _native.busy_keys("m", [d], None),
        "usage_keys": lambda d: _native.usage_keys([d], "03-04"),
    }
    declined = {"latency_scan": None, "latency_scan/5": None, "cost_scan": None, "usage_scan": None,
                "plain_deployments": False, "ids_present": False, "metric_weights": None,
                "named_deployments": None, "busy_keys": None, "usage_keys": None}
    for name, call in checks.items():
        d = _trapped(where)
        _Colliding.calls = 0
        got = call(d)
        _Colliding.armed = False
        assert _Colliding.calls == 0, (name, where)
        assert isinstance(d["litellm_params"], dict), (name, where)
        if where == "dep":  # every check reads the deployment dict: every check declines
            assert got == declined[name], (name, where, got)
    # the same deployments without the colliding keys are served
    plain = {"model_name": "m", "litellm_params": {"model": "gpt-4o", "rpm": 5}, "model_info": {"id": "a"}}
    assert _native.latency_scan([("a", entry)], {"a": plain}, MINUTE, 0)[1][0][0] is plain
    assert _native.usage_scan({"a": 0}, {"a": plain}, {"a": 1}, 0) == (plain,)
    assert _native.ids_present([plain]) is True


def _py_ids(healthy, cached):
    """The selectors' id pass in Python: the index LiteLLM's no-break scan answers from (the
    last candidate per id) and the ids its pass fills, in order (a copy of cached is filled)."""
    cached = dict(cached)
    index, missing = {}, []
    for d in healthy:
        i = d["model_info"]["id"]
        index[i] = d
        if i not in cached:
            cached[i] = None
            missing.append(i)
    return index, missing


@pytest.mark.parametrize("seed", range(4))
def test_candidate_ids_is_the_selectors_id_pass(seed):
    rng = random.Random(300 + seed)
    served = declined = 0
    for _ in range(500):
        odd = rng.random() < 0.3
        n = rng.choice([0, 1, 2, 5, 40])
        healthy = []
        for k in range(n):
            i = f"d{rng.randrange(max(1, n))}"  # repeated ids: the last one wins the index
            d = {"model_name": "m", "model_info": {"id": i}}
            if odd and rng.random() < 0.1:
                d = rng.choice([SubDict(d), {"model_name": "m"}, {"model_info": None},
                                {"model_info": {"id": 7}}, {"model_info": {"id": i, 3: 3}}, {"model_info": SubDict(id=i)}])
            healthy.append(d)
        if rng.random() < 0.3:
            healthy = tuple(healthy)
        cached = {f"d{k}": {} for k in range(n) if rng.random() < 0.5}
        if odd and rng.random() < 0.1:
            cached = rng.choice([SubDict(cached), dict(cached, **{"x": 1}) | {5: 1}])
        got = _native.candidate_ids(healthy, cached)
        if got is None:
            declined += 1
            assert odd, (healthy, cached)
            continue
        served += 1
        index, missing = got
        want_index, want_missing = _py_ids(healthy, cached)
        assert list(index.items()) == list(want_index.items())
        assert all(index[k] is want_index[k] for k in index)
        assert missing == want_missing
    assert served > 300 and declined > 5
    assert _native.candidate_ids(iter([]), {}) is None
    with pytest.raises(TypeError):
        _native.candidate_ids([])


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 6, 7, 31, 64, 65, 300, 1000, 4097])
def test_sample_all_is_random_sample(n):
    """sample.c against Random.sample(population, len(population)) from the same seeds: the
    same objects in the same order and the same generator state after (every getrandbits call
    made, the rejections included)."""
    for seed in range(8):
        a, b = random.Random(seed), random.Random(seed)
        population = [object() for _ in range(n)] + [None] * (n % 3)
        want = a.sample(population, len(population))
        got = _native.sample_all(b.getrandbits, population)
        assert len(got) == len(want) and all(x is y for x, y in zip(got, want))
        assert a.getstate() == b.getstate()
    assert _native.sample_all(random.Random(0).getrandbits, (1, 2)) is None  # an exact list only


def test_latency_draws_natively_only_from_the_standard_sample(monkeypatch):
    assert rc._std_sample(random)
    assert not rc._std_sample(object())
    monkeypatch.setattr(random, "sample", random.Random(1).sample)  # another instance's
    assert not rc._std_sample(random)
    monkeypatch.undo()
    monkeypatch.setattr(random.Random, "_randbelow", random.Random._randbelow_without_getrandbits)
    assert not rc._std_sample(random)
    monkeypatch.undo()
    monkeypatch.setattr(random._inst, "getrandbits", lambda k: 0, raising=False)
    assert not rc._std_sample(random)
    monkeypatch.undo()
    assert rc._std_sample(random)


def test_sample_all_reports_a_bad_getrandbits():
    with pytest.raises(TypeError):
        _native.sample_all(lambda k: 0.5, [1, 2, 3])
    with pytest.raises(ZeroDivisionError):
        _native.sample_all(lambda k: 1 // 0, [1, 2, 3])
    assert _native.sample_all(lambda k: 0, [1, 2, 3]) == [1, 3, 2]
