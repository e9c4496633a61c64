"""usage-based-routing-v2's selection (``routing`` component, ``_native.v2_select`` and
``v2_dicts``) against LiteLLM 1.108.7's ``_common_checks_available_deployment``.

Each generated case is built twice from its seed (every patch reverted, then applied) and
run after ``random.seed``: candidates with tpm/rpm limits at the top level, in
``litellm_params`` or ``model_info`` (ints, floats, None, 0, inf, nan, strs, huge ints), ids
with colons, duplicate ids, missing ids; usage values of every type (None, ints, floats, nan,
strs, huge ints); keys that are not str, value lists shorter than the keys, None for the
values; messages and text for the token count. Compared: the pick (position), exceptions
(type and message), ``random`` afterwards. Then the whole async pick of a real
``LowestTPMLoggingHandler_v2`` over its cache, and a real Router.
"""

from __future__ import annotations

import asyncio
import datetime
import random

import pytest

import fast_litellm  # noqa: F401 - before litellm: patches on import
import litellm
from fast_litellm.components import routing as routing_comp
from litellm.caching.dual_cache import DualCache
from litellm.router_strategy import lowest_tpm_rpm_v2 as v2

from _ab import both


class SubDict(dict):
    pass


LIMITS = [None, None, 0, 1, 5, 100, 1000, 2.5, float("inf"), float("nan"), "100", 10**30]
USAGE = [None, 0, 1, 3, 50, 999, 2.5, float("nan"), float("inf"), "7", 10**30, True]


def build(seed: int):
    rng = random.Random(seed)
    plain = rng.random() < 0.6
    n = rng.choice([0, 1, 2, 3, 5, 12])
    healthy = []
    for i in range(n):
        ident = f"id-{i}" if plain or rng.random() < 0.8 else rng.choice(["a:b", f"id-{i - 1}", 7, None])
        d = {"model_name": "m", "litellm_params": {"model": f"openai/m{i}"}, "model_info": {"id": ident}}
        for metric in ("tpm", "rpm"):
            where = rng.randrange(5)
            value = rng.choice(LIMITS[:9] if plain else LIMITS)
            if where == 0:
                d[metric] = value
            elif where == 1:
                d["litellm_params"][metric] = value
            elif where == 2:
                d["model_info"][metric] = value
        if not plain and rng.random() < 0.08:
            kind = rng.randrange(4)
            if kind == 0:
                d["litellm_params"] = None
            elif kind == 1:
                del d["litellm_params"]
            elif kind == 2:
                d = SubDict(d)
            else:
                d["model_info"] = SubDict(d["model_info"])
        healthy.append(d)
    ids = [(d.get("model_info") or {}).get("id") for d in healthy] + ["stale-id"]
    tpm_keys = [f"{i}:openai/x:tpm:03-04" for i in ids if rng.random() < 0.8]
    rpm_keys = [f"{i}:openai/x:rpm:03-04" for i in ids if rng.random() < 0.8]
    pool = USAGE[:7] if plain else USAGE
    tpm_values = [rng.choice(pool) for _ in tpm_keys]
    rpm_values = [rng.choice(pool) for _ in rpm_keys]
    if not plain:
        r = rng.random()
        if r < 0.05:
            tpm_values = None
        elif r < 0.1 and tpm_values:
            tpm_values.pop()
        elif r < 0.13:
            tpm_keys.append(7)
            tpm_values.append(1)
        elif r < 0.16:
            rpm_values = tuple(rpm_values)
    messages = rng.choice([None, [{"role": "user", "content": "hello there " * rng.randrange(1, 40)}]])
    text = None if messages else rng.choice([None, "some input text"])
    handler = v2.LowestTPMLoggingHandler_v2(router_cache=DualCache())
    return handler, healthy, tpm_keys, tpm_values, rpm_keys, rpm_values, messages, text


def _pick(seed: int):
    handler, healthy, tk, tv, rk, rv, messages, text = build(seed)
    random.seed(seed)
    try:
        got = handler._common_checks_available_deployment("m", healthy, tk, tv, rk, rv, messages, text)
        out = ("ok", None if got is None else next(i for i, d in enumerate(healthy) if d is got))
    except Exception as e:  # noqa: BLE001 - compared, type and message
        out = ("err", type(e).__name__, str(e)[:300])
    return out, random.random()


