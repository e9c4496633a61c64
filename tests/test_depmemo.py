"""The routing tests' memo (csrc/ext/depmemo.c): verdicts kept per deployment dict while the
dict, its litellm_params and its model_info keep their CPython version tags.

A kept verdict must never outlive a change. Deployments here are changed in place between
checks in every way a dict can change (set, replace by an equal value, delete, pop, popitem,
clear, update, setdefault, ``|=``, a child dict swapped, the dict reset to what it held, a
dict freed and its memory reused), and every answer is compared with the answer for a deep
copy (new dicts: nothing remembered) and, through the patched filters, with LiteLLM's own.
"""

from __future__ import annotations

import copy
import random

import pytest

import litellm
from fast_litellm import _native

from depmemo_tags import PREFIX, check, check_lists, mutate as _mutate, named as _named
from test_routing_filters import _both, _calls, _names_outcome, _outcome, _plain, _shuffle_outcomes


def test_memo_is_used():
    deps = [_plain(i) for i in range(100)]
    assert _native.plain_deployments(deps[:20], PREFIX) is True
    before = _native.memo_stats()
    assert _native.plain_deployments(deps[:20], PREFIX) is True  # per deployment
    after = _native.memo_stats()
    assert after["hits"] - before["hits"] == 20
    assert after["misses"] == before["misses"] and after["list_hits"] == before["list_hits"]
    # 32 or more: the whole list remembered -- a new list or tuple of the same deployments
    # is answered without a lookup per deployment
    assert _native.plain_deployments(deps, PREFIX) is True
    before = _native.memo_stats()
    assert _native.plain_deployments(list(deps), PREFIX) is True
    assert _native.plain_deployments(tuple(deps), PREFIX) is True
    after = _native.memo_stats()
    assert after["list_hits"] - before["list_hits"] == 2 and after["hits"] == before["hits"]
    deps[50]["litellm_params"]["model"] = "auto_router/x"  # changed: the list is checked again
    assert _native.plain_deployments(deps, PREFIX) is False
    assert _native.memo_stats()["list_hits"] == after["list_hits"]


@pytest.mark.parametrize("seed", range(6))
def test_answers_follow_in_place_changes(seed):
    # depmemo_tags.check: 400 rounds of in-place changes, every native answer compared with
    # the answer for a deep copy; the memo must have answered (CPython 3.11)
    assert check(seed) > 1000


class _Collider:
    """A key whose hash equals "model_info"'s: the lookup of model_info calls its __eq__,
    which changes litellm_params under the running test."""

    def __init__(self, target):
        self.target = target
        self.fired = False

    def __hash__(self):
        return hash("model_info")

    def __eq__(self, other):
        if not self.fired:
            self.fired = True
            self.target["order"] = 1
        return False


@pytest.mark.parametrize("seed", range(4))
def test_whole_list_answers_follow_in_place_changes(seed):
    whole, falses = check_lists(seed)
    assert whole > 100 and falses > 50, (whole, falses)


def test_change_made_while_a_test_runs_is_seen_next_time():
    lp = {"model": "openai/x"}
    key = _Collider(lp)
    d = {key: 1, "model_name": "m", "litellm_params": lp, "model_info": {"id": "a"}}
    _native.plain_deployments([d], PREFIX)  # the first answer is LiteLLM's case too
    assert key.fired and lp["order"] == 1
    assert _native.plain_deployments([d], PREFIX) is False


def test_reused_memory_is_not_mistaken_for_the_old_dict():
    reused = 0
    for i in range(300):
        d = {"model_name": "m", "litellm_params": {"model": "openai/x"}, "model_info": {"id": "a"}}
        assert _native.plain_deployments([d], PREFIX) is True
        old = id(d)
        lp, mi = {"model": "auto_router/x"}, {"id": "a"}
        del d  # its memory goes back to the dict free list, and the next dict takes it
        d = {"model_name": "m", "litellm_params": lp, "model_info": mi}
        reused += id(d) == old
        assert _native.plain_deployments([d], PREFIX) is False
    assert reused > 0  # the case did happen


