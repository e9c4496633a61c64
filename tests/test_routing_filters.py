"""The Router's per-deployment filters (``routing`` component) against LiteLLM 1.108.7's own.

Four filters run on every pick and keep every candidate in the common configuration:
``Router._drop_strategy_markers``, ``Router._filter_reserved_deployments`` (markers, access
windows, PTU shares), ``Router._narrow_to_video_deployment`` and
``litellm.utils.get_order_filtered_deployments``. The component answers them without
LiteLLM's per-deployment Python when ``_native.plain_deployments`` says every candidate is
a plain dict on which they are no-ops, and calls LiteLLM's otherwise.

Generated candidate lists mix plain deployments with every thing that makes a filter act or
raise (markers, active and inactive access windows for and against the caller's team,
invalid windows, PTU shares, orders in litellm_params and model_info, ids of odd types,
``None`` or non-dict ``litellm_params``/``model_info``, dict subclasses and read-only
mappings). For each, the outcome with every patch reverted and with the component applied
must be the same: result type, the candidates kept (by identity, in order), whether the
argument itself came back, and exceptions (type and message). Then: the fast path really
serves plain lists, a video call and a monkeypatched helper go to LiteLLM, and a real
``Router`` picks the same deployments both ways.
"""

from __future__ import annotations

import random
import sys
import types

import pytest

import fast_litellm
import litellm  # noqa: F401
import litellm.router as router_mod
import litellm.utils as utils_mod
from fast_litellm.components import routing as routing_comp

from _ab import both

ALWAYS = {"start": "00:00", "end": "23:59:59", "timezone": "UTC", "team_ids": ["team-a"]}
NEVER = {"start": "00:00", "end": "00:00:00.000001", "timezone": "UTC", "team_ids": ["team-a"]}
TEAMS = [None, "team-a", "team-b", ""]


class SubDict(dict):
    pass


class SubStr(str):
    pass


def _plain(i: int) -> dict:
    return {"model_name": "m", "litellm_params": {"model": f"openai/gpt-{i}", "api_key": "sk-x"},
            "model_info": {"id": f"id-{i}"}}


def _odd(rng: random.Random, d: dict) -> dict:
    """One thing that makes some filter act, raise, or the fast path decline."""
    kind = rng.randrange(24)
    lp, mi = d.get("litellm_params"), d.get("model_info")
    if type(lp) is not dict or type(mi) is not dict or type(d) is not dict:
        return d  # already odd
    if kind == 0:
        lp["model"] = rng.choice(["auto_router/complexity_router_1", "auto_router/x", "auto_router/"])
    elif kind == 1:
        mi["access_windows"] = [dict(ALWAYS, team_ids=[rng.choice(["team-a", "team-b"])])]
    elif kind == 2:
        mi["access_windows"] = [NEVER]
    elif kind == 3:
        mi["access_windows"] = [{"start": "bad"}]  # invalid: pydantic raises
    elif kind == 4:
        mi["ptu_shares"] = {rng.choice(["team-a", "team-b"]): rng.choice([1, 2, 0, "x"])}
    elif kind == 5:
        lp["order"] = rng.choice([1, 2, 3])
    elif kind == 6:
        mi["order"] = rng.choice([1, 2])
    elif kind == 7:
        mi["id"] = rng.choice([7, None, 1.5, ("t",), True])
    elif kind == 8:
        d.pop("model_info", None)
    elif kind == 9:
        d["model_info"] = None
    elif kind == 10:
        d["litellm_params"] = None
    elif kind == 11:
        d["litellm_params"] = types.MappingProxyType(dict(lp))
    elif kind == 12:
        d["model_info"] = SubDict(mi)
    elif kind == 13:
        return SubDict(d)
    elif kind == 14:
        lp["model"] = rng.choice([None, 3, b"auto_router/x"])
    elif kind == 15:
        mi["access_windows"] = None
        mi["ptu_shares"] = None
        lp["order"] = None
    elif kind == 16:
        mi["ptu_shares"] = {}
    elif kind == 17:
        lp.pop("model", None)
    elif kind == 18:
        lp["order"] = 0
    elif kind == 19:
        mi["team_id"] = rng.choice(["team-a", "team-b", None])
        if rng.random() < 0.5:
            mi["team_public_model_name"] = "m"
            d["model_name"] = rng.choice(["m", "other"])
    elif kind == 20:
        mi["blocked"] = rng.choice([True, False, None, 1])
    elif kind == 21:
        mi["enable_tag_filtering"] = rng.choice([True, False, None])
    elif kind == 22:
        # a str subclass key: LiteLLM's .get("team_id") / .get("blocked") finds it
        mi[SubStr(rng.choice(["team_id", "blocked", "order", "access_windows"]))] = rng.choice(
            ["team-b", True, 2, [NEVER]])
    elif kind == 23:
        mi[7] = "an int key"
    return d


def gen_list(rng: random.Random):
    n = rng.choice([0, 1, 2, 3, 5, 20, 60])
    deps = [_plain(i) for i in range(n)]
    if rng.random() < 0.6:
        for _ in range(rng.randint(1, 3)):
            if deps:
                k = rng.randrange(len(deps))
                deps[k] = _odd(rng, deps[k])
    if deps and rng.random() < 0.1:
        deps.append(deps[0])  # the same dict twice
    return deps if rng.random() < 0.7 else tuple(deps)


def _outcome(f, arg):
    try:
        r = f()
    except Exception as e:  # noqa: BLE001 - compared, type and message
        return ("err", type(e), str(e))
    pos = {id(x): i for i, x in enumerate(arg)}
    return ("ok", type(r), r is arg, tuple(pos.get(id(x), repr(x)) for x in r))


class _Admin:
    user_role = "proxy_admin"


REQUESTS = [None, {}, {"metadata": {"user_api_key_team_id": "team-a"}},
            {"metadata": {"user_api_key_auth": _Admin()}, "model": "m"},
            {"litellm_metadata": {"user_api_key_auth": _Admin(), "model_group": "m"}},
            {"metadata": {"user_api_key_auth": _Admin()}},
            {"metadata": "not a dict", "litellm_metadata": {"user_api_key_auth": _Admin()}},
            {"metadata": {"user_api_key_team_id": "team-b"}, "litellm_metadata": None}]