def _both(fn):
    return both(fn, routing_comp.V2_FAST)


@pytest.mark.parametrize("block", range(3))
def test_generated_cases_same_pick(block):
    seeds = range(block * 1500, (block + 1) * 1500)
    want, got, served, delegated = _both(lambda: [_pick(s) for s in seeds])
    for s, a, b in zip(seeds, want, got):
        assert a == b, (s, a, b)
    assert served > 500 and delegated > 150, (served, delegated)
    outcomes = [w[0] for w in want]
    assert {o[0] for o in outcomes} == {"ok", "err"}
    assert sum(1 for o in outcomes if o == ("ok", None)) > 20  # nothing under its limits
    assert len({o[1] for o in outcomes if o[0] == "ok"}) > 5


def _handler_picks(rng, groups, steps, seed, change=0.0):
    """A handler's whole async pick over its cache, the groups (lists of deployments, named
    by their first's model_name) asked in turn, usage recorded between picks and, with
    probability `change`, a limit changed in place before one: the picks, random's next."""
    cache = DualCache()
    handler = v2.LowestTPMLoggingHandler_v2(router_cache=cache)
    picks = []

    async def main():
        for step in range(steps):
            healthy = groups[step % len(groups)]
            if change and rng.random() < change:
                rng.choice(healthy)["litellm_params"]["rpm"] = rng.choice([0, 1, 3])
            try:
                d = await handler.async_get_available_deployments(
                    healthy[0]["model_name"], healthy, messages=[{"role": "user", "content": "hi"}])
                picks.append(d["model_info"]["id"])
            except litellm.RateLimitError as e:
                picks.append(("429", str(e)[:200]))
                d = rng.choice(healthy)
            tpm_keys, rpm_keys = handler.usage_counter_keys([d])
            await cache.async_increment_cache(key=tpm_keys[0], value=rng.randrange(20, 200))
            await cache.async_increment_cache(key=rpm_keys[0], value=1)

    random.seed(seed)
    asyncio.run(main())
    return picks, random.random()


def _handler_scenario():
    """One group of 10 picked 60 times while usage is recorded between picks."""
    rng = random.Random(11)
    healthy = [{"model_name": "m", "litellm_params": {"model": f"openai/m{i}", "tpm": rng.choice([None, 400, 900]),
                                                      "rpm": rng.choice([2, 3, 5])},
                "model_info": {"id": f"dep-{i}"}} for i in range(10)]
    return _handler_picks(rng, [healthy], 60, 3)


def test_handler_picks_same_sequence(monkeypatch):
    fixed = datetime.datetime(2025, 1, 2, 3, 4, 5)
    monkeypatch.setattr(v2, "get_utc_datetime", lambda: fixed)
    want, got, served, _ = _both(_handler_scenario)
    assert got == want
    assert served >= 40
    assert any(isinstance(p, tuple) for p in want[0]) and len({p for p in want[0] if isinstance(p, str)}) > 3


def _groups_in_turn_scenario():
    """Three model groups of 40 picked from in turn by one handler, usage recorded between
    picks and now and then a limit changed in place: each group's kept plan and key lists
    must follow its own list."""
    rng = random.Random(12)
    groups = [[{"model_name": f"g{g}", "litellm_params": {"model": f"openai/g{g}m{i}",
                                                          "tpm": rng.choice([None, 300, 900]),
                                                          "rpm": rng.choice([1, 2, 4])},
                "model_info": {"id": f"g{g}-dep-{i}"}} for i in range(40)] for g in range(3)]
    return _handler_picks(rng, groups, 240, 5, change=0.05)