def test_more_signatures_and_metrics_than_the_memo_keeps():
    deps = [_plain(i) for i in range(30)]
    for i, d in enumerate(deps):
        d["litellm_params"].update({f"m{j}": i * j for j in range(6)})
        d["model_info"][f"k{i % 40}"] = "x" if i % 7 == 0 else None
    for _ in range(3):
        for j in range(45):
            want = all(d["model_info"].get(f"k{j}") is None for d in deps)
            assert _native.plain_deployments(deps, None, f"k{j}") is want
        for j in range(6):
            assert _native.metric_weights(deps, f"m{j}") == tuple(float(d["litellm_params"][f"m{j}"]) for d in deps)
        deps[3]["litellm_params"]["m5"] = 0.5
        deps[3]["model_info"]["k3"] = None if deps[3]["model_info"]["k3"] else "y"


def test_tests_with_the_same_arguments_keep_their_own_verdicts():
    # a model named like a metric, a prefix spelled like a model name: three kinds of test
    # called with the same str must not read each other's verdicts
    deps = [dict(_plain(i), model_name="rpm" if i % 2 else "other") for i in range(8)]
    deps[3]["litellm_params"]["model"] = "rpm/marker"
    for _ in range(2):
        assert _native.metric_weights(deps, "rpm") == (0.0,) * 8
        assert _named(deps, "rpm") == [1, 3, 5, 7]
        assert _native.plain_deployments(deps, "rpm") is False
        assert _named(deps, "other") == [0, 2, 4, 6]


def test_more_deployments_than_slots():
    deps = [_plain(i) for i in range(40_000)]  # (FL_MEMO_SLOTS is 32,768)
    assert _native.plain_deployments(deps, PREFIX) is True
    assert _native.plain_deployments(deps, PREFIX) is True
    deps[12_345]["litellm_params"]["order"] = 2
    assert _native.plain_deployments(deps, PREFIX) is False
    del deps[12_345]["litellm_params"]["order"]
    assert _native.plain_deployments(deps, PREFIX) is True
    assert _native.ids_present(deps) is True
    deps[39_999]["model_info"]["id"] = 2.5
    assert _native.ids_present(deps) is False


# -- through the patched filters, against LiteLLM's ---------------------------------------

def _filters_scenario(seed):
    """120 steps of in-place changes to 30 deployments, every filter's outcome after each
    (run once unpatched and once patched: the same changes, from the same seed)."""
    rng = random.Random(seed)
    router = litellm.Router(model_list=[_plain(0)])
    deps = [_plain(i) for i in range(30)]
    out = []
    for _ in range(120):
        for _ in range(rng.choice([0, 1, 2])):
            _mutate(rng, deps)
        for d in rng.sample(deps, 3):  # and back to plain, in place: the fast paths stay in play
            if type(d) is dict:
                d.clear()
                d.update(_plain(rng.randrange(1000)))
        team = rng.choice([None, "team-a"])
        for arg in (deps, tuple(deps[:10]), deps[5:25]):
            out.append([_outcome(f, arg) for _, f in _calls(router, arg, team)])
    return out


@pytest.mark.parametrize("seed", range(3))
def test_filters_match_litellm_while_deployments_change(seed):
    want, got, served, delegated = _both(lambda: _filters_scenario(seed))
    for step, (a, b) in enumerate(zip(want, got)):
        assert a == b, step
    assert served > 1000 and delegated > 300, (served, delegated)


def _picks_scenario(seed):
    """150 steps of in-place changes to a Router's deployments (names and weights too), with
    get_all_deployments and simple-shuffle picks after each."""
    rng = random.Random(seed)
    model_list = [dict(_plain(i), model_name=rng.choice(["m1", "m2"])) for i in range(40)]
    for d in model_list:
        d["litellm_params"]["rpm"] = rng.choice([None, 1, 4, 7])
    router = litellm.Router(model_list=model_list)
    deps = router.model_list
    calls = [("m1",), ("m2",), ("m",)]
    out = []
    for step in range(150):
        for _ in range(rng.choice([0, 1, 2])):
            _mutate(rng, deps)
            k = rng.randrange(len(deps))
            if type(deps[k]) is dict and rng.random() < 0.3:
                deps[k]["model_name"] = rng.choice(["m1", "m2"])
        cases = [(list(deps), None), (tuple(deps[:7]), None)]
        out.append((_names_outcome(router, calls), _shuffle_outcomes(cases, step)))
    return out