def _calls(router, deps, team):
    from litellm.router_strategy import tag_based_routing as tb
    from litellm.router_utils import common_utils as cu

    req = REQUESTS[len(deps) % len(REQUESTS)] if team != "" else REQUESTS[6]
    plain_list = list(deps)
    return [
        ("team", lambda: cu.filter_team_based_models(plain_list, req)),
        ("team_none", lambda: cu.filter_team_based_models(plain_list, None)),
        ("blocked", lambda: router._filter_blocked_deployments(plain_list)),
        ("tag", lambda: (tb._chain_tag_filtering_override(_GroupRouter(plain_list), "m", plain_list),)),
        ("markers", lambda: router._drop_strategy_markers("m", deps)),
        ("reserved", lambda: router._filter_reserved_deployments("m", deps, team)),
        ("video", lambda: router_mod.Router._narrow_to_video_deployment(deps)),
        ("order", lambda: utils_mod.get_order_filtered_deployments(deps)),
        ("order_target", lambda: utils_mod.get_order_filtered_deployments(deps, target_order=1)),
        ("cooldown_none", lambda: router._filter_cooldown_deployments(deps, [])),
        ("cooldown_some", lambda: router._filter_cooldown_deployments(deps, ["id-1", "id-3"])),
        ("cooldown_tuple", lambda: router._filter_cooldown_deployments(deps, ())),
    ]


def _both(run):
    """run() with every patch reverted, then applied: (LiteLLM's, ours, served, delegated),
    the last two counted by the component's filters during ours."""
    return both(run, routing_comp.FILTER_FAST)


def _all_outcomes(router, cases):
    return [[_outcome(f, deps) for _, f in _calls(router, deps, team)] for deps, team in cases]


class _GroupRouter:
    """What _chain_tag_filtering_override asks of the Router: the group's deployments."""

    def __init__(self, deps):
        self._deps = deps

    def get_all_deployments(self, model_name):
        return self._deps


@pytest.fixture(scope="module")
def router():
    return litellm.Router(model_list=[_plain(0)])


def test_component_active():
    st = fast_litellm.status()["routing"]
    assert st["active"], st
    for f in (router_mod.Router._drop_strategy_markers, router_mod.Router._filter_reserved_deployments,
              router_mod.Router._narrow_to_video_deployment, utils_mod.get_order_filtered_deployments):
        assert getattr(f, "__fast_litellm_patch__", None) is not None


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_generated_lists_same_outcome(router, seed):
    rng = random.Random(seed)
    cases = [(gen_list(rng), rng.choice(TEAMS)) for _ in range(500)]
    want, got, served, delegated = _both(lambda: _all_outcomes(router, cases))
    for (deps, team), a, b in zip(cases, want, got):
        assert a == b, (deps, team, a, b)
    assert served > 500 and delegated > 500, (served, delegated)  # both paths exercised
    kinds = {o[0] for row in want for o in row}
    assert kinds == {"ok", "err"}  # LiteLLM's exceptions were compared too


def test_plain_lists_are_served_and_returned_as_litellm_returns_them(router):
    deps = [_plain(i) for i in range(50)]
    before = routing_comp.FILTER_FAST["served"]
    assert router._drop_strategy_markers("m", deps) == deps
    assert type(router._drop_strategy_markers("m", tuple(deps))) is list
    assert router._filter_reserved_deployments("m", deps, None) == tuple(deps)
    assert router_mod.Router._narrow_to_video_deployment(deps) is deps
    assert utils_mod.get_order_filtered_deployments(deps) is deps
    assert routing_comp.FILTER_FAST["served"] - before == 5


def test_video_call_goes_to_litellm(router):
    deps = [_plain(i) for i in range(5)]
    token = router_mod._video_call_deployment_id.set("id-3")
    try:
        before = routing_comp.FILTER_FAST["delegated"]
        got = router_mod.Router._narrow_to_video_deployment(deps)
        assert routing_comp.FILTER_FAST["delegated"] == before + 1
    finally:
        router_mod._video_call_deployment_id.reset(token)
    assert got == (deps[3],)


def test_monkeypatched_helper_goes_to_litellm(router, monkeypatch):
    seen = []
    original = router_mod.filter_reserved_deployments

    def spy(*a, **k):
        seen.append(1)
        return original(*a, **k)

    monkeypatch.setattr(router_mod, "filter_reserved_deployments", spy)
    deps = [_plain(i) for i in range(3)]
    assert router._filter_reserved_deployments("m", deps, None) == tuple(deps)
    assert seen == [1]


def test_plain_deployments_rejects_bad_arguments():
    from fast_litellm import _native

    assert _native.plain_deployments([], "auto_router/") is True
    assert _native.plain_deployments(iter([]), "auto_router/") is False  # only lists and tuples
    with pytest.raises(TypeError):
        _native.plain_deployments([])
    with pytest.raises(TypeError):
        _native.plain_deployments([], b"auto_router/")


@pytest.mark.parametrize("strategy", ["simple-shuffle", "least-busy", "usage-based-routing-v2"])
@pytest.mark.parametrize("cooling", [0, 3])
def test_router_picks_same_sequence(strategy, cooling):
    """A real Router over 40 deployments (some with orders, windows, markers, shares), 200
    async picks from one seed: the same deployments and random state, patched and not; with
    ``cooling`` deployments put in cooldown first (LiteLLM's cooldown read then answers)."""
    import asyncio

    rng = random.Random(5)
    deps = [_plain(i) for i in range(40)]
    for d in deps:
        d["litellm_params"]["rpm"] = rng.choice([None, 10, 100])
    mixed = [dict(d, litellm_params=dict(d["litellm_params"]), model_info=dict(d["model_info"])) for d in deps]
    mixed[3]["litellm_params"]["order"] = 2
    mixed[5]["model_info"]["access_windows"] = [NEVER]
    mixed[7]["model_info"]["order"] = 1

    def picks(model_list):
        router = litellm.Router(model_list=model_list, routing_strategy=strategy)
        for i in range(cooling):
            router.cooldown_cache.add_deployment_to_cooldown(
                model_id=f"id-{i * 7}", original_exception=Exception("boom"), exception_status=429,
                cooldown_time=60)
        loop = asyncio.new_event_loop()
        try:
            random.seed(11)
            out = [loop.run_until_complete(router.async_get_available_deployment(
                model="m", messages=[{"role": "user", "content": "hi"}], request_kwargs={}))["model_info"]["id"]
                for _ in range(200)]
            return out, random.getstate()
        finally:
            loop.close()

    for model_list in (deps, mixed):
        want, got, served, _ = _both(lambda model_list=model_list: picks(model_list))
        assert got == want
        if model_list is deps:
            assert served >= 200  # the fast path ran
        assert all(f"id-{i * 7}" not in want[0] for i in range(cooling))