def test_groups_picked_in_turn_keep_their_own_plans(monkeypatch):
    """The same picks as LiteLLM with three groups in turn, and each group's plan and key
    lists kept side by side (8 plans, 16 key-list answers: two a pick), not one evicting
    the next (before 2026-12-06 one plan and two answers were kept: v2 at 3 x 1,000
    deployments picked in turn rebuilt its plan every pick, ~2,300 us against ~400)."""
    fixed = datetime.datetime(2025, 1, 2, 3, 4, 6)
    monkeypatch.setattr(v2, "get_utc_datetime", lambda: fixed)
    want, got, served, _ = _both(_groups_in_turn_scenario)
    assert got == want
    assert served >= 150
    assert len({p for p in want[0] if isinstance(p, str)}) > 30
    # the patched run was the last: its groups' records are the newest kept
    plans = routing_comp.V2_READS[...]
    answers = routing_comp.USAGE_KEY_MEMO[...]
    assert type(plans) is list and 3 <= len(plans) <= 8, plans
    assert type(answers) is list and 3 <= len(answers) <= 16
    assert {len(r[1]) for r in plans[:3]} == {40}


def test_v2_dicts_heads_memo():
    """v2_dicts' remembered heads give the maps LiteLLM's split gives: keys with and
    without colons, a key seen again, a memo entry not of its making, the bound."""
    from fast_litellm import _native

    keys = ["id-1:openai/x:tpm:03-04", "a:b:openai/x:tpm:03-04", "plain", ":lead", "", "id-1:other"]
    values = [1, 2, 3, 4, 5, 6]
    want = ({k.split(":")[0]: v for k, v in zip(keys, values)},) * 2
    heads = {}
    for _ in range(2):  # built, then remembered
        got = _native.v2_dicts(keys, values, keys, values, heads)
        assert got == want and list(got[0]) == list(want[0])
    assert heads["a:b:openai/x:tpm:03-04"] == "a"
    heads["plain"] = 7  # not a head: cut again
    assert _native.v2_dicts(keys, values, keys, values, heads) == want
    assert _native.v2_dicts(keys, values, keys, values, None) == want
    many = [f"k{i}:m:tpm:03-04" for i in range(70_000)]
    assert _native.v2_dicts(many, many, [], [], heads)[0] == {f"k{i}": k for i, k in enumerate(many)}
    assert len(heads) <= 65_536
    with pytest.raises(TypeError):
        _native.v2_dicts(keys, values, keys, values, [])


def _litellm_potential(handler, seq, tk, tv, rk, rv, tokens):
    """LiteLLM's steps after the token count (its maps, its fill, its method)."""
    tpm_dict, rpm_dict = {}, {}
    for idx, _ in enumerate(tk):
        tpm_dict[tk[idx].split(":")[0]] = tv[idx]
    for idx, _ in enumerate(rk):
        rpm_dict[rk[idx].split(":")[0]] = rv[idx]
    for d in seq:
        key = d["model_info"]["id"]
        if key not in tpm_dict or tpm_dict[key] is None:
            tpm_dict[key] = 0
    return handler._return_potential_deployments(
        healthy_deployments=seq, all_deployments=tpm_dict, input_tokens=tokens, rpm_dict=rpm_dict)