@pytest.mark.parametrize("seed", range(3))
def test_picks_and_names_match_litellm_while_deployments_change(seed):
    want, got, served, _ = _both(lambda: _picks_scenario(seed))
    for step, (a, b) in enumerate(zip(want, got)):
        assert a == b, step
    assert served > 300, served


def test_named_whole_list_answer_follows_the_indices():
    """named_deployments remembers its answer for a model list with the index list it read:
    the same list with other indices (or the same indices as other objects) is read again."""
    from depmemo_tags import plain

    deps = [plain(i) for i in range(40)]
    full = _native.named_deployments(deps, list(range(40)), "m")
    assert full == deps
    evens = _native.named_deployments(deps, list(range(0, 40, 2)), "m")
    assert evens == deps[::2]
    big = [10**30 - 10**30 + i for i in range(40)]  # equal ints, other objects past the cache
    assert _native.named_deployments(deps, big, "m") == deps
    before = _native.memo_stats()["list_hits"]
    assert _native.named_deployments(deps, list(range(0, 40, 2)), "m") == deps[::2]
    assert _native.memo_stats()["list_hits"] == before + 1
    deps[3]["model_name"] = "other"  # changed in place: read again
    assert _native.named_deployments(deps, list(range(40)), "m") == deps[:3] + deps[4:]


class _OnceRunner:
    """A dict key hashing like `name`: once armed, the first comparison runs `act` (code run
    by a scan's own lookup, as LiteLLM's .get() would run it); never equal."""

    armed = False

    def __init__(self, name, act):
        self.name, self.act, self.done = name, act, False

    def __hash__(self):
        return hash(self.name)

    def __eq__(self, other):
        if self.armed and not self.done:
            self.done = True
            self.act()
        return False


def _with_runner(d, runner):
    """d with `runner` as its first key (then d's keys: a lookup of runner's name meets it
    first), armed."""
    out = {runner: 1}
    out.update(d)
    runner.armed = True
    return out