# -- get_all_deployments(name) ----------------------------------------------------------------

def _mutate_router(rng: random.Random, router) -> None:
    """Odd entries in the Router's list and index, as a buggy or exotic setup might leave."""
    ml = router.model_list
    for _ in range(rng.randint(0, 3)):
        k = rng.randrange(len(ml))
        kind = rng.randrange(8)
        d = ml[k]
        if kind == 0:
            ml[k] = SubDict(d)
        elif kind == 1:
            d.pop("model_name", None)
        elif kind == 2:
            d["model_info"] = rng.choice(["x", None, SubDict(id="s"), {}, 0])
        elif kind == 3:
            d["model_name"] = rng.choice(["m1", "m2", 7, None])
        elif kind == 4:
            router.model_name_to_deployment_indices.setdefault("m1", []).append(rng.choice([len(ml) + 3, -1, "0", 2**80]))
        elif kind == 5:
            d.pop("model_info", None)
        elif kind == 6:
            d["model_info"] = dict(d.get("model_info") or {}, team_id=rng.choice(["t1", None]))


def _names_outcome(router, calls):
    out = []
    for args in calls:
        try:
            r = router.get_all_deployments(*args)
        except Exception as e:  # noqa: BLE001 - compared, type and message
            out.append(("err", type(e), str(e)))
        else:
            pos = {id(x): i for i, x in enumerate(router.model_list)}
            out.append(("ok", type(r), tuple(pos.get(id(x), -1) for x in r),
                        tuple(x.get("model_name") for x in r)))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_get_all_deployments_same_outcome(seed):
    rng = random.Random(seed)
    routers = []
    for _ in range(60):
        deps = [dict(_plain(i), model_name=rng.choice(["m1", "m2", "m3"])) for i in range(rng.randint(1, 30))]
        r = litellm.Router(model_list=deps)
        _mutate_router(rng, r)
        routers.append(r)
    calls = [("m1",), ("m2",), ("m3",), ("nope",), ("m1", "alias"), ("m1", None, "t1"), ("nope", None, "t1")]
    want, got, served, delegated = _both(lambda: [_names_outcome(r, calls) for r in routers])
    assert got == want
    assert served > 60 and delegated > 60


# -- simple_shuffle ---------------------------------------------------------------------------

WEIGHT_VALUES = [None, 0, 1, 2, 7, 0.5, 3.25, -1, True, False, 10**400, "3", [1], float("nan"), float("inf")]


def _shuffle_case(rng: random.Random):
    deps = []
    for i in range(rng.randint(1, 12)):
        lp = {"model": f"openai/gpt-{i}"}
        for metric in ("weight", "rpm", "tpm"):
            if rng.random() < 0.4:
                lp[metric] = rng.choice(WEIGHT_VALUES[:10] if rng.random() < 0.9 else WEIGHT_VALUES)
        d = {"model_name": "m", "litellm_params": lp, "model_info": {"id": f"id-{i}"}}
        roll = rng.random()
        if roll < 0.03:
            d["litellm_params"] = None
        elif roll < 0.06:
            d["litellm_params"] = types.MappingProxyType(lp)
        elif roll < 0.09:
            d = SubDict(d)
        elif roll < 0.11:
            d.pop("litellm_params")
        deps.append(d)
    kwargs = None
    if rng.random() < 0.2:
        kwargs = {"_router_weights": rng.choice([{"m": {"id-0": 2.0, "id-3": 1.0}}, {"m": {}}, {"other": {"id-1": 1.0}},
                                                 "bad", {"m": {"id-1": -1.0}}])}
    return (deps if rng.random() < 0.8 else tuple(deps)), kwargs


def _shuffle_outcomes(cases, seed):
    from litellm.router_strategy import simple_shuffle as ss

    out = []
    random.seed(seed)
    for deps, kwargs in cases:
        out.append(_shuffle_outcome(ss, deps, kwargs))
    out.append(random.getstate())
    return out


def _shuffle_outcome(ss, deps, kwargs):
    """One simple_shuffle pick: ("ok", the chosen index) or ("err", type, message)."""
    try:
        chosen = ss.simple_shuffle(lambda m: None, deps, "m", kwargs)
    except Exception as e:  # noqa: BLE001 - compared, type and message
        return ("err", type(e), str(e))
    return ("ok", next(i for i, d in enumerate(deps) if d is chosen))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_simple_shuffle_same_picks_and_draws(seed):
    rng = random.Random(seed)
    cases = [_shuffle_case(rng) for _ in range(1500)]
    want, got, served, delegated = _both(lambda: _shuffle_outcomes(cases, seed))
    assert got == want
    assert {o[0] for o in want[:-1]} == {"ok", "err"}
    assert served > 700 and delegated > 50