def test_v2_select_plan_follows_deployments_changed_in_place():
    """v2_select keeps its plan (which value, deployment and rpm value each map item would
    hold) while the key lists are the same objects and the candidates the same deployments
    with their dict, litellm_params and model_info version tags. A sequence of in-place
    changes between calls -- limits set, cleared or moved between the three levels, ids
    changed or duplicated, sub-dicts replaced or removed, the list reordered or cut, new key
    lists (repeated heads, ids with colons, stale ids) -- with new values every call: the
    candidates LiteLLM's own steps give, every time."""
    from fast_litellm import _native

    rng = random.Random(21)
    handler = v2.LowestTPMLoggingHandler_v2(router_cache=DualCache())
    deps = [{"model_name": "m", "litellm_params": {"model": f"openai/m{i}", "tpm": 500}, "model_info": {"id": f"id-{i}"}}
            for i in range(10)]
    kept = []
    seq = deps
    memo = {}
    tk = rk = []
    reused = compared = 0
    for step in range(3000):
        r = rng.random()
        d = rng.choice(deps)
        where = rng.choice([d, d.get("litellm_params"), d.get("model_info")])
        if r < 0.15 and isinstance(where, dict):
            where[rng.choice(["tpm", "rpm"])] = rng.choice([None, 0, 1, 5, 100, 1000, 2.5, float("inf")])
        elif r < 0.2 and isinstance(where, dict):
            where.pop(rng.choice(["tpm", "rpm"]), None)
        elif r < 0.25:
            d["model_info"]["id"] = rng.choice([f"id-{step % 12}", "id-0", "x:y", "x"])
        elif r < 0.28:
            kept.append(d.get("litellm_params"))  # (alive: its memory cannot become the new one's)
            d["litellm_params"] = {"model": "openai/new", "rpm": rng.choice([1, 3, None])}
        elif r < 0.3:
            kept.append(d.get("model_info"))
            d["model_info"] = {"id": rng.choice(["id-3", f"id-{step}"]), "tpm": rng.choice([None, 50])}
        elif r < 0.32:
            d.pop("litellm_params", None)
        elif r < 0.34:
            d.setdefault("litellm_params", {"model": "openai/back"})
        elif r < 0.4:
            seq = list(deps)
            rng.shuffle(seq)
        elif r < 0.44:
            seq = deps[: rng.randint(0, len(deps))]
        elif r < 0.46:
            seq = tuple(deps)
        if r > 0.9 or not tk:  # new key lists (the plan is rebuilt)
            ids = [x["model_info"]["id"] for x in deps] + ["stale", "x"]
            tk = [f"{i}:m:tpm:03-04" for i in ids if rng.random() < 0.8] + [f"{rng.choice(ids)}:dup:tpm:03-04"]
            rk = [f"{i}:m:rpm:03-04" for i in ids if rng.random() < 0.8]
        tv = [rng.choice([None, 0, 3, 50, 400, 2.5]) for _ in tk]
        rv = [rng.choice([None, 0, 1, 2, 4]) for _ in rk]
        tokens = rng.choice([0, 10, 300])
        before = memo.get(Ellipsis)
        got = _native.v2_select(seq, tk, tv, rk, rv, tokens, memo)
        if got is None:  # not plain here: only where LiteLLM's reads would see an odd value
            continue
        want = _litellm_potential(handler, list(seq), tk, tv, rk, rv, tokens)
        assert [id(x) for x in got] == [id(x) for x in want], step
        compared += 1
        if before is not None and memo.get(Ellipsis) is before:
            reused += 1
    assert compared > 2000 and reused > 1000, (compared, reused)


def test_keyset_reused_only_for_the_same_key_objects():
    from fast_litellm import _native

    a, b = "k" * 3, "".join(["k", "kk"])  # equal strs, two objects
    assert a == b and a is not b
    assert _native.same_items((a, "x"), [a, "x"]) and not _native.same_items((a, "x"), (b, "x"))
    assert not _native.same_items((a,), (a, a)) and not _native.same_items((a,), iter([a]))
    saved = routing_comp._RECENT_READS[:]
    try:
        first = routing_comp._keyset((a, "x"))
        assert first == frozenset({a, "x"}) and routing_comp._keyset((a, "x")) is not first
        routing_comp._remember_read((a, "x"), first, None, None)  # a read of these keys
        assert routing_comp._keyset([a, "x"]) is first
        other = routing_comp._keyset((b, "x"))  # equal keys, other objects: built again (still equal)
        assert other == first and other is not first
        assert routing_comp._keyset(("y",)) == frozenset({"y"})
        # reads of other key lists (model groups) in turn: each keeps its own, 8 at most
        groups = [tuple(f"g{g}-{i}" for i in range(3)) for g in range(9)]
        for g in groups[:8]:
            routing_comp._remember_read(g, frozenset(g), None, None)
        kept = [routing_comp._keyset(g) for g in groups[:8]]
        assert all(routing_comp._keyset(g) is k for g, k in zip(groups[:8], kept))
        assert routing_comp._keyset((a, "x")) is not first  # the 9th read back: gone
        routing_comp._remember_read(groups[8], frozenset(groups[8]), None, None)
        assert routing_comp._keyset(groups[0]) is not kept[0]  # the oldest went
        assert all(routing_comp._keyset(g) is k for g, k in zip(groups[1:8], kept[1:]))
    finally:
        routing_comp._RECENT_READS[:] = saved