def test_remembered_answers_never_outlive_a_change_made_during_their_scan():
    """A scan whose own lookup runs code that changes a deployment it already read: the
    answer kept for the list must not be handed out again for the changed list (snapshots
    are taken before the scan; whole-list verdicts re-checked after it). Each native scan
    with a memo, then again: the memo-less answer for the list as it is now. (Since the
    scans decline dicts with keys that are not exact strs -- dictkind.c -- the runners'
    lookups are mostly never made; test_routing_scans.py's
    test_scans_never_run_code_in_a_lookup holds that.)"""
    from depmemo_tags import plain

    def fleet():
        deps = [plain(i) for i in range(40)]
        for d in deps:
            d["litellm_params"]["model"] = "openai/gpt"
        return deps

    # least-busy keys: deployment 5's id lookup changes deployment 2's id (the snapshot, taken
    # first, reads no id: the change happens during the scan)
    deps = fleet()
    deps[5]["model_info"] = _with_runner(deps[5]["model_info"],
                                         _OnceRunner("id", lambda: deps[2]["model_info"].update(id="changed")))
    memo = {}
    _native.busy_keys("g", deps, memo)
    assert _native.busy_keys("g", deps, memo) == _native.busy_keys("g", deps, None)
    # v2 keys: the same change through deployment 5's model lookup
    deps = fleet()
    deps[5]["litellm_params"] = _with_runner(
        deps[5]["litellm_params"], _OnceRunner("model", lambda: deps[2]["model_info"].update(id="changed")))
    memo = {}
    _native.usage_keys(deps, "03-04", memo)
    assert _native.usage_keys(deps, "03-04", memo) == _native.usage_keys(deps, "03-04")
    # v2's plan: deployment 2's limit lowered while deployment 5 is read
    deps = fleet()
    deps[5] = _with_runner(deps[5], _OnceRunner("tpm", lambda: deps[2]["litellm_params"].update(tpm=1)))
    tk = [f"{d['model_info']['id']}:openai/gpt:tpm:03-04" for d in deps]
    rk = [f"{d['model_info']['id']}:openai/gpt:rpm:03-04" for d in deps]
    tv, rv = [0] * len(tk), [0] * len(rk)
    memo = {}
    _native.v2_select(deps, tk, tv, rk, rv, 10, memo)
    again = _native.v2_select(deps, tk, tv, rk, rv, 10, memo)
    # (the scans now decline a deployment whose dict holds a key that is not a str -- a lookup
    # there could run code -- so v2_select answers None: LiteLLM's steps; kept for the case
    # that a change still slips in)
    assert again == _native.v2_select(deps, tk, tv, rk, rv, 10, None) and (again is None or deps[2] not in again)
    # the plainness check: deployment 2 made not plain while deployment 5 is checked
    deps = fleet()
    deps[5] = _with_runner(deps[5], _OnceRunner("litellm_params", lambda: deps[2]["model_info"].update(order=1)))
    _native.plain_deployments(deps, PREFIX)
    assert _native.plain_deployments(list(deps), PREFIX) is False
    # the name filter: deployment 2 renamed while deployment 5 is read
    deps = fleet()
    deps[5] = _with_runner(deps[5], _OnceRunner("model_name", lambda: deps[2].update(model_name="other")))
    _native.named_deployments(deps, list(range(40)), "m")
    again = _native.named_deployments(deps, list(range(40)), "m")
    assert again is None or deps[2] not in again
    # the weights: deployment 2's weight raised while deployment 5 is read (the kept tuple
    # must not be handed out again; a deep copy has no memo at all)
    deps = fleet()
    deps[5]["litellm_params"] = _with_runner(
        deps[5]["litellm_params"], _OnceRunner("weight", lambda: deps[2]["litellm_params"].update(weight=9)))
    _native.metric_weights(deps, "weight")
    again = _native.metric_weights(deps, "weight")
    assert again == _native.metric_weights(copy.deepcopy(deps), "weight") and (again is None or again[2] == 9.0)
    # the ids: deployment 2's id made unreadable while deployment 5's is read
    deps = fleet()
    deps[5]["model_info"] = _with_runner(deps[5]["model_info"],
                                         _OnceRunner("id", lambda: deps[2]["model_info"].update(id=[2])))
    _native.ids_present(deps)
    assert _native.ids_present(deps) is False


def test_picks_of_an_unchanged_fleet_take_whole_list_answers():
    """A Router with 100 deployments: after the first pick, every pick's plainness checks and
    name filters are answered as whole lists (this is where the routing speed at large
    fleets comes from; a table too small to hold every deployment's own verdict would stop
    them from being recorded). In a fresh interpreter, as a starting proxy's memo is (with
    a full run overwriting its first entry, 2 runs in 6 of this file in the suite's process
    saw no whole-list hit; the table full of unused entries has its own test below)."""
    from _sub import run

    got, _ = run("""
        import asyncio
        import litellm
        from fast_litellm import _native
        from test_routing_filters import _plain
        router = litellm.Router(model_list=[_plain(i) for i in range(100)], routing_strategy="simple-shuffle")
        loop = asyncio.new_event_loop()
        def pick():
            return loop.run_until_complete(router.async_get_available_deployment(
                model="m", messages=[{"role": "user", "content": "hi"}], request_kwargs={}))
        pick()
        before = _native.memo_stats()
        for _ in range(10):
            pick()
        after = _native.memo_stats()
        loop.close()
        emit([before, after])
    """, plugins=None)
    before, after = got
    assert after["list_hits"] - before["list_hits"] >= 10 * 5, (before, after)