def _repeated_shuffle_outcomes(seed):
    """Picks over the same large lists, several groups interleaved (whole-list answers:
    metric_weights' tuple, its scaled weights and draw table kept) with in-place changes
    between them, replayed
    from `seed`: the chosen index, or the exception, per pick, and random's state."""
    from litellm.router_strategy import simple_shuffle as ss

    rng = random.Random(seed)
    values = [None, 0, 1, 2, 7, 0.5, 3.25, 0.0, -1, float("nan"), float("inf"), 10**400]

    def fresh(i):
        lp = {"model": f"openai/gpt-{i}"}
        for metric in ("weight", "rpm", "tpm"):
            if rng.random() < 0.5:
                lp[metric] = rng.choice(values[:7])
        return {"model_name": "m", "litellm_params": lp, "model_info": {"id": f"id-{i}"}}

    # ten lists (model groups), three of them picked from most: more groups than the kept
    # answers hold (8 a test), so some picks find their group's answers gone
    lists = [[fresh(i) for i in range(rng.choice([32, 40, 90]))] for _ in range(10)]
    out = []
    random.seed(seed)
    for step in range(400):
        deps = lists[rng.choice((0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 4, 5, 6, 7, 8, 9))]
        roll = rng.random()
        i = rng.randrange(len(deps))
        if roll < 0.08:
            deps[i]["litellm_params"][rng.choice(("weight", "rpm", "tpm"))] = rng.choice(values)
        elif roll < 0.12:
            deps[i]["litellm_params"].pop(rng.choice(("weight", "rpm", "tpm")), None)
        elif roll < 0.15:
            deps[i] = fresh(i)
        elif roll < 0.17:
            deps[i]["litellm_params"] = dict(deps[i]["litellm_params"], weight=rng.choice(values[:7]))
        elif roll < 0.19:
            deps[i], deps[0] = deps[0], deps[i]
        elif roll < 0.20:
            deps.append(fresh(len(deps)))
        elif roll < 0.21 and len(deps) > 33:
            deps.pop()
        elif roll < 0.22:
            for d in deps:  # every weight 0 / gone: the next metric decides
                d["litellm_params"]["weight"] = 0
        out.append(_shuffle_outcome(ss, deps, None))
    out.append(random.getstate())
    return out


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_simple_shuffle_repeated_picks_follow_in_place_changes(seed):
    """The same lists picked from again and again (what a Router does): the answers kept
    for an unchanged list must follow every change made in place between picks -- a
    weight set, removed or made NaN/inf/huge, a deployment or its litellm_params replaced,
    items swapped, appended, popped -- the picks, errors and random state as LiteLLM's."""
    want, got, served, _ = _both(lambda: _repeated_shuffle_outcomes(seed))
    assert got == want
    assert served > 300


def test_repeated_picks_take_the_kept_answers_in_a_fresh_process():
    """The same comparison in a fresh interpreter, where the memo has room for every test's
    signature (in this process earlier tests may have taken them all, and then every check
    runs in full -- still compared above, but not the kept answers): the picks as LiteLLM's
    AND most of them answered from whole-list records, though the ten lists are picked from
    interleaved (268 list hits; 98 when a test kept only its last two lists, as before
    2026-12-06, and a proxy picking from three model groups in turn recomputed everything)."""
    from _sub import run

    got, _ = run("""
        import test_routing_filters as t
        from fast_litellm import _native
        from fast_litellm.components import routing
        before = _native.memo_stats()["list_hits"]
        want, got, served, _ = t._both(lambda: t._repeated_shuffle_outcomes(4))
        emit([repr(want) == repr(got), served, _native.memo_stats()["list_hits"] - before,
              len(routing._LAST_WEIGHTS)])
    """, plugins=None)
    same, served, hits, kept = got
    assert same and served > 300
    assert hits > 200, hits
    assert kept == 8  # the scaled weights kept: at most 8 tuples, and full after 10 groups


class _AskedRedis:
    """A Redis tier that answers every batch read with nothing and records its size."""

    def __init__(self, asked: list) -> None:
        self.asked = asked

    async def async_batch_get_cache(self, key_list, parent_otel_span=None):
        self.asked.append(len(key_list))
        return {}


def _cooldown_ids(router, loop):
    from litellm.router_utils import cooldown_handlers as ch

    try:
        return ("ok", loop.run_until_complete(ch.async_get_cooldown_deployments(router, None)))
    except Exception as e:  # noqa: BLE001 - compared, type and message
        return ("err", type(e), str(e))