def test_model_groups_picked_in_turn_keep_their_whole_list_answers():
    """A proxy serves several model groups: picks alternate between them. Each test keeps
    the whole-list answers of the 8 lists it used last (most recently used first), so three
    groups picked in turn each keep theirs: 390 list hits in 30 picks (13 a pick). With the
    last two lists kept (before 2026-12-06) the third group always evicted one of the
    others: 120 (only the checks over the whole model list kept theirs), every group's own
    checks asked per deployment on every pick (simple-shuffle at 3 x 1,000 deployments,
    picked in turn: ~500 us a pick against ~130 for one group; now ~130 both)."""
    from _sub import run

    got, _ = run("""
        import asyncio
        import litellm
        from fast_litellm import _native
        from test_routing_filters import _plain
        models = [dict(_plain(i), model_name=f"g{i % 3}") for i in range(300)]
        router = litellm.Router(model_list=models, routing_strategy="simple-shuffle")
        loop = asyncio.new_event_loop()
        def pick(group):
            return loop.run_until_complete(router.async_get_available_deployment(
                model=group, messages=[{"role": "user", "content": "hi"}], request_kwargs={}))
        for g in ("g0", "g1", "g2"):
            pick(g)
        before = _native.memo_stats()
        for _ in range(10):
            for g in ("g0", "g1", "g2"):
                assert pick(g)["model_name"] == g
        after = _native.memo_stats()
        loop.close()
        emit([after[k] - before[k] for k in ("list_hits", "misses")])
    """, plugins=None)
    list_hits, misses = got
    assert list_hits >= 30 * 10 and misses == 0, got


def test_a_table_full_of_unused_entries_still_keeps_a_fleet_whole():
    """The deployment table never deletes: entries of deployments nobody asks for any more
    fill it over a proxy's life. A full probe run then overwrites its least recently used
    entry -- an unused one -- never one of the fleet being scanned, so the fleet's verdicts all
    stand after a scan and its whole-list answer is recorded. With the first entry of a run
    overwritten instead (as before 2026-12-06), fleet deployments sharing a home slot
    evicted each other within one scan: no whole-list answer ever (0 list hits, ~90 misses a
    pass at 1,000 deployments). The unused entries' dicts stay alive (freed ones would hand
    their addresses, and entries, to the fleet); the fleet lands in holes at random places."""
    from _sub import run

    got, _ = run("""
        import random
        from fast_litellm import _native
        from depmemo_tags import plain
        rng = random.Random(5)
        scratch = [plain(i) for i in range(30000)]
        unused = [plain(i) for i in range(40000)]  # > the table's 32,768 entries
        for k in range(0, len(unused), 1000):
            _native.plain_deployments(unused[k:k + 1000], "auto_router/")
        for i in rng.sample(range(len(scratch)), 20000):
            scratch[i] = None
        fleet = [plain(i) for i in range(1000)]
        _native.plain_deployments(fleet, "auto_router/")
        before = _native.memo_stats()
        for _ in range(3):
            _native.plain_deployments(fleet, "auto_router/")
        after = _native.memo_stats()
        emit([after[k] - before[k] for k in ("list_hits", "misses")])
    """, plugins=None)
    assert got == [3, 0], got


def test_many_model_names_leave_room_for_the_other_checks():
    """A proxy with many model names: the name filter takes a signature per name, at most 20,
    so the plainness checks and simple-shuffle's weights still get theirs and keep
    whole-list answers (a fresh interpreter: an empty memo, as in a starting proxy)."""
    from _sub import run

    got, _ = run("""
        from fast_litellm import _native
        from depmemo_tags import plain
        deps = [plain(i) for i in range(40)]
        for d in deps:
            d["litellm_params"]["weight"] = 2
        for k in range(40):  # 40 model names first, as a proxy's first requests may ask
            models = [dict(d, model_name=f"name-{k}") for d in deps]
            _native.named_deployments(models, list(range(40)), f"name-{k}")
        before = _native.memo_stats()["list_hits"]
        for _ in range(3):
            _native.plain_deployments(deps, "auto_router/")
            _native.metric_weights(deps, "weight")
        emit(_native.memo_stats()["list_hits"] - before)
    """, plugins=None)
    assert got == 4, got  # the second and third call of each: whole-list answers