def test_cooldown_read_same_answer_and_side_effects(monkeypatch):
    """async_get_cooldown_deployments: answered without reading every id only while the
    cooldown store is empty and has no Redis; LiteLLM's answer, and LiteLLM's state after
    (expired entries evicted by its read), in every other case."""
    import asyncio

    from litellm.router_utils import cooldown_handlers as ch

    loop = asyncio.new_event_loop()
    router = litellm.Router(model_list=[_plain(i) for i in range(30)])
    store = router.cooldown_cache.cooldown_store
    mem = store.in_memory_cache

    def both():
        fast_litellm.revert()
        try:
            want = _cooldown_ids(router, loop)
            want_keys = sorted(mem.cache_dict)
        finally:
            fast_litellm.apply()
        before = dict(routing_comp.COOLDOWN_FAST)
        got = _cooldown_ids(router, loop)
        return (want, want_keys, got, sorted(mem.cache_dict),
                routing_comp.COOLDOWN_FAST["served"] - before["served"],
                routing_comp.COOLDOWN_FAST["delegated"] - before["delegated"])

    try:
        # nothing cooling down: served, []
        want, wk, got, gk, served, delegated = both()
        assert want == got == ("ok", []) and served == 1 and delegated == 0
        # two cooling down: LiteLLM answers, in its order
        for i in (4, 2):
            router.cooldown_cache.add_deployment_to_cooldown(
                model_id=f"id-{i}", original_exception=Exception("x"), exception_status=429, cooldown_time=60)
        want, wk, got, gk, served, delegated = both()
        assert want == got == ("ok", ["id-2", "id-4"]) and wk == gk and served == 0 and delegated == 1
        # expired entries: LiteLLM's read evicts them, patched too (it is LiteLLM's read)
        for k in list(mem.ttl_dict):
            mem.ttl_dict[k] = 0.0
        fast_litellm.revert()
        want = _cooldown_ids(router, loop)
        want_keys = sorted(mem.cache_dict)
        fast_litellm.apply()
        assert want == ("ok", []) and want_keys == []
        for i in (4, 2):
            router.cooldown_cache.add_deployment_to_cooldown(
                model_id=f"id-{i}", original_exception=Exception("x"), exception_status=429, cooldown_time=60)
        for k in list(mem.ttl_dict):
            mem.ttl_dict[k] = 0.0
        got = _cooldown_ids(router, loop)
        assert got == want and sorted(mem.cache_dict) == []
        # an entry that is not a cooldown: LiteLLM's read
        mem.set_cache("something-else", {"x": 1}, ttl=60)
        want, wk, got, gk, served, delegated = both()
        assert want == got == ("ok", []) and delegated == 1
        mem.flush_cache()
        # a get_model_ids replaced on the instance (it may have side effects): LiteLLM's read
        calls = []
        monkeypatch.setattr(router, "get_model_ids", lambda *a, **k: calls.append(1) or [], raising=False)
        want, wk, got, gk, served, delegated = both()
        assert want == got == ("ok", []) and delegated == 1 and calls == [1, 1]
        monkeypatch.undo()
        # a get_cache replaced on the in-memory tier (a spy, say): LiteLLM's read calls it
        seen = []
        real_get = mem.get_cache
        monkeypatch.setattr(mem, "get_cache", lambda key, **kw: seen.append(key) or real_get(key, **kw),
                            raising=False)
        want, wk, got, gk, served, delegated = both()
        assert want == got == ("ok", []) and delegated == 1 and len(seen) == 60
        monkeypatch.undo()
        # a Redis client on the store: LiteLLM's read (which asks it)
        asked = []
        store.redis_cache = _AskedRedis(asked)
        want, wk, got, gk, served, delegated = both()
        # (LiteLLM's read asks Redis for the 30 keys, then throttles them for a while: the
        # second read, LiteLLM's too, does not ask again)
        assert want == got == ("ok", []) and delegated == 1 and asked == [30]
    finally:
        store.redis_cache = None
        loop.close()
    assert ch.async_get_cooldown_deployments.__fast_litellm_patch__ is not None


def test_ids_present_and_scaled():
    from fast_litellm import _native

    assert _native.ids_present([{"model_info": {"id": "a"}}, {"model_info": {"id": 3}},
                                {"model_info": {"id": None}}]) is True
    assert _native.ids_present(({"model_info": {"id": "a"}},)) is True
    for bad in ([{"model_info": {}}], [{}], [{"model_info": None}], [{"model_info": {"id": 1.5}}],
                [{"model_info": {"id": ("t",)}}], [SubDict(model_info={"id": "a"})],
                [{"model_info": SubDict(id="a")}], [{"model_info": {"id": SubStr("a")}}], iter([]), None):
        assert _native.ids_present(bad) is False, bad
    w = (1.0, 0.0, 3.5, float("inf"), float("nan"), -2.0)
    for largest in (3.5, 0.1, float("inf"), float("nan"), -1.0):
        got = _native.scaled(w, largest)
        want = tuple(x / largest for x in w)
        assert [repr(a) for a in got] == [repr(b) for b in want]
    assert _native.scaled(w, 0.0) is None and _native.scaled((1,), 2.0) is None
    assert _native.scaled([1.0], 2.0) is None and _native.scaled((1.0,), 2) is None
    with pytest.raises(TypeError):
        _native.scaled((1.0,))


def test_named_and_weights_reject_bad_arguments():
    from fast_litellm import _native

    assert _native.named_deployments((), [], "m") is None
    assert _native.metric_weights(iter([]), "rpm") is None
    for f, args in [(_native.named_deployments, ([], [])), (_native.named_deployments, ([], [], 3)),
                    (_native.metric_weights, ([],)), (_native.metric_weights, ([], b"rpm"))]:
        with pytest.raises(TypeError):
            f(*args)


def test_fast_paths_still_served_after_revert_and_apply():
    # the cooldown read inlines InMemoryCache/DualCache methods that the memory_cache
    # component replaces; re-applied in another order, its helpers must still count as
    # LiteLLM's (regression: every pick went to LiteLLM's cooldown read after a re-apply)
    import asyncio

    router = litellm.Router(model_list=[_plain(i) for i in range(3)])
    fast_litellm.revert()
    fast_litellm.apply()
    before = dict(routing_comp.COOLDOWN_FAST)
    asyncio.run(router.async_get_available_deployment(model="m", messages=[{"role": "user", "content": "x"}],
                                                      request_kwargs={}))
    assert routing_comp.COOLDOWN_FAST["served"] - before["served"] >= 1
    assert routing_comp.COOLDOWN_FAST["delegated"] == before["delegated"]


@pytest.fixture
def frozen_minute():
    """The v2 usage keys carry the current minute (`<id>:<model>:tpm:HH-MM`) and every read
    computes them again: frozen at 03:04 so that a minute rolling over between a test's reads
    (stock, then patched) cannot tell them apart. Its own MonkeyPatch: a test's
    monkeypatch.undo() does not thaw it."""
    import datetime as _dt

    from litellm.router_strategy import lowest_tpm_rpm_v2

    frozen = _dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=_dt.timezone.utc)
    clock = pytest.MonkeyPatch()
    clock.setattr(lowest_tpm_rpm_v2, "get_utc_datetime", lambda: frozen)
    yield "03-04"
    clock.undo()


def test_routing_read_batch_cooldowns_same_answer_usage_and_state(monkeypatch, frozen_minute):
    """RoutingReadBatch.async_get_cooldown_deployments (usage-based-routing-v2's combined
    read): answered without the cooldown read only while the cooldown store is quiet and no
    Redis batch is armed for the request. Compared with LiteLLM: the answer, the prefetched
    usage (keys and values), the router cache's and the cooldown store's state after (expired
    usage counters evicted by the read, JSON text parsed), with and without a selector."""
    import asyncio

    from litellm.caching import redis_batch
    from litellm.router_utils.routing_read_batch import RoutingReadBatch

    loop = asyncio.new_event_loop()
    router = litellm.Router(model_list=[_plain(i) for i in range(30)], routing_strategy="usage-based-routing-v2")
    selector = router.lowesttpm_logger_v2
    store = router.cooldown_cache.cooldown_store
    healthy = router.get_model_list(model_name="m")
    tpm_keys, rpm_keys = selector.usage_counter_keys(healthy)
    rng = random.Random(3)

    def seed_usage():
        mem = router.cache.in_memory_cache
        mem.flush_cache()
        for k in rng.sample(tpm_keys + rpm_keys, 25):
            mem.set_cache(k, rng.choice([1, 7, 2.5, "12", "[1, 2]", "x", None, 10**20]), ttl=60)
        for k in rng.sample(list(mem.ttl_dict), 5):
            mem.ttl_dict[k] = 0.0  # expired: the read evicts them

    def read(with_selector=True):
        rng.seed(1)
        seed_usage()
        batch = RoutingReadBatch(usage_selector=selector if with_selector else None)
        try:
            got = ("ok", loop.run_until_complete(batch.async_get_cooldown_deployments(router, healthy, None)))
        except Exception as e:  # noqa: BLE001 - compared, type and message
            got = ("err", type(e), str(e))
        pre = batch.prefetched_usage
        usage = None if pre is None else (pre.keys, None if pre.values is None else dict(pre.values))
        mem = router.cache.in_memory_cache
        return (got, usage, dict(mem.cache_dict), sorted(mem.ttl_dict), dict(store.in_memory_cache.cache_dict))

    def ab(with_selector=True):
        want, got, served, delegated = both(lambda: read(with_selector), routing_comp.READ_BATCH_FAST)
        assert got == want
        return want, served, delegated

    try:
        want, served, delegated = ab()
        assert want[0] == ("ok", []) and served == 1 and delegated == 0
        assert want[1] is not None and len(want[1][0]) == 60 and any(v is not None for v in want[1][1].values())
        assert set(want[1][0]) == set(tpm_keys + rpm_keys) and all(k.endswith(":" + frozen_minute) for k in want[1][0])
        want, served, delegated = ab(with_selector=False)
        assert want[0] == ("ok", []) and want[1] is None and served == 1
        # deployments cooling down: LiteLLM's read answers, in its order
        for i in (4, 2):
            router.cooldown_cache.add_deployment_to_cooldown(
                model_id=f"id-{i}", original_exception=Exception("x"), exception_status=429, cooldown_time=60)
        want, served, delegated = ab()
        assert want[0] == ("ok", ["id-2", "id-4"]) and served == 0 and delegated == 1
        store.in_memory_cache.flush_cache()
        # a Redis batch armed for the request: LiteLLM's read (it takes what was armed)
        token = redis_batch._active_request_batches.set(redis_batch.RequestRedisBatches())
        try:
            want, served, delegated = ab()
            assert want[0] == ("ok", []) and served == 0 and delegated == 1
        finally:
            redis_batch._active_request_batches.reset(token)
        # get_model_ids replaced on the instance: LiteLLM's read calls it
        calls = []
        monkeypatch.setattr(router, "get_model_ids", lambda *a, **k: calls.append(1) or ["id-1"], raising=False)
        want, served, delegated = ab()
        assert delegated == 1 and calls == [1, 1]
        monkeypatch.undo()
        # the selector's keys method replaced: still LiteLLM's keys in both (the read calls it)
        seen = []
        real = selector.usage_counter_keys
        monkeypatch.setattr(selector, "usage_counter_keys", lambda hd: seen.append(1) or real(hd), raising=False)
        want, served, delegated = ab()
        assert served == 1 and seen == [1, 1]
        monkeypatch.undo()
        # a Redis client on the cooldown store: LiteLLM's shared read
        asked = []
        store.redis_cache = _AskedRedis(asked)
        want, served, delegated = ab()
        assert want[0] == ("ok", []) and delegated == 1 and asked and asked[0] >= 30
    finally:
        store.redis_cache = None
        loop.close()


def test_prefetched_values_for_as_litellm(frozen_minute):
    """PrefetchedUsage.values_for in C on the dict behind the view the plain combined read
    built (identity), LiteLLM's method for any other view or for keys that are not all
    exact strs: the same lists; then whole v2 picks over seeded usage, the same sequence."""
    import asyncio
    from types import MappingProxyType

    from fast_litellm import _native
    from litellm.router_strategy.lowest_tpm_rpm_v2 import PrefetchedUsage
    from litellm.router_utils.routing_read_batch import RoutingReadBatch

    assert _native.dict_values_for({"a": 1, "b": None}, ["a", "b", "c", "a"]) == [1, None, None, 1]
    assert _native.dict_values_for({"a": 1}, ("a",)) == [1]
    assert _native.dict_values_for(SubDictForValues(a=1), ["a"]) is None
    assert _native.dict_values_for({"a": 1}, ["a", 7]) is None
    assert _native.dict_values_for({"a": 1}, iter(["a"])) is None

    loop = asyncio.new_event_loop()
    router = litellm.Router(model_list=[_plain(i) for i in range(40)], routing_strategy="usage-based-routing-v2")
    selector = router.lowesttpm_logger_v2
    healthy = router.get_model_list(model_name="m")
    tpm_keys, rpm_keys = selector.usage_counter_keys(healthy)
    mem = router.cache.in_memory_cache

    def seed_usage():
        rng = random.Random(5)
        mem.flush_cache()
        for k in rng.sample(tpm_keys + rpm_keys, 50):
            mem.set_cache(k, rng.choice([1, 7, 2.5, 300, 0]), ttl=600)

    seed_usage()
    try:
        batch = RoutingReadBatch(usage_selector=selector)
        loop.run_until_complete(batch.async_get_cooldown_deployments(router, healthy, None))
        pre = batch.prefetched_usage
        before = dict(routing_comp.VALUES_FOR_FAST)
        for keys in (tpm_keys + rpm_keys, list(reversed(rpm_keys)), tuple(tpm_keys[:3]), [], ["nope"]):
            assert pre.values_for(keys) == [pre.values.get(k) for k in keys]
        assert routing_comp.VALUES_FOR_FAST["served"] == before["served"] + 5
        odd = tpm_keys[:2] + [7]
        assert pre.values_for(odd) == [pre.values.get(k) for k in odd]  # not all str: LiteLLM's
        other = PrefetchedUsage(keys=pre.keys, values=MappingProxyType(dict(pre.values)))  # not ours
        assert other.values_for(tpm_keys) == pre.values_for(tpm_keys)
        assert routing_comp.VALUES_FOR_FAST["delegated"] == before["delegated"] + 2

        def picks():
            seed_usage()
            random.seed(4)
            out = []
            for n in range(30):
                d = loop.run_until_complete(router.async_get_available_deployment(
                    model="m", messages=[{"role": "user", "content": "hi"}], request_kwargs={}))
                out.append(d["model_info"]["id"])
                keys = selector.usage_counter_keys([d])
                mem.set_cache(keys[0][0], (mem.get_cache(keys[0][0]) or 0) + 40 + n, ttl=600)
            return out

        want, got, served, delegated = both(picks, routing_comp.VALUES_FOR_FAST)
        assert got == want and len(set(want)) > 3
        assert served == 30 and delegated == 0
    finally:
        loop.close()


class SubDictForValues(dict):
    pass


def _weights_case(rng: random.Random):
    n = rng.choice([1, 2, 3, 7, 50, 1000])
    pool = rng.choice([
        [0.0, 1.0, 0.5, 0.25, 1e-300, 3.0],
        [1.0 / 3, 2.0 / 3, 0.1, 0.7, 1e16, 1.0],
        [-1.0, 0.0, 2.0, 5e-324, 0.3],
        [1e308, 1e308, 1.0],  # a total that overflows to inf: choices raises
        [0.0, -0.0],  # a total that is not positive: choices raises
        [float("nan"), 1.0],
    ])
    return tuple(rng.choice(pool) for _ in range(n))


def test_weighted_draw_is_random_choices():
    """weighted_draw against random.Random.choices on the same seeds: the same pick (by
    identity), the same random state after, and None (before any draw) exactly where
    choices raises; float_max against max(default=0.0)."""
    from fast_litellm import _native

    rng = random.Random(11)
    raised = drawn = 0
    for case in range(3000):
        weights = _weights_case(rng)
        population = [object() for _ in weights]
        if rng.random() < 0.3:
            population = tuple(population)
        want_rng, got_rng = random.Random(case), random.Random(case)
        try:
            want = want_rng.choices(population, weights=weights)[0]
        except ValueError:
            assert _native.weighted_draw(population, weights, got_rng.random) is None
            assert got_rng.getstate() == random.Random(case).getstate()  # nothing drawn
            raised += 1
        else:
            assert _native.weighted_draw(population, weights, got_rng.random) is want
            drawn += 1
        assert got_rng.getstate() == want_rng.getstate()
        fmax = _native.float_max(weights)
        assert fmax == max(weights, default=0.0) or (fmax != fmax and max(weights) != max(weights))
    assert raised > 200 and drawn > 1000
    # the same tuples again and again, interleaved: more than the 8 tables kept, so some
    # are rebuilt after their eviction; the evicted tuples are released
    kept = [_weights_case(rng) for _ in range(12)]
    refs = [sys.getrefcount(w) for w in kept]
    for case in range(1200):
        weights = kept[rng.randrange(len(kept))]
        population = [object() for _ in weights]
        want_rng, got_rng = random.Random(case), random.Random(case)
        try:
            want = want_rng.choices(population, weights=weights)[0]
        except ValueError:
            want = None
        assert _native.weighted_draw(population, weights, got_rng.random) is want
        assert got_rng.getstate() == want_rng.getstate()
    del weights
    held = [now - before for now, before in zip([sys.getrefcount(w) for w in kept], refs)]
    # the last 8 used, but those choices raises on (no table), are held once
    assert set(held) <= {0, 1} and 4 <= sum(held) <= 8, held
    for k in range(8):  # 8 other tuples take every table: the kept ones are released
        _native.weighted_draw([0], (float(k + 1),), random.Random(k).random)
    assert [sys.getrefcount(w) for w in kept] == refs
    # draws that land exactly on a cumulative weight, on zero weights, at the top
    for value in (0.0, 0.25, 0.5, 0.75, 1 / 3, 0.9999999999999999):
        class Fixed(random.Random):
            def random(self, value=value):
                return value

        for weights in ((1.0, 1.0), (0.0, 1.0, 0.0, 1.0), (1.0, 0.0, 0.0), (0.1, 0.2, 0.3), (1e-300, 1.0, 1e300)):
            population = [object() for _ in weights]
            want = Fixed().choices(population, weights=weights)[0]
            assert _native.weighted_draw(population, weights, Fixed().random) is want, (value, weights)
    assert _native.float_max(()) == 0.0
    for bad in ([1.0], (1, 2.0), (True,), "ab"):
        assert _native.float_max(bad) is None
    ok = random.Random(1).random
    for population, weights in (([1], (1,)), ([1, 2], (1.0,)), ([], ()), ("ab", (1.0, 1.0)), ([1], [1.0])):
        assert _native.weighted_draw(population, weights, ok) is None
    with pytest.raises(ZeroDivisionError):  # rand's own exception propagates
        _native.weighted_draw([1], (1.0,), lambda: 1 / 0)
    with pytest.raises(TypeError):
        _native.weighted_draw([1], (1.0,))


def test_simple_shuffle_draw_follows_the_module_random(monkeypatch):
    """The draw goes to the module's own choices when its random is not the standard
    library's Random (a subclass overriding random(), SystemRandom, a replaced choices):
    picks and state as LiteLLM's."""
    from litellm.router_strategy import simple_shuffle as ss

    deps = [_plain(i) for i in range(6)]
    for i, d in enumerate(deps):
        d["litellm_params"]["weight"] = i + 1

    class Biased(random.Random):
        def random(self):
            return 0.999

    def picks():
        random.seed(4)
        out = []
        for _ in range(50):
            chosen = ss.simple_shuffle(lambda m: None, deps, "m", None)
            out.append(next(i for i, d in enumerate(deps) if d is chosen))
        return out

    want, got, served, delegated = both(picks, routing_comp.SHUFFLE_DRAWS)
    assert got == want and served == 50 and delegated == 0 and len(set(want)) > 3
    for replacement in (Biased(3), random.SystemRandom()):
        monkeypatch.setattr(ss, "random", replacement)
        want, got, served, delegated = both(picks, routing_comp.SHUFFLE_DRAWS)
        if not isinstance(replacement, random.SystemRandom):
            assert got == want == [5] * 50
        assert served == 0 and delegated == 50
        monkeypatch.undo()
    inst = random.Random(8)
    monkeypatch.setattr(inst, "random", lambda: 0.0, raising=False)
    monkeypatch.setattr(ss, "random", inst)
    want, got, served, delegated = both(picks, routing_comp.SHUFFLE_DRAWS)
    assert got == want == [0] * 50 and served == 0 and delegated == 50


def test_prefetched_covers_and_values_for_from_the_read_itself(frozen_minute):
    """covers(keys) is True without 2,000 set lookups when the key set is the one the plain
    combined read built and the keys are its very key objects in order; values_for of those
    keys is the values the read zipped with them when the keys are distinct. Equal keys of
    other objects, a missing key, another key set, repeated keys (a deployment listed twice:
    the dict keeps each key's last value) -- LiteLLM's answers."""
    import asyncio
    from types import MappingProxyType

    from litellm.router_strategy.lowest_tpm_rpm_v2 import PrefetchedUsage
    from litellm.router_utils.routing_read_batch import RoutingReadBatch

    loop = asyncio.new_event_loop()
    router = litellm.Router(model_list=[_plain(i) for i in range(40)], routing_strategy="usage-based-routing-v2")
    selector = router.lowesttpm_logger_v2
    healthy = router.get_model_list(model_name="m")
    mem = router.cache.in_memory_cache
    rng = random.Random(8)
    tpm_keys, rpm_keys = selector.usage_counter_keys(healthy)
    for k in rng.sample(tpm_keys + rpm_keys, 30):
        mem.set_cache(k, rng.choice([1, 7, 2.5, 300, 0]), ttl=600)
    try:
        def read(deployments):
            batch = RoutingReadBatch(usage_selector=selector)
            loop.run_until_complete(batch.async_get_cooldown_deployments(router, deployments, None))
            return batch.prefetched_usage

        pre = read(healthy)
        keys = list(sum(selector.usage_counter_keys(healthy), []))
        want_values = [pre.values.get(k) for k in keys]
        c0, v0 = dict(routing_comp.COVERS_FAST), dict(routing_comp.VALUES_FOR_FAST)
        assert pre.covers(keys) is True and pre.values_for(keys) == want_values
        assert routing_comp.COVERS_FAST["served"] == c0["served"] + 1
        assert routing_comp.VALUES_FOR_FAST["served"] == v0["served"] + 1
        equal = [k[:1] + k[1:] for k in keys]  # equal strs, other objects
        assert any(a is not b for a, b in zip(equal, keys))
        assert pre.covers(equal) is True and pre.values_for(equal) == want_values
        assert pre.covers(keys + ["nope"]) is False and pre.covers(keys[:5]) is True
        other = PrefetchedUsage(keys=frozenset(keys), values=MappingProxyType(dict(pre.values)))
        assert other.covers(keys) is True and other.values_for(keys) == want_values
        assert routing_comp.COVERS_FAST["delegated"] == c0["delegated"] + 4
        twice = healthy + healthy[:3]  # repeated keys: the dict keeps the last value of each
        pre2 = read(twice)
        keys2 = list(sum(selector.usage_counter_keys(twice), []))
        assert pre2.covers(keys2) is True
        assert pre2.values_for(keys2) == [pre2.values.get(k) for k in keys2]
        fast_litellm.revert()
        try:  # the same calls, LiteLLM's methods
            assert pre2.covers(keys2) is True and pre.covers(keys + ["nope"]) is False
            assert pre2.values_for(keys2) == [pre2.values.get(k) for k in keys2]
        finally:
            fast_litellm.apply()
    finally:
        loop.close()


def test_usage_dict_again_from_the_last_one():
    """The combined read's dict(zip(keys, values)) as a copy of the last one with the changed
    values set, only for the very same distinct key objects: equal to dict(zip(...)) -- the
    same items in the same order -- over a sequence of reads whose values change (new
    objects, equal objects, None), and built afresh for other keys, repeated keys, or value
    lists of another length."""
    from fast_litellm import _native

    rng = random.Random(3)
    keys = tuple(f"id-{i}:m:tpm:03-04" for i in range(50))
    saved = routing_comp._RECENT_READS[:]
    try:
        routing_comp._RECENT_READS[:] = []
        for step in range(400):
            r = rng.random()
            if r < 0.05:
                keys = tuple(k[:1] + k[1:] for k in keys)  # equal keys, other objects
            elif r < 0.08:
                keys = keys[:10] + keys[:1]  # repeated
            elif r < 0.1:
                keys = tuple(f"id-{i}:m:tpm:03-0{step % 3}" for i in range(50))
            values = [rng.choice([None, 1, 7, 2.5, 10**30, "7", None]) for _ in keys]
            if rng.random() < 0.05:
                values = values[:-1]
            keyset = routing_comp._keyset(keys)
            got = routing_comp._usage_dict(keys, values, keyset)
            want = dict(zip(keys, values))
            assert list(got.items()) == list(want.items()), step
            assert all(a is b for a, b in zip(got.values(), want.values()))
            routing_comp._remember_read(keys, keyset, got, tuple(values))
        assert _native.dict_with_changes({"a": 1}, ["a", "b"], [1, 2], [1, 2]) is None  # sizes
        assert _native.dict_with_changes({"a": 1}, [7], [1], [1]) is None  # not a str key
        assert _native.dict_with_changes({"a": 1}, ["a"], [2], [1]) == {"a": 2}
    finally:
        routing_comp._RECENT_READS[:] = saved
